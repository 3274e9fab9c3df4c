using System.Collections.Concurrent;
using System.Text;
using SsbTomo.Hosting;
using SsbTomo.Imaging.Classification;
using SsbTomo.Storage;

namespace SsbTomo.Segmentation;

/// <summary>
/// The trained pixel classifier of each job this worker segments (<c>ssbtomo run --model</c>), read from the job's blobs
/// (<see cref="JobLayout.ClassifierManifest"/>, <see cref="JobLayout.ClassifierForest"/>) once per job and shared by
/// every chunk of it that the worker takes. A model that does not fit the pipeline (phase table, bit depth, format) fails
/// the job with a sentence naming the blob; a read that fails (transient) is not kept, so a retry reads again. The last
/// <see cref="JobsKept"/> jobs are kept.
/// </summary>
public sealed class TrainedClassifierCache(IBlobStore store)
{
    /// <summary>Jobs whose classifier stays loaded (a worker seldom interleaves more jobs than this).</summary>
    public const int JobsKept = 4;

    private readonly ConcurrentDictionary<Guid, Lazy<Task<PixelClassifier>>> _byJob = new();
    private readonly ConcurrentQueue<Guid> _order = new();
    private int _loads;

    /// <summary>How many times a model was read from the blob store (tests: once per job).</summary>
    public int Loads => _loads;

    public Task<PixelClassifier> GetAsync(Guid jobId, JobLayout layout)
    {
        var entry = _byJob.GetOrAdd(jobId, id =>
        {
            _order.Enqueue(id);
            return new Lazy<Task<PixelClassifier>>(() => LoadAsync(layout));
        });
        while (_order.Count > JobsKept && _order.TryDequeue(out var old))
        {
            if (old == jobId)
            {
                _order.Enqueue(old); // the job being asked for stays; the next call evicts the others
                break;
            }
            _byJob.TryRemove(old, out _);
        }
        return Await(jobId, entry);
    }

    private async Task<PixelClassifier> Await(Guid jobId, Lazy<Task<PixelClassifier>> entry)
    {
        try
        {
            return await entry.Value.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            _byJob.TryRemove(new KeyValuePair<Guid, Lazy<Task<PixelClassifier>>>(jobId, entry));
            throw;
        }
    }

    // Not cancelled by the chunk that happened to start the load: other chunks of the job wait for the same read.
    private async Task<PixelClassifier> LoadAsync(JobLayout layout)
    {
        Interlocked.Increment(ref _loads);
        var manifestBytes = await store.ReadAsync(layout.ClassifierManifest).ConfigureAwait(false)
            ?? throw new InvalidInputException($"{layout.ClassifierManifest}: the job was submitted with a trained model, but its manifest is not in the job's store");
        var forestBytes = await store.ReadAsync(layout.ClassifierForest).ConfigureAwait(false)
            ?? throw new InvalidInputException($"{layout.ClassifierForest}: the job was submitted with a trained model, but its forest is not in the job's store");
        try
        {
            var manifest = PixelClassifierManifest.FromJson(Encoding.UTF8.GetString(manifestBytes));
            manifest.CheckForPipeline(layout.ClassifierManifest);
            return PixelClassifier.Load(manifest, forestBytes);
        }
        catch (Exception e) when (e is ModelMismatchException or InvalidDataException)
        {
            var message = e.Message.StartsWith(layout.ClassifierManifest, StringComparison.Ordinal) ? e.Message : $"{layout.ClassifierManifest}: {e.Message}";
            throw new InvalidInputException(message, e);
        }
    }
}
