using System.Diagnostics;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// The queue of a <see cref="FeaturizerService"/> and the one thread that empties it: takes up to
/// <c>batchSize</c> requests at a time, waiting at most <c>maxDelay</c> after the first of them for the batch
/// to fill, and hands each batch to <c>run</c>, one batch at a time (ONNX Runtime's own threads already use
/// every core). The queue is bounded; a request cancelled while it waits leaves the queue and is never run.
/// </summary>
/// <remarks>Owns its thread: <see cref="StopAsync"/> ends it once every request accepted has been answered.</remarks>
internal sealed class RequestBatcher
{
    private readonly object gate = new();
    private readonly LinkedList<ServingRequest> queue = new();
    private readonly string name;
    private readonly int batchSize;
    private readonly int maxQueueLength;
    private readonly long maxDelayTicks;
    private readonly Action<IReadOnlyList<ServingRequest>> run;
    private readonly TaskCompletionSource finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool stopping;

    /// <param name="name">The service, for errors.</param>
    /// <param name="batchSize">The most requests in one batch.</param>
    /// <param name="maxDelay">How long the first request of a batch waits for others, at most.</param>
    /// <param name="maxQueueLength">The most requests waiting.</param>
    /// <param name="run">Answers every request of a batch; called on the batcher's thread only. What it throws fails the batch's unanswered requests.</param>
    public RequestBatcher(string name, int batchSize, TimeSpan maxDelay, int maxQueueLength, Action<IReadOnlyList<ServingRequest>> run)
    {
        this.name = name;
        this.batchSize = batchSize;
        this.maxQueueLength = maxQueueLength;
        this.run = run;
        maxDelayTicks = (long)(maxDelay.TotalSeconds * Stopwatch.Frequency);
        var thread = new Thread(Work) { IsBackground = true, Name = $"GoodTransfer.ML batcher ({name})" };
        thread.Start();
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
            while (NextBatch() is { } batch)
            {
                try
                {
                    run(batch);
                }
                catch (Exception e)
                {
                    foreach (var request in batch)
                    {
                        request.Completion.TrySetException(e);
                    }
                }
            }
        }
        finally
        {
            finished.TrySetResult();
        }
    }

    /// <summary>The next batch, once it is full or its first request has waited long enough; null once stopping and empty.</summary>
    private List<ServingRequest>? NextBatch()
    {
        lock (gate)
        {
            while (true)
            {
                while (queue.Count == 0)
                {
                    if (stopping)
                    {
                        return null;
                    }

                    Monitor.Wait(gate);
                }

                // Stopping, the batch does not wait to fill: what is queued runs now.
                var deadline = queue.First!.Value.QueuedAt + maxDelayTicks;
                while (queue.Count is > 0 && queue.Count < batchSize && !stopping)
                {
                    var left = deadline - Stopwatch.GetTimestamp();
                    if (left <= 0)
                    {
                        break;
                    }

                    Monitor.Wait(gate, TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
                }

                if (queue.Count == 0)
                {
                    // Every request waiting was cancelled.
                    continue;
                }

                var batch = new List<ServingRequest>(Math.Min(batchSize, queue.Count));
                while (batch.Count < batchSize && queue.First is { } first)
                {
                    queue.RemoveFirst();
                    first.Value.Node = null;
                    batch.Add(first.Value);
                }

                return batch;
            }
        }
    }
}
