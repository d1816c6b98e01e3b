using System.Diagnostics;
using Orleans.Runtime.Placement;

namespace GoodTransfer.ML.Orleans;

/// <summary>
/// Featurizes a list of images on an Orleans cluster whose silos run <see cref="GoodTransferSiloBuilderExtensions.AddGoodTransferFeaturizer"/>,
/// into one Parquet part per batch in an output folder: <c>await new FeaturizationJob(client, spec, images, "features/").RunAsync(progress)</c>.
/// </summary>
/// <remarks>
/// <para>
/// The images are cut into batches of <see cref="FeaturizationJobOptions.ImagesPerBatch"/> in the order given, so
/// the same list always makes the same batches; batch I's features go to <c>part-I-of-N.parquet</c>, written
/// atomically by the silo that ran it. Every silo must be able to read the images and write the output folder.
/// </para>
/// <para>
/// Each silo is sent <see cref="FeaturizationJobOptions.BatchesPerSilo"/> batches at a time, so faster silos do more.
/// A silo that misses its heartbeat, leaves the cluster or fails an attempt has its batches sent elsewhere; every
/// attempt has a deadline (<see cref="FeaturizationJobOptions.AttemptTimeout"/>). The first result of a batch is
/// kept; a late duplicate writes the same features to the same part, atomically, so every image is in exactly one
/// part. A job that is stopped (killed, or its cluster lost) and run again skips the parts that are complete.
/// </para>
/// </remarks>
public sealed class FeaturizationJob
{
    private readonly IClusterClient client;
    private readonly FeaturizerSpec featurizer;
    private readonly IReadOnlyList<ImageEntry> images;
    private readonly FeaturizationJobOptions options;

    /// <summary>Prepares a job; nothing is sent until <see cref="RunAsync"/>.</summary>
    /// <param name="client">A started Orleans client of the cluster (set up with <see cref="GoodTransferClientBuilderExtensions.AddGoodTransferJobClient"/>).</param>
    /// <param name="featurizer">The backbone and options each silo fits (<see cref="FeaturizerSpec.For"/>).</param>
    /// <param name="images">The images, with paths every silo can read.</param>
    /// <param name="outputFolder">Where the parts go, on storage every silo can write; created if missing.</param>
    /// <param name="options">How batches are cut, sent and retried; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">No images, an image without a path, or an option out of range (<see cref="ArgumentException.ParamName"/> names it).</exception>
    public FeaturizationJob(IClusterClient client, FeaturizerSpec featurizer, IReadOnlyList<ImageEntry> images, string outputFolder, FeaturizationJobOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(featurizer);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        if (images.Count == 0)
        {
            throw new ArgumentException("The job has no images.", nameof(images));
        }

        for (var i = 0; i < images.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(images[i]?.Path))
            {
                throw new ArgumentException($"Image {i} of the job has no path.", nameof(images));
            }
        }

        this.options = options ?? new FeaturizationJobOptions();
        this.options.Check();
        this.client = client;
        this.featurizer = featurizer;
        this.images = images;
        OutputFolder = Path.GetFullPath(outputFolder);
        BatchCount = (images.Count + this.options.ImagesPerBatch - 1) / this.options.ImagesPerBatch;
    }

    /// <summary>The output folder, as a full path.</summary>
    public string OutputFolder { get; }

    /// <summary>How many batches, and so parts, the job has.</summary>
    public int BatchCount { get; }

    /// <summary>The part that batch <paramref name="index"/> is written to.</summary>
    /// <param name="index">The batch, from 0.</param>
    /// <returns>The part's full path.</returns>
    public string PartPath(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BatchCount);
        return Path.Combine(OutputFolder, new FeatureShard(index, BatchCount).FileName());
    }

    /// <summary>The images of batch <paramref name="index"/>, in the job's order.</summary>
    /// <param name="index">The batch, from 0.</param>
    /// <returns>Its images.</returns>
    public IReadOnlyList<ImageEntry> ImagesOf(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, BatchCount);
        var start = index * options.ImagesPerBatch;
        return [.. images.Skip(start).Take(Math.Min(options.ImagesPerBatch, images.Count - start))];
    }

    /// <summary>Runs the job until every part exists.</summary>
    /// <param name="progress">Receives a report at each event (a part written, a retry, a silo joining or lost), on the job's thread.</param>
    /// <param name="cancellationToken">Stops the job; parts already written stay, and a rerun resumes from them.</param>
    /// <returns>The parts and what it took.</returns>
    /// <exception cref="FeaturizationJobException">A batch failed for good, no silo was usable for <see cref="FeaturizationJobOptions.NoSiloTimeout"/>, or the output folder holds another job's parts.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<FeaturizationJobResult> RunAsync(IProgress<FeaturizationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(OutputFolder);
        JobManifest.Of(images, options.ImagesPerBatch, BatchCount, featurizer).WriteOrCheck(OutputFolder);
        var run = new JobRun(this, progress);
        return await run.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One run of the job: its state lives on one loop, so it needs no locks.</summary>
    private sealed class JobRun(FeaturizationJob job, IProgress<FeaturizationProgress>? progress)
    {
        private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);

        private readonly FeaturizationJobOptions options = job.options;
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly bool[] done = new bool[job.BatchCount];
        private readonly int[] attempts = new int[job.BatchCount];
        private readonly SortedSet<int> pending = [];
        private readonly Dictionary<int, TimeSpan> notBefore = [];
        private readonly HashSet<int> speculated = [];
        private readonly List<double> durations = [];
        private readonly List<Attempt> inFlight = [];
        private readonly Dictionary<string, SiloState> silos = new(StringComparer.Ordinal);
        private int batchesDone;
        private int batchesSkipped;
        private int batchesRun;
        private long imagesDone;
        private int retries;
        private int membershipCalls;
        private Task<Dictionary<SiloAddress, SiloStatus>>? membership;
        private TimeSpan nextMembership;
        private TimeSpan? noSiloSince;

        public async Task<FeaturizationJobResult> RunAsync(CancellationToken cancellationToken)
        {
            for (var i = 0; i < done.Length; i++)
            {
                if (File.Exists(job.PartPath(i)))
                {
                    done[i] = true;
                    batchesDone++;
                    batchesSkipped++;
                }
                else
                {
                    pending.Add(i);
                }
            }

            Report(FeaturizationEvent.Started);
            try
            {
                while (batchesDone < done.Length)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    TrackMembership();
                    Heartbeat();
                    Dispatch();
                    Speculate();
                    CheckSomeSiloIsUsable();
                    await WaitForAnything(cancellationToken).ConfigureAwait(false);
                    Collect();
                }
            }
            finally
            {
                foreach (var attempt in inFlight)
                {
                    attempt.Cancellation.Cancel();
                    attempt.Cancellation.Dispose();
                }
            }

            // A silo killed while it wrote a part left that write's temporary file beside the part that a retry wrote.
            var parts = Enumerable.Range(0, done.Length).Select(job.PartPath).ToList();
            FeatureFile.DeleteLeftovers(parts);

            return new FeaturizationJobResult(parts, batchesRun, batchesSkipped, retries, clock.Elapsed, SiloProgresses());
        }

        private void TrackMembership()
        {
            if (membership is null && clock.Elapsed >= nextMembership)
            {
                // Asked of a silo that answers this job's heartbeat, in turn: the management grain is a stateless worker,
                // and one placed on a dead silo would leave the job blind to new silos until Orleans gave up on it.
                var usable = silos.Values.Where(s => s.Usable).ToList();
                var timeout = options.HeartbeatTimeout + options.MembershipRefreshInterval;
                membership = usable.Count == 0
                    ? job.client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(timeout)
                    : WithPlacementHint(usable[membershipCalls++ % usable.Count], _ => job.client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).WaitAsync(timeout);
            }

            if (membership is not { IsCompleted: true })
            {
                return;
            }

            if (membership.IsCompletedSuccessfully)
            {
                var active = membership.Result.Keys.ToDictionary(address => address.ToParsableString(), StringComparer.Ordinal);
                foreach (var (name, address) in active)
                {
                    if (!silos.ContainsKey(name))
                    {
                        // Usable once it answers a ping from this job: its gateway may not know it yet.
                        silos[name] = new SiloState(name, address);
                    }
                }

                foreach (var silo in silos.Values.Where(s => s.InCluster && !active.ContainsKey(s.Name)))
                {
                    silo.InCluster = false;
                    Lose(silo, "it left the cluster");
                }
            }

            membership = null;
            nextMembership = clock.Elapsed + options.MembershipRefreshInterval;
        }

        private void Heartbeat()
        {
            foreach (var silo in silos.Values.Where(s => s.InCluster))
            {
                if (silo.Ping is null && (silo.LastPing is null || clock.Elapsed - silo.LastPing >= options.HeartbeatInterval))
                {
                    silo.LastPing = clock.Elapsed;
                    silo.Ping = WithPlacementHint(silo, grain => grain.PingAsync(CancellationToken.None)).WaitAsync(options.HeartbeatTimeout);
                }

                if (silo.Ping is not { IsCompleted: true } ping)
                {
                    continue;
                }

                silo.Ping = null;
                if (ping.IsCompletedSuccessfully && ping.Result == silo.Name)
                {
                    if (!silo.Usable)
                    {
                        silo.Usable = true;
                        Report(FeaturizationEvent.SiloJoined, silo: silo.Name);
                    }
                }
                else if (ping.IsCompletedSuccessfully)
                {
                    // Another silo answered: the gateway does not know this one yet (it just joined). Not lost; not usable yet.
                }
                else
                {
                    Lose(silo, ping.Exception?.InnerException is TimeoutException ? $"no heartbeat within {options.HeartbeatTimeout.TotalSeconds:0.#} s" : $"its heartbeat failed: {Describe(ping.Exception)}");
                }
            }
        }

        private void Dispatch()
        {
            while (pending.Count > 0)
            {
                var silo = silos.Values.Where(s => s.Usable && s.InFlight < options.BatchesPerSilo).MinBy(s => s.InFlight);
                if (silo is null)
                {
                    return;
                }

                var now = clock.Elapsed;
                var ready = pending.Where(i => !notBefore.TryGetValue(i, out var at) || at <= now).Take(1).ToList();
                if (ready.Count == 0)
                {
                    return;
                }

                var index = ready[0];
                pending.Remove(index);
                attempts[index]++;
                Send(index, silo);
            }
        }

        // A call can be lost without an error in the seconds after a silo dies (measured: a healthy gateway left one
        // unanswered until Orleans' response timeout), and a silo can be slow. An attempt that has run for
        // StragglerFactor times the median batch (at least 5 s) gets a second attempt on another silo; the first result wins.
        private void Speculate()
        {
            if (options.StragglerFactor <= 0 || durations.Count < 3 || pending.Count > 0)
            {
                return;
            }

            var sorted = durations.Order().ToList();
            var threshold = TimeSpan.FromSeconds(Math.Max(5, options.StragglerFactor * sorted[sorted.Count / 2]));
            foreach (var attempt in inFlight.Where(a => !speculated.Contains(a.Batch) && clock.Elapsed - a.Started > threshold).ToList())
            {
                var silo = silos.Values.Where(s => s.Usable && s != attempt.Silo && s.InFlight < options.BatchesPerSilo).MinBy(s => s.InFlight);
                if (silo is null)
                {
                    return;
                }

                speculated.Add(attempt.Batch);
                retries++;
                Report(FeaturizationEvent.BatchRetried, attempt.Batch, attempt.Silo.Name, $"no answer after {threshold.TotalSeconds:0.#} s ({options.StragglerFactor} times the median batch): sent to {silo.Name} too");
                Send(attempt.Batch, silo);
            }
        }

        private void Send(int index, SiloState silo)
        {
            var batch = new FeatureBatch(index, done.Length, job.ImagesOf(index), job.featurizer, job.PartPath(index));
            var cancellation = new CancellationTokenSource(options.AttemptTimeout);
            var call = WithPlacementHint(silo, grain => grain.FeaturizeAsync(batch, cancellation.Token)).WaitAsync(cancellation.Token);
            inFlight.Add(new Attempt(index, silo, cancellation, call, clock.Elapsed));
            silo.InFlight++;
        }

        private void CheckSomeSiloIsUsable()
        {
            if (silos.Values.Any(s => s.Usable) || inFlight.Count > 0)
            {
                noSiloSince = null;
                return;
            }

            noSiloSince ??= clock.Elapsed;
            if (clock.Elapsed - noSiloSince > options.NoSiloTimeout)
            {
                var known = silos.Count == 0 ? "the cluster listed no active silo" : $"silos known: {string.Join(", ", silos.Keys)}";
                throw new FeaturizationJobException(
                    $"No silo was usable for {options.NoSiloTimeout.TotalSeconds:0} s ({known}); {batchesDone} of {done.Length} parts are done and stay in '{job.OutputFolder}'. " +
                    "Are silos running with AddGoodTransferFeaturizer on this cluster?");
            }
        }

        private async Task WaitForAnything(CancellationToken cancellationToken)
        {
            var waits = new List<Task>(inFlight.Count + silos.Count + 2) { Task.Delay(Tick, cancellationToken) };
            waits.AddRange(inFlight.Select(a => a.Call));
            waits.AddRange(silos.Values.Where(s => s.Ping is not null).Select(s => s.Ping!));
            if (membership is not null)
            {
                waits.Add(membership);
            }

            var first = await Task.WhenAny(waits).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            _ = first;
        }

        private void Collect()
        {
            foreach (var attempt in inFlight.Where(a => a.Call.IsCompleted).ToList())
            {
                inFlight.Remove(attempt);
                attempt.Silo.InFlight--;
                attempt.Cancellation.Dispose();
                var index = attempt.Batch;
                if (attempt.Call.IsCompletedSuccessfully && attempt.Call.Result is { Error: null } result)
                {
                    if (!result.AlreadyComplete)
                    {
                        durations.Add((clock.Elapsed - attempt.Started).TotalSeconds);
                    }

                    if (!done[index])
                    {
                        done[index] = true;
                        batchesDone++;
                        batchesRun++;
                        imagesDone += result.Images;
                        var credited = silos.GetValueOrDefault(result.Silo) ?? attempt.Silo;
                        credited.Batches++;
                        credited.Images += result.Images;
                        Report(FeaturizationEvent.BatchDone, index, result.Silo);
                    }
                }
                else if (attempt.Call.IsCompletedSuccessfully)
                {
                    throw new FeaturizationJobException(
                        $"Batch {index} of {done.Length} ({job.ImagesOf(index).Count} images from '{job.ImagesOf(index)[0].Path}') failed on silo {attempt.Call.Result.Silo}: {attempt.Call.Result.Error}. " +
                        $"{batchesDone} parts are done and stay in '{job.OutputFolder}'; a rerun resumes from them.")
                    { Batch = index };
                }
                else if (!done[index])
                {
                    var reason = attempt.Call.IsCanceled || attempt.Call.Exception?.InnerException is OperationCanceledException
                        ? attempt.Silo.Usable ? $"no answer within the attempt's {options.AttemptTimeout.TotalSeconds:0} s" : $"silo {attempt.Silo.Name} was lost"
                        : Describe(attempt.Call.Exception);
                    Retry(index, attempt.Silo, reason, attempt.Call.Exception?.InnerException);
                }
            }
        }

        private void Retry(int index, SiloState silo, string reason, Exception? cause)
        {
            if (inFlight.Any(a => a.Batch == index))
            {
                return;
            }

            if (attempts[index] >= options.MaxAttemptsPerBatch)
            {
                var message = $"Batch {index} of {done.Length} failed {attempts[index]} times; the last attempt, on silo {silo.Name}: {reason}. " +
                    $"{batchesDone} parts are done and stay in '{job.OutputFolder}'; a rerun resumes from them.";
                throw cause is null ? new FeaturizationJobException(message) { Batch = index } : new FeaturizationJobException(message, cause) { Batch = index };
            }

            // Backing off: in the seconds after a kill, calls can be rejected at once (a gateway still tries the dead silo).
            pending.Add(index);
            notBefore[index] = clock.Elapsed + TimeSpan.FromMilliseconds(Math.Min(5000, 100 << Math.Min(attempts[index], 6)));
            retries++;
            Report(FeaturizationEvent.BatchRetried, index, silo.Name, reason);
        }

        private void Lose(SiloState silo, string reason)
        {
            var wasUsable = silo.Usable;
            silo.Usable = false;
            foreach (var attempt in inFlight.Where(a => a.Silo == silo))
            {
                attempt.Cancellation.Cancel();
            }

            if (wasUsable)
            {
                Report(FeaturizationEvent.SiloLost, silo: silo.Name, reason: reason);
            }
        }

        // A stateless worker is placed on the silo named by Orleans' placement hint; the grain key names the silo too,
        // so that calls for different silos never share an activation.
        private TResult WithPlacementHint<TResult>(SiloState silo, Func<IFeaturizerGrain, TResult> call)
        {
            RequestContext.Set(IPlacementDirector.PlacementHintKey, silo.Address);
            try
            {
                return call(job.client.GetGrain<IFeaturizerGrain>(silo.Name));
            }
            finally
            {
                RequestContext.Remove(IPlacementDirector.PlacementHintKey);
            }
        }

        private void Report(FeaturizationEvent kind, int batch = -1, string? silo = null, string? reason = null)
        {
            if (progress is null)
            {
                return;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            progress.Report(new FeaturizationProgress(
                kind, batchesDone, done.Length, batchesSkipped, imagesDone, seconds > 0 ? imagesDone / seconds : 0, retries, clock.Elapsed, SiloProgresses(), batch, silo, reason));
        }

        private List<SiloProgress> SiloProgresses() =>
            [.. silos.Values.Where(s => s.Usable || s.Batches > 0).Select(s => new SiloProgress(s.Name, s.Batches, (int)s.Images, s.Usable))];

        private static string Describe(AggregateException? exception) =>
            exception?.InnerException is { } inner ? $"{inner.GetType().Name}: {inner.Message.Split('\n')[0]}" : "it failed";
    }

    private sealed record Attempt(int Batch, SiloState Silo, CancellationTokenSource Cancellation, Task<BatchResult> Call, TimeSpan Started);

    private sealed class SiloState(string name, SiloAddress address)
    {
        public string Name { get; } = name;

        public SiloAddress Address { get; } = address;

        public bool InCluster { get; set; } = true;

        public bool Usable { get; set; }

        public int InFlight { get; set; }

        public int Batches { get; set; }

        public long Images { get; set; }

        public Task<string>? Ping { get; set; }

        public TimeSpan? LastPing { get; set; }
    }
}
