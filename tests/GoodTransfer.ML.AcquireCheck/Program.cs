using GoodTransfer.ML;

// Usage: GoodTransfer.ML.AcquireCheck <cache folder> <mirror URL> <backbone name> <out.onnx> [--wait]
// Fetches the catalog backbone into the cache from the mirror (as any user's process would), converts it,
// and prints the checkpoint's SHA-256. With --wait it prints "ready" and starts when a line arrives on
// stdin, so that a test can start several processes at the same moment.
var options = new GoodTransferOptions { CacheDirectory = args[0], MirrorUrl = args[1] };
var backbone = Backbone.Get(args[2]);
if (args.Contains("--wait"))
{
    Console.WriteLine("ready");
    Console.ReadLine();
}

Console.WriteLine(backbone.ExportOnnx(args[3], options).CheckpointSha256);
