using GoodTransfer.ML.Runtime;

namespace GoodTransfer.ML.Tests.Runtime;

public sealed class InFlightGuardTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Close_waits_for_a_call_in_flight_on_another_thread_then_releases()
    {
        var guard = new InFlightGuard("Owner", "Owner was disposed.");
        using var entered = new ManualResetEventSlim();
        using var leave = new ManualResetEventSlim();
        var call = Task.Run(() =>
        {
            using (guard.Enter())
            {
                entered.Set();
                leave.Wait(Patience);
            }
        });
        Assert.True(entered.Wait(Patience));
        var released = 0;

        var closing = Task.Run(() => guard.Close(() => released++));

        await Task.WhenAny(closing, Task.Delay(TimeSpan.FromMilliseconds(200)));
        Assert.False(closing.IsCompleted, "Close returned while a call was in flight");
        Assert.Equal(0, released);
        leave.Set();
        await closing.WaitAsync(Patience);
        await call.WaitAsync(Patience);
        Assert.Equal(1, released);
    }

    [Fact]
    public void Calls_after_Close_throw_ObjectDisposedException_with_the_owner_and_message_and_Close_again_does_nothing()
    {
        var guard = new InFlightGuard("Owner (name)", "Owner (name) was disposed.");
        var released = 0;
        guard.Close(() => released++);

        var entering = Assert.Throws<ObjectDisposedException>(() => guard.Enter());
        var checking = Assert.Throws<ObjectDisposedException>(guard.ThrowIfClosed);
        guard.Close(() => released++);

        Assert.Equal("Owner (name)", entering.ObjectName);
        Assert.Equal("Owner (name) was disposed.", entering.Message.Split('\n')[0]);
        Assert.Equal("Owner (name)", checking.ObjectName);
        Assert.Equal(1, released);
    }

    [Fact]
    public async Task Close_from_inside_a_call_on_the_same_thread_returns_at_once_and_the_call_leaving_releases()
    {
        var guard = new InFlightGuard("Owner", "Owner was disposed.");
        var released = 0;

        var inside = Task.Run(() =>
        {
            using (guard.Enter())
            {
                using (guard.Enter())
                {
                    guard.Close(() => released++);
                }

                // Still inside the outer call: its resources must not be released under it.
                Assert.Equal(0, released);
            }
        });

        Assert.True(await Task.WhenAny(inside, Task.Delay(Patience)) == inside, "Close from inside a call deadlocked");
        await inside;
        Assert.Equal(1, released);
        Assert.Throws<ObjectDisposedException>(() => guard.Enter());
    }
}
