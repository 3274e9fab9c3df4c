using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

/// <summary>What <see cref="LabelVolumeMeasurement.Measure"/> found; phase arrays are indexed by measurement label (0 unused).</summary>
public sealed record LabelVolumeMetrics(
    PhaseTable Phases,
    VoxelSize VoxelSize,
    int[] ShapeZyx,
    long[] Voxels,
    long ClassifiedVoxels,
    SurfaceAreas Surfaces,
    ComponentSummary[] Components,
    TortuosityResult? Tortuosity,
    byte TortuosityPhase)
{
    public long TotalVoxels => (long)ShapeZyx[0] * ShapeZyx[1] * ShapeZyx[2];
    public double TotalVolumeUm3 => TotalVoxels * VoxelSize.VoxelVolumeNm3 * 1e-9;

    /// <summary>Voxels of the phase / classified voxels (all voxels when every value in the volume is named).</summary>
    public double VolumeFraction(byte label) => ClassifiedVoxels == 0 ? double.NaN : (double)Voxels[label] / ClassifiedVoxels;
}

/// <summary>
/// Measures a label volume with user-named phases (<see cref="PhaseTable"/>) by the same estimators as the pipeline's
/// metrics: voxel counts, face-count and marching-cubes surfaces and interfaces (<see cref="SurfaceAreaAccumulator"/>),
/// 26-connected components per phase (<see cref="ComponentAccumulator"/>) and, for one phase, the tortuosity factor
/// along one axis (<see cref="Measurement.Tortuosity"/>). The tortuosity solve needs the whole volume; the rest is
/// streamed by slab.
/// </summary>
public static class LabelVolumeMeasurement
{
    /// <param name="labels">Measurement labels: 0 unclassified, 1..n the table's phases.</param>
    /// <param name="tortuosityPhase">Label of the phase whose tortuosity factor is solved, or 0 for none.</param>
    public static LabelVolumeMetrics Measure(Volume<byte> labels, PhaseTable phases, VoxelSize voxelSize, byte tortuosityPhase, int tortuosityAxis,
        int slabSlices = 32)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(phases);
        if (tortuosityPhase > phases.Phases.Count) throw new ArgumentOutOfRangeException(nameof(tortuosityPhase), tortuosityPhase, "not a phase of the table");
        var surfaces = new SurfaceAreaAccumulator(voxelSize);
        var components = Enumerable.Range(1, phases.Phases.Count).Select(p => new ComponentAccumulator((byte)p)).ToArray();
        for (var z0 = 0; z0 < labels.Depth; z0 += slabSlices)
        {
            var slab = Halo.CropZ(labels, z0, Math.Min(labels.Depth, z0 + slabSlices));
            surfaces.Add(slab);
            foreach (var c in components) c.Add(slab);
        }
        var counts = PhaseFractions.Count(labels);
        var tortuosity = tortuosityPhase == 0 ? null : Measurement.Tortuosity.Compute(labels, tortuosityPhase, tortuosityAxis, voxelSize);
        return new LabelVolumeMetrics(phases, voxelSize, [labels.Depth, labels.Height, labels.Width], counts, counts.Skip(1).Sum(),
            surfaces.Result(), [ComponentSummary.FromSizes([]), .. components.Select(c => c.Result())], tortuosity, tortuosityPhase);
    }
}
