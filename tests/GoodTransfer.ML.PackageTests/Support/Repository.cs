using System.Xml.Linq;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>The repository these tests run in, and clones of it to pack in.</summary>
public static class Repository
{
    private static readonly Lazy<string> FoundRoot = new(() =>
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "GoodTransfer.ML.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No GoodTransfer.ML.sln above {AppContext.BaseDirectory}.");
    });

    public static string Root => FoundRoot.Value;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>The packages' version: VersionPrefix in src/Directory.Build.props.</summary>
    public static string VersionPrefix => XDocument.Load(PathOf("src/Directory.Build.props")).Descendants("VersionPrefix").Single().Value;

    public static string Head => Command.Git(Root, "rev-parse", "HEAD").Succeeded().Output.Trim();

    /// <summary>
    /// Clones the repository's HEAD into <paramref name="destination"/> with the same origin URL (Source Link
    /// reads it), then copies in what the working tree has that HEAD has not (changes and untracked files that
    /// git does not ignore), so that a developer's packages hold their edits. A CI checkout has none. The commit
    /// recorded in the packages stays HEAD's.
    /// </summary>
    public static void CloneWorkingTree(string destination)
    {
        var head = Head;
        Command.Git(Root, "clone", "--quiet", "--no-checkout", Root, destination).Succeeded();
        Command.Git(destination, "checkout", "--quiet", "--detach", head).Succeeded();
        var origin = Command.Git(Root, "remote", "get-url", "origin");
        if (origin.ExitCode == 0)
        {
            Command.Git(destination, "remote", "set-url", "origin", origin.Output.Trim()).Succeeded();
        }

        var patch = destination + ".patch";
        Command.Git(Root, "diff", "--binary", $"--output={patch}", "HEAD").Succeeded();
        if (new FileInfo(patch).Length > 0)
        {
            Command.Git(destination, "apply", "--binary", "--whitespace=nowarn", patch).Succeeded();
        }

        var untracked = Command.Git(Root, "ls-files", "-z", "--others", "--exclude-standard").Succeeded().Output;
        foreach (var file in untracked.Split(['\0', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var target = Path.Combine(destination, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(Root, file), target, overwrite: true);
        }
    }
}
