using System.Text.Json;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary>The tool's runtime settings, as its package ships them.</summary>
public sealed class RuntimeConfigTests
{
    [Fact]
    public void The_tool_turns_off_the_thread_pools_spinning_and_dynamic_PGO_for_its_silos_and_jobs()
    {
        var path = Path.ChangeExtension(CliProcess.Dll, ".runtimeconfig.json");
        Assert.True(File.Exists(path), $"{path} is missing: the tool is built into the tests' output");
        using var json = JsonDocument.Parse(File.ReadAllText(path));
        var settings = json.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, settings.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.False(settings.GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }
}
