namespace GoodTransfer.ML.Conversion;

/// <summary>What a conversion writes, fixed once when an estimator is made: the options that change the ONNX graph.</summary>
/// <param name="FeatureLayer">The stage whose pooled output the model returns.</param>
/// <param name="Precision">The model's arithmetic.</param>
/// <param name="CalibrationImages">Full paths of the int8 calibration images (checked to exist); empty unless <see cref="Precision"/> is int8.</param>
internal sealed record ConversionSettings(FeatureLayer FeatureLayer, Precision Precision, IReadOnlyList<string> CalibrationImages);
