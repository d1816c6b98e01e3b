namespace GoodTransfer.ML.Runtime;

/// <summary>
/// Counts the calls in flight on an owner's native resources, so that the owner releases them only once
/// no call uses them: <see cref="Close"/> refuses new calls, waits for those in flight to leave, then runs
/// the release. A call refused is an <see cref="ObjectDisposedException"/> naming the owner.
/// </summary>
/// <remarks>
/// <see cref="Close"/> called on a thread that is itself inside a call (a getter of the owner's reads a row
/// whose own getter disposes the owner) cannot wait for that call: it returns at once, and the release is
/// left to the last call to leave, so that the call in flight on this thread never sees its resources freed.
/// </remarks>
internal sealed class InFlightGuard
{
    // The guards each thread is inside, innermost last: Close must not wait for a call of its own thread.
    [ThreadStatic]
    private static List<InFlightGuard>? entered;

    private readonly object gate = new();
    private readonly string objectName;
    private readonly string disposedMessage;
    private int inFlight;
    private volatile bool closed;
    private Action? deferredRelease;

    /// <param name="objectName">The owner, as <see cref="ObjectDisposedException.ObjectName"/> names it.</param>
    /// <param name="disposedMessage">The first line of the message of a call refused.</param>
    public InFlightGuard(string objectName, string disposedMessage)
    {
        this.objectName = objectName;
        this.disposedMessage = disposedMessage;
    }

    /// <summary>Enters a call; disposing the scope returned leaves it.</summary>
    /// <exception cref="ObjectDisposedException"><see cref="Close"/> has begun.</exception>
    public Call Enter()
    {
        lock (gate)
        {
            if (closed)
            {
                throw Disposed();
            }

            inFlight++;
        }

        (entered ??= []).Add(this);
        return new Call(this);
    }

    /// <summary>Throws the <see cref="ObjectDisposedException"/> naming the owner if <see cref="Close"/> has begun.</summary>
    public void ThrowIfClosed()
    {
        if (closed)
        {
            throw Disposed();
        }
    }

    /// <summary>
    /// Refuses calls from now on, waits for the calls in flight on other threads to leave, then runs
    /// <paramref name="release"/>; later calls of <see cref="Close"/> do nothing.
    /// </summary>
    /// <param name="release">Releases the owner's native resources.</param>
    public void Close(Action release)
    {
        lock (gate)
        {
            if (closed)
            {
                return;
            }

            closed = true;
            if (entered?.Contains(this) == true)
            {
                deferredRelease = release;
                return;
            }

            while (inFlight > 0)
            {
                Monitor.Wait(gate);
            }
        }

        release();
    }

    private ObjectDisposedException Disposed() => new(objectName, disposedMessage);

    private void Exit()
    {
        entered!.RemoveAt(entered.LastIndexOf(this));
        Action? release = null;
        lock (gate)
        {
            inFlight--;
            if (inFlight == 0 && closed)
            {
                release = deferredRelease;
                deferredRelease = null;
                Monitor.PulseAll(gate);
            }
        }

        release?.Invoke();
    }

    /// <summary>One call in flight, until disposed.</summary>
    public readonly struct Call : IDisposable
    {
        private readonly InFlightGuard guard;

        internal Call(InFlightGuard guard) => this.guard = guard;

        public void Dispose() => guard.Exit();
    }
}
