namespace GoodTransfer.ML;

/// <summary>
/// How far a checkpoint download has come, reported to <see cref="GoodTransferOptions.Progress"/> at most
/// every 100 ms and once more when the file is complete.
/// </summary>
/// <param name="FileName">The checkpoint's file name, e.g. <c>moco_v2_imagenet.pth</c>.</param>
/// <param name="BytesDone">Bytes received so far, including those kept from before a resumed connection.</param>
/// <param name="TotalBytes">The file's size, or <see langword="null"/> when the server does not say.</param>
/// <param name="BytesPerSecond">The average rate of the current connection.</param>
public sealed record DownloadProgress(string FileName, long BytesDone, long? TotalBytes, double BytesPerSecond);
