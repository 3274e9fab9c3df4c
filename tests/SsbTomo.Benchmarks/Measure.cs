using System.Diagnostics;

namespace SsbTomo.Benchmarks;

/// <summary>Median wall time of N repeats after one warm-up, with the managed memory the call allocates and its peak heap growth.</summary>
internal sealed record Timing(double MedianMs, double AllocatedMb, double PeakHeapMb);

internal static class Measure
{
    public static Timing Run(Action action, int repeats)
    {
        action(); // warm-up: JIT tiers, thread pool, file cache
        var times = new List<double>();
        double allocated = 0, peak = 0;
        for (var r = 0; r < repeats; r++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var baseline = GC.GetTotalMemory(false);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            using var sampler = new PeakSampler(baseline);
            var watch = Stopwatch.StartNew();
            action();
            watch.Stop();
            var allocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            times.Add(watch.Elapsed.TotalMilliseconds);
            allocated = Math.Max(allocated, allocatedBytes / 1048576.0);
            // Peak heap growth: sampled every millisecond, and at least what is still live at the end.
            peak = Math.Max(peak, Math.Max(sampler.Stop(), GC.GetTotalMemory(false) - baseline) / 1048576.0);
        }
        times.Sort();
        return new Timing(times[times.Count / 2], allocated, peak);
    }

    public static async Task<Timing> RunAsync(Func<Task> action, int repeats) =>
        Run(() => action().GetAwaiter().GetResult(), repeats);

    /// <summary>Polls the managed heap size on a background thread while the measured call runs.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly long _baseline;
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public PeakSampler(long baseline)
        {
            _baseline = baseline;
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    var now = GC.GetTotalMemory(false) - _baseline;
                    if (now > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, now);
                    Thread.Sleep(1);
                }
            }) { IsBackground = true, Priority = ThreadPriority.AboveNormal };
            _thread.Start();
        }

        public long Stop()
        {
            _stop = true;
            _thread.Join();
            return Interlocked.Read(ref _peak);
        }

        public void Dispose()
        {
            if (!_stop) Stop();
        }
    }
}
