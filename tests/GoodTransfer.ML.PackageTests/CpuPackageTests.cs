using System.Text.RegularExpressions;
using GoodTransfer.ML.PackageTests.Support;
using GoodTransfer.ML.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// A new user of GoodTransfer.ML: a fresh console project that references only that package, restored from the
/// local feed and the usual registry, runs the notebook's code cells (samples/Notebook) against a mirror on
/// 127.0.0.1 that serves small real checkpoints under the catalog's file names; and the package README's quick
/// start builds.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class CpuPackageTests(PackedRepository packed, ITestOutputHelper output)
{
    [Fact]
    public void A_fresh_console_project_with_only_GoodTransfer_ML_runs_the_notebook()
    {
        var notebook = NotebookProgram.Read(Repository.PathOf(NotebookTests.NotebookPath));
        Assert.Equal([(PackedRepository.CpuPackage, packed.Version)], notebook.Packages);
        var project = FreshProject.Create(packed, "NotebookConsole");
        foreach (var (id, version) in notebook.Packages)
        {
            project.AddPackage(id, version);
        }

        project.WriteFile("Usings.cs", notebook.Usings);
        project.WriteFile("Types.cs", notebook.Types);
        project.WriteFile("Program.cs", notebook.Program);
        project.WriteFile("Display.cs", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "FreshProjects", "Notebook", "Display.cs")));
        var build = project.Build().Succeeded();
        output.WriteLine($"restore and build: {build.Elapsed.TotalSeconds:F1} s");

        Assert.Equal(packed.ReadEntry(PackedRepository.CpuPackage, "lib/net10.0/GoodTransfer.ML.dll"), File.ReadAllBytes(project.OutputPath("GoodTransfer.ML.dll")));
        Assert.True(File.Exists(project.OutputPath("runtimes/linux-x64/native/libonnxruntime.so")));
        Assert.False(File.Exists(project.OutputPath("runtimes/linux-x64/native/libonnxruntime_providers_cuda.so")));

        using var server = new CheckpointServer();
        server.Add("moco_v2_imagenet.pth", File.ReadAllBytes(MainTestFixtures.FeatureCheckpoint));
        server.Add("supervised_imagenet.pth", File.ReadAllBytes(MainTestFixtures.PathOf("checkpoints/bottleneck_imagenet_train.pth")));
        // The notebook reads ../data/fashion-mnist beside its own folder and saves its model in its own folder.
        var run = packed.NewFolder("notebook-run");
        Directory.CreateSymbolicLink(Path.Combine(run, "data"), Repository.PathOf("samples/data"));
        var notebookFolder = Directory.CreateDirectory(Path.Combine(run, "Notebook")).FullName;
        var result = project.Run(notebookFolder, new Dictionary<string, string>
        {
            ["GOODTRANSFER_HOME"] = packed.NewFolder("notebook-cache"),
            ["GOODTRANSFER_MIRROR"] = server.BaseUrl,
        }).Succeeded();
        output.WriteLine($"run: {result.Elapsed.TotalSeconds:F1} s\n{result.Output}");

        var features = MainTestFixtures.Photos(1)[0].Reference.Length;
        Assert.Contains("300 images in 10 classes", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"moco_v2_imagenet\.pth: 0\.8 of 0\.8 MB", result.Output);
        Assert.Contains($"MocoV2ImageNet: {features} features per image", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"MoCo v2, ImageNet: accuracy [\d.,]+ ?% on \d+ test images", result.Output);
        Assert.Contains("Confusion table", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"supervised, ImageNet +accuracy [\d.,]+ ?%, per-class accuracy", result.Output);
        Assert.True(File.Exists(Path.Combine(notebookFolder, "fashion-mnist-classifier.zip")));
        Assert.Equal(5, Regex.Count(result.Output, @"^[\w-]+/test-\d+\.png: predicted [\w-]+", RegexOptions.Multiline));
        Assert.Equal(1, server.RequestsFor("moco_v2_imagenet.pth"));
        Assert.Equal(1, server.RequestsFor("supervised_imagenet.pth"));
    }

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
