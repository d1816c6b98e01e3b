using System.Buffers;
using System.Runtime.ExceptionServices;
using GoodTransfer.ML.Imaging;
using Microsoft.ML;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The fast path's batches on the CPU: one worker thread per core, each of which reads the next batch's rows
/// from a cursor of its own over the image column (the workers take turns), decodes and preprocesses them
/// on its own core, and runs them through ONNX Runtime on that same core (<see cref="FeatureSession.RunOnCallingThread"/>).
/// The reader takes the featurized batches in the order of the rows.
/// </summary>
/// <remarks>
/// <para>
/// Why not one multi-threaded run at a time with decoding in between: every multi-threaded operator ends in a
/// barrier, so a core that decodes while the network runs holds up the whole run (measured: the network at
/// half speed beside one decoding thread), and decoding between runs leaves ONNX Runtime's threads idle.
/// A worker per core has neither: while one core decodes, the others go on with their own runs.
/// </para>
/// <para>
/// Owns its cursor, its threads and the batches not handed out: dispose it when done, also early; it stops the
/// workers (each finishes the run it is in) and every buffer it rented goes back to the pool. At most two
/// batches per worker are made ahead of the reader.
/// </para>
/// </remarks>
internal sealed class CoreBatchWorkers : IBatchSource
{
    private readonly DataViewRowCursor lookahead;
    private readonly Func<TensorWriter> read;
    private readonly TorchvisionTransform transform;
    private readonly FeatureSession session;
    private readonly int batchSize;
    private readonly ArrayPool<float> pool;
    private readonly int maxAhead;
    private readonly Thread[] workers;

    // The cursor, the rows read, the size of the last round's batches and the count of batches issued (the next
    // batch's index) change under readLock.
    private readonly object readLock = new();
    private readonly long? rowCount;
    private long rowsRead;
    private int? tailBatchSize;
    private long issued;
    private bool cursorEnded;

    // Finished batches, the next index the reader takes, and whether to stop, change under gate.
    private readonly object gate = new();
    private readonly Dictionary<long, Finished> finished = [];
    private long taken;
    private int running;
    private bool stopping;
    private ExceptionDispatchInfo? broken;

    /// <param name="lookahead">A cursor with the image column active; the workers own it.</param>
    /// <param name="column">The image column.</param>
    /// <param name="input">The kind of the image column.</param>
    /// <param name="source">Where <c>LoadImages</c> read the images of an image column, if known; its column is active on <paramref name="lookahead"/>.</param>
    /// <param name="transform">The backbone's resize, crop and tensor conversion.</param>
    /// <param name="session">The session whose single-threaded runs the workers make.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="workerCount">Worker threads, one per core.</param>
    /// <param name="rowCount">The rows the cursor will give, if known: the last round's rows are then shared evenly between the workers.</param>
    /// <param name="pool">Where the batches' tensor buffers are rented; the shared pool by default.</param>
    public CoreBatchWorkers(DataViewRowCursor lookahead, DataViewSchema.Column column, ImageInput input, LoadedImageSource? source, TorchvisionTransform transform, FeatureSession session, int batchSize, int workerCount, long? rowCount, ArrayPool<float>? pool = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workerCount, 1);
        this.lookahead = lookahead;
        this.transform = transform;
        this.session = session;
        this.batchSize = batchSize;
        this.rowCount = rowCount;
        this.pool = pool ?? ArrayPool<float>.Shared;
        read = input.CreateReader(lookahead, column, source);
        maxAhead = 2 * workerCount;
        running = workerCount;
        workers = new Thread[workerCount];
        for (var i = 0; i < workerCount; i++)
        {
            workers[i] = new Thread(Work) { IsBackground = true, Name = $"GoodTransfer core worker {i}" };
        }

        foreach (var worker in workers)
        {
            worker.Start();
        }
    }

    /// <summary>
    /// The next batch in the order of the rows, featurized, or null at the end of the data. The caller owns it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The featurizer was disposed before the batch was run.</exception>
    /// <exception cref="Exception">What stopped the batch: reading its rows, or ONNX Runtime.</exception>
    public ImageBatch? Next()
    {
        Finished next;
        lock (gate)
        {
            while (true)
            {
                if (finished.Remove(taken, out next))
                {
                    taken++;
                    Monitor.PulseAll(gate);
                    break;
                }

                broken?.Throw();
                if (running == 0)
                {
                    // Every worker has stopped and none left this batch: the rows have ended.
                    return null;
                }

                Monitor.Wait(gate);
            }
        }

        next.Failure?.Throw();
        return next.Batch;
    }

    public void Dispose()
    {
        lock (gate)
        {
            stopping = true;
            Monitor.PulseAll(gate);
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        // Batches made but never taken: their buffers went back to the pool when they ran, or go back now.
        foreach (var left in finished.Values)
        {
            left.Batch?.Dispose();
        }

        finished.Clear();
        lookahead.Dispose();
    }

    private void Work()
    {
        try
        {
            while (NextRows() is { } rows)
            {
                var result = Featurize(rows.Pending);
                lock (gate)
                {
                    if (stopping)
                    {
                        result.Batch?.Dispose();
                        return;
                    }

                    finished.Add(rows.Index, result);
                    Monitor.PulseAll(gate);
                }
            }
        }
        catch (Exception e)
        {
            // Not a batch's own failure (those are kept in order with the batch): the workers cannot go on.
            lock (gate)
            {
                broken ??= ExceptionDispatchInfo.Capture(e);
            }
        }
        finally
        {
            lock (gate)
            {
                running--;
                Monitor.PulseAll(gate);
            }
        }
    }

    /// <summary>The next batch's rows and index, once fewer than <see cref="maxAhead"/> batches wait for the reader; null at the end or when stopping.</summary>
    private (long Index, List<TensorWriter> Pending)? NextRows()
    {
        lock (gate)
        {
            while (!stopping && Interlocked.Read(ref issued) - taken >= maxAhead)
            {
                Monitor.Wait(gate);
            }

            if (stopping)
            {
                return null;
            }
        }

        lock (readLock)
        {
            if (cursorEnded)
            {
                return null;
            }

            var size = NextBatchSize();
            var pending = new List<TensorWriter>(size);
            try
            {
                while (pending.Count < size && lookahead.MoveNext())
                {
                    pending.Add(read());
                    rowsRead++;
                }
            }
            catch (Exception e)
            {
                // The cursor itself failed: this batch fails with it, in its place, and the rows end there.
                cursorEnded = true;
                var failure = ExceptionDispatchInfo.Capture(e);
                pending = [(_, _) => failure.Throw()];
                return (Interlocked.Increment(ref issued) - 1, pending);
            }

            if (pending.Count < size)
            {
                cursorEnded = true;
            }

            return pending.Count == 0 ? null : (Interlocked.Increment(ref issued) - 1, pending);
        }
    }

    /// <summary>
    /// <see cref="batchSize"/>, until fewer rows are left than one batch for each worker: from then on the rest
    /// divided evenly between the workers, so that no core waits while another runs the last batch alone (a
    /// batch's size does not change its features).
    /// </summary>
    private int NextBatchSize()
    {
        if (tailBatchSize is int tail)
        {
            return tail;
        }

        var left = rowCount - rowsRead;
        if (left is long rows && rows < (long)batchSize * workers.Length)
        {
            tailBatchSize = (int)Math.Max(1, (rows + workers.Length - 1) / workers.Length);
            return tailBatchSize.Value;
        }

        return batchSize;
    }

    /// <summary>Decodes, preprocesses and runs one batch on this thread; a row that fails keeps its error, a run that fails is the batch's failure.</summary>
    private Finished Featurize(List<TensorWriter> pending)
    {
        var batch = new ImageBatch(pending.Count, transform.TensorLength, pool);
        try
        {
            for (var row = 0; row < pending.Count; row++)
            {
                batch.Write(row, pending[row], transform);
            }

            batch.Featurize(session, onCallingThread: true);
            return new Finished(batch, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            batch.Dispose();
            return new Finished(null, ExceptionDispatchInfo.Capture(e));
        }
    }

    /// <summary>A batch that ran, or what stopped it.</summary>
    private readonly record struct Finished(ImageBatch? Batch, ExceptionDispatchInfo? Failure);
}
