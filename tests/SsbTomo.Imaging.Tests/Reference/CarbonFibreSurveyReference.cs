using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// The fibre survey as it was at commit 790ecd6, frozen: the whole slab copied to floats, each surveyed slice's Hessian
/// in double precision over the whole read window (<see cref="HessianReference.OfSlice"/>), the pore clearance and the
/// electrolyte core as plain min/max boxes, the tests voxel by voxel. The reference for the fast survey, whose counts
/// must be the same to the voxel.
/// </summary>
internal static class CarbonFibreSurveyReference
{
    public static FibreSurveyCounts Survey(Volume<ushort> slab, SlabWindow window, TileWindow tile, double[] thresholds, double[] classMeans,
        int bins, double min, double max, double sigmaVoxels)
    {
        var tubes = new long[bins];
        var electrolyte = new long[bins];
        var first = window.OwnedZ0 + (CarbonFibreSurvey.MinimumSliceStride - window.OwnedZ0 % CarbonFibreSurvey.MinimumSliceStride) % CarbonFibreSurvey.MinimumSliceStride;
        var intensity = new Volume<float>(slab.Depth, slab.Height, slab.Width, Array.ConvertAll(slab.Data, v => (float)v));
        var minimumResponse = CarbonFibreSurvey.MinimumTubeResponse * (classMeans[2] - classMeans[0]);
        var (voidBelow, electrolyteFrom, electrolyteBelow) = ((float)thresholds[0], (float)thresholds[1], (float)thresholds[2]);
        for (var stackZ = first; stackZ < window.OwnedZ1; stackZ += CarbonFibreSurvey.MinimumSliceStride)
        {
            var z = stackZ - window.SlabZ0;
            var (_, middle, smallest) = HessianReference.OfSlice(intensity, z, sigmaVoxels);
            var darkest = BoxExtreme(intensity, z, CarbonFibreSurvey.PoreClearanceVoxels, takeMinimum: true);
            var coreMin = BoxExtreme(intensity, z, CarbonFibreSurvey.ElectrolyteCoreVoxels, takeMinimum: true);
            var coreMax = BoxExtreme(intensity, z, CarbonFibreSurvey.ElectrolyteCoreVoxels, takeMinimum: false);
            var values = intensity.Slice(z);
            var (ownedY0, ownedX0) = tile.OwnedStartInRead;
            for (var y = ownedY0; y < ownedY0 + tile.OwnedHeight; y++)
                for (var i = y * slab.Width + ownedX0; i < y * slab.Width + ownedX0 + tile.OwnedWidth; i++)
                {
                    var v = values[i];
                    if (coreMin[i] >= electrolyteFrom && coreMax[i] < electrolyteBelow)
                        electrolyte[Histogram.BinOf(v, bins, min, max)]++;
                    if (middle[i] > minimumResponse && Math.Abs(smallest[i]) < CarbonFibreSurvey.MaximumAxialShare * middle[i] && darkest[i] >= voidBelow)
                        tubes[Histogram.BinOf(v, bins, min, max)]++;
                }
        }
        return new FibreSurveyCounts(tubes, electrolyte);
    }

    /// <summary>Minimum (or maximum) over the box of half-width r around each voxel of slice z, clipped at the volume's edges.</summary>
    private static float[] BoxExtreme(Volume<float> volume, int z, int r, bool takeMinimum)
    {
        var (height, width) = (volume.Height, volume.Width);
        var result = new float[height * width];
        Array.Fill(result, takeMinimum ? float.PositiveInfinity : float.NegativeInfinity);
        var rows = new float[height * width];
        for (var zz = Math.Max(0, z - r); zz <= Math.Min(volume.Depth - 1, z + r); zz++)
        {
            var plane = volume.Slice(zz);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var best = plane[y * width + x];
                    for (var xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++)
                    {
                        var v = plane[y * width + xx];
                        best = takeMinimum ? Math.Min(best, v) : Math.Max(best, v);
                    }
                    rows[y * width + x] = best;
                }
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var best = result[y * width + x];
                    for (var yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r); yy++)
                    {
                        var v = rows[yy * width + x];
                        best = takeMinimum ? Math.Min(best, v) : Math.Max(best, v);
                    }
                    result[y * width + x] = best;
                }
        }
        return result;
    }
}

/// <summary>
/// <see cref="HessianEigenvalues.OfSlice"/> as it was at commit 790ecd6, frozen: each derivative plane in doubles, along z
/// (zero weights skipped), along y (zero weights skipped), along x (every weight), then the closed-form eigenvalues.
/// </summary>
internal static class HessianReference
{
    public static (float[] Largest, float[] Middle, float[] Smallest) OfSlice(Volume<float> volume, int z, double sigmaVoxels)
    {
        var smooth = DerivativeKernel(sigmaVoxels, 0);
        var first = DerivativeKernel(sigmaVoxels, 1);
        var second = DerivativeKernel(sigmaVoxels, 2);
        var (height, width) = (volume.Height, volume.Width);
        var zSmooth = AlongZ(volume, z, smooth);
        var zFirst = AlongZ(volume, z, first);
        var zSecond = AlongZ(volume, z, second);
        var hzz = InPlane(zSecond, height, width, smooth, smooth);
        var hyz = InPlane(zFirst, height, width, first, smooth);
        var hxz = InPlane(zFirst, height, width, smooth, first);
        var hyy = InPlane(zSmooth, height, width, second, smooth);
        var hxy = InPlane(zSmooth, height, width, first, first);
        var hxx = InPlane(zSmooth, height, width, smooth, second);
        var scale = sigmaVoxels * sigmaVoxels;
        var largest = new float[height * width];
        var middle = new float[height * width];
        var smallest = new float[height * width];
        for (var i = 0; i < largest.Length; i++)
        {
            var (a, b, c) = Symmetric3x3(hzz[i], hyy[i], hxx[i], hyz[i], hxz[i], hxy[i]);
            largest[i] = (float)(a * scale);
            middle[i] = (float)(b * scale);
            smallest[i] = (float)(c * scale);
        }
        return (largest, middle, smallest);
    }

    private static double[] DerivativeKernel(double sigmaVoxels, int order)
    {
        var radius = (int)(4 * sigmaVoxels + 0.5);
        var phi = new double[2 * radius + 1];
        var sum = 0.0;
        for (var x = -radius; x <= radius; x++) sum += phi[x + radius] = Math.Exp(-0.5 / (sigmaVoxels * sigmaVoxels) * x * x);
        for (var i = 0; i < phi.Length; i++) phi[i] /= sum;
        var s2 = sigmaVoxels * sigmaVoxels;
        var kernel = new double[phi.Length];
        for (var x = -radius; x <= radius; x++)
        {
            var p = phi[x + radius];
            kernel[x + radius] = order switch
            {
                0 => p,
                1 => -x / s2 * p,
                _ => (x * x / (s2 * s2) - 1 / s2) * p,
            };
        }
        Array.Reverse(kernel);
        return kernel;
    }

    private static int[] Reflected(int length, int radius)
    {
        var indices = new int[length + 2 * radius];
        var period = 2 * length;
        for (var p = 0; p < indices.Length; p++)
        {
            var m = (p - radius) % period;
            if (m < 0) m += period;
            indices[p] = m < length ? m : period - 1 - m;
        }
        return indices;
    }

    private static double[] AlongZ(Volume<float> volume, int z, double[] kernel)
    {
        var radius = kernel.Length / 2;
        var sources = Reflected(volume.Depth, radius);
        var plane = new double[volume.SliceLength];
        for (var k = 0; k < kernel.Length; k++)
        {
            var weight = kernel[k];
            if (weight == 0) continue;
            var source = volume.Slice(sources[z + k]);
            for (var i = 0; i < plane.Length; i++) plane[i] += weight * source[i];
        }
        return plane;
    }

    private static double[] InPlane(double[] plane, int height, int width, double[] alongY, double[] alongX)
    {
        var ry = alongY.Length / 2;
        var rx = alongX.Length / 2;
        var ySources = Reflected(height, ry);
        var xSources = Reflected(width, rx);
        var rows = new double[plane.Length];
        for (var y = 0; y < height; y++)
        {
            var output = rows.AsSpan(y * width, width);
            for (var k = 0; k < alongY.Length; k++)
            {
                var weight = alongY[k];
                if (weight == 0) continue;
                var source = plane.AsSpan(ySources[y + k] * width, width);
                for (var x = 0; x < width; x++) output[x] += weight * source[x];
            }
        }
        var result = new double[plane.Length];
        for (var y = 0; y < height; y++)
        {
            var row = rows.AsSpan(y * width, width);
            var output = result.AsSpan(y * width, width);
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = 0; k < alongX.Length; k++) sum += alongX[k] * row[xSources[x + k]];
                output[x] = sum;
            }
        }
        return result;
    }

    private static (double, double, double) Symmetric3x3(double a, double b, double c, double d, double e, double f)
    {
        var offDiagonal = d * d + e * e + f * f;
        if (offDiagonal == 0) return Sort3(a, b, c);
        var q = (a + b + c) / 3;
        var (aq, bq, cq) = (a - q, b - q, c - q);
        var p2 = aq * aq + bq * bq + cq * cq + 2 * offDiagonal;
        var p = Math.Sqrt(p2 / 6);
        var determinant = aq * (bq * cq - f * f) - d * (d * cq - f * e) + e * (d * f - bq * e);
        var r = Math.Clamp(determinant / (2 * p * p * p), -1, 1);
        var phi = Math.Acos(r) / 3;
        var largest = q + 2 * p * Math.Cos(phi);
        var smallest = q + 2 * p * Math.Cos(phi + 2 * Math.PI / 3);
        return (largest, 3 * q - largest - smallest, smallest);
    }

    private static (double, double, double) Sort3(double a, double b, double c)
    {
        if (a < b) (a, b) = (b, a);
        if (b < c) (b, c) = (c, b);
        if (a < b) (a, b) = (b, a);
        return (a, b, c);
    }
}
