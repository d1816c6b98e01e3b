using GoodTransfer.ML.Onnx.Proto;
using GoodTransfer.ML.Onnx.Quantization;

namespace GoodTransfer.ML.Onnx;

/// <summary>
/// The precision a conversion writes, with what it depends on: nothing for float32 and float16, the
/// preprocessed calibration images for int8. Gives the rewrite of the float model and the part of the
/// cache key that tells the precisions apart.
/// </summary>
internal sealed class ConversionPrecision
{
    private ConversionPrecision(Precision precision, IReadOnlyList<float[]>? calibration)
    {
        Precision = precision;
        Calibration = calibration;
    }

    /// <summary>float32: the converter's model unchanged.</summary>
    public static ConversionPrecision Float32 { get; } = new(Precision.Float32, null);

    /// <summary>float16: see <see cref="Float16Converter"/>.</summary>
    public static ConversionPrecision Float16 { get; } = new(Precision.Float16, null);

    public Precision Precision { get; }

    /// <summary>The int8 calibration tensors (<c>[3, CropSize, CropSize]</c> each); <see langword="null"/> for the float precisions.</summary>
    public IReadOnlyList<float[]>? Calibration { get; }

    /// <summary>
    /// What goes into the cached model's file name after the feature layer: empty for float32 (so models
    /// cached before other precisions existed stay valid), the rewrite's version for float16, and for
    /// int8 the quantizer's version and a hash of the calibration pixels.
    /// </summary>
    public string CacheSuffix => Precision switch
    {
        Precision.Float16 => $"-fp16v{Float16Converter.Version}",
        Precision.Int8 => $"-int8q{Int8Quantizer.QuantizerVersion}-{CalibrationImages.Hash(Calibration!)[..16]}",
        _ => string.Empty,
    };

    /// <summary>int8 with the given calibration tensors.</summary>
    public static ConversionPrecision Int8(IReadOnlyList<float[]> calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        if (calibration.Count == 0)
        {
            throw new ArgumentException("Int8 quantization needs at least one calibration image.", nameof(calibration));
        }

        return new ConversionPrecision(Precision.Int8, calibration);
    }

    /// <summary>The precision that <paramref name="options"/> ask for, with int8's calibration images read and preprocessed with <paramref name="preprocessing"/>, the backbone's.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The precision is not a defined value.</exception>
    /// <exception cref="ArgumentException">Int8 is asked for without calibration images.</exception>
    /// <exception cref="FileNotFoundException">A calibration image does not exist.</exception>
    /// <exception cref="InvalidImageException">A calibration image cannot be decoded.</exception>
    public static ConversionPrecision ForOptions(GoodTransferOptions options, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(preprocessing);
        switch (options.Precision)
        {
            case Precision.Float32:
                return Float32;
            case Precision.Float16:
                return Float16;
            case Precision.Int8:
                if (options.CalibrationImages is not { Count: > 0 } paths)
                {
                    throw new ArgumentException(
                        "Precision.Int8 needs GoodTransferOptions.CalibrationImages: a few dozen image files like those to be featurized, whose activation ranges calibrate the int8 model.",
                        nameof(options));
                }

                return Int8(CalibrationImages.FromFiles(paths, preprocessing));
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Precision, "Unknown precision.");
        }
    }

    /// <summary>Rewrites the float32 model (batched form) into this precision; float32 returns it as it is.</summary>
    public ModelProto Apply(ModelProto model) => Precision switch
    {
        Precision.Float16 => Float16Converter.Convert(model),
        Precision.Int8 => Int8Quantizer.Quantize(model, Calibration!),
        _ => model,
    };
}
