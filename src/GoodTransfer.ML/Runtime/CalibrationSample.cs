using GoodTransfer.ML.Acquisition;
using GoodTransfer.ML.Imaging;
using Microsoft.ML;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// The int8 calibration images when <see cref="GoodTransferOptions.CalibrationImages"/> is not given: the first
/// images of the data being fitted, preprocessed as the featurizer preprocesses them, so that
/// <see cref="Precision.Int8"/> is one option away.
/// </summary>
internal static class CalibrationSample
{
    /// <summary>How many images calibrate: a few dozen give ranges as good as more (see <see cref="Onnx.Quantization.Int8Quantizer"/>), and each costs a float run of the network.</summary>
    public const int ImageCount = 32;

    /// <summary>The tensors of the first <see cref="ImageCount"/> images of <paramref name="data"/> that decode; images that do not are skipped.</summary>
    /// <exception cref="ArgumentException">No image of the data decodes (or the data is empty).</exception>
    public static List<float[]> FirstImages(IDataView data, string column, ImageInput input, TorchvisionTransform transform, AcquisitionLog log)
    {
        var imageColumn = data.Schema[column];
        var source = input.SourceOf(data, column);
        using var cursor = data.GetRowCursor(ImageInput.ColumnsToRead(data.Schema, imageColumn, source));
        var read = input.CreateReader(cursor, imageColumn, source);
        var tensors = new List<float[]>(ImageCount);
        var skipped = 0;
        while (tensors.Count < ImageCount && cursor.MoveNext())
        {
            var tensor = new float[transform.TensorLength];
            try
            {
                read()(transform, tensor);
                tensors.Add(tensor);
            }
            catch (Exception e) when (ImageBatch.IsImageError(e))
            {
                skipped++;
            }
        }

        if (tensors.Count == 0)
        {
            throw OptionErrors.Invalid(
                nameof(GoodTransferOptions.CalibrationImages),
                $"Precision.Int8 calibrates on the first images of the data being fitted when GoodTransferOptions.CalibrationImages is not set, but column '{column}' has no image that decodes; set CalibrationImages.");
        }

        var also = skipped > 0 ? $" ({skipped} that could not be decoded were skipped)" : string.Empty;
        log.Info($"Precision.Int8 without CalibrationImages: calibrating on the first {tensors.Count} images of the data being fitted{also}.");
        return tensors;
    }
}
