using GoodTransfer.ML.Imaging;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The featurizer's output as a lazy data view that runs the network on batches of images: on the CPU one
/// batch per core at a time, each decoded and run on its core (<see cref="CoreBatchWorkers"/>); on a GPU
/// decoded on every core while the GPU runs the one before (<see cref="BatchProducer"/>). ML.NET's own OnnxTransformer runs one row per
/// call; this is the featurizer's fast path. Its rows and columns are those of the equivalent chain of
/// ML.NET transformers that a saved model holds.
/// </summary>
/// <remarks>
/// Once the transformer is disposed, a cursor over the features serves the rest of the batch it holds and
/// throws the <see cref="ObjectDisposedException"/> naming the transformer where it needs the next batch.
/// </remarks>
internal sealed class FeaturizingDataView : IDataView
{
    private readonly IDataView source;
    private readonly FeatureSession session;
    private readonly ImageInput input;
    private readonly LoadedImageSource? imageSource;
    private readonly TorchvisionTransform transform;
    private readonly int inputColumn;
    private readonly int batchSize;

    public FeaturizingDataView(IDataView source, DataViewSchema schema, FeatureSession session, ImageInput input, TorchvisionTransform transform, string inputColumnName, int batchSize)
    {
        this.source = source;
        this.session = session;
        this.input = input;
        this.transform = transform;
        this.batchSize = batchSize;
        Schema = schema;
        inputColumn = source.Schema[inputColumnName].Index;
        imageSource = input.SourceOf(source, inputColumnName);
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
        if (needed.Contains(FeaturesColumn))
        {
            session.ThrowIfDisposed();
        }

        var passthrough = source.Schema.Where(c => needed.Contains(c.Index)).ToList();
        var main = source.GetRowCursor(passthrough);
        if (!needed.Contains(FeaturesColumn))
        {
            return new Cursor(this, main, producer: null);
        }

        DataViewRowCursor? lookahead = null;
        try
        {
            // A second cursor over the same rows reads ahead for the network; the first serves the other columns in step.
            var column = source.Schema[inputColumn];
            lookahead = source.GetRowCursor(ImageInput.ColumnsToRead(source.Schema, column, imageSource));
            return new Cursor(this, main, Batches(lookahead, column));
        }
        catch
        {
            lookahead?.Dispose();
            main.Dispose();
            throw;
        }
    }

    /// <summary>The featurized batches of the lookahead cursor's rows, in order; the result owns the cursor.</summary>
    private IBatchSource Batches(DataViewRowCursor lookahead, DataViewSchema.Column column)
    {
        if (session.GpuDeviceId is not null)
        {
            return new GpuBatches(new BatchProducer(lookahead, column, input, imageSource, transform, batchSize), session);
        }

        return new CoreBatchWorkers(lookahead, column, input, imageSource, transform, session, batchSize, session.CpuThreads, source.GetRowCount());
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly FeaturizingDataView parent;
        private readonly DataViewRowCursor main;
        private readonly IBatchSource? producer;
        private ImageBatch? batch;
        private int indexInBatch = -1;
        private long position = -1;
        private bool disposed;

        public Cursor(FeaturizingDataView parent, DataViewRowCursor main, IBatchSource? producer)
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
                var features = batch?.Features ?? throw new InvalidOperationException("The cursor is not on a row.");
                var size = parent.session.FeatureSize;
                var editor = VBufferEditor.Create(ref value, size);
                features.AsSpan(indexInBatch * size, size).CopyTo(editor.Values);
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
                batch?.Dispose();
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
                // Refused before a batch is taken, so that every call after the transformer's Dispose throws the same.
                parent.session.ThrowIfDisposed();
                batch = null;
                batch = producer!.Next() ?? throw new InvalidOperationException("The image column ended before the other columns: the data view returned rows in different orders to two cursors.");
                indexInBatch = 0;
            }

            if (batch.ErrorAt(indexInBatch, position) is { } error)
            {
                throw error;
            }
        }
    }

    /// <summary>On a GPU: the producer decodes ahead; each batch runs on the GPU when the reader takes it.</summary>
    private sealed class GpuBatches(BatchProducer producer, FeatureSession session) : IBatchSource
    {
        public ImageBatch? Next()
        {
            var next = producer.Next();
            next?.Featurize(session);
            return next;
        }

        public void Dispose() => producer.Dispose();
    }
}
