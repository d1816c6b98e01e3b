using System.Buffers;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>Rents from the shared pool and counts what has not come back.</summary>
public sealed class CountingPool : ArrayPool<float>
{
    private int rented;
    private int outstanding;

    public int Rented => Volatile.Read(ref rented);

    public int Outstanding => Volatile.Read(ref outstanding);

    public override float[] Rent(int minimumLength)
    {
        Interlocked.Increment(ref rented);
        Interlocked.Increment(ref outstanding);
        return Shared.Rent(minimumLength);
    }

    public override void Return(float[] array, bool clearArray = false)
    {
        Interlocked.Decrement(ref outstanding);
        Shared.Return(array, clearArray);
    }
}
