using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Measurement;

public sealed class CathodeTortuosityTests
{
    [Fact]
    public void The_electronic_path_conducts_through_NMC_and_carbon_together_and_the_ionic_one_through_LPS_only()
    {
        // Along z: an LPS channel (straight), a column whose slices alternate NMC and carbon (neither percolates alone,
        // together a straight path), void around everything, and a void gap cutting a second LPS channel.
        var v = new Volume<byte>(12, 6, 7);
        v.Data.AsSpan().Fill(PhaseLabel.Void);
        for (var z = 0; z < 12; z++)
        {
            v[z, 1, 1] = PhaseLabel.Lps;
            v[z, 4, 4] = z % 2 == 0 ? PhaseLabel.Nmc : PhaseLabel.Carbon;
            v[z, 4, 1] = z == 6 ? PhaseLabel.Void : PhaseLabel.Lps;
        }
        var reports = new List<(int Done, int Total)>();
        var results = CathodeTortuosity.Measure(v, new VoxelSize(40, 40, 60), CathodeTortuosity.Paths, [0, 2], (done, total, _) => reports.Add((done, total)));

        Assert.Equal([(1, 4), (2, 4), (3, 4), (4, 4)], reports);
        var ionicZ = results.Single(r => r.Path == CathodeTortuosity.Ionic && r.Result.Axis == 0).Result;
        Assert.Equal(23.0 / v.Length, ionicZ.VolumeFraction, 12);
        Assert.Equal(12.0 / 23, ionicZ.PercolatingFraction, 12); // the cut channel carries nothing
        Assert.Equal(23.0 / 12, ionicZ.Factor, 1e-5);            // τ = ε / (1 channel / 42 cross-section cells)
        var electronicZ = results.Single(r => r.Path == CathodeTortuosity.Electronic && r.Result.Axis == 0).Result;
        Assert.Equal(1, electronicZ.Factor, 1e-5);
        Assert.False(Tortuosity.Compute(v, PhaseLabel.Nmc, 0, VoxelSize.Isotropic(1)).Percolates);
        Assert.All(results.Where(r => r.Result.Axis == 2), r => Assert.False(r.Result.Percolates)); // nothing crosses x
    }
}
