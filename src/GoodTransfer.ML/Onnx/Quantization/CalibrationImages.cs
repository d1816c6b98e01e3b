using System.Runtime.InteropServices;
using System.Security.Cryptography;
using GoodTransfer.ML.IO;
using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Onnx.Quantization;

/// <summary>Calibration images from files, preprocessed exactly as the featurizer preprocesses what it featurizes.</summary>
internal static class CalibrationImages
{
    /// <summary>The SHA-256 of the tensors' float32 bytes, lower-case hex: what the calibration depends on, for cache keys.</summary>
    /// <param name="tensors">The calibration tensors.</param>
    /// <returns>64 hex digits.</returns>
    public static string Hash(IEnumerable<float[]> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var tensor in tensors)
        {
            hash.AppendData(MemoryMarshal.AsBytes(tensor.AsSpan()));
        }

        return Sha256Hex.Format(hash.GetHashAndReset());
    }

    /// <summary>Decodes each file and applies the backbone's <c>Resize</c>, <c>CenterCrop</c> and <c>ToTensor</c>, as the featurizer will.</summary>
    /// <param name="paths">Image files (JPEG, PNG, ...).</param>
    /// <param name="preprocessing">The preprocessing of the backbone being quantized.</param>
    /// <returns>One <c>[3, CropSize, CropSize]</c> tensor per file, in order.</returns>
    /// <exception cref="ArgumentException">No path is given.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidImageException">A file is not an image that can be decoded.</exception>
    public static List<float[]> FromFiles(IEnumerable<string> paths, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var transform = new TorchvisionTransform(preprocessing);
        var tensors = new List<float[]>();
        foreach (var path in paths)
        {
            var tensor = new float[transform.TensorLength];
            transform.FileToTensor(path, tensor);
            tensors.Add(tensor);
        }

        if (tensors.Count == 0)
        {
            throw new ArgumentException("Int8 quantization needs at least one calibration image.", nameof(paths));
        }

        return tensors;
    }
}
