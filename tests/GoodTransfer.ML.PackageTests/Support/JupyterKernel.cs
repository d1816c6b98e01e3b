using System.Text.Json;
using Xunit.Sdk;

namespace GoodTransfer.ML.PackageTests.Support;

/// <summary>
/// A real Jupyter kernel for C# notebooks, as a new user gets one: the <c>Microsoft.dotnet-interactive</c> tool
/// from NuGet, installed into a folder of its own, with a kernelspec named <c>.net-csharp</c> (the notebook's) in
/// a private JUPYTER_PATH, so nothing of the machine's Jupyter setup changes. Notebooks are executed headless by
/// Debian's nbconvert (Kernel/execute_notebook.py) with a home folder of their own: .NET Interactive's package
/// cache (<c>~/.packagemanagement</c>) starts empty, and restores go into a packages folder of their own (taking
/// the packages that are not GoodTransfer.* from the machine's, read-only), so that <c>#r "nuget: ..."</c> really
/// restores the freshly packed GoodTransfer.ML.
/// </summary>
public sealed class JupyterKernel
{
    /// <summary>The version of .NET Interactive the notebook is tested with.</summary>
    public const string DotnetInteractiveVersion = "1.0.712001";

    public const string KernelName = ".net-csharp";

    private readonly string python;
    private readonly string jupyterPath;

    private JupyterKernel(string python, string jupyterPath, string home, string packages)
    {
        this.python = python;
        this.jupyterPath = jupyterPath;
        Home = home;
        Packages = packages;
    }

    /// <summary>The home folder the kernel runs with; its <c>.packagemanagement</c> is .NET Interactive's package cache.</summary>
    public string Home { get; }

    /// <summary>The packages folder (NUGET_PACKAGES) that <c>#r "nuget: ..."</c> restores into.</summary>
    public string Packages { get; }

    /// <summary>
    /// Installs the tool and writes the kernelspec under <paramref name="work"/>. Fails, naming what to install,
    /// where Debian's Jupyter (jupyter-nbconvert, jupyter-client, python3-ipykernel) is missing.
    /// </summary>
    public static JupyterKernel Install(string work)
    {
        var python = JupyterPython();
        var tools = Path.Combine(work, "tools");
        Command.Dotnet(work, "tool", "install", "Microsoft.dotnet-interactive", "--version", DotnetInteractiveVersion, "--tool-path", tools).Succeeded();
        var kernel = Path.Combine(tools, OperatingSystem.IsWindows() ? "dotnet-interactive.exe" : "dotnet-interactive");

        // What `dotnet-interactive jupyter install` writes, but with the tool's full path: it would write `dotnet interactive`, found on PATH.
        var jupyterPath = Path.Combine(work, "jupyter");
        var spec = Directory.CreateDirectory(Path.Combine(jupyterPath, "kernels", KernelName)).FullName;
        File.WriteAllText(Path.Combine(spec, "kernel.json"), JsonSerializer.Serialize(new
        {
            argv = new[] { kernel, "jupyter", "--default-kernel", "csharp", "{connection_file}" },
            display_name = ".NET (C#)",
            language = "C#",
        }));

        var home = Directory.CreateDirectory(Path.Combine(work, "home")).FullName;
        // The machine's NuGet sources, as the user has them (a fresh home would have only nuget.org).
        var userConfig = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "NuGet", "NuGet.Config");
        if (File.Exists(userConfig))
        {
            var copy = Directory.CreateDirectory(Path.Combine(home, ".nuget", "NuGet")).FullName;
            File.Copy(userConfig, Path.Combine(copy, "NuGet.Config"));
        }

        var packages = Directory.CreateDirectory(Path.Combine(work, "packages")).FullName;
        FreshProject.MachinePackagesWithoutGoodTransfer(FreshProject.MachinePackages, Path.Combine(work, "machine-packages"));
        return new JupyterKernel(python, jupyterPath, home, packages);
    }

    /// <summary>
    /// Executes <paramref name="notebook"/> in its own folder, every cell within <paramref name="cellTimeout"/>,
    /// and returns what each cell showed. <paramref name="variables"/> are added to the kernel's environment.
    /// </summary>
    public ExecutedNotebook Execute(string notebook, IReadOnlyDictionary<string, string> variables, TimeSpan cellTimeout)
    {
        var folder = Path.GetDirectoryName(notebook)!;
        var executed = Path.Combine(folder, Path.GetFileNameWithoutExtension(notebook) + ".executed.ipynb");
        var messages = Path.Combine(folder, Path.GetFileNameWithoutExtension(notebook) + ".messages.jsonl");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = Home,
            ["JUPYTER_PATH"] = jupyterPath,
            ["NUGET_PACKAGES"] = Packages,
            ["NUGET_FALLBACK_PACKAGES"] = Path.Combine(Path.GetDirectoryName(Packages)!, "machine-packages"),
            ["DOTNET_INTERACTIVE_CLI_TELEMETRY_OPTOUT"] = "1",
            ["PYTHONDONTWRITEBYTECODE"] = "1",
        };
        if (Path.IsPathRooted(Command.DotnetHost))
        {
            // The tool's launcher runs on the SDK that runs the tests.
            environment["DOTNET_ROOT"] = Path.GetDirectoryName(Command.DotnetHost)!;
        }

        foreach (var (name, value) in variables)
        {
            environment[name] = value;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "Kernel", "execute_notebook.py");
        var startup = TimeSpan.FromMinutes(2);
        string[] arguments = [script, notebook, executed, messages, KernelName, $"{cellTimeout.TotalSeconds:F0}", $"{startup.TotalSeconds:F0}"];
        var run = Command.Run(python, arguments, folder, environment, TimeSpan.FromMinutes(10)).Succeeded();
        return ExecutedNotebook.Read(executed, messages, run);
    }

    /// <summary>
    /// The Python that Debian's Jupyter runs on: the one in <c>jupyter-nbconvert</c>'s first line, which has
    /// nbconvert, nbclient and jupyter_client (a python3 earlier on PATH, such as pyenv's, may not).
    /// </summary>
    private static string JupyterPython()
    {
        const string Missing = "Jupyter is not installed: the notebook test runs the notebook with nbconvert in a real kernel. " +
            "Install Debian's jupyter-nbconvert, jupyter-client and python3-ipykernel (scripts/test.sh installs them).";
        var nbconvert = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "jupyter-nbconvert"))
            .FirstOrDefault(File.Exists)
            ?? throw new XunitException(Missing + " (no jupyter-nbconvert on PATH)");
        var shebang = File.ReadLines(nbconvert).First();
        var python = shebang.StartsWith("#!", StringComparison.Ordinal) ? shebang[2..].Trim().Split(' ')[0] : string.Empty;
        if (!File.Exists(python))
        {
            throw new XunitException($"{Missing} ({nbconvert} starts with '{shebang}', not with a Python that exists)");
        }

        var check = Command.Run(python, ["-c", "import nbconvert, nbclient, jupyter_client"], Path.GetTempPath(), null, TimeSpan.FromMinutes(1));
        return check.ExitCode == 0 ? python : throw new XunitException($"{Missing} ({python} cannot import them:\n{check.Output})");
    }
}
