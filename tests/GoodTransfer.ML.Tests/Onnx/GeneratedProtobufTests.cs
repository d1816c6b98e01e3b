using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Onnx;

/// <summary>
/// The committed <c>Onnx.g.cs</c> is exactly what protoc generates from <c>onnx.proto</c>, run with the
/// arguments that the header of <c>onnx.proto</c> documents, by the protoc of Google.Protobuf.Tools at
/// the version of the Google.Protobuf runtime that compiles it. An edit to one file without the other
/// fails here.
/// </summary>
public sealed class GeneratedProtobufTests
{
    private const string ProtoFile = "src/GoodTransfer.ML/Onnx/onnx.proto";
    private const string GeneratedFile = "src/GoodTransfer.ML/Onnx/Onnx.g.cs";

    // The arguments in the header of onnx.proto, but --csharp_out, which is a temporary folder here.
    private const string ProtoPath = "--proto_path=src/GoodTransfer.ML/Onnx";
    private const string CommittedOutput = "--csharp_out=src/GoodTransfer.ML/Onnx";
    private const string CSharpOptions = "--csharp_opt=file_extension=.g.cs,internal_access";

    private static readonly Lazy<string> RepositoryRoot = new(FindRepositoryRoot);

    [Fact]
    public void Committed_Onnx_g_cs_is_what_protoc_generates_from_onnx_proto()
    {
        var protoc = Protoc();
        using var output = new TemporaryFile("Onnx.g.cs");

        var (code, error) = Run(protoc, [ProtoPath, "--csharp_out=" + output.Folder, CSharpOptions, ProtoFile]);

        Assert.True(code == 0, $"'{protoc}' exited with {code}:\n{error}");
        Assert.True(File.Exists(output.Path), $"protoc wrote no {Path.GetFileName(output.Path)} into {output.Folder}.");
        var generated = File.ReadAllBytes(output.Path);
        var committed = File.ReadAllBytes(Path.Combine(RepositoryRoot.Value, GeneratedFile));
        var firstDifference = generated.AsSpan().CommonPrefixLength(committed);
        Assert.True(
            generated.Length == committed.Length && firstDifference == generated.Length,
            $"{GeneratedFile} is not what protoc generates from {ProtoFile} (they differ from byte {firstDifference}; " +
            $"generated {generated.Length} bytes, committed {committed.Length}). Regenerate it from the repository root with\n" +
            $"  {protoc} {ProtoPath} {CommittedOutput} {CSharpOptions} {ProtoFile}\nand commit it with onnx.proto.");
    }

    [Fact]
    public void The_header_of_onnx_proto_documents_the_arguments_this_test_runs_protoc_with()
    {
        var header = File.ReadAllText(Path.Combine(RepositoryRoot.Value, ProtoFile));

        Assert.All([ProtoPath, CommittedOutput, CSharpOptions, ProtoFile], argument => Assert.Contains(argument, header, StringComparison.Ordinal));
    }

    [Fact]
    public void Protoc_comes_from_Google_Protobuf_Tools_at_the_version_of_Google_Protobuf()
    {
        var nuspec = XDocument.Load(Path.Combine(ProtocFolder(), "google.protobuf.tools.nuspec"));
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        var packages = XDocument.Load(Path.Combine(RepositoryRoot.Value, "Directory.Packages.props"));
        var runtimeVersion = packages.Descendants("PackageVersion").Single(p => (string?)p.Attribute("Include") == "Google.Protobuf").Attribute("Version")!.Value;

        Assert.Equal("Google.Protobuf.Tools", metadata.Elements().Single(e => e.Name.LocalName == "id").Value);
        Assert.Equal(runtimeVersion, metadata.Elements().Single(e => e.Name.LocalName == "version").Value);
    }

    // The package folder that NuGet restored Google.Protobuf.Tools into: the csproj writes its
    // $(PkgGoogle_Protobuf_Tools) into this assembly.
    private static string ProtocFolder()
    {
        var folder = typeof(GeneratedProtobufTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "ProtocFolder")?.Value;
        Assert.False(
            string.IsNullOrEmpty(folder),
            "The test assembly does not know where Google.Protobuf.Tools was restored: its ProtocFolder metadata comes from " +
            "$(PkgGoogle_Protobuf_Tools), which needs the PackageReference with GeneratePathProperty=\"true\" and a restore.");
        return folder!;
    }

    private static string Protoc()
    {
        var protoc = Path.Combine(ProtocFolder(), "tools", PlatformFolder(), OperatingSystem.IsWindows() ? "protoc.exe" : "protoc");
        Assert.True(File.Exists(protoc), $"No protoc at '{protoc}': the Google.Protobuf.Tools package there is incomplete; delete its folder and restore again.");

        // NuGet does not always keep a file's execute bit when it extracts a package.
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(protoc);
            if (!mode.HasFlag(UnixFileMode.UserExecute))
            {
                File.SetUnixFileMode(protoc, mode | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            }
        }

        return protoc;
    }

    // The package's tools/<os>_<arch> folders. It has one macOS build, for x64, which Apple silicon runs
    // under Rosetta 2, and Windows on Arm runs the x64 build too.
    private static string PlatformFolder()
    {
        var architecture = RuntimeInformation.OSArchitecture;
        var folder = architecture switch
        {
            Architecture.X64 when OperatingSystem.IsLinux() => "linux_x64",
            Architecture.X86 when OperatingSystem.IsLinux() => "linux_x86",
            Architecture.Arm64 when OperatingSystem.IsLinux() => "linux_aarch64",
            Architecture.X64 or Architecture.Arm64 when OperatingSystem.IsMacOS() => "macosx_x64",
            Architecture.X64 or Architecture.Arm64 when OperatingSystem.IsWindows() => "windows_x64",
            Architecture.X86 when OperatingSystem.IsWindows() => "windows_x86",
            _ => null,
        };
        Assert.True(folder is not null, $"Google.Protobuf.Tools has no protoc for {RuntimeInformation.OSDescription} on {architecture}.");
        return folder!;
    }

    private static (int Code, string Error) Run(string protoc, IEnumerable<string> arguments)
    {
        // The documented arguments are paths relative to the repository root.
        var start = new ProcessStartInfo(protoc)
        {
            WorkingDirectory = RepositoryRoot.Value,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {protoc}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{protoc}' did not finish within a minute.");
        }

        return (process.ExitCode, error.Result + output.Result);
    }

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "GoodTransfer.ML.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"No GoodTransfer.ML.sln above {AppContext.BaseDirectory}.");
    }
}
