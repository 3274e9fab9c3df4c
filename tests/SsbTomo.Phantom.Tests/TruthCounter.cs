using SsbTomo.Imaging;

namespace SsbTomo.Phantom.Tests;

/// <summary>Test-side truth numbers: phase fractions over valid voxels, and contact loss by voxel-face counting.</summary>
public sealed record TruthNumbers(double Nmc, double Lps, double Carbon, double Void, double ContactLoss, long NmcFaces)
{
    public override string ToString() =>
        $"NMC {Nmc:P2} LPS {Lps:P2} carbon {Carbon:P2} void {Void:P2} contact loss {ContactLoss:P2} ({NmcFaces} NMC faces)";
}

public static class TruthCounter
{
    public static TruthNumbers Measure(Volume<byte> v)
    {
        var counts = new long[PhaseLabel.Count];
        long faces = 0, lost = 0;
        int d = v.Depth, h = v.Height, w = v.Width;
        for (int z = 0; z < d; z++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    byte a = v[z, y, x];
                    counts[a]++;
                    if (x + 1 < w) Face(a, v[z, y, x + 1], ref faces, ref lost);
                    if (y + 1 < h) Face(a, v[z, y + 1, x], ref faces, ref lost);
                    if (z + 1 < d) Face(a, v[z + 1, y, x], ref faces, ref lost);
                }
        double valid = counts.Sum() - counts[PhaseLabel.Outside];
        return new TruthNumbers(counts[PhaseLabel.Nmc] / valid, counts[PhaseLabel.Lps] / valid, counts[PhaseLabel.Carbon] / valid,
            counts[PhaseLabel.Void] / valid, faces == 0 ? 0 : (double)lost / faces, faces);
    }

    // An NMC surface face separates NMC from a non-NMC valid voxel; it is lost when the other side is void.
    private static void Face(byte a, byte b, ref long faces, ref long lost)
    {
        if (a == b || a == PhaseLabel.Outside || b == PhaseLabel.Outside) return;
        if (a == PhaseLabel.Nmc || b == PhaseLabel.Nmc)
        {
            faces++;
            if (a == PhaseLabel.Void || b == PhaseLabel.Void) lost++;
        }
    }
}
