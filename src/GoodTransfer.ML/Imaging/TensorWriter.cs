namespace GoodTransfer.ML.Imaging;

/// <summary>
/// Writes one image's <c>[3, CropSize, CropSize]</c> tensor with <paramref name="transform"/>: the preprocessing still to do
/// for an image read earlier, such as <see cref="TorchvisionTransform.FileToTensor"/> of its path. It may run later and on
/// another thread, and throws what decoding throws.
/// </summary>
internal delegate void TensorWriter(TorchvisionTransform transform, Span<float> destination);
