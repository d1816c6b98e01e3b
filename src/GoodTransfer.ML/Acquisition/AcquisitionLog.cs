using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Messages about checkpoints and converted models (download started, resumed, retried, finished, cache
/// hits, conversions) on an ML.NET channel named <c>GoodTransfer</c>, so they reach <c>MLContext.Log</c>
/// beside ML.NET's own. Owns the channel: dispose it when the operation is done.
/// </summary>
/// <remarks>
/// ML.NET offers outside libraries no public way from a <see cref="TransformsCatalog"/> to its
/// <see cref="IHostEnvironment"/>: the catalog implements the internal interface
/// <c>Microsoft.ML.Data.IInternalCatalog</c> explicitly. That one property is read by reflection; if a
/// later ML.NET renames it, nothing is logged and nothing else changes (a test pins the route).
/// The channel itself is public API: <see cref="IChannelProvider.Start"/> and <see cref="IChannel"/>.
/// </remarks>
internal sealed class AcquisitionLog : IDisposable
{
    public const string ChannelName = "GoodTransfer";

    private static readonly PropertyInfo? EnvironmentProperty =
        typeof(TransformsCatalog).GetInterface("Microsoft.ML.Data.IInternalCatalog")?.GetProperty("Environment");

    private readonly IChannel? channel;

    private AcquisitionLog(IChannel? channel)
    {
        this.channel = channel;
    }

    /// <summary>A log that drops every message, for <see cref="OnnxExportExtensions.ExportOnnx"/>, which has no MLContext.</summary>
    public static AcquisitionLog None { get; } = new(null);

    public static AcquisitionLog For(TransformsCatalog catalog)
    {
        IHostEnvironment? environment;
        try
        {
            environment = EnvironmentProperty?.GetValue(catalog) as IHostEnvironment;
        }
        catch (TargetInvocationException)
        {
            environment = null;
        }

        return new AcquisitionLog(environment?.Start(ChannelName));
    }

    public void Info(string message) => channel?.Info(MessageSensitivity.Unknown, message);

    public void Warning(string message) => channel?.Warning(MessageSensitivity.Unknown, message);

    public void Dispose() => channel?.Dispose();
}
