namespace GoodTransfer.ML.Acquisition;

/// <summary>Where checkpoints are cached and fetched from: the options, else the environment, else the platform's defaults.</summary>
internal sealed record AcquisitionSettings(string CacheDirectory, string? MirrorUrl, bool Offline)
{
    public const string HomeVariable = "GOODTRANSFER_HOME";
    public const string MirrorVariable = "GOODTRANSFER_MIRROR";
    public const string OfflineVariable = "GOODTRANSFER_OFFLINE";

    public string CheckpointFolder => Path.Combine(CacheDirectory, "checkpoints");

    public string OnnxFolder => Path.Combine(CacheDirectory, "onnx");

    /// <summary>The lock file of a cache entry, kept apart so that the entries' folders hold only data.</summary>
    public string LockFor(string entryName) => Path.Combine(CacheDirectory, "locks", entryName + ".lock");

    public static AcquisitionSettings From(GoodTransferOptions options) => new(
        Path.GetFullPath(options.CacheDirectory ?? NonEmpty(HomeVariable) ?? DefaultCacheDirectory()),
        options.MirrorUrl ?? NonEmpty(MirrorVariable),
        options.Offline ?? IsTrue(NonEmpty(OfflineVariable)));

    /// <summary>The URL to fetch a catalog backbone from: the mirror with the file name appended, else the paper's.</summary>
    public Uri UrlFor(Backbone backbone)
    {
        if (MirrorUrl is null)
        {
            return backbone.Url ?? throw new InvalidOperationException($"Backbone '{backbone.Name}' has no URL.");
        }

        var baseUrl = MirrorUrl.EndsWith('/') ? MirrorUrl : MirrorUrl + "/";
        return new Uri(new Uri(baseUrl, UriKind.Absolute), Uri.EscapeDataString(backbone.FileName));
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
