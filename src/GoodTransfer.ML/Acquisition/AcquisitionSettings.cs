namespace GoodTransfer.ML.Acquisition;

/// <summary>
/// Where checkpoints are cached and fetched from, and how: fixed once, from the options, else the
/// environment, else the platform's defaults, when an estimator is made.
/// </summary>
/// <param name="CacheDirectory">The cache's root folder, a full path.</param>
/// <param name="Mirror">The base URL that replaces the paper's, ending in <c>/</c>; <see langword="null"/> for the paper's own.</param>
/// <param name="Offline">Whether the network may not be used.</param>
/// <param name="Progress">Receives download progress; <see langword="null"/> for none.</param>
/// <param name="Policy">Retry, stall and lock timing.</param>
internal sealed record AcquisitionSettings(string CacheDirectory, Uri? Mirror, bool Offline, IProgress<DownloadProgress>? Progress, AcquisitionPolicy Policy)
{
    public const string HomeVariable = "GOODTRANSFER_HOME";
    public const string MirrorVariable = "GOODTRANSFER_MIRROR";
    public const string OfflineVariable = "GOODTRANSFER_OFFLINE";

    public string CheckpointFolder => Path.Combine(CacheDirectory, "checkpoints");

    public string OnnxFolder => Path.Combine(CacheDirectory, "onnx");

    /// <summary>The lock file of a cache entry, kept apart so that the entries' folders hold only data.</summary>
    public string LockFor(string entryName) => Path.Combine(CacheDirectory, "locks", entryName + ".lock");

    /// <summary>
    /// The settings for these option values, each <see langword="null"/> one taken from the environment
    /// (<c>GOODTRANSFER_HOME</c>, <c>GOODTRANSFER_MIRROR</c>, <c>GOODTRANSFER_OFFLINE</c>) or the platform.
    /// </summary>
    /// <exception cref="ArgumentException">The mirror is not an absolute http or https URL; the parameter name is <paramref name="mirrorOptionName"/>.</exception>
    public static AcquisitionSettings Resolve(
        string? cacheDirectory,
        string? mirrorUrl,
        bool? offline,
        IProgress<DownloadProgress>? progress,
        AcquisitionPolicy policy,
        string mirrorOptionName)
    {
        var mirrorText = mirrorUrl ?? NonEmpty(MirrorVariable);
        var mirror = mirrorText is null ? null : ParseMirror(mirrorText, mirrorUrl is null ? $"the environment variable {MirrorVariable}" : mirrorOptionName, mirrorOptionName);
        return new AcquisitionSettings(
            Path.GetFullPath(cacheDirectory ?? NonEmpty(HomeVariable) ?? DefaultCacheDirectory()),
            mirror,
            offline ?? IsTrue(NonEmpty(OfflineVariable)),
            progress,
            policy);
    }

    /// <summary>The URL to fetch a catalog backbone from: the mirror with the file name appended, else the paper's.</summary>
    public Uri UrlFor(Backbone backbone)
    {
        if (Mirror is null)
        {
            return backbone.Url ?? throw new InvalidOperationException($"Backbone '{backbone.Name}' has no URL.");
        }

        return new Uri(Mirror, Uri.EscapeDataString(backbone.FileName));
    }

    private static Uri ParseMirror(string text, string source, string parameterName)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException(
                $"The checkpoint mirror '{text}' (from {source}) is not an absolute http:// or https:// URL, such as https://mirror.example.com/goodtransfer/.",
                parameterName);
        }

        // The checkpoint's file name is appended to the mirror's folder, so the base must end in '/'.
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    private static string DefaultCacheDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "goodtransfer");
        }

        var xdg = NonEmpty("XDG_CACHE_HOME");
        return xdg is not null
            ? Path.Combine(xdg, "goodtransfer")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "goodtransfer");
    }

    private static string? NonEmpty(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null;

    private static bool IsTrue(string? value) =>
        value is not null && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("yes", StringComparison.OrdinalIgnoreCase));
}
