using System.Buffers;
using System.Collections.Concurrent;
using GoodTransfer.ML.Imaging;
using Microsoft.ML;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// Reads and preprocesses the fast path's batches for a GPU on a background thread, from a cursor of its own
/// over the image column, decoding on every core and keeping up to two batches ready while the GPU runs.
/// (On the CPU, <see cref="CoreBatchWorkers"/> decode and run each batch on one core instead.)
/// </summary>
/// <remarks>
/// Owns its cursor, its thread and the batches it has not handed out: dispose it when done, also early;
/// every buffer it rented goes back to the pool.
/// </remarks>
internal sealed class BatchProducer : IDisposable
{
    private readonly DataViewRowCursor lookahead;
    private readonly Func<TensorWriter> read;
    private readonly TorchvisionTransform transform;
    private readonly int batchSize;
    private readonly ArrayPool<float> pool;
    private readonly BlockingCollection<ImageBatch> ready;
    private readonly CancellationTokenSource stop = new();
    private readonly Task task;

    /// <param name="lookahead">A cursor with the image column active; the producer owns it.</param>
    /// <param name="column">The image column.</param>
    /// <param name="input">The kind of the image column.</param>
    /// <param name="source">Where <c>LoadImages</c> read the images of an image column, if known; its column is active on <paramref name="lookahead"/>.</param>
    /// <param name="transform">The backbone's resize, crop and tensor conversion.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="pool">Where the batches' tensor buffers are rented; the shared pool by default.</param>
    public BatchProducer(DataViewRowCursor lookahead, DataViewSchema.Column column, ImageInput input, LoadedImageSource? source, TorchvisionTransform transform, int batchSize, ArrayPool<float>? pool = null)
    {
        this.lookahead = lookahead;
        this.transform = transform;
        this.batchSize = batchSize;
        this.pool = pool ?? ArrayPool<float>.Shared;
        read = input.CreateReader(lookahead, column, source);
        ready = new BlockingCollection<ImageBatch>(boundedCapacity: 2);
        task = Task.Factory.StartNew(Produce, TaskCreationOptions.LongRunning);
    }

    /// <summary>The next batch, preprocessed, or null at the end of the data. The caller owns it.</summary>
    public ImageBatch? Next()
    {
        foreach (var batch in ready.GetConsumingEnumerable())
        {
            return batch;
        }

        // The producer finished: rethrow what stopped it, if anything did.
        task.GetAwaiter().GetResult();
        return null;
    }

    public void Dispose()
    {
        stop.Cancel();
        try
        {
            task.Wait();
        }
        catch (AggregateException)
        {
            // Cancelled or failed after the reader stopped reading; nothing is waiting for its result.
        }

        // Batches made but never taken: their buffers go back to the pool.
        while (ready.TryTake(out var left))
        {
            left.Dispose();
        }

        lookahead.Dispose();
        ready.Dispose();
        stop.Dispose();
    }

    private void Produce()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var pending = new List<TensorWriter>(batchSize);
                while (pending.Count < batchSize && lookahead.MoveNext())
                {
                    pending.Add(read());
                }

                if (pending.Count == 0)
                {
                    break;
                }

                var batch = Preprocess(pending);
                try
                {
                    ready.Add(batch, stop.Token);
                }
                catch
                {
                    // Not handed over (the reader stopped): this method's to return.
                    batch.Dispose();
                    throw;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The reader stopped early.
        }
        finally
        {
            ready.CompleteAdding();
        }
    }

    /// <summary>Decodes and preprocesses one batch of images on every core; a row that fails keeps its error.</summary>
    private ImageBatch Preprocess(List<TensorWriter> pending)
    {
        var batch = new ImageBatch(pending.Count, transform.TensorLength, pool);
        try
        {
            Parallel.For(0, pending.Count, new ParallelOptions { CancellationToken = stop.Token }, row => batch.Write(row, pending[row], transform));
            return batch;
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }
}
