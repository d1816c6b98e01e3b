using System.Diagnostics;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// The queue of a <see cref="FeaturizerService"/> and the worker threads that empty it: each takes up to
/// <c>batchSize</c> requests at a time, waiting at most <c>maxDelay</c> after the first of them for the batch
/// to fill (not at all for a lone caller's request when <c>runAtOnceWhenIdle</c>: see <see cref="NextBatch"/>), and hands the
/// batch to <c>run</c>, with whether it may use every core: true when no other worker is
/// running a batch and none is left waiting (a lone batch), false when batches run side by side, one per worker.
/// The queue is bounded; a request cancelled while it waits leaves the queue and is never run.
/// </summary>
/// <remarks>Owns its threads: <see cref="StopAsync"/> ends them once every request accepted has been answered.</remarks>
internal sealed class RequestBatcher
{
    private readonly object gate = new();
    private readonly LinkedList<ServingRequest> queue = new();
    private readonly string name;
    private readonly int batchSize;
    private readonly int maxQueueLength;
    private readonly long maxDelayTicks;
    private readonly bool runAtOnceWhenIdle;
    private readonly Action<IReadOnlyList<ServingRequest>, bool> run;
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool stopping;
    private int running;
    private bool lastFoundNone;
    private long batchesRunAtOnce;
    private int workersLeft;

    /// <param name="name">The service, for errors.</param>
    /// <param name="batchSize">The most requests in one batch.</param>
    /// <param name="maxDelay">How long the first request of a batch waits for others, at most.</param>
    /// <param name="runAtOnceWhenIdle">Whether a lone caller's request (see <see cref="NextBatch"/>) runs at once, with whatever is queued, instead of waiting for company.</param>
    /// <param name="maxQueueLength">The most requests waiting.</param>
    /// <param name="workers">How many batches may run at once, each on a thread of its own: one per core on the CPU, 1 on a GPU.</param>
    /// <param name="run">
    /// Answers every request of a batch, on a worker's thread; its second argument says whether the batch is alone (it may
    /// use every core). What it throws fails the batch's unanswered requests.
    /// </param>
    public RequestBatcher(string name, int batchSize, TimeSpan maxDelay, bool runAtOnceWhenIdle, int maxQueueLength, int workers, Action<IReadOnlyList<ServingRequest>, bool> run)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        this.name = name;
        this.batchSize = batchSize;
        this.maxQueueLength = maxQueueLength;
        this.run = run;
        this.runAtOnceWhenIdle = runAtOnceWhenIdle;
        maxDelayTicks = (long)(maxDelay.TotalSeconds * Stopwatch.Frequency);
        workersLeft = workers;
        for (var i = 0; i < workers; i++)
        {
            var thread = new Thread(Work) { IsBackground = true, Name = $"GoodTransfer.ML batcher {i + 1} of {workers} ({name})" };
            thread.Start();
        }
    }

    /// <summary>Requests waiting for a batch now.</summary>
    public int QueueLength
    {
        get
        {
            lock (gate)
            {
                return queue.Count;
            }
        }
    }

    /// <summary>Batches running now.</summary>
    public int Running
    {
        get
        {
            lock (gate)
            {
                return running;
            }
        }
    }

    /// <summary>Batches that ran at once, neither full nor after the delay, because their first request was a lone caller's.</summary>
    public long BatchesRunAtOnce
    {
        get
        {
            lock (gate)
            {
                return batchesRunAtOnce;
            }
        }
    }

    /// <summary>Queues <paramref name="request"/> and returns its answer; cancelling <paramref name="cancellationToken"/> while it waits drops it.</summary>
    /// <exception cref="ServiceOverloadedException">The queue is full; nothing was queued.</exception>
    /// <exception cref="ServiceStoppedException">The batcher is stopping or stopped.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the answer came.</exception>
    public async Task<ServedResult> SubmitAsync(ServingRequest request, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (gate)
        {
            if (stopping)
            {
                throw new ServiceStoppedException(name, finished.Task.IsCompleted);
            }

            if (queue.Count >= maxQueueLength)
            {
                throw new ServiceOverloadedException(name, maxQueueLength);
            }

            request.QueuedAt = Stopwatch.GetTimestamp();
            var foundNone = queue.Count == 0 && running == 0;
            request.Lone = foundNone && lastFoundNone;
            lastFoundNone = foundNone;
            request.Node = queue.AddLast(request);
            Monitor.PulseAll(gate);
        }

        using (cancellationToken.Register(() => Cancel(request, cancellationToken)))
        {
            return await request.Completion.Task.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes no new requests, lets the batches of every request accepted run, and completes when the last has
    /// been answered. Cancelling <paramref name="cancellationToken"/> stops waiting: requests still queued are
    /// then answered with <see cref="ServiceStoppedException"/>, and it completes once the batch running ends.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }

        try
        {
            await finished.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            List<ServingRequest> dropped;
            lock (gate)
            {
                dropped = [.. queue];
                foreach (var request in dropped)
                {
                    request.Node = null;
                }

                queue.Clear();
            }

            foreach (var request in dropped)
            {
                request.Completion.TrySetException(new ServiceStoppedException(name, stopped: false));
            }

            await finished.Task.ConfigureAwait(false);
        }
    }

    private void Cancel(ServingRequest request, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (request.Node is { } node)
            {
                queue.Remove(node);
                request.Node = null;
            }
        }

        // Taken into a batch already: it may still run, but its caller stops waiting now, and the batch
        // skips it if its images have not reached ONNX Runtime yet.
        request.Completion.TrySetCanceled(cancellationToken);
    }

    private void Work()
    {
        try
        {
            while (NextBatch(out var alone) is { } batch)
            {
                try
                {
                    run(batch, alone);
                }
                catch (Exception e)
                {
                    foreach (var request in batch)
                    {
                        request.Completion.TrySetException(e);
                    }
                }
                finally
                {
                    lock (gate)
                    {
                        running--;
                    }
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref workersLeft) == 0)
            {
                finished.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The next batch, once it is full or its first request has waited long enough; null once stopping and empty.
    /// At once when stopping, and, when <see cref="runAtOnceWhenIdle"/>, when no batch is running and the first
    /// request is a lone caller's: it found nothing queued or running, and so did the request before it. The second
    /// condition keeps bursts whole: closed-loop clients answered by one batch send their next images at once, and
    /// the first of them finds the service empty; run at once, it would split them into a batch of one and a batch
    /// of the rest, for good (each group then keeps its own rhythm). <paramref name="alone"/>: no other batch is
    /// running and no request is left waiting.
    /// </summary>
    private List<ServingRequest>? NextBatch(out bool alone)
    {
        lock (gate)
        {
            while (true)
            {
                if (queue.First is not { } first)
                {
                    if (stopping)
                    {
                        alone = false;
                        return null;
                    }

                    Monitor.Wait(gate);
                    continue;
                }

                // The deadline of the request now first: another worker may have taken the one before it.
                var left = first.Value.QueuedAt + maxDelayTicks - Stopwatch.GetTimestamp();
                // Early: neither full, nor due, nor stopping. Such a batch waits, unless it is a lone caller's.
                var early = queue.Count < batchSize && !stopping && left > 0;
                if (early && !(runAtOnceWhenIdle && running == 0 && first.Value.Lone))
                {
                    Monitor.Wait(gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
                    continue;
                }

                var batch = new List<ServingRequest>(Math.Min(batchSize, queue.Count));
                while (batch.Count < batchSize && queue.First is { } next)
                {
                    queue.RemoveFirst();
                    next.Value.Node = null;
                    batch.Add(next.Value);
                }

                alone = running == 0 && queue.Count == 0;
                running++;
                batchesRunAtOnce += early ? 1 : 0;
                return batch;
            }
        }
    }
}
