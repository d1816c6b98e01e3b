using System.Buffers;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// Answers one batch of requests on the batcher's thread: decodes and preprocesses their images on every
/// core into one tensor, runs it through the featurizer's batched ONNX Runtime session, and for the requests
/// that asked, runs the classifier after the featurizer on their features. A request whose image fails is
/// answered with its own error and left out of the run; one already answered (cancelled) is left out too.
/// </summary>
internal sealed class FeatureBatchRunner
{
    private readonly FeatureSession session;
    private readonly TorchvisionTransform transform;
    private readonly DownstreamModel? downstream;

    public FeatureBatchRunner(FeatureSession session, TorchvisionTransform transform, DownstreamModel? downstream)
    {
        this.session = session;
        this.transform = transform;
        this.downstream = downstream;
    }

    /// <summary>Told the number of images of each network run, after it; the tests count batches with it.</summary>
    public event Action<int>? BatchRan;

    private long batches;
    private long images;

    /// <summary>Network runs so far.</summary>
    public long Batches => Interlocked.Read(ref batches);

    /// <summary>Images featurized so far.</summary>
    public long Images => Interlocked.Read(ref images);

    public void Run(IReadOnlyList<ServingRequest> requests)
    {
        var length = transform.TensorLength;
        var tensors = ArrayPool<float>.Shared.Rent(requests.Count * length);
        try
        {
            var decoded = new bool[requests.Count];
            Parallel.For(0, requests.Count, i =>
            {
                var request = requests[i];
                if (request.IsDone)
                {
                    return;
                }

                try
                {
                    request.WriteTensor(transform, tensors.AsSpan(i * length, length));
                    decoded[i] = true;
                }
                catch (Exception e) when (ImageBatch.IsImageError(e))
                {
                    request.Completion.TrySetException(e);
                }
            });

            // The images that reach ONNX Runtime, packed to the front; a request cancelled meanwhile is dropped.
            var running = new List<ServingRequest>(requests.Count);
            for (var i = 0; i < requests.Count; i++)
            {
                if (decoded[i] && !requests[i].IsDone)
                {
                    if (running.Count != i)
                    {
                        tensors.AsSpan(i * length, length).CopyTo(tensors.AsSpan(running.Count * length, length));
                    }

                    running.Add(requests[i]);
                }
            }

            if (running.Count == 0)
            {
                return;
            }

            var features = new float[running.Count * session.FeatureSize];
            session.Run(tensors, running.Count, features);
            Interlocked.Increment(ref batches);
            Interlocked.Add(ref images, running.Count);
            BatchRan?.Invoke(running.Count);
            Answer(running, features);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(tensors);
        }
    }

    private void Answer(List<ServingRequest> running, float[] features)
    {
        var size = session.FeatureSize;
        var rows = new float[running.Count][];
        for (var i = 0; i < running.Count; i++)
        {
            rows[i] = features.AsSpan(i * size, size).ToArray();
        }

        var predicted = running.Select((request, i) => (request, i)).Where(r => r.request.Predict).ToList();
        IReadOnlyList<ImagePrediction>? predictions = null;
        if (predicted.Count > 0)
        {
            try
            {
                predictions = downstream!.Predict([.. predicted.Select(p => rows[p.i])]);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                foreach (var (request, _) in predicted)
                {
                    request.Completion.TrySetException(e);
                }
            }
        }

        var next = 0;
        for (var i = 0; i < running.Count; i++)
        {
            var prediction = running[i].Predict ? predictions?[next++] : null;
            running[i].Completion.TrySetResult(new ServedResult(rows[i], prediction));
        }
    }
}
