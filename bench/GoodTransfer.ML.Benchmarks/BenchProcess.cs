using System.Diagnostics;

/// <summary>What both benchmarks need: child processes, medians, the repository's root.</summary>
internal static class BenchProcess
{
    /// <summary>The CPU's model name from /proc/cpuinfo, for the machine line of every table.</summary>
    public static string CpuName()
    {
        if (!File.Exists("/proc/cpuinfo"))
        {
            return "unknown CPU";
        }

        var lines = File.ReadLines("/proc/cpuinfo").Take(30).ToList();
        string? Field(string name) => lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal))?.Split(':')[1].Trim();

        // The family tells the generations apart where the model name does not (AMD: 25 is Zen 3/4, 26 is Zen 5).
        return $"{Field("model name") ?? "unknown CPU"} (family {Field("cpu family") ?? "?"}, model {Field("model\t") ?? "?"})";
    }

    /// <summary>This process's peak resident set (VmHWM, its high-water mark), in MB.</summary>
    public static double PeakRssMegabytes() => StatusMegabytes("VmHWM:");

    /// <summary>A memory field of /proc/self/status ("VmRSS:", "VmHWM:"), in MB.</summary>
    public static double StatusMegabytes(string field)
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        var kibibytes = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        return kibibytes * 1024 / 1e6;
    }

    /// <summary>Runs a program and returns its standard output; throws with its standard error when it fails.</summary>
    public static string Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({process.ExitCode}): {error.Result}");
        }

        return output;
    }

    /// <summary>This benchmark as a fresh process: through its apphost, or as 'dotnet x.dll' when started that way.</summary>
    public static (string File, string[] Arguments) Self()
    {
        var self = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(self) == "dotnet" ? (self, [typeof(BenchProcess).Assembly.Location]) : (self, []);
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// A distribution-free interval for the median of <paramref name="values"/>: the k-th smallest and k-th largest, k the
    /// largest for which the two bound the true median with probability at least 95 % (each value falls below the median with
    /// probability one half, so the count below is binomial), and that probability. Too few values for 95 % (five or fewer)
    /// give the smallest and largest, and the lower probability they have (94 % for five).
    /// </summary>
    public static (double Low, double High, double Coverage) MedianInterval(IReadOnlyList<double> values)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(values.Count, 1);
        var sorted = values.Order().ToArray();
        var n = sorted.Length;

        // below: P(fewer than k values under the median) for the next k; one side's miss for the bounds k-th from each end.
        var term = Math.Pow(0.5, n);
        var below = term;
        var k = 1;
        while (k < (n + 1) / 2)
        {
            term *= (double)(n - k + 1) / k;
            if (2 * (below + term) > 0.05)
            {
                break;
            }

            below += term;
            k++;
        }

        return (sorted[k - 1], sorted[n - k], 1 - (2 * below));
    }

    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GoodTransfer.ML.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
