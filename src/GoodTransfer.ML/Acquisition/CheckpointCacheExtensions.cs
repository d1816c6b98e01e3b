using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Conversion;

namespace GoodTransfer.ML;

/// <summary>A catalog backbone's checkpoint file in the cache: where it is, and its SHA-256 (lower-case hex).</summary>
/// <param name="Path">The checkpoint's full path in the cache (or the local file of <see cref="Backbone.FromFile"/>).</param>
/// <param name="Sha256">Its SHA-256, lower-case hex.</param>
public sealed record CachedCheckpoint(string Path, string Sha256);

/// <summary>
/// The checkpoint cache without featurizing: fetch checkpoints ahead of time (to seed machines without
/// internet, then copy the cache folder or set <c>GOODTRANSFER_OFFLINE=1</c>), and see what is cached.
/// </summary>
public static class CheckpointCacheExtensions
{
    /// <summary>
    /// Fetches the backbone's checkpoint into the cache if it is not there yet (as <c>Fit</c> would: locked,
    /// resumed, verified, moved into place atomically), and checks a cached one against its SHA-256 record.
    /// </summary>
    /// <param name="backbone">A catalog backbone (a local file is only hashed).</param>
    /// <param name="options">The cache, mirror, offline mode and download progress; other options are ignored.</param>
    /// <returns>The checkpoint in the cache and its SHA-256.</returns>
    /// <exception cref="CheckpointDownloadException">The download failed; the message names the URL.</exception>
    /// <exception cref="CheckpointNotCachedException">Offline, and the checkpoint is not cached.</exception>
    /// <exception cref="CheckpointIntegrityException">The cached file does not match its record.</exception>
    /// <exception cref="CheckpointFormatException">The downloaded file is not a loadable checkpoint.</exception>
    public static CachedCheckpoint DownloadCheckpoint(this Backbone backbone, GoodTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        var settings = FeaturizerSettings.From(options ?? new GoodTransferOptions());
        var resolved = CheckpointStore.Resolve(backbone, settings.Acquisition, AcquisitionLog.None, BackboneConverter.ValidateCheckpoint);
        return new CachedCheckpoint(resolved.Path, resolved.Sha256);
    }

    /// <summary>Where the backbone's checkpoint is, or would be, in the cache (<c>&lt;cache&gt;/checkpoints/&lt;file&gt;</c>); a local file's own path.</summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="options">The cache folder (<see cref="GoodTransferOptions.CacheDirectory"/>, else <c>GOODTRANSFER_HOME</c>, else the platform's default).</param>
    /// <returns>The full path.</returns>
    public static string CheckpointCachePath(this Backbone backbone, GoodTransferOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (backbone.CheckpointPath is { } local)
        {
            return local;
        }

        var settings = FeaturizerSettings.From(options ?? new GoodTransferOptions());
        return Path.Combine(settings.Acquisition.CheckpointFolder, backbone.FileName);
    }

    /// <summary>Whether the backbone's checkpoint file is in the cache (it is checked against its record when used).</summary>
    /// <param name="backbone">The backbone.</param>
    /// <param name="options">The cache folder.</param>
    /// <returns><see langword="true"/> when the file is there.</returns>
    public static bool IsCheckpointCached(this Backbone backbone, GoodTransferOptions? options = null) =>
        File.Exists(CheckpointCachePath(backbone, options));
}
