using System.Diagnostics;
using System.Globalization;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Reconstruction;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;

namespace SsbTomo.Benchmarks;

/// <summary>
/// What one kernel allocates on a pristine phantom of a given shape (every byte, garbage included: an upper bound of what
/// it holds at once), beside the estimate that sizes its window. Run it under a heap hard limit to find the heap it needs:
/// <c>DOTNET_GCHeapHardLimit=0xC800000 dotnet tests/SsbTomo.Benchmarks/bin/Release/net10.0/SsbTomo.Benchmarks.dll memory tortuosity 8,768,768</c>
/// (200 MiB) completes or ends "Out of memory"; the harness itself holds ~17 MiB (phantom, labels, grey levels) on 8x768x768.
/// Usage: memory survey|segment|tortuosity|particles [--size 8,768,768]
/// </summary>
internal static class MemoryStudy
{
    public static int Run(string[] args)
    {
        var kernel = args.FirstOrDefault() ?? "tortuosity";
        var size = args.Length > 2 && args[1] == "--size" ? args[2].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : args.Length > 1 && char.IsDigit(args[1][0]) ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray()
            : [8, 768, 768];
        var (d, h, w) = (size[0], size[1], size[2]);
        var phantom = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Pristine, d, h, w, 50, Seed: 3));
        var labels = phantom.RenderLabels(0, d);
        var grey = new Volume<ushort>(d, h, w);
        for (var z = 0; z < d; z++) phantom.RenderSlice16(z).Pixels.CopyTo(grey.Data, (long)z * h * w);
        var voxel = VoxelSize.Isotropic(50);
        double[] thresholds = [15229, 26247, 41275];
        double[] means = [9000, 21000, 33000, 48000];
        var voxels = (double)d * h * w;
        var baseHeap = GC.GetTotalMemory(forceFullCollection: true);
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        object? result;
        double estimate;
        switch (kernel)
        {
            case "survey":
                var surveyed = CarbonFibreSurvey.SurveyedSlices(0, d);
                result = CarbonFibreSurvey.Survey(grey, new SlabWindow(0, d, 0, d), thresholds, means, 1024, 0, 65536, CarbonFibreSurvey.TubeSigmaVoxels(voxel));
                estimate = CarbonFibreSurvey.WorkingBytesPerVoxel(d, surveyed, Environment.ProcessorCount) * voxels;
                break;
            case "segment":
                // As the stage runs it: with the fibres' half-depth rule at the voxel size's tube σ.
                result = PhaseSegmentation.Segment(grey.ToFloat(), thresholds, means, 0, CarbonFibreSurvey.TubeSigmaVoxels(voxel));
                // The stage's window estimate, with the uint16 window and the owned labels the harness does not allocate here.
                estimate = Segmentation.SegmentationSettings.SegmentBytesPerVoxel(d, Environment.ProcessorCount, fibreHalfDepth: true) * voxels;
                break;
            case "tortuosity":
                result = CathodeTortuosity.Measure(labels, voxel, CathodeTortuosity.Paths, [0, 1, 2]);
                estimate = CathodeTortuosity.BytesNeeded(d, h, w, voxel, [0, 1, 2]) - voxels; // the labels are the harness's
                break;
            case "particles":
                var separated = NmcParticles.Separate(labels, voxel);
                var particles = NmcParticles.Measure(labels, separated, voxel);
                result = SurfaceViews.ParticleSurroundings(labels, separated, particles, voxel, new SurfaceOptions());
                estimate = 48 * voxels; // MeasureVolumeConsumer's ParticleBytesPerVoxel
                break;
            default:
                Console.Error.WriteLine($"unknown kernel {kernel}: survey, segment, tortuosity or particles");
                return 2;
        }
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        GC.KeepAlive(result);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{kernel} {d}x{h}x{w}: allocated {allocated / 1048576.0:0.0} MiB ({allocated / voxels:0.0} B/voxel, garbage included), "
            + $"estimate {estimate / 1048576.0:0.0} MiB ({estimate / voxels:0.0} B/voxel); {clock.Elapsed.TotalSeconds:0.0} s; harness heap {baseHeap / 1048576.0:0.0} MiB; "
            + $"heap limit {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1048576.0:0} MiB"));
        return 0;
    }
}
