using System.Security.Cryptography;
using GoodTransfer.ML.Tests.Support;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace GoodTransfer.ML.Tests.FeatureFiles;

[Collection(FeatureFileGroup.Name)]
public sealed class FeatureFileTests(FeatureFileFixture fixture)
{
    [Fact]
    public void Featurizer_records_its_provenance()
    {
        var checkpoint = FeatureFixtures.Backbone.CheckpointPath!;
        var sha256 = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(checkpoint))).ToLowerInvariant();

        Assert.Equal(sha256, fixture.Featurizer.CheckpointSha256);
        Assert.Equal(FeatureLayer.Layer4, fixture.Featurizer.FeatureLayer);
        Assert.Equal(Precision.Float32, fixture.Featurizer.Precision);
        Assert.Equal(fixture.Expected[0].Length, fixture.Featurizer.FeatureLength);
        Assert.Equal(new FeatureFileMetadata("bottleneck_moco_v2", sha256, FeatureLayer.Layer4, Precision.Float32, fixture.Expected[0].Length, FeatureFileMetadata.CurrentLibraryVersion), fixture.Metadata);
        Assert.StartsWith("0.", FeatureFileMetadata.CurrentLibraryVersion, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_writes_a_Parquet_file_that_ParquetSharp_reads_back_bit_for_bit()
    {
        using var output = new TemporaryFile("features.parquet");
        var plan = FeaturizationPlan.Create(fixture.Images, output.Path);
        var done = new List<int>();

        plan.Run(fixture.MLContext, fixture.Featurizer, new SynchronousProgress(done.Add));

        var file = ParquetSharpFile.Read(output.Path);
        Assert.Equal(["path", "label", "features"], file.Columns);
        Assert.Equal(fixture.Images.Select(i => i.Path), file.Paths);
        Assert.Equal(fixture.Images.Select(i => i.Label), file.Labels!);
        FeatureFixtures.AssertSameBits(fixture.Expected, file.Features);
        var metadata = fixture.Metadata;
        Assert.Equal(metadata.Backbone, file.Metadata["goodtransfer.backbone"]);
        Assert.Equal(metadata.CheckpointSha256, file.Metadata["goodtransfer.checkpoint_sha256"]);
        Assert.Equal("Layer4", file.Metadata["goodtransfer.layer"]);
        Assert.Equal("Float32", file.Metadata["goodtransfer.precision"]);
        Assert.Equal(metadata.FeatureLength.ToString(System.Globalization.CultureInfo.InvariantCulture), file.Metadata["goodtransfer.feature_length"]);
        Assert.Equal(metadata.LibraryVersion, file.Metadata["goodtransfer.library_version"]);
        Assert.Equal(Enumerable.Range(1, fixture.Images.Count), done);
        Assert.Equal(metadata, FeatureFile.ReadMetadata(output.Path));
    }

    [Fact]
    public void DeleteLeftovers_deletes_only_the_temporary_files_of_writes_of_the_files_named()
    {
        using var output = new TemporaryFile("part-0-of-2.parquet");
        var folder = output.Folder;
        var other = Path.Combine(folder, "part-1-of-2.parquet");
        FeatureFile.Write(output.Path, fixture.Metadata, fixture.Rows);
        string[] left = [$"{output.Path}.{Guid.NewGuid():N}.tmp", $"{output.Path}.{Guid.NewGuid():N}.tmp"];
        string[] kept = [$"{other}.{Guid.NewGuid():N}.tmp", $"{output.Path}.notaguid.tmp", $"{output.Path}.{Guid.NewGuid():N}.part", Path.Combine(folder, $"{Guid.NewGuid():N}.tmp")];
        foreach (var file in left.Concat(kept))
        {
            File.WriteAllText(file, "half a part");
        }

        var deleted = FeatureFile.DeleteLeftovers([output.Path]);

        Assert.Equal(2, deleted);
        Assert.All(left, file => Assert.False(File.Exists(file), file));
        Assert.All(kept, file => Assert.True(File.Exists(file), file));
        Assert.Equal(fixture.Rows.Count, FeatureFile.Read(output.Path).Count);
        Assert.Equal(0, FeatureFile.DeleteLeftovers([Path.Combine(folder, "missing", "part-0-of-1.parquet")]));
    }

    [Fact]
    public void A_complete_plan_run_deletes_what_a_killed_run_of_it_left_beside_the_output()
    {
        using var output = new TemporaryFile("part-0-of-1.parquet");
        var leftover = $"{output.Path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(leftover, "half a part");

        FeaturizationPlan.Create(fixture.Images, output.Path).Run(fixture.MLContext, fixture.Featurizer);

        Assert.False(File.Exists(leftover));
        Assert.Equal(fixture.Images.Count, FeatureFile.Read(output.Path).Count);
    }

    [Fact]
    public void Rows_without_labels_have_no_label_column()
    {
        using var output = new TemporaryFile("features.parquet");
        var rows = fixture.Rows.Select(r => r with { Label = null }).ToList();

        FeatureFile.Write(output.Path, fixture.Metadata, rows);

        var file = ParquetSharpFile.Read(output.Path);
        Assert.Equal(["path", "features"], file.Columns);
        Assert.Null(file.Labels);
        var read = FeatureFile.Read(output.Path);
        Assert.All(read, r => Assert.Null(r.Label));
        Assert.DoesNotContain(FeatureFile.Load(fixture.MLContext, output.Path).Schema, c => c.Name == "Label");
    }

    [Theory]
    [InlineData("features.parquet", FeatureFileFormat.Parquet)]
    [InlineData("features.csv", FeatureFileFormat.Csv)]
    [InlineData("parquet-named.csv", FeatureFileFormat.Parquet)]
    [InlineData("csv-named.parquet", FeatureFileFormat.Csv)]
    public void Read_returns_what_was_written_bit_for_bit(string name, FeatureFileFormat format)
    {
        using var output = new TemporaryFile(name);
        // A path with the characters CSV must quote, and an unknown label among known ones.
        var rows = fixture.Rows.Select((r, i) => i == 1 ? r with { Path = "odd, \"quoted\" #name.jpg", Label = null } : r).ToList();

        FeatureFile.Write(output.Path, fixture.Metadata, rows, format);

        var read = FeatureFile.Read(output.Path);
        Assert.Equal(rows.Select(r => (r.Path, r.Label)), read.Select(r => (r.Path, r.Label)));
        FeatureFixtures.AssertSameBits(rows.Select(r => r.Features).ToList(), read.Select(r => r.Features).ToList());
        Assert.Equal(fixture.Metadata, FeatureFile.ReadMetadata(output.Path));
    }

    [Fact]
    public void Load_gives_a_known_size_vector_that_a_classifier_trains_on()
    {
        using var output = new TemporaryFile("features.parquet");
        FeatureFile.Write(output.Path, fixture.Metadata, fixture.Rows);

        var data = FeatureFile.Load(fixture.MLContext, output.Path);

        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, fixture.Metadata.FeatureLength), data.Schema["Features"].Type);
        Assert.Equal(TextDataViewType.Instance, data.Schema["Path"].Type);
        Assert.Equal(TextDataViewType.Instance, data.Schema["Label"].Type);
        FeatureFixtures.AssertSameBits(fixture.Expected, FeatureFixtures.Column(data, "Features"));

        var ml = fixture.MLContext;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.NormalizeMeanVariance("Features", fixZero: false))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy("Label", "Features"));
        var model = pipeline.Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        // Four classes, mostly astronaut, chelsea and coffee: a probe that learned nothing scores under a half on its own training rows.
        Assert.True(metrics.MicroAccuracy > 0.9, $"training accuracy {metrics.MicroAccuracy}");
    }

    [Fact]
    public void A_failed_write_leaves_the_old_file_and_no_temporary_file()
    {
        using var output = new TemporaryFile("features.parquet");
        FeatureFile.Write(output.Path, fixture.Metadata, fixture.Rows);
        var before = File.ReadAllBytes(output.Path);

        // Checked row by row first, then enumerated by the writer: the enumeration fails half way.
        var failing = new FailingRows(fixture.Rows);
        Assert.Throws<IOException>(() => FeatureFile.Write(output.Path, fixture.Metadata, failing));

        Assert.Equal(before, File.ReadAllBytes(output.Path));
        Assert.Equal([output.Path], Directory.GetFiles(output.Folder));
    }

    [Fact]
    public void Write_refuses_rows_of_the_wrong_length_naming_the_row()
    {
        using var output = new TemporaryFile("features.parquet");
        var rows = fixture.Rows.Select((r, i) => i == 2 ? r with { Features = r.Features[1..] } : r).ToList();

        var e = Assert.Throws<ArgumentException>(() => FeatureFile.Write(output.Path, fixture.Metadata, rows));

        Assert.Contains($"Row 2 ('{rows[2].Path}') has {fixture.Metadata.FeatureLength - 1} features", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output.Path));
    }

    [Fact]
    public void A_file_that_is_not_a_feature_file_is_refused_naming_it()
    {
        using var garbage = new TemporaryFile("x"u8.ToArray(), "garbage.parquet");
        var e = Assert.Throws<InvalidDataException>(() => FeatureFile.Read(garbage.Path));
        Assert.Contains(garbage.Path, e.Message, StringComparison.Ordinal);

        using var plain = new TemporaryFile("plain.csv");
        File.WriteAllText(plain.Path, "path,f0\na.jpg,1\n");
        var missing = Assert.Throws<InvalidDataException>(() => FeatureFile.ReadMetadata(plain.Path));
        Assert.Equal($"'{plain.Path}' is not a GoodTransfer feature file: it has no 'goodtransfer.backbone' metadata.", missing.Message);
    }

    [Fact]
    public void A_folder_of_parts_reads_in_part_order_and_must_be_complete()
    {
        using var output = new TemporaryFile("unused");
        var folder = Path.Combine(output.Folder, "parts");
        foreach (var shard in (int[])[2, 0, 1])
        {
            FeaturizationPlan.Create(fixture.Images, folder, new FeatureShard(shard, 3)).Run(fixture.MLContext, fixture.Featurizer);
        }

        Assert.Equal(["part-0-of-3.parquet", "part-1-of-3.parquet", "part-2-of-3.parquet"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var read = FeatureFile.Read(folder);
        Assert.Equal(fixture.Images.Select(i => i.Path), read.Select(r => r.Path));
        FeatureFixtures.AssertSameBits(fixture.Expected, read.Select(r => r.Features).ToList());
        FeatureFixtures.AssertSameBits(fixture.Expected, FeatureFixtures.Column(FeatureFile.Load(fixture.MLContext, folder), "Features"));
        Assert.Equal(fixture.Metadata, FeatureFile.ReadMetadata(folder));

        File.Delete(Path.Combine(folder, "part-1-of-3.parquet"));
        var e = Assert.Throws<InvalidDataException>(() => FeatureFile.Read(folder));
        Assert.Equal($"Folder '{folder}' holds 2 of 3 parts: part-1-of-3 missing (a shard that has not run, or not finished).", e.Message);
    }

    [Fact]
    public void A_complete_part_is_found_and_one_of_other_images_is_refused()
    {
        using var output = new TemporaryFile("unused");
        var plan = FeaturizationPlan.Create(fixture.Images, output.Folder, new FeatureShard(1, 2));
        Assert.Null(plan.Existing());

        plan.Run(fixture.MLContext, fixture.Featurizer);

        Assert.Equal(fixture.Metadata, plan.Existing());
        var other = FeaturizationPlan.Create(fixture.Images.Skip(1).ToList(), output.Folder, new FeatureShard(1, 2));
        var e = Assert.Throws<InvalidDataException>(other.Existing);
        Assert.StartsWith($"'{Path.Combine(output.Folder, "part-1-of-2.parquet")}' exists but holds other images", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(10, 3)]
    [InlineData(2, 5)]
    [InlineData(7, 1)]
    public void Shards_cut_the_list_into_contiguous_parts_that_cover_it_once(int items, int count)
    {
        var list = Enumerable.Range(0, items).ToList();

        var parts = Enumerable.Range(0, count).Select(i => new FeatureShard(i, count).Cut(list)).ToList();

        Assert.Equal(list, parts.SelectMany(p => p));
        Assert.True(parts.Max(p => p.Count) - parts.Min(p => p.Count) <= 1);
    }

    [Theory]
    [InlineData("3/3")]
    [InlineData("1/0")]
    [InlineData("-1/3")]
    [InlineData("1")]
    [InlineData("a/b")]
    public void A_shard_that_is_not_I_of_N_is_refused(string text)
    {
        var e = Assert.Throws<FormatException>(() => FeatureShard.Parse(text));
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listed_images_are_sorted_and_labelled_by_class_subfolder()
    {
        Assert.Equal(fixture.Images.Select(i => i.Path).Order(StringComparer.Ordinal), fixture.Images.Select(i => i.Path));
        Assert.Equal(["astronaut", "chelsea", "coffee", "rocket"], fixture.Images.Select(i => i.Label).Distinct());
        Assert.All(fixture.Images, i => Assert.Equal(i.Label, Path.GetFileName(Path.GetDirectoryName(i.Path))));

        using var list = new TemporaryFile("images.txt");
        File.WriteAllLines(list.Path, ["# the list", fixture.Images[2].Path, string.Empty, fixture.Images[0].Path]);
        Assert.Equal([fixture.Images[0].Path, fixture.Images[2].Path], FeaturizationPlan.ListImages(list.Path).Select(i => i.Path));
        Assert.All(FeaturizationPlan.ListImages(list.Path), i => Assert.Null(i.Label));

        File.AppendAllLines(list.Path, ["missing.jpg"]);
        var e = Assert.Throws<FileNotFoundException>(() => FeaturizationPlan.ListImages(list.Path));
        Assert.StartsWith($"'{list.Path}', line 5: no image at 'missing.jpg'", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Rows whose indexer works but whose enumeration fails half way, as a disk that fills up would fail a write.</summary>
    private sealed class FailingRows(IReadOnlyList<FeatureRow> rows) : IReadOnlyList<FeatureRow>
    {
        public FeatureRow this[int index] => rows[index];

        public int Count => rows.Count;

        public IEnumerator<FeatureRow> GetEnumerator()
        {
            for (var i = 0; i < rows.Count; i++)
            {
                if (i == rows.Count / 2)
                {
                    throw new IOException("No space left on device.");
                }

                yield return rows[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) => report(value);
    }
}
