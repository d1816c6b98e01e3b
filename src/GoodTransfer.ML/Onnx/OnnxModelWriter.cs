using GoodTransfer.ML.IO;
using GoodTransfer.ML.Onnx.Proto;
using Google.Protobuf;

namespace GoodTransfer.ML.Onnx;

/// <summary>Writes an ONNX model to disk atomically (see <see cref="AtomicFile"/>).</summary>
internal static class OnnxModelWriter
{
    /// <summary>Streams the model to the destination: a reader sees the old file or the complete new one.</summary>
    /// <param name="model">The model.</param>
    /// <param name="path">The destination; its folder is created if needed.</param>
    /// <param name="recordSha256">Also write its SHA-256 record beside it, before it is moved into place (the converted-model cache verifies it).</param>
    public static void Write(ModelProto model, string path, bool recordSha256 = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        AtomicFile.Write(path, model.WriteTo, recordSha256);
    }
}
