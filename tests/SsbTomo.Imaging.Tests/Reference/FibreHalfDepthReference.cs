using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Reference;

/// <summary>
/// The half-depth rule voxel by voxel, as its doc states it (commit e7a075f's plain box loop, with the core on a
/// carbon-labelled voxel): the Hessian of every slice in double precision (<see cref="HessianEigenvalues.OfSlice"/>), then for
/// each carbon or electrolyte voxel the whole box. The reference for the fast one, which computes the Hessian in single
/// precision only where a decision needs it.
/// </summary>
internal static class FibreHalfDepthReference
{
    public static Volume<byte> Apply(Volume<byte> labels, Volume<float> intensity, double[] classMeans, double sigmaVoxels, int r,
        double depthShare, double minimumTubeResponse)
    {
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        var minimumResponse = (float)(minimumTubeResponse * (classMeans[2] - classMeans[0]));
        var core = new bool[labels.Length];
        for (var z = 0; z < depth; z++)
        {
            var (_, middle, smallest) = HessianEigenvalues.OfSlice(intensity, z, sigmaVoxels);
            for (var i = 0; i < middle.Length; i++)
            {
                var j = (long)z * height * width + i;
                core[j] = labels.Data[j] == PhaseLabel.Carbon && middle[i] > minimumResponse
                    && Math.Abs(smallest[i]) < CarbonFibreSurvey.MaximumAxialShare * middle[i];
            }
        }
        var result = labels.Clone();
        var electrolyteMean = classMeans[2];
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var i = ((long)z * height + y) * width + x;
                    var label = labels.Data[i];
                    if (label != PhaseLabel.Lps && label != PhaseLabel.Carbon) continue;
                    var (nearCore, blocked, darkest) = (false, false, float.PositiveInfinity);
                    for (var zz = Math.Max(0, z - r); zz <= Math.Min(depth - 1, z + r); zz++)
                        for (var yy = Math.Max(0, y - r); yy <= Math.Min(height - 1, y + r); yy++)
                            for (var xx = Math.Max(0, x - r); xx <= Math.Min(width - 1, x + r); xx++)
                            {
                                var j = ((long)zz * height + yy) * width + xx;
                                blocked |= labels.Data[j] == PhaseLabel.Void || labels.Data[j] == PhaseLabel.Nmc;
                                nearCore |= core[j];
                                darkest = Math.Min(darkest, intensity.Data[j]);
                            }
                    if (blocked || !nearCore) continue;
                    var halfDepth = electrolyteMean - depthShare * (electrolyteMean - darkest);
                    result.Data[i] = intensity.Data[i] < halfDepth ? PhaseLabel.Carbon : PhaseLabel.Lps;
                }
        return result;
    }
}
