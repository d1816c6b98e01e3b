using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Acquisition;

/// <summary>The cache lock between threads of one process; between processes, see <see cref="ConcurrentAcquisitionTests"/>.</summary>
public sealed class CacheLockTests : IDisposable
{
    private readonly TemporaryFile folder = new("unused");

    private string LockPath => Path.Combine(folder.Folder, "locks", "entry.lock");

    public void Dispose() => folder.Dispose();

    [Fact]
    public async Task A_second_holder_waits_until_the_first_releases_the_lock()
    {
        var first = CacheLock.Acquire(LockPath, "the entry", static () => 0, AcquisitionFixture.Fast, AcquisitionLog.None);
        var second = Task.Run(() => CacheLock.Acquire(LockPath, "the entry", static () => 0, AcquisitionFixture.Fast, AcquisitionLog.None));

        await Task.Delay(300);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using var taken = await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(File.Exists(LockPath));
    }

    [Fact]
    public void A_holder_that_shows_no_progress_is_given_up_on_after_the_patience()
    {
        var policy = AcquisitionFixture.Fast with { LockPatience = TimeSpan.FromMilliseconds(200) };
        using var holder = CacheLock.Acquire(LockPath, "the entry", static () => 0, policy, AcquisitionLog.None);

        var error = Assert.Throws<IOException>(() => CacheLock.Acquire(LockPath, "the entry", static () => 0, policy, AcquisitionLog.None));

        Assert.Equal(
            $"Gave up waiting for the lock '{LockPath}' on the entry: its holder, another thread or process, has shown no progress for 0.2 s.",
            error.Message);
    }

    [Fact]
    public async Task A_holder_that_shows_progress_is_waited_for_beyond_the_patience()
    {
        var policy = AcquisitionFixture.Fast with { LockPatience = TimeSpan.FromMilliseconds(200) };
        var holder = CacheLock.Acquire(LockPath, "the entry", static () => 0, policy, AcquisitionLog.None);
        var progress = 0L;
        var waiter = Task.Run(() => CacheLock.Acquire(LockPath, "the entry", () => Interlocked.Increment(ref progress), policy, AcquisitionLog.None));

        await Task.Delay(600);
        Assert.False(waiter.IsCompleted);
        holder.Dispose();
        using var taken = await waiter.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
