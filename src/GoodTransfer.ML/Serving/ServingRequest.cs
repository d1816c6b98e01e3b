using GoodTransfer.ML.Imaging;

namespace GoodTransfer.ML.Serving;

/// <summary>
/// One image waiting in a <see cref="RequestBatcher"/>: the decoding and preprocessing still to do, whether the caller wants a
/// prediction or only features, and the task the caller awaits. Completed exactly once: with its result, its
/// own error, or cancelled.
/// </summary>
internal sealed class ServingRequest
{
    public ServingRequest(TensorWriter writeTensor, bool predict)
    {
        WriteTensor = writeTensor;
        Predict = predict;
    }

    /// <summary>Decodes the image into its tensor; runs on the batch's workers, and throws what decoding throws.</summary>
    public TensorWriter WriteTensor { get; }

    /// <summary>Whether the caller asked for a prediction (features and the classifier's answer), not only features.</summary>
    public bool Predict { get; }

    /// <summary>Completed with the result; continuations run on the thread pool, never on the batcher's thread.</summary>
    public TaskCompletionSource<ServedResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Whether the request is already answered (cancelled, for one), so that it need not run.</summary>
    public bool IsDone => Completion.Task.IsCompleted;

    /// <summary>Where it waits in the queue; null once taken into a batch, or cancelled. Guarded by the batcher's lock.</summary>
    public LinkedListNode<ServingRequest>? Node { get; set; }

    /// <summary>When it was queued, in <see cref="System.Diagnostics.Stopwatch"/> ticks.</summary>
    public long QueuedAt { get; set; }

    /// <summary>Whether it, and the request queued before it, found nothing queued or running when queued: a lone caller's.</summary>
    public bool Lone { get; set; }
}

/// <summary>The answer to one request: the features, and the prediction if one was asked for.</summary>
internal readonly record struct ServedResult(float[] Features, ImagePrediction? Prediction);
