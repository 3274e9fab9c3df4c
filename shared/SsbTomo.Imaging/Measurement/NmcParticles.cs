using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Measurement;

/// <summary>One NMC particle after touching particles are split (<see cref="NmcParticles"/>).</summary>
/// <param name="Id">1..n, in raster order of the particle's marker.</param>
/// <param name="SurfaceAreaUm2">Voxel faces to LPS, carbon or void (the surface the electrolyte could touch), in µm².</param>
/// <param name="ContactLossFraction">Share of that surface whose other side is void (face areas; NaN without surface).</param>
/// <param name="OneSidedness">Length of the area-weighted mean unit normal of the void-facing surface: 0 when the void
/// lies evenly all round, 1 when it all lies on one side; NaN without void-facing surface.</param>
/// <param name="TouchesBorder">The particle reaches the volume's edge or the region outside the aligned crop, so it is cut
/// and its size and contact are not its own; left out of statistics by default.</param>
public sealed record NmcParticle(int Id, long Voxels, double VolumeUm3, double EquivalentDiameterUm, double SurfaceAreaUm2,
    double VoidContactAreaUm2, double ContactLossFraction, double OneSidedness, double[] CentroidZyxUm, bool TouchesBorder);

/// <summary>The particle id of every voxel (0: not NMC) and the particles.</summary>
public sealed record NmcParticleLabels(int[] Ids, int Count);

/// <summary>
/// Splits the NMC phase into particles and measures each: the paper reports contact loss per particle and that it
/// concentrates on one side of a particle (its Fig. 4f). Particles are split by a marker watershed on the Euclidean
/// distance to the NMC surface (<see cref="MarkerWatershed"/>), the approach of PoreSpy's SNOW partition (Gostick 2017,
/// "Versatile and efficient pore network extraction method using marker-based watershed segmentation", Phys. Rev. E
/// 96:023307) with h-maxima markers instead of SNOW's peak trimming. One-sidedness uses each void-facing face's normal
/// from the gradient of the Gaussian-smoothed NMC indicator, weighted by the area of surface the face stands for (its
/// area times the normal's component along it), so a voxel staircase counts as the smooth surface it samples.
/// </summary>
/// <remarks>Holds the whole label volume: particles are not slab-local. Used on volumes that fit memory.</remarks>
public static class NmcParticles
{
    /// <summary>Default h of the h-maxima markers, in voxels of the largest voxel side: ripples of a voxelised sphere's
    /// distance map stay below it, the neck between two touching particles of a few voxels' radius lies above it.</summary>
    public const double DefaultHVoxels = 2.0;

    /// <summary>σ of the smoothing whose gradient gives the surface normals, in voxels.</summary>
    public const double NormalSigmaVoxels = 1.0;

    public static NmcParticleLabels Separate(Volume<byte> labels, VoxelSize voxelSize, double hVoxels = DefaultHVoxels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var squared = DistanceTransform.SquaredNm2(labels, label => label != PhaseLabel.Nmc, voxelSize);
        var distance = new float[squared.Length];
        var mask = new bool[squared.Length];
        for (var i = 0; i < squared.Length; i++)
        {
            mask[i] = labels.Data[i] == PhaseLabel.Nmc;
            distance[i] = mask[i] ? (float)Math.Sqrt(squared[i]) : 0f;
        }
        var h = (float)(hVoxels * Math.Max(voxelSize.XNm, Math.Max(voxelSize.YNm, voxelSize.ZNm)));
        var (markers, count) = MarkerWatershed.HMaximaMarkers(distance, mask, labels.Depth, labels.Height, labels.Width, h);
        var ids = MarkerWatershed.Flood(distance, mask, markers, labels.Depth, labels.Height, labels.Width);
        return new NmcParticleLabels(ids, MarkerWatershed.NumberUnreached(ids, mask, labels.Depth, labels.Height, labels.Width, count));
    }

    public static IReadOnlyList<NmcParticle> Measure(Volume<byte> labels, NmcParticleLabels particles, VoxelSize voxelSize)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(particles);
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var n = particles.Count + 1;
        var voxels = new long[n];
        var centroid = new double[n, 3];
        var surface = new double[n];
        var voidContact = new double[n];
        var normalSum = new double[n, 3];
        var normalWeight = new double[n];
        var border = new bool[n];
        var ids = particles.Ids;
        var gradient = SmoothedIndicatorGradient(labels, voxelSize);
        // Face areas (nm²) across z, y and x; a step along an axis, and which gradient component is normal to the face.
        double[] faceArea = [voxelSize.YNm * voxelSize.XNm, voxelSize.ZNm * voxelSize.XNm, voxelSize.ZNm * voxelSize.YNm];
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var i = (z * height + y) * width + x;
                    var id = ids[i];
                    if (id == 0) continue;
                    voxels[id]++;
                    centroid[id, 0] += z; centroid[id, 1] += y; centroid[id, 2] += x;
                    if (z == 0 || y == 0 || x == 0 || z == depth - 1 || y == height - 1 || x == width - 1) border[id] = true;
                    for (var axis = 0; axis < 3; axis++)
                        for (var sign = -1; sign <= 1; sign += 2)
                        {
                            var (nz, ny, nx) = axis switch { 0 => (z + sign, y, x), 1 => (z, y + sign, x), _ => (z, y, x + sign) };
                            if (nz < 0 || ny < 0 || nx < 0 || nz >= depth || ny >= height || nx >= width) continue;
                            var neighbour = labels.Data[(nz * height + ny) * width + nx];
                            if (neighbour == PhaseLabel.Outside) { border[id] = true; continue; }
                            if (neighbour == PhaseLabel.Nmc) continue;
                            surface[id] += faceArea[axis];
                            if (neighbour != PhaseLabel.Void) continue;
                            voidContact[id] += faceArea[axis];
                            // The outward normal at the face: minus the indicator's gradient, averaged over the face's two voxels.
                            var j = (nz * height + ny) * width + nx;
                            double gz = -(gradient[0][i] + gradient[0][j]) / 2, gy = -(gradient[1][i] + gradient[1][j]) / 2, gx = -(gradient[2][i] + gradient[2][j]) / 2;
                            var length = Math.Sqrt(gz * gz + gy * gy + gx * gx);
                            if (length == 0) continue;
                            (gz, gy, gx) = (gz / length, gy / length, gx / length);
                            var along = Math.Abs(axis switch { 0 => gz, 1 => gy, _ => gx });
                            var weight = faceArea[axis] * along;
                            normalSum[id, 0] += weight * gz; normalSum[id, 1] += weight * gy; normalSum[id, 2] += weight * gx;
                            normalWeight[id] += weight;
                        }
                }

        const double Nm2PerUm2 = 1e6, Nm3PerUm3 = 1e9;
        var result = new NmcParticle[particles.Count];
        for (var id = 1; id < n; id++)
        {
            var volumeUm3 = voxels[id] * voxelSize.VoxelVolumeNm3 / Nm3PerUm3;
            var oneSided = normalWeight[id] > 0
                ? Math.Sqrt(normalSum[id, 0] * normalSum[id, 0] + normalSum[id, 1] * normalSum[id, 1] + normalSum[id, 2] * normalSum[id, 2]) / normalWeight[id]
                : double.NaN;
            double[] centre = voxels[id] == 0 ? [double.NaN, double.NaN, double.NaN]
                : [centroid[id, 0] / voxels[id] * voxelSize.ZNm / 1000, centroid[id, 1] / voxels[id] * voxelSize.YNm / 1000, centroid[id, 2] / voxels[id] * voxelSize.XNm / 1000];
            result[id - 1] = new NmcParticle(id, voxels[id], volumeUm3, Math.Cbrt(6 * volumeUm3 / Math.PI), surface[id] / Nm2PerUm2,
                voidContact[id] / Nm2PerUm2, surface[id] > 0 ? voidContact[id] / surface[id] : double.NaN, oneSided, centre, border[id]);
        }
        return result;
    }

    /// <summary>
    /// Gradient (z, y, x components, per nm) of the NMC indicator smoothed with a Gaussian of
    /// <see cref="NormalSigmaVoxels"/>, by central differences.
    /// </summary>
    private static float[][] SmoothedIndicatorGradient(Volume<byte> labels, VoxelSize voxelSize)
    {
        var indicator = new Volume<ushort>(labels.Depth, labels.Height, labels.Width);
        for (var i = 0; i < indicator.Data.Length; i++) indicator.Data[i] = labels.Data[i] == PhaseLabel.Nmc ? (ushort)1000 : (ushort)0;
        var smooth = Denoise.Gaussian(indicator, NormalSigmaVoxels);
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var plane = height * width;
        float[][] g = [new float[smooth.Data.Length], new float[smooth.Data.Length], new float[smooth.Data.Length]];
        Parallel.For(0, depth, z =>
        {
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var i = (z * height + y) * width + x;
                    g[0][i] = Difference(smooth.Data, i, z, depth, plane) / (float)voxelSize.ZNm;
                    g[1][i] = Difference(smooth.Data, i, y, height, width) / (float)voxelSize.YNm;
                    g[2][i] = Difference(smooth.Data, i, x, width, 1) / (float)voxelSize.XNm;
                }
        });
        return g;
    }

    private static float Difference(float[] v, int i, int position, int length, int stride)
    {
        var before = position > 0 ? v[i - stride] : v[i];
        var after = position < length - 1 ? v[i + stride] : v[i];
        var span = (position > 0 ? 1 : 0) + (position < length - 1 ? 1 : 0);
        return span == 0 ? 0 : (after - before) / span;
    }
}
