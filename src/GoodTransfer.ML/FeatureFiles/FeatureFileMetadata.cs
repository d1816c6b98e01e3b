using System.Reflection;

namespace GoodTransfer.ML;

/// <summary>
/// What a feature file records about where its features come from, as key-value metadata of the file
/// (<c>goodtransfer.backbone</c>, <c>goodtransfer.checkpoint_sha256</c>, ...; see <see cref="FeatureFile"/>).
/// </summary>
/// <param name="Backbone">The backbone's name, e.g. <c>MocoV2ImageNet</c>, or a local checkpoint's file name without extension.</param>
/// <param name="CheckpointSha256">The SHA-256 of the checkpoint file, lower-case hex: which weights made the features.</param>
/// <param name="Layer">The stage whose pooled output the features are.</param>
/// <param name="Precision">The arithmetic of the network that computed them.</param>
/// <param name="FeatureLength">The length of every feature vector in the file.</param>
/// <param name="LibraryVersion">The version of GoodTransfer.ML that wrote the file (its informational version, with the commit).</param>
public sealed record FeatureFileMetadata(string Backbone, string CheckpointSha256, FeatureLayer Layer, Precision Precision, int FeatureLength, string LibraryVersion)
{
    /// <summary>This library's version, as <see cref="LibraryVersion"/> records it.</summary>
    public static string CurrentLibraryVersion { get; } =
        typeof(FeatureFileMetadata).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(FeatureFileMetadata).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>The metadata of the features <paramref name="featurizer"/> computes, with this library's version.</summary>
    /// <param name="featurizer">A fitted featurizer.</param>
    /// <returns>Its backbone, checkpoint hash, layer, precision and feature length.</returns>
    public static FeatureFileMetadata For(GoodTransferTransformer featurizer)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        return new FeatureFileMetadata(featurizer.BackboneName, featurizer.CheckpointSha256, featurizer.FeatureLayer, featurizer.Precision, featurizer.FeatureLength, CurrentLibraryVersion);
    }
}
