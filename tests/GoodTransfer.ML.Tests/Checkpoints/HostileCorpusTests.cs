using System.Text.Json;
using System.Text.Json.Serialization;
using GoodTransfer.ML.Checkpoints;
using GoodTransfer.ML.Onnx;
using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Checkpoints;

/// <summary>Every file of Fixtures/hostile/ is refused with the exception type and message its manifest line names.</summary>
public sealed class HostileCorpusTests
{
    private static readonly Lazy<List<HostileFile>> Corpus = new(() =>
        JsonSerializer.Deserialize<List<HostileFile>>(File.ReadAllText(FixtureManifest.PathOf("hostile/manifest.json")))!);

    public static TheoryData<string> Files => new(Corpus.Value.Select(f => f.File));

    [Theory]
    [MemberData(nameof(Files))]
    public void Hostile_and_broken_files_are_refused_by_name(string file)
    {
        var entry = Corpus.Value.Single(f => f.File == file);
        var path = FixtureManifest.PathOf(Path.Combine("hostile", file));

        var error = Assert.ThrowsAny<CheckpointFormatException>(() => ResNetArchitecture.Infer(CheckpointReader.Read(path)));

        var expectedType = entry.Expect switch
        {
            "unsafe" => typeof(UnsafeCheckpointException),
            "mismatch" => typeof(CheckpointMismatchException),
            _ => typeof(CheckpointFormatException),
        };
        Assert.True(entry.Expect == "format" ? error is not UnsafeCheckpointException : error.GetType() == expectedType,
            $"{file} ({entry.Attacks}): expected {expectedType.Name}, got {error.GetType().Name}: {error.Message}");
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(entry.MessageContains))
        {
            Assert.Contains(entry.MessageContains, error.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void Corpus_covers_code_execution_whole_modules_truncation_and_key_errors()
    {
        var expectations = Corpus.Value.Select(f => f.Expect).ToHashSet();

        Assert.Superset(new HashSet<string> { "unsafe", "format", "mismatch" }, expectations);
        Assert.Contains(Corpus.Value, f => f.MessageContains.Contains("system", StringComparison.Ordinal));
        Assert.Contains(Corpus.Value, f => f.MessageContains.Contains("state_dict()", StringComparison.Ordinal));
    }

    private sealed class HostileFile
    {
        [JsonPropertyName("file")]
        public required string File { get; init; }

        [JsonPropertyName("attacks")]
        public required string Attacks { get; init; }

        [JsonPropertyName("expect")]
        public required string Expect { get; init; }

        [JsonPropertyName("message_contains")]
        public string MessageContains { get; init; } = string.Empty;
    }
}
