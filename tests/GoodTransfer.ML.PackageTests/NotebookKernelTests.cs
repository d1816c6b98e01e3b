using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using GoodTransfer.ML.PackageTests.Support;
using GoodTransfer.ML.Tests.Support;
using Xunit.Abstractions;

namespace GoodTransfer.ML.PackageTests;

/// <summary>
/// samples/Notebook/GoodTransfer.ML.ipynb run as a new user runs it from a clone: `dotnet pack` writes the
/// packages into the clone's nuget/ (here: the packed feed copied there), and the notebook, unmodified, runs in a
/// real .NET Interactive kernel under Jupyter's nbconvert, restoring GoodTransfer.ML through the clone's
/// NuGet.config, with checkpoints from a mirror on 127.0.0.1 (or from nowhere, offline). The assertions are on
/// what each cell shows in the executed notebook, as a Jupyter front end would show it.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed partial class NotebookKernelTests(PackedRepository packed, ITestOutputHelper output)
{
    private static readonly Lock Gate = new();
    private static JupyterKernel? kernel;

    [Fact]
    public void The_notebook_runs_in_a_real_kernel_from_a_clone_with_progress_tables_and_plots()
    {
        using var server = new CheckpointServer();
        // Slowed to about a second per file, so that the download reports progress before it is complete.
        var slow = new ServerFaults { ChunkDelay = TimeSpan.FromMilliseconds(20) };
        server.Add("moco_v2_imagenet.pth", File.ReadAllBytes(MainTestFixtures.FeatureCheckpoint), slow);
        server.Add("supervised_imagenet.pth", File.ReadAllBytes(MainTestFixtures.PathOf("../Onnx/Quantization/Fixtures/fashion_resnet.pth")), slow);

        var notebook = Execute(server.BaseUrl, "online");

        AssertNoErrors(notebook);
        var install = notebook.CellWith("#r \"nuget: GoodTransfer.ML");
        Assert.Contains(install.Htmls, html => html.Contains("Installed Packages", StringComparison.Ordinal)
            && html.Contains($"GoodTransfer.ML, {packed.Version}", StringComparison.Ordinal)
            && html.Contains("OxyPlot.Core, 2.2.0", StringComparison.Ordinal));
        // The kernel restored the packed GoodTransfer.ML into its own packages folder, from the clone's nuget/ (its NuGet.config's source).
        var restored = Path.Combine(Kernel.Packages, "goodtransfer.ml", packed.Version);
        Assert.Equal(packed.ReadEntry(PackedRepository.CpuPackage, "lib/net10.0/GoodTransfer.ML.dll"), File.ReadAllBytes(Path.Combine(restored, "lib", "net10.0", "GoodTransfer.ML.dll")));
        using (var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(restored, ".nupkg.metadata"))))
        {
            Assert.Equal(Path.Combine(packed.Pack.Folder, "nuget"), Path.TrimEndingDirectorySeparator(metadata.RootElement.GetProperty("source").GetString()!));
        }

        Assert.Contains("300 images in 10 classes", Assert.Single(notebook.CellWith("var dataFolder").Texts), StringComparison.Ordinal);

        // Progress: lines that appear in the cell that downloads, while it downloads, each a display of its own.
        var featurize = notebook.CellWith("var moco = Featurize(");
        var mocoProgress = featurize.Texts.Where(t => t.StartsWith("moco_v2_imagenet.pth: ", StringComparison.Ordinal)).ToList();
        Assert.True(mocoProgress.Count >= 2, $"One line of progress or none:\n{notebook.Describe()}");
        Assert.Matches(@"^moco_v2_imagenet\.pth: 0\.[0-7] of 0\.8 MB, [\d.]+ MB/s$", mocoProgress[0]);
        Assert.Matches(@"^moco_v2_imagenet\.pth: 0\.8 of 0\.8 MB, [\d.]+ MB/s, done$", mocoProgress[^1]);
        AssertEveryDisplayShownOnce(notebook, featurize);
        Assert.Contains($"MocoV2ImageNet: {MainTestFixtures.Photos(1)[0].Reference.Length} features per image", featurize.Texts);

        var train = notebook.CellWith("var mocoResult = ");
        var testImages = int.Parse(train.Texts.Select(t => AccuracyLine().Match(t)).Single(m => m.Success).Groups[1].Value, CultureInfo.InvariantCulture);
        var confusion = Assert.Single(train.Htmls);
        var classes = Directory.GetDirectories(Repository.PathOf("samples/data/fashion-mnist")).Select(folder => Path.GetFileName(folder)).Order(StringComparer.Ordinal).ToList();
        Assert.StartsWith("<table>", confusion, StringComparison.Ordinal);
        Assert.Equal(["true \\ predicted", .. classes, "recall"], HeaderCells(confusion));
        // A row per true class, with a count per predicted class and the recall; every test image counted once.
        var body = BodyRow().Matches(confusion[confusion.IndexOf("<tbody>", StringComparison.Ordinal)..]).ToList();
        Assert.Equal(classes, body.Select(row => WebUtility.HtmlDecode(row.Groups[1].Value)));
        Assert.All(body, row => Assert.Equal(classes.Count + 1, row.Groups[2].Captures.Count));
        Assert.Equal(testImages, body.Sum(row => row.Groups[2].Captures.Take(classes.Count).Sum(c => int.Parse(c.Value, CultureInfo.InvariantCulture))));

        // The second backbone's progress shows under the cell that downloads it, not under the first one's.
        var compare = notebook.CellWith("var supervised = Featurize(");
        Assert.Contains(compare.Texts, t => Regex.IsMatch(t, @"^supervised_imagenet\.pth: 0\.6 of 0\.6 MB, [\d.]+ MB/s, done$"));
        Assert.DoesNotContain(featurize.Texts, t => t.StartsWith("supervised_imagenet.pth", StringComparison.Ordinal));
        AssertEveryDisplayShownOnce(notebook, compare);
        var results = Assert.Single(compare.Htmls);
        Assert.Equal(["backbone", "accuracy", "per-class accuracy", "log-loss", "test images"], HeaderCells(results));
        Assert.Matches(@"<tr><th>MoCo v2, ImageNet</th><td>[\d.]+ %</td><td>[\d.]+ %</td><td>[\d.]+</td><td>\d+</td></tr>", results);
        Assert.Matches(@"<tr><th>supervised, ImageNet</th><td>[\d.]+ %</td><td>[\d.]+ %</td><td>[\d.]+</td><td>\d+</td></tr>", results);

        var plots = notebook.CellWith("PlotProjection(featurized)").Htmls.ToList();
        Assert.Equal(2, plots.Count);
        foreach (var (plot, title) in plots.Zip(["MoCo v2, ImageNet", "supervised, ImageNet"]))
        {
            Assert.StartsWith("<svg ", plot, StringComparison.Ordinal);
            Assert.Contains($">{title}</text>", plot, StringComparison.Ordinal);
            Assert.All(classes, c => Assert.Contains($">{c}</text>", plot, StringComparison.Ordinal)); // the legend
            Assert.Equal(300 + classes.Count, Regex.Count(plot, "<ellipse ")); // a marker per image, and one per class in the legend
        }

        var save = notebook.CellWith("mlContext.Model.Save(");
        Assert.Matches(@"^Saved .*fashion-mnist-classifier\.zip \([\d.]+ MB\)$", save.Texts.First());
        Assert.Equal(5, save.Texts.Count(t => Regex.IsMatch(t, @"^[\w-]+/test-\d+\.png: predicted [\w-]+$")));
        Assert.Equal(1, server.RequestsFor("moco_v2_imagenet.pth"));
        Assert.Equal(1, server.RequestsFor("supervised_imagenet.pth"));
    }

    [Fact]
    public void Offline_the_notebook_says_how_to_get_the_checkpoints_and_later_cells_say_what_is_missing()
    {
        // A mirror on a port that nothing listens on: every connection is refused, as on a machine without internet.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var notebook = Execute($"http://127.0.0.1:{port}/good_transfer/", "offline");

        AssertNoErrors(notebook);
        var featurize = Assert.Single(notebook.CellWith("var moco = Featurize(").Texts);
        Assert.StartsWith($"The network is unreachable: Cannot download checkpoint from http://127.0.0.1:{port}/good_transfer/moco_v2_imagenet.pth:", featurize, StringComparison.Ordinal);
        Assert.Contains("No other model is used in its place.", featurize, StringComparison.Ordinal);
        Assert.Contains("MirrorUrl = \"https://your.mirror/good_transfer/\"", featurize, StringComparison.Ordinal);
        Assert.Contains("GOODTRANSFER_MIRROR", featurize, StringComparison.Ordinal);
        Assert.Contains("copy moco_v2_imagenet.pth (and its .sha256)", featurize, StringComparison.Ordinal);
        Assert.Contains("Offline = true", featurize, StringComparison.Ordinal);
        Assert.Contains("Backbone.FromFile(\"path/to/moco_v2_imagenet.pth\")", featurize, StringComparison.Ordinal);
        // Run from a clone: the small ResNet that the tests ship, by a path that exists.
        var shipped = Regex.Match(featurize, @"Backbone\.FromFile\(""([^""]+fashion_resnet\.pth)""\)");
        Assert.True(shipped.Success && File.Exists(shipped.Groups[1].Value), featurize);

        Assert.Equal(["No classifier: section 3 could not get MoCo v2's checkpoint, so there are no features to train on."], notebook.CellWith("var mocoResult = ").Texts);
        var compare = notebook.CellWith("var supervised = Featurize(").Texts.ToList();
        Assert.Equal(2, compare.Count);
        Assert.StartsWith("The network is unreachable: Cannot download checkpoint from ", compare[0], StringComparison.Ordinal);
        Assert.Contains("supervised_imagenet.pth", compare[0], StringComparison.Ordinal);
        Assert.Equal("Nothing to compare: neither backbone's checkpoint could be had (see above).", compare[1]);
        Assert.Equal(["No plot: no backbone's features (see section 3)."], notebook.CellWith("PlotProjection(featurized)").Texts);
        Assert.Equal(["No model to save: section 3 could not get MoCo v2's checkpoint."], notebook.CellWith("mlContext.Model.Save(").Texts);
    }

    /// <summary>The kernel, installed once for both tests; the first notebook run finds its package cache empty.</summary>
    private JupyterKernel Kernel
    {
        get
        {
            lock (Gate)
            {
                return kernel ??= JupyterKernel.Install(packed.NewFolder("jupyter-kernel"));
            }
        }
    }

    /// <summary>
    /// Executes the clone's notebook, as it is in the working tree, with the packed packages in the clone's nuget/
    /// (where `dotnet pack` at its root writes them) and a cache folder of its own.
    /// </summary>
    private ExecutedNotebook Execute(string mirror, string name)
    {
        var clone = packed.Pack.Folder;
        foreach (var package in Directory.GetFiles(packed.Feed))
        {
            File.Copy(package, Path.Combine(clone, "nuget", Path.GetFileName(package)), overwrite: true);
        }

        var notebook = Path.Combine(clone, "samples", "Notebook", $"GoodTransfer.ML.{name}.ipynb");
        File.Copy(Path.Combine(clone, NotebookTests.NotebookPath), notebook, overwrite: true);
        var result = Kernel.Execute(
            notebook,
            new Dictionary<string, string> { ["GOODTRANSFER_HOME"] = packed.NewFolder($"notebook-cache-{name}"), ["GOODTRANSFER_MIRROR"] = mirror },
            cellTimeout: TimeSpan.FromMinutes(4));
        output.WriteLine($"executed in {result.Run.Elapsed.TotalSeconds:F1} s\n{result.Describe()}");
        return result;
    }

    /// <summary>No cell failed, and none printed anything (compiler warnings come as printed text).</summary>
    private static void AssertNoErrors(ExecutedNotebook notebook)
    {
        var bad = notebook.Cells.SelectMany(c => c.Outputs.Where(o => o.Type is "error" or "stream").Select(o => $"cell {c.Index}: {o}")).ToList();
        Assert.True(bad.Count == 0, $"Errors or printed text:\n{string.Join('\n', bad)}\n\n{notebook.Run.Output}");
    }

    /// <summary>
    /// Each display in <paramref name="cell"/> is shown as it was sent: no display is updated afterwards, and no
    /// update goes to a display id that no output of the cell has (a front end keeps the first text then).
    /// </summary>
    private static void AssertEveryDisplayShownOnce(ExecutedNotebook notebook, ExecutedCell cell)
    {
        var messages = notebook.Messages.Where(m => m.Cell == cell.Index).ToList();
        Assert.DoesNotContain(messages, m => m.Type == "update_display_data");
        var displays = messages.Where(m => m.Type == "display_data").ToList();
        Assert.Equal(cell.Outputs.Count, displays.Count);
        Assert.Equal(displays.Count, displays.Select(m => m.DisplayId).Distinct().Count());
    }

    private static List<string> HeaderCells(string table) =>
        [.. HeaderCell().Matches(table[..table.IndexOf("</thead>", StringComparison.Ordinal)]).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    [GeneratedRegex(@"^MoCo v2, ImageNet: accuracy [\d.]+ % on (\d+) test images$")]
    private static partial Regex AccuracyLine();

    [GeneratedRegex("<th>([^<]*)</th>")]
    private static partial Regex HeaderCell();

    [GeneratedRegex(@"<tr><th>([^<]*)</th>(?:<td>([^<]*)</td>)+</tr>")]
    private static partial Regex BodyRow();
}
