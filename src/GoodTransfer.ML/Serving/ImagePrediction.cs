namespace GoodTransfer.ML;

/// <summary>What a saved classifier says about one image: the predicted class and a score per class.</summary>
/// <param name="PredictedLabel">The predicted class, from the model's <see cref="FeaturizerServiceOptions.PredictedLabelColumnName"/> column.</param>
/// <param name="Scores">The score of each class, from its <see cref="FeaturizerServiceOptions.ScoreColumnName"/> column, in the order of <see cref="FeaturizerService.ClassNames"/>.</param>
/// <param name="Features">The image's features as the featurizer gives them, before the classifier's own steps (its normalization, say).</param>
public sealed record ImagePrediction(string PredictedLabel, IReadOnlyList<float> Scores, IReadOnlyList<float> Features);
