using System.Diagnostics.CodeAnalysis;

namespace GoodTransfer.ML;

/// <summary>The arithmetic of the ONNX featurizer that GoodTransfer.ML writes and runs.</summary>
[SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "Float32, Float16 and Int8 are the names ONNX, PyTorch and every runtime give these precisions.")]
public enum Precision
{
    /// <summary>float32 throughout: features equal PyTorch's to float rounding. The default.</summary>
    Float32 = 0,

    /// <summary>
    /// Static int8 quantization: every convolution runs as an int8 kernel (uint8 activations, int8
    /// per-channel weights), with activation ranges calibrated on
    /// <see cref="GoodTransferOptions.CalibrationImages"/>, or on the first 32 images of the data being fitted. The input and the features stay float32
    /// and keep their shapes. On two AMD EPYC cores (Zen 5, AVX-512 VNNI) ONNX Runtime runs a ResNet-50
    /// 2.5 times as fast as in float32 one image at a time and 3.1 times as fast in batches of 8, and its
    /// features are within cosine 0.99 of the float32 ones on images like the calibration images; CPUs
    /// without VNNI gain less.
    /// </summary>
    Int8 = 1,

    /// <summary>
    /// float16 on a GPU: the network runs in half precision, on the tensor cores of NVIDIA GPUs since
    /// Volta; the input and the features stay float32 and keep their shapes. Needs
    /// <see cref="GoodTransferOptions.GpuDeviceId"/> (the GoodTransfer.ML.Gpu package). Features differ
    /// from float32 ones by float16's rounding (cosine above 0.9999 on the test images). Where the GPU
    /// cannot be used and <see cref="GoodTransferOptions.FallbackToCpu"/> is on, the same float16 model
    /// runs on the CPU, slower than float32, so that features do not change with the machine.
    /// </summary>
    Float16 = 2,
}
