using System.Diagnostics;

namespace SsbTomo.Benchmarks;

/// <summary>
/// Median wall time of N repeats after one warm-up, with the managed memory the call allocates and its peak heap growth,
/// and the median CPU time of the process over the call (all threads, the heap sampler's polling included): on a shared
/// machine the CPU time is the figure that does not move with other processes' load.
/// </summary>
internal sealed record Timing(double MedianMs, double AllocatedMb, double PeakHeapMb, double MedianCpuMs = double.NaN);

internal static class Measure
{
    public static Timing Run(Action action, int repeats)
    {
        action(); // warm-up: JIT tiers, thread pool, file cache
        var times = new List<double>();
        var cpuTimes = new List<double>();
        double allocated = 0, peak = 0;
        for (var r = 0; r < repeats; r++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var baseline = GC.GetTotalMemory(false);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            using var sampler = new PeakSampler(baseline);
            var cpu = Environment.CpuUsage.TotalTime;
            var watch = Stopwatch.StartNew();
            action();
            watch.Stop();
            cpuTimes.Add((Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds);
            var allocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            times.Add(watch.Elapsed.TotalMilliseconds);
            allocated = Math.Max(allocated, allocatedBytes / 1048576.0);
            // Peak heap growth: sampled every millisecond, and at least what is still live at the end.
            peak = Math.Max(peak, Math.Max(sampler.Stop(), GC.GetTotalMemory(false) - baseline) / 1048576.0);
        }
        times.Sort();
        cpuTimes.Sort();
        return new Timing(times[times.Count / 2], allocated, peak, cpuTimes[cpuTimes.Count / 2]);
    }

    public static async Task<Timing> RunAsync(Func<Task> action, int repeats) =>
        Run(() => action().GetAwaiter().GetResult(), repeats);

    /// <summary>One call, no warm-up: its result, wall seconds and the process's CPU seconds over it (all threads), for the
    /// studies that time a pipeline's parts in turn on real data, each part's output the next one's input.</summary>
    public static (T Result, double WallSeconds, double CpuSeconds) Once<T>(Func<T> part)
    {
        var cpu = Environment.CpuUsage.TotalTime;
        var watch = Stopwatch.StartNew();
        var result = part();
        watch.Stop();
        return (result, watch.Elapsed.TotalSeconds, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
    }

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
