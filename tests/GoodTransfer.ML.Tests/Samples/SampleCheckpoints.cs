using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Samples;

/// <summary>
/// A full-size ResNet-50 with random weights (torchvision's initialisation, fixed seed, random BatchNorm
/// statistics), written by real PyTorch at test time, and a <see cref="CheckpointServer"/> on 127.0.0.1 that
/// serves it under every one of the paper's 24 file names: the samples download "the paper's backbones" from
/// it as from the paper's host. Made once for the tests that share <see cref="SamplesWithMirror"/>.
/// Fails, never skips, without PyTorch.
/// </summary>
public sealed class SampleCheckpoints : IDisposable
{
    private readonly TemporaryFile checkpoint = new("resnet50.pth");

    public SampleCheckpoints()
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Samples", "make_resnet50_checkpoint.py");
        PythonOracle.Run(TimeSpan.FromMinutes(5), script, checkpoint.Path);
        var content = File.ReadAllBytes(checkpoint.Path);
        foreach (var backbone in Backbone.All)
        {
            Server.Add(backbone.FileName, content);
        }
    }

    public CheckpointServer Server { get; } = new();

    /// <summary>The environment that makes a sample download from <see cref="Server"/>.</summary>
    public IReadOnlyDictionary<string, string> Mirror => SampleProcess.MirrorAt(Server.BaseUrl);

    public void Dispose()
    {
        Server.Dispose();
        checkpoint.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class SamplesWithMirror : ICollectionFixture<SampleCheckpoints>
{
    public const string Name = "Samples against a mirror of generated checkpoints";
}
