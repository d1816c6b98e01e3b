namespace GoodTransfer.ML;

/// <summary>
/// Which stage of a ResNet backbone the features are taken from. Each choice is the
/// global-average-pooled output of one or more of torchvision's four residual stages
/// (<c>layer1</c> to <c>layer4</c>), flattened to one vector per image.
/// </summary>
/// <remarks>
/// "What Makes Instance Discrimination Good for Transfer Learning?" compares how well the
/// features of each stage transfer, which is why earlier stages can be chosen. The feature
/// size is the channel count of the chosen stage: for a ResNet-50, 256, 512, 1024 and 2048
/// for <see cref="Layer1"/> to <see cref="Layer4"/>, and 3840 for <see cref="AllLayers"/>.
/// </remarks>
public enum FeatureLayer
{
    /// <summary>
    /// The pooled output of the last stage, <c>layer4</c>: what torchvision's <c>forward</c>
    /// computes just before the classifier <c>fc</c>. The default.
    /// </summary>
    Layer4 = 0,

    /// <summary>The pooled output of the first stage, <c>layer1</c>.</summary>
    Layer1 = 1,

    /// <summary>The pooled output of the second stage, <c>layer2</c>.</summary>
    Layer2 = 2,

    /// <summary>The pooled output of the third stage, <c>layer3</c>.</summary>
    Layer3 = 3,

    /// <summary>
    /// The pooled outputs of <c>layer1</c>, <c>layer2</c>, <c>layer3</c> and <c>layer4</c>,
    /// concatenated in that order.
    /// </summary>
    AllLayers = 4,
}
