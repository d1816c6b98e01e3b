using System.Diagnostics;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// How the tests start a built .NET program (a sample, the goodtransfer tool) as a user would: a fresh process in
/// its own working folder, with standard output and error redirected, its own cache, and no GoodTransfer
/// environment but what the test gives.
/// </summary>
public static class UserProcess
{
    private static readonly string[] GoodTransferVariables = ["GOODTRANSFER_HOME", "GOODTRANSFER_MIRROR", "GOODTRANSFER_OFFLINE"];

    /// <summary>The cache folder of a run in <paramref name="work"/>: empty until the program fills it.</summary>
    public static string Cache(TemporaryFile work) => Path.Combine(work.Folder, "cache");

    /// <summary>What starts <paramref name="dll"/> with <paramref name="arguments"/> in <paramref name="work"/>.</summary>
    public static ProcessStartInfo StartInfo(string dll, IReadOnlyList<string> arguments, TemporaryFile work, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = work.Folder,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in GoodTransferVariables)
        {
            start.Environment.Remove(variable);
        }

        start.Environment["GOODTRANSFER_HOME"] = Cache(work);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return start;
    }
}
