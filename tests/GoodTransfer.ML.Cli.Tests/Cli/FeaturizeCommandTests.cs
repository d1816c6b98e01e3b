using GoodTransfer.ML.Tests.Support;

namespace GoodTransfer.ML.Tests.Cli;

/// <summary><c>goodtransfer featurize</c>: files and shards whose features are the featurizer's own, bit for bit; reruns that resume; kills that leave no half part.</summary>
[Collection(FeatureFileGroup.Name)]
public sealed class FeaturizeCommandTests(FeatureFileFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    private static string Checkpoint => FeatureFixtures.Backbone.CheckpointPath!;

    [Fact]
    public void Three_shards_hold_exactly_the_unsharded_file_and_a_rerun_skips_them()
    {
        using var work = new TemporaryFile("unused");
        var whole = Path.Combine(work.Folder, "whole.parquet");
        var parts = Path.Combine(work.Folder, "parts");

        var run = CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", whole], work, output: output);
        Assert.Equal(0, run.ExitCode);
        Assert.Contains($"Wrote {whole}: {fixture.Images.Count} images, {fixture.Metadata.FeatureLength} features each (bottleneck_moco_v2, Layer4, Float32)", run.Output, StringComparison.Ordinal);
        foreach (var shard in (string[])["0/3", "1/3", "2/3"])
        {
            var part = CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", parts, "--shard", shard], work, output: output);
            Assert.Equal(0, part.ExitCode);
        }

        // The union of the parts, and the whole file as Arrow's reader sees it, are the featurizer's own output.
        var file = ParquetSharpFile.Read(whole);
        Assert.Equal(fixture.Images.Select(i => i.Path), file.Paths);
        Assert.Equal(fixture.Images.Select(i => i.Label), file.Labels!);
        FeatureFixtures.AssertSameBits(fixture.Expected, file.Features);
        var union = FeatureFile.Read(parts);
        Assert.Equal(file.Paths, union.Select(r => r.Path));
        FeatureFixtures.AssertSameBits(file.Features, union.Select(r => r.Features).ToList());
        Assert.Equal(FeatureFile.ReadMetadata(whole), FeatureFile.ReadMetadata(parts));
        var sizes = Enumerable.Range(0, 3).Select(i => ParquetSharpFile.Read(Path.Combine(parts, $"part-{i}-of-3.parquet")).Paths.Count).ToList();
        Assert.Equal(fixture.Images.Count, sizes.Sum());
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(", ", sizes));

        // A rerun of a complete part writes nothing and says so.
        var written = File.GetLastWriteTimeUtc(Path.Combine(parts, "part-1-of-3.parquet"));
        var rerun = CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", parts, "--shard", "1/3"], work, output: output);
        Assert.Equal(0, rerun.ExitCode);
        Assert.Contains($"part-1-of-3.parquet: complete ({sizes[1]} images, bottleneck_moco_v2), skipped", rerun.Output, StringComparison.Ordinal);
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(parts, "part-1-of-3.parquet")));
    }

    [Fact]
    public void Int8_shards_calibrate_on_the_whole_list_so_they_equal_the_unsharded_run()
    {
        using var work = new TemporaryFile("unused");
        var whole = Path.Combine(work.Folder, "whole.parquet");
        var parts = Path.Combine(work.Folder, "parts");

        Assert.Equal(0, CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", whole, "--precision", "Int8"], work, output: output).ExitCode);
        foreach (var shard in (string[])["0/2", "1/2"])
        {
            Assert.Equal(0, CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", parts, "--shard", shard, "--precision", "Int8"], work, output: output).ExitCode);
        }

        Assert.Equal(Precision.Int8, FeatureFile.ReadMetadata(parts).Precision);
        var expected = FeatureFile.Read(whole);
        FeatureFixtures.AssertSameBits(expected.Select(r => r.Features).ToList(), FeatureFile.Read(parts).Select(r => r.Features).ToList());
        // Quantized, so not the float32 features.
        Assert.NotEqual(fixture.Expected[0], expected[0].Features);
    }

    [Fact]
    public void Csv_output_reads_back_bit_for_bit()
    {
        using var work = new TemporaryFile("unused");
        var csv = Path.Combine(work.Folder, "features.csv");

        var run = CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", csv], work, output: output);

        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("# goodtransfer.backbone=bottleneck_moco_v2\n", File.ReadAllText(csv), StringComparison.Ordinal);
        var rows = FeatureFile.Read(csv);
        Assert.Equal(fixture.Images.Select(i => (i.Path, i.Label)), rows.Select(r => (r.Path, r.Label)));
        FeatureFixtures.AssertSameBits(fixture.Expected, rows.Select(r => r.Features).ToList());
    }

    [Fact]
    public void A_part_written_by_another_backbone_is_refused_not_skipped()
    {
        using var work = new TemporaryFile("unused");
        var parts = Path.Combine(work.Folder, "parts");
        Assert.Equal(0, CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", parts, "--shard", "0/2"], work).ExitCode);

        var run = CliProcess.Run(["featurize", fixture.ImageFolder, "--checkpoint", Checkpoint, "--out", parts, "--shard", "0/2", "--layer", "Layer3"], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal(
            $"error: '{Path.Combine(parts, "part-0-of-2.parquet")}' exists with features of bottleneck_moco_v2 (Layer4, Float32), not bottleneck_moco_v2 (Layer3, Float32): delete it, or write to another --out",
            run.SingleError());
    }

    [Fact]
    public void A_killed_run_leaves_no_part_under_its_final_name_and_a_rerun_completes_it()
    {
        using var work = new TemporaryFile("unused");
        // Enough images that the run is still featurizing when it is killed.
        var images = Path.Combine(work.Folder, "many");
        for (var copy = 0; copy < 12; copy++)
        {
            foreach (var image in fixture.Images)
            {
                var folder = Directory.CreateDirectory(Path.Combine(images, image.Label!)).FullName;
                File.Copy(image.Path, Path.Combine(folder, $"{copy:D2}-{Path.GetFileName(image.Path)}"));
            }
        }

        var parts = Path.Combine(work.Folder, "parts");
        var final = Path.Combine(parts, "part-0-of-1.parquet");
        using (var process = CliProcess.Start(["featurize", images, "--checkpoint", Checkpoint, "--out", parts, "--batch-size", "1"], work))
        {
            // Killed once the model is converted (the ONNX cache has it) and featurizing has begun.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Directory.Exists(Path.Combine(CliProcess.Cache(work), "onnx")) || Directory.GetFiles(Path.Combine(CliProcess.Cache(work), "onnx"), "*.onnx").Length < 2)
            {
                Assert.False(process.HasExited, "the run ended before it could be killed");
                Assert.True(DateTime.UtcNow < deadline, "the model was not converted within 60 s");
                Thread.Sleep(20);
            }

            Thread.Sleep(500);
            Assert.False(process.HasExited, "the run featurized every image before it could be killed: give it more images");
            process.Kill(entireProcessTree: true);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)));
        }

        Assert.False(File.Exists(final), $"{final} exists after the run was killed");
        var rerun = CliProcess.Run(["featurize", images, "--checkpoint", Checkpoint, "--out", parts], work, output: output);
        Assert.Equal(0, rerun.ExitCode);
        var rows = FeatureFile.Read(parts);
        Assert.Equal(12 * fixture.Images.Count, rows.Count);
        Assert.All(rows, r => Assert.Equal(fixture.Metadata.FeatureLength, r.Features.Length));
    }

    [Fact]
    public void An_image_that_cannot_be_decoded_exits_2_naming_it()
    {
        using var work = new TemporaryFile("unused");
        var images = Directory.CreateDirectory(Path.Combine(work.Folder, "images", "cat")).FullName;
        File.Copy(fixture.Images[0].Path, Path.Combine(images, "a.jpg"));
        File.WriteAllText(Path.Combine(images, "b.jpg"), "not an image");

        var run = CliProcess.Run(["featurize", Path.Combine(work.Folder, "images"), "--checkpoint", Checkpoint, "--out", Path.Combine(work.Folder, "f.parquet")], work, output: output);

        Assert.Equal(2, run.ExitCode);
        Assert.Contains(Path.Combine(images, "b.jpg"), run.SingleError(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(work.Folder, "f.parquet")));
    }
}
