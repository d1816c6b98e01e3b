using GoodTransfer.ML.PackageTests.Support;
using GoodTransfer.ML.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// A new user of GoodTransfer.ML: the package README's quick start, in a fresh console project that references
/// only that package, restored from the local feed and the usual registry, builds and trains a classifier against
/// a mirror on 127.0.0.1 that serves a small real checkpoint under the catalog's file name. (NotebookKernelTests
/// runs the notebook.)
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class CpuPackageTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public void The_quick_start_of_both_READMEs_builds_and_trains_a_classifier_in_a_fresh_project()
    {
        var quickStart = FirstCSharpBlock("nuget/README.md");
        var project = FreshProject.Create(packed, "ReadmeQuickStart");
        project.AddPackage(PackedRepository.CpuPackage, packed.Version);
        project.WriteFile("Program.cs", quickStart);
        project.Build().Succeeded();

        // photos/<label>/*.jpg, as the quick start's comment says: two classes of the fixture photos.
        var photos = MainTestFixtures.Photos(100).Where(p => p.Image.EndsWith(".jpg", StringComparison.Ordinal)).Take(6).ToList();
        Assert.Equal(6, photos.Count);
        for (var i = 0; i < photos.Count; i++)
        {
            var folder = Directory.CreateDirectory(Path.Combine(project.Folder, "photos", i % 2 == 0 ? "even" : "odd")).FullName;
            File.Copy(photos[i].Image, Path.Combine(folder, $"photo{i}.jpg"));
        }

        using var server = new CheckpointServer();
        server.Add("moco_v2_imagenet.pth", File.ReadAllBytes(MainTestFixtures.FeatureCheckpoint));
        var result = project.Run(
            project.Folder,
            new Dictionary<string, string> { ["GOODTRANSFER_HOME"] = packed.NewFolder("quick-start-cache"), ["GOODTRANSFER_MIRROR"] = server.BaseUrl })
            .Succeeded();
        output.WriteLine($"run: {result.Elapsed.TotalSeconds:F1} s\n{result.Output}");

        Assert.Equal(quickStart, FirstCSharpBlock("README.md"));
        Assert.Contains("GoodTransferFeaturize(Backbone.MocoV2ImageNet)", quickStart, StringComparison.Ordinal);
        Assert.True(new FileInfo(Path.Combine(project.Folder, "classifier.zip")).Length > 10_000);
        Assert.Equal(1, server.RequestsFor("moco_v2_imagenet.pth"));
    }

    private static string FirstCSharpBlock(string readmePath)
    {
        var readme = File.ReadAllText(Repository.PathOf(readmePath)).ReplaceLineEndings("\n");
        var start = readme.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
    }
}
