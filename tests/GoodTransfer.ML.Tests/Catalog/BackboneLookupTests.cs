namespace GoodTransfer.ML.Tests.Catalog;

/// <summary><see cref="Backbone.Get"/> and <see cref="Backbone.TryGet"/>: catalog entries by name, as a user types them.</summary>
public sealed class BackboneLookupTests
{
    private static readonly string ValidNames = string.Join(", ", Backbone.All.Select(b => b.Name));

    public static TheoryData<string> Names => new(Backbone.All.Select(b => b.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void Every_entry_is_found_by_its_name_in_any_case(string name)
    {
        var entry = (Backbone)typeof(Backbone).GetProperty(name)!.GetValue(null)!;

        Assert.Same(entry, Backbone.Get(name));
        Assert.Same(entry, Backbone.Get(name.ToUpperInvariant()));
        Assert.Same(entry, Backbone.Get(name.ToLowerInvariant()));
        Assert.True(Backbone.TryGet(name.ToUpperInvariant(), out var upper));
        Assert.Same(entry, upper);
        Assert.True(Backbone.TryGet(name.ToLowerInvariant(), out var lower));
        Assert.Same(entry, lower);
    }

    [Fact]
    public void White_space_around_the_name_is_ignored()
    {
        Assert.Same(Backbone.MocoV2ImageNet, Backbone.Get("  MocoV2ImageNet\t"));
        Assert.True(Backbone.TryGet(" exemplarv2\n", out var backbone));
        Assert.Same(Backbone.ExemplarV2, backbone);
    }

    [Theory]
    [InlineData("resnet50")]
    [InlineData("moco_v2_imagenet.pth")]
    [InlineData("")]
    [InlineData("   ")]
    public void An_unknown_name_far_from_every_entry_lists_the_valid_names(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => Backbone.Get(name));

        Assert.Equal("name", error.ParamName);
        Assert.Equal($"Unknown backbone '{name.Trim()}'. The valid names are: {ValidNames}. (Parameter 'name')", error.Message);
        Assert.False(Backbone.TryGet(name, out var backbone));
        Assert.Null(backbone);
    }

    [Theory]
    [InlineData("MocoV3ImageNet", "MocoV2ImageNet")]
    [InlineData(" supervisedplace ", "SupervisedPlaces")]
    [InlineData("MocoV2ImageNet10", "MocoV2ImageNet100")]
    // One edit from both exemplar versions: the first in catalog order.
    [InlineData("ExemplarV3", "ExemplarV1")]
    [InlineData("MocoImageNet", "MocoV2ImageNet")]
    public void An_unknown_name_close_to_an_entry_suggests_the_closest(string name, string suggestion)
    {
        var error = Assert.Throws<ArgumentException>(() => Backbone.Get(name));

        Assert.Equal("name", error.ParamName);
        Assert.Equal($"Unknown backbone '{name.Trim()}'. Did you mean '{suggestion}'? The valid names are: {ValidNames}. (Parameter 'name')", error.Message);
        Assert.False(Backbone.TryGet(name, out _));
    }

    [Fact]
    public void A_name_four_edits_away_is_not_suggested()
    {
        // "MocoV2Coco" is the nearest entry, four edits from "MocoV5Cats".
        var error = Assert.Throws<ArgumentException>(() => Backbone.Get("MocoV5Cats"));

        Assert.DoesNotContain("Did you mean", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_name_is_refused()
    {
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => Backbone.Get(null!)).ParamName);
        Assert.Equal("name", Assert.Throws<ArgumentNullException>(() => Backbone.TryGet(null!, out _)).ParamName);
    }
}
