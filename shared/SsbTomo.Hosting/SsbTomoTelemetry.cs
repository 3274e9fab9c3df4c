using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SsbTomo.Hosting;

/// <summary>The ActivitySource and Meter every SsbTomo service reports through.</summary>
public static class SsbTomoTelemetry
{
    public const string Name = "SsbTomo";

    public static readonly ActivitySource ActivitySource = new(Name);
    public static readonly Meter Meter = new(Name);

    public static readonly Histogram<double> StageSeconds =
        Meter.CreateHistogram<double>("ssbtomo.stage.duration", "s", "Duration of one stage message for one job");

    public static readonly Counter<long> VoxelsProcessed =
        Meter.CreateCounter<long>("ssbtomo.voxels.processed", "{voxel}", "Voxels processed per stage");

    public static readonly Counter<long> ChunksSegmented =
        Meter.CreateCounter<long>("ssbtomo.chunks.segmented", "{chunk}", "Segmentation chunks done");

    /// <summary>Times one stage of one job as a span plus the stage-duration histogram.</summary>
    public static StageTimer StartStage(string stage, Guid jobId, long voxels = 0) => new(stage, jobId, voxels);

    public sealed class StageTimer : IDisposable
    {
        private readonly string _stage;
        private readonly long _voxels;
        private readonly Activity? _activity;
        private readonly long _started = Stopwatch.GetTimestamp();

        internal StageTimer(string stage, Guid jobId, long voxels)
        {
            _stage = stage;
            _voxels = voxels;
            _activity = ActivitySource.StartActivity(stage);
            _activity?.SetTag("ssbtomo.job_id", jobId.ToString());
        }

        public void Dispose()
        {
            var tags = new KeyValuePair<string, object?>("stage", _stage);
            StageSeconds.Record(Stopwatch.GetElapsedTime(_started).TotalSeconds, tags);
            if (_voxels > 0) VoxelsProcessed.Add(_voxels, tags);
            _activity?.Dispose();
        }
    }
}
