using System.Globalization;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// Whether the process's thread pool lets idle workers spin before they block (.NET's default, up to 70 rounds of
/// <c>sched_yield</c>). A silo wakes its workers many times a second (messages, timers, probes), and each spin takes a
/// core from ONNX Runtime: on two cores a silo used 4-8 % more CPU per image than one process, and the gap closed with
/// spinning off. The runtime reads the setting once, at start, so a silo can only say so: see <see cref="Advice"/>.
/// </summary>
internal static class ThreadPoolSpinning
{
    public const string ConfigName = "System.Threading.ThreadPool.UnfairSemaphoreSpinLimit";
    public const string EnvironmentName = "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit";

    /// <summary>What to do, or null when spinning is off already: the runtimeconfig value wins over the environment, as in the runtime.</summary>
    /// <param name="configValue">The runtimeconfig (AppContext) value, if any.</param>
    /// <param name="environmentValue">The environment variable's value, if any.</param>
    public static string? Advice(object? configValue, string? environmentValue)
    {
        var value = configValue?.ToString() ?? environmentValue;
        if (value is not null && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit) && limit == 0)
        {
            return null;
        }

        return $"The thread pool's idle workers spin before they block ({ConfigName} is {value ?? "unset"}): on a silo that " +
            "featurizes, each spin takes a core from ONNX Runtime (4-8 % of the CPU per image, measured on two cores). Set it " +
            $"to 0 in the silo's project (<RuntimeHostConfigurationOption Include=\"{ConfigName}\" Value=\"0\" />) or in its " +
            $"environment ({EnvironmentName}=0); the goodtransfer tool does.";
    }

    /// <summary>The advice for this process.</summary>
    public static string? ForThisProcess() => Advice(AppContext.GetData(ConfigName), Environment.GetEnvironmentVariable(EnvironmentName));
}
