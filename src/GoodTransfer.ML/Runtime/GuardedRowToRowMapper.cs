using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The equivalent chain's row mapper (what a <c>PredictionEngine</c> runs), with making a row and reading a
/// value from one a call in flight of the transformer's guard: the transformer's <c>Dispose</c> waits for a
/// prediction in flight before it disposes the chain and ML.NET's OnnxTransformer with it, and a prediction
/// after <c>Dispose</c> throws the <see cref="ObjectDisposedException"/> naming the transformer instead of
/// running a released session.
/// </summary>
internal sealed class GuardedRowToRowMapper : IRowToRowMapper
{
    private readonly IRowToRowMapper inner;
    private readonly InFlightGuard calls;

    public GuardedRowToRowMapper(IRowToRowMapper inner, InFlightGuard calls)
    {
        this.inner = inner;
        this.calls = calls;
    }

    public DataViewSchema InputSchema => inner.InputSchema;

    public DataViewSchema OutputSchema => inner.OutputSchema;

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns) =>
        inner.GetDependencies(dependingColumns);

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        using var call = calls.Enter();
        return new Row(inner.GetRow(input, activeColumns), calls);
    }

    private sealed class Row : DataViewRow
    {
        private readonly DataViewRow inner;
        private readonly InFlightGuard calls;

        public Row(DataViewRow inner, InFlightGuard calls)
        {
            this.inner = inner;
            this.calls = calls;
        }

        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        // Handing out a getter is not a call in flight: it runs nothing (ML.NET's rows make their getters when
        // they are made), and ML.NET calls it by reflection, which would wrap an ObjectDisposedException in a
        // TargetInvocationException (seen in DisposeCheck, from a PredictionEngine made during Dispose).
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var getter = inner.GetGetter<TValue>(column);
            return (ref TValue value) =>
            {
                using var call = calls.Enter();
                getter(ref value);
            };
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
        {
            var getter = inner.GetIdGetter();
            return (ref DataViewRowId value) =>
            {
                using var call = calls.Enter();
                getter(ref value);
            };
        }

        // Not a call in flight: disposing must not throw once the transformer is disposed, and what the inner
        // row frees, ML.NET's cached outputs of its last row, is not the session.
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
