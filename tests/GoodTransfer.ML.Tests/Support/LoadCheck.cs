using System.Diagnostics;

namespace GoodTransfer.ML.Tests.Support;

/// <summary>
/// Runs tests/GoodTransfer.ML.LoadCheck, which loads a saved model in a fresh process (offline, with the cache
/// given, the mirror unreachable) and prints the features of each image path, one comma-separated line each.
/// </summary>
public static class LoadCheck
{
    public static string[] Run(string cacheFolder, string[] arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "loadcheck", "GoodTransfer.ML.LoadCheck.dll");
        Assert.True(File.Exists(dll), $"the load-check program was not built at {dll}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["GOODTRANSFER_HOME"] = cacheFolder;
        start.Environment["GOODTRANSFER_OFFLINE"] = "1";
        start.Environment["GOODTRANSFER_MIRROR"] = "http://127.0.0.1:9/unreachable/";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "the load-check process did not finish");
        Assert.True(process.ExitCode == 0, $"load check failed ({process.ExitCode}): {error.Result}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
