using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>
/// A console project made as a new user makes one (`dotnet new console`, `dotnet add package`), outside the
/// repository, so that none of its MSBuild files apply. The folder above it has a NuGet.config that takes
/// GoodTransfer.* only from the local feed and everything else from this machine's usual package sources, and
/// restores into a packages folder of its own, with a read-only fallback folder that holds the machine's global
/// packages but none of GoodTransfer.* (see <see cref="MachinePackagesWithoutGoodTransfer"/>): ML.NET and ONNX
/// Runtime are not downloaded again, and GoodTransfer.* never comes from a cache of an earlier run.
/// </summary>
public sealed partial class FreshProject
{
    private const string LocalFeedKey = "goodtransfer-local";

    /// <summary>The ids that come from the local feed only: those that start with this, in any case.</summary>
    private const string LocalFeedIdPrefix = "GoodTransfer.";

    private static readonly Lazy<string> FoundMachinePackages = new(() =>
    {
        var globalPackages = Command.Dotnet(Path.GetTempPath(), "nuget", "locals", "global-packages", "--list").Succeeded().Output;
        return GlobalPackagesLine().Match(globalPackages) is { Success: true } line
            ? Path.TrimEndingDirectorySeparator(line.Groups[1].Value.Trim())
            : throw new InvalidOperationException($"No global packages folder in:\n{globalPackages}");
    });

    private readonly Dictionary<string, string> environment;

    private FreshProject(string folder, string name, Dictionary<string, string> environment)
    {
        Folder = folder;
        Name = name;
        this.environment = environment;
    }

    public string Folder { get; }

    public string Name { get; }

    /// <summary>The packages folder that restores extract into (NUGET_PACKAGES).</summary>
    public string PackagesFolder => environment["NUGET_PACKAGES"];

    public string OutputPath(string file) => Path.Combine(Folder, "bin", "Debug", "net10.0", file);

    /// <summary>This machine's global packages folder (`dotnet nuget locals global-packages --list`).</summary>
    public static string MachinePackages => FoundMachinePackages.Value;

    /// <summary>
    /// `dotnet new console -n <paramref name="name"/>` in a folder set up for the local feed, taking the packages
    /// that are not GoodTransfer.* from <paramref name="machinePackages"/> where it has them (by default
    /// <see cref="MachinePackages"/>).
    /// </summary>
    public static FreshProject Create(PackedRepository packages, string name, string? machinePackages = null)
    {
        var root = ConsumerRoot(packages, machinePackages ?? MachinePackages);
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(root, "packages") };
        Command.Dotnet(root, environment, "new", "console", "--name", name, "--output", name).Succeeded();
        return new FreshProject(Path.Combine(root, name), name, environment);
    }

    /// <summary>`dotnet add package`, leaving the restore to the build, which restores once for all the packages added.</summary>
    public CommandResult AddPackage(string id, string version) =>
        Command.Dotnet(Folder, environment, "add", "package", id, "--version", version, "--no-restore").Succeeded();

    public void WriteFile(string relativePath, string text) => File.WriteAllText(Path.Combine(Folder, relativePath), text);

    /// <summary>`dotnet build`, which restores first; the caller checks the result, since some tests expect it to fail.</summary>
    public CommandResult Build() => Command.Dotnet(Folder, environment, "build");

    /// <summary>Runs the built program in <paramref name="workingDirectory"/>.</summary>
    public CommandResult Run(string workingDirectory, IReadOnlyDictionary<string, string> variables, params string[] arguments) =>
        Command.Run(
            Command.DotnetHost,
            [OutputPath(Name + ".dll"), .. arguments],
            workingDirectory,
            environment.Concat(variables).ToDictionary(),
            TimeSpan.FromMinutes(5));

    /// <summary>The folder with the NuGet.config and the packages folder for projects that use <paramref name="machinePackages"/>, one per machine folder.</summary>
    private static string ConsumerRoot(PackedRepository packages, string machinePackages)
    {
        var root = Path.Combine(Path.GetDirectoryName(packages.Feed)!, "consumers-of" + NotInFolderName().Replace(machinePackages, "-"));
        if (File.Exists(Path.Combine(root, "NuGet.config")))
        {
            return root;
        }

        Directory.CreateDirectory(root);
        var sources = UsualSources(root);
        var fallback = MachinePackagesWithoutGoodTransfer(machinePackages, Path.Combine(root, "machine-packages"));
        var config = new XElement(
            "configuration",
            new XElement("packageSources", new XElement("clear"), Add(LocalFeedKey, packages.Feed), sources.Select(s => Add(s.Key, s.Url))),
            new XElement("fallbackPackageFolders", new XElement("clear"), Add("machine", fallback)),
            new XElement("packageSourceMapping", Mapping(LocalFeedKey, LocalFeedIdPrefix + "*"), sources.Select(s => Mapping(s.Key, "*"))));
        new XDocument(config).Save(Path.Combine(root, "NuGet.config"));
        return root;
    }

    /// <summary>
    /// Makes <paramref name="view"/> a packages folder with a symbolic link to each package folder of
    /// <paramref name="machinePackages"/> but GoodTransfer.*'s. NuGet takes a package from a fallback folder that
    /// has its id and version before it asks any source, whatever the package source mapping says, so a
    /// GoodTransfer.ML of the packed version that an earlier pack left in the machine's global packages folder
    /// would be used instead of the local feed's; and a fallback folder cannot be limited to some ids, so this one
    /// has none of them. Links, not copies: ONNX Runtime's CUDA natives alone take half a gigabyte. (Making links
    /// on Windows needs Developer Mode or an administrator.)
    /// </summary>
    public static string MachinePackagesWithoutGoodTransfer(string machinePackages, string view)
    {
        Directory.CreateDirectory(view);
        var ids = Directory.Exists(machinePackages) ? Directory.EnumerateDirectories(machinePackages) : [];
        foreach (var package in ids.Where(p => !Path.GetFileName(p).StartsWith(LocalFeedIdPrefix, StringComparison.OrdinalIgnoreCase)))
        {
            Directory.CreateSymbolicLink(Path.Combine(view, Path.GetFileName(package)), package);
        }

        return view;
    }

    /// <summary>The enabled package sources this machine restores from, by name.</summary>
    private static List<(string Key, string Url)> UsualSources(string folder)
    {
        var lines = Command.Dotnet(folder, "nuget", "list", "source", "--format", "Detailed").Succeeded().Output.Split('\n');
        var sources = new List<(string, string)>();
        for (var i = 0; i + 1 < lines.Length; i++)
        {
            if (SourceLine().Match(lines[i]) is { Success: true } source)
            {
                sources.Add((source.Groups[1].Value, lines[i + 1].Trim()));
            }
        }

        return sources.Count > 0 ? sources : throw new InvalidOperationException($"No enabled NuGet source on this machine:\n{string.Join('\n', lines)}");
    }

    private static XElement Add(string key, string value) => new("add", new XAttribute("key", key), new XAttribute("value", value));

    private static XElement Mapping(string key, string pattern) => new("packageSource", new XAttribute("key", key), new XElement("package", new XAttribute("pattern", pattern)));

    [GeneratedRegex(@"^\s*\d+\.\s+(.+?)\s+\[Enabled\]\s*$")]
    private static partial Regex SourceLine();

    [GeneratedRegex(@"global-packages:\s*(.+)")]
    private static partial Regex GlobalPackagesLine();

    [GeneratedRegex(@"[^A-Za-z0-9.]+")]
    private static partial Regex NotInFolderName();
}
