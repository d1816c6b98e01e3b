using System.Buffers;
using System.Collections.Concurrent;
using GoodTransfer.ML.Imaging;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The featurizer's output as a lazy data view that runs the network on batches of images, decoded and
/// resized on every core by a background thread (see <see cref="BatchProducer"/> for when). ML.NET's own
/// OnnxTransformer runs one row per call; this is the featurizer's fast path. Its rows and columns are
/// those of the equivalent chain of ML.NET transformers that a saved model holds.
/// </summary>
internal sealed class FeaturizingDataView : IDataView
{
    private readonly IDataView source;
    private readonly FeatureSession session;
    private readonly ImageInputKind kind;
    private readonly int inputColumn;
    private readonly int batchSize;

    public FeaturizingDataView(IDataView source, DataViewSchema schema, FeatureSession session, ImageInputKind kind, string inputColumnName, int batchSize)
    {
        this.source = source;
        this.session = session;
        this.kind = kind;
        this.batchSize = batchSize;
        Schema = schema;
        inputColumn = source.Schema[inputColumnName].Index;
        FeaturesColumn = schema.Count - 1;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    /// <summary>The index of the features column: the last; all before it are the source's.</summary>
    private int FeaturesColumn { get; }

    public long? GetRowCount() => source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var passthrough = source.Schema.Where(c => needed.Contains(c.Index)).ToList();
        var main = source.GetRowCursor(passthrough);
        if (!needed.Contains(FeaturesColumn))
        {
            return new Cursor(this, main, producer: null);
        }

        try
        {
            // A second cursor over the same rows reads ahead for the network; the first serves the other columns in step.
            var lookahead = source.GetRowCursor([source.Schema[inputColumn]]);
            return new Cursor(this, main, new BatchProducer(this, lookahead));
        }
        catch
        {
            main.Dispose();
            throw;
        }
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>One batch of images read, preprocessed and featurized, or the error of one of its rows.</summary>
    private sealed class Batch
    {
        public required float[] Images { get; init; }

        public int Count { get; init; }

        public Exception?[] Errors { get; init; } = [];

        public float[]? Features { get; set; }
    }

    /// <summary>
    /// Reads and preprocesses batches on a background thread. On a GPU it keeps up to two batches ready
    /// while the network runs. On the CPU, where the network already uses every core, it decodes only when
    /// the reader asks for a batch that is not ready, and then <see cref="CpuBatchesPerRound"/> batches at
    /// once on every core, so that images of uneven size spread evenly over the cores.
    /// </summary>
    private sealed class BatchProducer : IDisposable
    {
        private const int CpuBatchesPerRound = 4;

        private readonly FeaturizingDataView parent;
        private readonly DataViewRowCursor lookahead;
        private readonly BlockingCollection<Batch> ready;
        private readonly SemaphoreSlim? demand;
        private readonly int batchesPerRound;
        private readonly CancellationTokenSource stop = new();
        private readonly Task task;

        public BatchProducer(FeaturizingDataView parent, DataViewRowCursor lookahead)
        {
            this.parent = parent;
            this.lookahead = lookahead;
            if (parent.session.GpuDeviceId is null)
            {
                demand = new SemaphoreSlim(0);
                batchesPerRound = CpuBatchesPerRound;
            }
            else
            {
                batchesPerRound = 1;
            }

            ready = new BlockingCollection<Batch>(boundedCapacity: Math.Max(2, batchesPerRound));
            task = Task.Factory.StartNew(Produce, TaskCreationOptions.LongRunning);
        }

        /// <summary>The next batch, or null at the end of the data.</summary>
        public Batch? Next()
        {
            demand?.Release();
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

            lookahead.Dispose();
            ready.Dispose();
            demand?.Dispose();
            stop.Dispose();
        }

        private void Produce()
        {
            try
            {
                var reader = InputReader.Create(parent.kind, lookahead, parent.inputColumn);
                while (!stop.IsCancellationRequested)
                {
                    // On the CPU: wait until the reader asks for a batch that is not decoded yet.
                    demand?.Wait(stop.Token);
                    var inputs = new List<object?>(parent.batchSize * batchesPerRound);
                    while (inputs.Count < parent.batchSize * batchesPerRound && lookahead.MoveNext())
                    {
                        inputs.Add(reader());
                    }

                    if (inputs.Count == 0)
                    {
                        break;
                    }

                    var batches = inputs.Chunk(parent.batchSize).Select(chunk => new Batch
                    {
                        // Rented: 4.8 MB a batch of 8 would otherwise be a new large-object allocation each time.
                        Images = ArrayPool<float>.Shared.Rent(chunk.Length * TorchvisionTransform.ImageNet.TensorLength),
                        Count = chunk.Length,
                        Errors = new Exception?[chunk.Length],
                    }).ToList();
                    Parallel.For(0, inputs.Count, new ParallelOptions { CancellationToken = stop.Token }, i =>
                    {
                        var batch = batches[i / parent.batchSize];
                        var row = i % parent.batchSize;
                        try
                        {
                            var image = inputs[i] switch
                            {
                                RgbImage converted => converted,
                                Exception failed => throw failed,
                                var encoded => ImageInputDecoding.Decode(parent.kind, encoded),
                            };
                            TorchvisionTransform.ImageNet.ToTensor(image, batch.Images.AsSpan(row * TorchvisionTransform.ImageNet.TensorLength, TorchvisionTransform.ImageNet.TensorLength));
                        }
                        catch (Exception e) when (e is InvalidImageException or IOException or ArgumentException or UnauthorizedAccessException)
                        {
                            batch.Errors[row] = e;
                        }
                    });
                    foreach (var batch in batches)
                    {
                        ready.Add(batch, stop.Token);
                    }

                    // The reader's asks for the other batches of this round, which are decoded already.
                    for (var i = 1; i < batches.Count; i++)
                    {
                        demand?.Wait(stop.Token);
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
    }

    /// <summary>
    /// Reads the current row's image value, copying what the cursor would reuse: encoded bytes, a path,
    /// or for image columns the converted <see cref="RgbImage"/> (or the error converting it).
    /// </summary>
    private static class InputReader
    {
        public static Func<object?> Create(ImageInputKind kind, DataViewRowCursor cursor, int column)
        {
            var schemaColumn = cursor.Schema[column];
            switch (kind)
            {
                case ImageInputKind.Image:
                    {
                        // The image is converted at once: ML.NET's image loader disposes the image it handed
                        // out when it is asked for the next one, so it must not be kept for later.
                        var getter = cursor.GetGetter<MLImage>(schemaColumn);
                        MLImage image = null!;
                        return () =>
                        {
                            getter(ref image);
                            try
                            {
                                return ImageInputDecoding.FromImage(image);
                            }
                            catch (InvalidImageException e)
                            {
                                return e;
                            }
                        };
                    }

                case ImageInputKind.Bytes:
                    {
                        var getter = cursor.GetGetter<VBuffer<byte>>(schemaColumn);
                        var buffer = default(VBuffer<byte>);
                        return () =>
                        {
                            getter(ref buffer);
                            return buffer.DenseValues().ToArray();
                        };
                    }

                default:
                    {
                        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(schemaColumn);
                        var text = default(ReadOnlyMemory<char>);
                        return () =>
                        {
                            getter(ref text);
                            return text.ToString();
                        };
                    }
            }
        }
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly FeaturizingDataView parent;
        private readonly DataViewRowCursor main;
        private readonly BatchProducer? producer;
        private Batch? batch;
        private int indexInBatch = -1;
        private long position = -1;
        private bool disposed;

        public Cursor(FeaturizingDataView parent, DataViewRowCursor main, BatchProducer? producer)
        {
            this.parent = parent;
            this.main = main;
            this.producer = producer;
        }

        public override DataViewSchema Schema => parent.Schema;

        public override long Position => position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index == parent.FeaturesColumn ? producer is not null : main.IsColumnActive(main.Schema[column.Index]);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index != parent.FeaturesColumn)
            {
                return main.GetGetter<TValue>(main.Schema[column.Index]);
            }

            if (producer is null || typeof(TValue) != typeof(VBuffer<float>))
            {
                throw new InvalidOperationException(producer is null
                    ? $"Column '{column.Name}' was not requested when the cursor was made."
                    : $"Column '{column.Name}' holds VBuffer<Single>, not {typeof(TValue).Name}.");
            }

            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var current = batch ?? throw new InvalidOperationException("The cursor is not on a row.");
                var size = parent.session.FeatureSize;
                var editor = VBufferEditor.Create(ref value, size);
                current.Features.AsSpan(indexInBatch * size, size).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => main.GetIdGetter();

        public override bool MoveNext()
        {
            if (disposed || !main.MoveNext())
            {
                return false;
            }

            position++;
            if (producer is not null)
            {
                Advance();
            }

            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !disposed)
            {
                disposed = true;
                producer?.Dispose();
                main.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Advance()
        {
            indexInBatch++;
            if (batch is null || indexInBatch >= batch.Count)
            {
                batch = producer!.Next() ?? throw new InvalidOperationException("The image column ended before the other columns: the data view returned rows in different orders to two cursors.");
                indexInBatch = 0;
                // Rows whose image failed hold stale pixels from the pool; their features are computed but never served.
                batch.Features = new float[batch.Count * parent.session.FeatureSize];
                parent.session.Run(batch.Images, batch.Count, batch.Features);
                ArrayPool<float>.Shared.Return(batch.Images);
            }

            if (batch.Errors[indexInBatch] is { } error)
            {
                throw error is InvalidImageException image
                    ? new InvalidImageException(image.ImageSource, $"{image.Reason} (row {position})", error)
                    : new InvalidImageException($"the image of row {position}", error.Message, error);
            }
        }
    }
}
