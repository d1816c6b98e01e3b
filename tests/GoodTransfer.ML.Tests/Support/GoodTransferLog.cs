using System.Collections.Concurrent;
using GoodTransfer.ML.Acquisition;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>What the library writes to an <see cref="MLContext"/>'s log on its "GoodTransfer" channel, warnings apart.</summary>
public sealed class GoodTransferLog
{
    private readonly ConcurrentQueue<(ChannelMessageKind Kind, string Message)> messages = new();

    public GoodTransferLog(MLContext mlContext)
    {
        mlContext.Log += (_, e) =>
        {
            if (e.Source == AcquisitionLog.ChannelName && e.Kind is not ChannelMessageKind.Trace)
            {
                messages.Enqueue((e.Kind, e.RawMessage));
            }
        };
    }

    public IReadOnlyList<string> Warnings => [.. messages.Where(m => m.Kind == ChannelMessageKind.Warning).Select(m => m.Message)];

    public IReadOnlyList<string> Infos => [.. messages.Where(m => m.Kind == ChannelMessageKind.Info).Select(m => m.Message)];

    public IReadOnlyList<string> All => [.. messages.Select(m => m.Message)];

    public void Clear() => messages.Clear();
}
