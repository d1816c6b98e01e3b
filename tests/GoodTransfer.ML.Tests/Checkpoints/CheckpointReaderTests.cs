using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Checkpoints;

public sealed class CheckpointReaderTests
{
    public static TheoryData<string> Checkpoints => new(FixtureManifest.Instance.Checkpoints.Select(c => c.File));

    [Theory]
    [MemberData(nameof(Checkpoints))]
    public void Reads_every_layout_into_torchvision_names(string file)
    {
        var fixture = FixtureManifest.Instance.Checkpoint(file);

        var stateDict = CheckpointReader.Read(fixture.FullPath);

        Assert.Equal(fixture.Container, stateDict.Container.ToString(), ignoreCase: true);
        Assert.Equal(fixture.KeptKeys, stateDict.Count);
        Assert.Contains("conv1.weight", stateDict.Keys);
        Assert.DoesNotContain(stateDict.Keys, k => k.StartsWith("fc.", StringComparison.Ordinal) || k.Contains("num_batches_tracked", StringComparison.Ordinal) || k.Contains("module.", StringComparison.Ordinal));
        foreach (var ignored in fixture.IgnoredKeysInclude)
        {
            Assert.Contains(ignored, stateDict.IgnoredKeys);
        }

        Assert.All(stateDict.Tensors, t => Assert.Equal(t.Shape.Aggregate(1L, (a, d) => a * d), t.Data.LongLength));
        Assert.All(stateDict.Tensors, t => Assert.All(t.Data, v => Assert.True(float.IsFinite(v), $"{t.Name} holds {v}")));
    }

    /// <summary>
    /// Layouts that only change how the same weights are stored (prefixes, nesting, root folder,
    /// data descriptors, Zip64, channels-last strides, shared storage with offsets, legacy format)
    /// must give bit-identical tensors.
    /// </summary>
    [Fact]
    public void Every_storage_layout_of_the_same_weights_gives_identical_tensors()
    {
        var groups = FixtureManifest.Instance.Checkpoints
            .GroupBy(c => c.References["layer4"])
            .Where(g => g.Count() > 1)
            .ToList();
        Assert.NotEmpty(groups);
        foreach (var group in groups)
        {
            var baseline = CheckpointReader.Read(group.First().FullPath);
            foreach (var other in group.Skip(1))
            {
                var stateDict = CheckpointReader.Read(other.FullPath);
                Assert.Equal(baseline.Keys.Order(), stateDict.Keys.Order());
                foreach (var tensor in baseline.Tensors)
                {
                    var same = stateDict.Find(tensor.Name)!;
                    Assert.True(tensor.Shape.SequenceEqual(same.Shape), $"{other}: {tensor.Name} {same.ShapeText} vs {tensor.ShapeText}");
                    Assert.True(tensor.Data.AsSpan().SequenceEqual(same.Data), $"{other}: {tensor.Name} differs from {group.First()}");
                }
            }
        }
    }

    [Fact]
    public void MoCo_checkpoint_keeps_the_query_encoder_and_ignores_key_encoder_queue_and_head()
    {
        var fixture = FixtureManifest.Instance.Checkpoints.First(c => c.IgnoredKeysInclude.Any(k => k.Contains("encoder_k", StringComparison.Ordinal)));

        var stateDict = CheckpointReader.Read(fixture.FullPath);

        Assert.Contains("module.encoder_q.", stateDict.Layout, StringComparison.Ordinal);
        Assert.Contains(stateDict.IgnoredKeys, k => k.StartsWith("module.encoder_k.", StringComparison.Ordinal));
        Assert.Contains(stateDict.IgnoredKeys, k => k.EndsWith("queue", StringComparison.Ordinal));
        Assert.Contains(stateDict.IgnoredKeys, k => k.Contains("fc.0.", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_file_is_a_FileNotFoundException_naming_it()
    {
        var path = Path.Combine(Path.GetTempPath(), "goodtransfer-no-such-checkpoint.pth");

        var error = Assert.Throws<FileNotFoundException>(() => Backbone.FromFile(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<!DOCTYPE html><html><body>Sign in</body></html>", "HTML")]
    [InlineData("{\"error\": \"not found\"}", "not a PyTorch checkpoint")]
    public void Non_checkpoint_content_is_refused_with_what_it_looks_like(string content, string expected)
    {
        using var file = new TemporaryFile(System.Text.Encoding.UTF8.GetBytes(content));

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointReader.Read(file.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.Contains(file.Path, error.Message, StringComparison.Ordinal);
        Assert.Equal(file.Path, error.FilePath);
    }
}
