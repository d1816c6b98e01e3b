using System.Buffers;
using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Runtime;

/// <summary>
/// One batch of images on the fast path: their preprocessed tensors in one buffer rented from the shared
/// pool, the error of each row that failed, and once the network has run, the features.
/// </summary>
/// <remarks>
/// Owns the rented buffer until <see cref="Featurize"/> or <see cref="Dispose"/> returns it, whichever
/// comes first; one thread at a time uses a batch (the producer, then the cursor that took it).
/// </remarks>
internal sealed class ImageBatch : IDisposable
{
    private readonly int tensorLength;
    private readonly ArrayPool<float> pool;
    private float[]? images;

    public ImageBatch(int count, int tensorLength, ArrayPool<float> pool)
    {
        this.tensorLength = tensorLength;
        this.pool = pool;
        Count = count;
        Errors = new Exception?[count];

        // Rented: 4.8 MB a batch of 8 would otherwise be a new large-object allocation each time.
        images = pool.Rent(count * tensorLength);
    }

    public int Count { get; }

    /// <summary>The error that stopped each row's decoding or preprocessing, or null.</summary>
    public Exception?[] Errors { get; }

    /// <summary>The features of every row, <c>Count x C</c>, once <see cref="Featurize"/> has run.</summary>
    public float[]? Features { get; private set; }

    /// <summary>Where row <paramref name="row"/>'s tensor goes.</summary>
    public Span<float> Tensor(int row) =>
        (images ?? throw new ObjectDisposedException(nameof(ImageBatch))).AsSpan(row * tensorLength, tensorLength);

    /// <summary>Writes row <paramref name="row"/>'s tensor; an error of the image (<see cref="IsImageError"/>) is kept as the row's, to be thrown where the row is read.</summary>
    public void Write(int row, TensorWriter write, TorchvisionTransform transform)
    {
        try
        {
            write(transform, Tensor(row));
        }
        catch (Exception e) when (IsImageError(e))
        {
            Errors[row] = e;
        }
    }

    /// <summary>Whether <paramref name="error"/>, from decoding or preprocessing one image, is that image's alone: a bad or missing file, not the featurizer's.</summary>
    public static bool IsImageError(Exception error) =>
        error is InvalidImageException or IOException or ArgumentException or UnauthorizedAccessException;

    /// <summary>Runs the network on the batch and returns the tensor buffer to the pool, also when the run fails.</summary>
    /// <param name="session">The session to run.</param>
    /// <param name="onCallingThread">Whether to run on this thread alone (<see cref="FeatureSession.RunOnCallingThread"/>) rather than on the session's threads.</param>
    public void Featurize(FeatureSession session, bool onCallingThread = false)
    {
        var tensors = images ?? throw new ObjectDisposedException(nameof(ImageBatch));
        try
        {
            // Rows whose image failed hold stale pixels from the pool; their features are computed but never served.
            var features = new float[Count * session.FeatureSize];
            if (onCallingThread)
            {
                session.RunOnCallingThread(tensors, Count, features);
            }
            else
            {
                session.Run(tensors, Count, features);
            }

            Features = features;
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>The error to throw for row <paramref name="row"/> of the batch, the row's position in the data named; null if it has features.</summary>
    public InvalidImageException? ErrorAt(int row, long position) => Errors[row] switch
    {
        null => null,
        InvalidImageException image => new InvalidImageException(image.ImageSource, $"{image.Reason} (row {position})", image),
        var other => new InvalidImageException($"the image of row {position}", other.Message, other),
    };

    /// <summary>Returns the tensor buffer to the pool, if it has not been returned yet.</summary>
    public void Dispose()
    {
        if (images is { } rented)
        {
            images = null;
            pool.Return(rented);
        }
    }
}
