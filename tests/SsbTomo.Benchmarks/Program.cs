using System.Diagnostics;
using SsbTomo.Benchmarks;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

var (d, h, w) = (64, 512, 512);
var sw = Stopwatch.StartNew();
var data = BenchData.Generate(d, h, w);
Console.WriteLine($"generated in {sw.ElapsedMilliseconds} ms");
for (var rep = 0; rep < 3; rep++)
{
    sw.Restart();
    var c = PartialVolumeCleanup.Apply(data.Labels, data.Denoised, BenchData.DarkToBright, data.ClassMeans);
    var t = sw.Elapsed.TotalSeconds;
    Console.WriteLine($"PVC {t * 1000:F0} ms  {data.Labels.Length / t / 1e6:F2} Mvox/s changed={c.Data.Zip(data.Labels.Data).Count(p => p.First != p.Second)}");
    sw.Restart();
    var l = ConnectedComponents.Label(data.Labels, PhaseLabel.Void);
    t = sw.Elapsed.TotalSeconds;
    Console.WriteLine($"CC {t * 1000:F0} ms  {data.Labels.Length / t / 1e6:F2} Mvox/s count={l.Count}");
}
