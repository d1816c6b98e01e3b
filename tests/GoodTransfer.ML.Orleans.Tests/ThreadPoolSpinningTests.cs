using System.Text.Json;

namespace GoodTransfer.ML.Orleans.Tests;

/// <summary>A silo says when its thread pool's idle workers spin, and the processes this project ships turn spinning off.</summary>
public sealed class ThreadPoolSpinningTests
{
    [Fact]
    public void Spinning_left_on_is_named_with_the_setting_and_where_to_put_it()
    {
        var unset = ThreadPoolSpinning.Advice(null, null);
        var seventy = ThreadPoolSpinning.Advice(70, null);
        var junk = ThreadPoolSpinning.Advice(null, "often");

        Assert.NotNull(unset);
        Assert.Contains("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit is unset", unset, StringComparison.Ordinal);
        Assert.Contains("<RuntimeHostConfigurationOption Include=\"System.Threading.ThreadPool.UnfairSemaphoreSpinLimit\" Value=\"0\" />", unset, StringComparison.Ordinal);
        Assert.Contains("DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0", unset, StringComparison.Ordinal);
        Assert.Contains("is 70", seventy, StringComparison.Ordinal);
        Assert.Contains("is often", junk, StringComparison.Ordinal);
    }

    [Fact]
    public void Spinning_off_in_the_runtimeconfig_or_the_environment_needs_no_advice_and_the_runtimeconfig_wins()
    {
        Assert.Null(ThreadPoolSpinning.Advice(0, null));
        Assert.Null(ThreadPoolSpinning.Advice("0", null));
        Assert.Null(ThreadPoolSpinning.Advice(null, "0"));
        Assert.NotNull(ThreadPoolSpinning.Advice(70, "0"));
    }

    [Fact]
    public void The_silo_and_job_processes_turn_spinning_off()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "clustercheck", "GoodTransfer.ML.Orleans.ClusterCheck.runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing: the cluster-check program is built into the tests' output");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var value = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").GetProperty(ThreadPoolSpinning.ConfigName);

        Assert.Null(ThreadPoolSpinning.Advice(value.GetInt32(), null));
    }
}
