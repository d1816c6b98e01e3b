using System.Buffers;
using GoodTransfer.ML.Imaging;
using GoodTransfer.ML.Runtime;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// Answers one batch of requests on a worker's thread: decodes and preprocesses their images into one tensor, runs
/// it through the featurizer's batched ONNX Runtime session, and for the requests that asked, runs the classifier
/// after the featurizer on their features. A batch alone decodes on every core and runs on every core (the
/// multi-threaded session); batches side by side on the CPU each decode and run on their own worker's thread alone
/// (the single-threaded session, one such run per core), so that no run waits at an operator's barrier for a core
/// that another batch's decoding, or the web server, has taken. The features are the same either way, bit for bit.
/// A request whose image fails is answered with its own error and left out of the run; one already answered
/// (cancelled) is left out too.
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

    /// <summary>Told the number of images of each network run, after it, on the worker's thread; the tests count batches with it.</summary>
    public event Action<int>? BatchRan;

    private long batches;
    private long images;

    /// <summary>Network runs so far.</summary>
    public long Batches => Interlocked.Read(ref batches);

    /// <summary>Images featurized so far.</summary>
    public long Images => Interlocked.Read(ref images);

    private long batchesOnOneCore;

    /// <summary>Network runs so far that ran side by side with another batch, on their worker's core alone (the tests check it).</summary>
    public long BatchesOnOneCore => Interlocked.Read(ref batchesOnOneCore);

    /// <summary>
    /// Answers <paramref name="requests"/>; <paramref name="alone"/>: on every core, else on this thread. A service on a GPU
    /// has one worker, so each of its batches is alone and runs in the GPU session.
    /// </summary>
    public void Run(IReadOnlyList<ServingRequest> requests, bool alone)
    {
        var length = transform.TensorLength;
        var tensors = ArrayPool<float>.Shared.Rent(requests.Count * length);
        try
        {
            var decoded = new bool[requests.Count];
            void Decode(int i)
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
            }

            if (alone)
            {
                Parallel.For(0, requests.Count, Decode);
            }
            else
            {
                for (var i = 0; i < requests.Count; i++)
                {
                    Decode(i);
                }
            }

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
            if (alone)
            {
                session.Run(tensors, running.Count, features);
            }
            else
            {
                session.RunOnCallingThread(tensors, running.Count, features);
                Interlocked.Increment(ref batchesOnOneCore);
            }

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
