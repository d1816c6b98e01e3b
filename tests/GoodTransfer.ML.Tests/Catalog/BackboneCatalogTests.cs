namespace GoodTransfer.ML.Tests.Catalog;

/// <summary>Invariants of the paper's 24 backbones, checked on every entry.</summary>
public sealed class BackboneCatalogTests
{
    public static TheoryData<string> Names => new(Backbone.All.Select(b => b.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_entry_is_a_complete_record_of_a_published_ResNet50(string name)
    {
        var backbone = Backbone.Get(name);

        Assert.EndsWith(".pth", backbone.FileName, StringComparison.Ordinal);
        Assert.Equal(new Uri(Backbone.PaperBaseUrl + backbone.FileName), backbone.Url);
        Assert.Equal("https", backbone.Url!.Scheme);
        Assert.Null(backbone.CheckpointPath);
        Assert.Equal("resnet50", backbone.Architecture);
        Assert.Equal(2048, backbone.FeatureSize);
        Assert.Equal(ImagePreprocessing.ImageNet, backbone.Preprocessing);
        Assert.NotNull(backbone.Method);
        Assert.NotNull(backbone.Data);
        Assert.NotEmpty(backbone.PaperTables);
        Assert.All(backbone.PaperTables, t => Assert.InRange(t, 1, 3));

        // No pins yet (the files could not be fetched where the catalog was written); a pin, once added, is sha256sum's form.
        Assert.True(backbone.Sha256 is null || (backbone.Sha256.Length == 64 && backbone.Sha256.All(c => char.IsAsciiHexDigitLower(c) || char.IsAsciiDigit(c))));

        var expectedPrefix = backbone.Method switch
        {
            PretrainingMethod.MocoV2 => "moco_v2_",
            PretrainingMethod.Supervised => "supervised_",
            _ => "exemplar_",
        };
        Assert.StartsWith(expectedPrefix, backbone.FileName, StringComparison.Ordinal);

        // Table 1 is the augmentation study: its entries state their recipe; no other table does.
        Assert.Equal(backbone.PaperTables.Contains(1), backbone.Augmentations is not null);
        var property = typeof(Backbone).GetProperty(name);
        Assert.NotNull(property);
        Assert.Same(backbone, property!.GetValue(null));
    }

    [Fact]
    public void The_catalog_lists_24_distinct_files_and_names()
    {
        Assert.Equal(24, Backbone.All.Count);
        Assert.Equal(24, Backbone.All.Select(b => b.FileName).Distinct().Count());
        Assert.Equal(24, Backbone.All.Select(b => b.Name).Distinct().Count());
        Assert.Equal(24, typeof(Backbone).GetProperties().Count(p => p.PropertyType == typeof(Backbone) && p.GetMethod!.IsStatic));
    }

    [Fact]
    public void Table_1_adds_augmentations_one_at_a_time_for_both_methods()
    {
        foreach (var method in new[] { PretrainingMethod.MocoV2, PretrainingMethod.Supervised })
        {
            var steps = Backbone.All.Where(b => b.Method == method && b.PaperTables.Contains(1)).Select(b => b.Augmentations!.Value).ToList();
            Assert.Equal(5, steps.Count);
            for (var i = 1; i < steps.Count; i++)
            {
                Assert.Equal(steps[i - 1], steps[i] & steps[i - 1]);
                Assert.Equal(1, System.Numerics.BitOperations.PopCount((uint)(steps[i] & ~steps[i - 1])));
            }

            Assert.Equal(Augmentations.FullRecipe, steps[^1]);
        }
    }

    [Fact]
    public void Named_entries_point_at_the_right_files()
    {
        Assert.Equal("moco_v2_imagenet.pth", Backbone.MocoV2ImageNet.FileName);
        Assert.Equal("supervised_imagenet.pth", Backbone.SupervisedImageNet.FileName);
        Assert.Equal("moco_v2_palces.pth", Backbone.MocoV2Places.FileName);
        Assert.Equal(PretrainingData.Places, Backbone.MocoV2Places.Data);
        Assert.Equal(PretrainingData.Synthia, Backbone.SupervisedSynthia.Data);
        Assert.Equal([3], Backbone.ExemplarV2.PaperTables);
        Assert.Equal(14, Backbone.All.Count(b => b.PaperTables.Contains(2)));
    }
}
