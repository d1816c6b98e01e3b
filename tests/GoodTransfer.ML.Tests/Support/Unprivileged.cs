using System.Diagnostics;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// A child process that file modes apply to. The tests run as root in CI, and root reads and writes whatever
/// the modes say, so there the child runs as nobody (uid and gid 65534) through util-linux's <c>setpriv</c>,
/// and the test makes readable (or writable) what that user needs. As any other user, the child runs as that
/// user, whom the modes already bind. Nothing here skips: a test that cannot drop privileges fails.
/// </summary>
public static class Unprivileged
{
    private const string Setpriv = "/usr/bin/setpriv";
    private const UnixFileMode ReadOnlyFile = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode ReadOnlyFolder = ReadOnlyFile | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
    private const UnixFileMode WritableFile = ReadOnlyFile | UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
    private const UnixFileMode WritableFolder = ReadOnlyFolder | WritableFile;

    /// <summary>Whether this process is root, whom file modes do not stop.</summary>
    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>How to start <paramref name="file"/> with <paramref name="arguments"/> as a user whom file modes bind.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> arguments)
    {
        if (!IsRoot)
        {
            return new ProcessStartInfo(file, arguments);
        }

        Assert.True(File.Exists(Setpriv), $"This test runs a process as an unprivileged user, and as root that needs {Setpriv} (util-linux), which is missing.");
        var start = new ProcessStartInfo(Setpriv, ["--reuid=65534", "--regid=65534", "--clear-groups", "--", file, .. arguments]);

        // Root's home is not the child's to read or write.
        start.Environment["HOME"] = Path.GetTempPath();
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var reached in (string[])[AppContext.BaseDirectory, FixtureManifest.FixtureDirectory])
        {
            AssertOthersCanReach(reached);
        }

        return start;
    }

    /// <summary>Lets the unprivileged user read and write everything in <paramref name="folder"/> (as root; another user owns it already).</summary>
    public static void MakeWritable(string folder)
    {
        if (IsRoot)
        {
            SetModes(folder, WritableFolder, WritableFile);
        }
    }

    /// <summary>Lets the unprivileged user read everything in <paramref name="folder"/> and write nothing there.</summary>
    public static void MakeReadOnly(string folder) =>
        SetModes(folder, ReadOnlyFolder, ReadOnlyFile);

    /// <summary>Gives the owner back the right to write <paramref name="folder"/>, so that it can be deleted.</summary>
    public static void RestoreOwnerWrite(string folder) =>
        SetModes(folder, ReadOnlyFolder | UnixFileMode.UserWrite, ReadOnlyFile | UnixFileMode.UserWrite);

    /// <summary>Makes <paramref name="file"/> unreadable to the unprivileged user (mode 000).</summary>
    public static void MakeUnreadable(string file) => SetMode(file, UnixFileMode.None);

    public static UnixFileMode ModeOf(string file) =>
        OperatingSystem.IsWindows() ? throw new PlatformNotSupportedException("File modes are Unix's.") : File.GetUnixFileMode(file);

    private static void SetModes(string folder, UnixFileMode folders, UnixFileMode files)
    {
        SetMode(folder, folders);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories))
        {
            SetMode(entry, Directory.Exists(entry) ? folders : files);
        }
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("File modes are Unix's.");
        }

        File.SetUnixFileMode(path, mode);
    }

    private static void AssertOthersCanReach(string path)
    {
        for (var folder = new DirectoryInfo(path); folder is not null; folder = folder.Parent)
        {
            Assert.True(
                folder.UnixFileMode.HasFlag(UnixFileMode.OtherExecute),
                $"An unprivileged process cannot reach {path}: {folder.FullName} is not searchable by other users ({folder.UnixFileMode}). Run the tests from a checkout other users can read.");
        }
    }
}
