using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;

namespace SsbTomo.Imaging.Tests.Measurement;

public class ContactAndFractionTests
{
    /// <summary>NMC sphere of radius r in LPS; voxels with x ≥ centre within r+2 of the centre are void (a half-shell crack).</summary>
    internal static Volume<byte> HalfCrackedSphere(int size, double radius, double crackThickness)
    {
        var v = new Volume<byte>(size, size, size);
        var c = (size - 1) / 2.0;
        for (var z = 0; z < size; z++)
            for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var d = Math.Sqrt((z - c) * (z - c) + (y - c) * (y - c) + (x - c) * (x - c));
                    v[z, y, x] = d <= radius ? PhaseLabel.Nmc : x > c && d <= radius + crackThickness ? PhaseLabel.Void : PhaseLabel.Lps;
                }
        return v;
    }

    [Fact]
    public void Digitised_sphere_volume_is_four_thirds_pi_r_cubed_within_one_percent()
    {
        var counts = PhaseFractions.Count(HalfCrackedSphere(48, 20, 0));
        var expected = 4.0 / 3.0 * Math.PI * 20 * 20 * 20;
        Assert.InRange(counts[PhaseLabel.Nmc], expected * 0.99, expected * 1.01);
        var fractions = PhaseFractions.FromCounts(counts);
        Assert.Equal(48L * 48 * 48, fractions.ValidVoxels);
        Assert.Equal(1.0, fractions.Nmc + fractions.Lps + fractions.Carbon + fractions.Void, 12);
    }

    [Fact]
    public void Outside_voxels_are_not_in_the_fractions()
    {
        var v = new Volume<byte>(1, 1, 4, [PhaseLabel.Outside, PhaseLabel.Nmc, PhaseLabel.Void, PhaseLabel.Void]);
        var f = PhaseFractions.FromCounts(PhaseFractions.Count(v));
        Assert.Equal(new PhaseFractionSet(3, 1 / 3.0, 0, 0, 2 / 3.0), f);
    }

    [Fact]
    public void Cube_with_void_on_half_its_faces_has_the_counted_contact_loss()
    {
        // 4x4x4 NMC cube in a 6x6x6 LPS box; void replaces the LPS next to the -z, -y and -x faces (3 of 6 faces).
        var v = new Volume<byte>(6, 6, 6);
        for (var z = 0; z < 6; z++)
            for (var y = 0; y < 6; y++)
                for (var x = 0; x < 6; x++)
                {
                    var inside = z is >= 1 and <= 4 && y is >= 1 and <= 4 && x is >= 1 and <= 4;
                    v[z, y, x] = inside ? PhaseLabel.Nmc : (z == 0 || y == 0 || x == 0) ? PhaseLabel.Void : PhaseLabel.Lps;
                }
        var faces = ContactLoss.Count(v);
        Assert.Equal(new ContactFaces(6 * 16, 3 * 16), faces);
        Assert.Equal(0.5, faces.LossFraction);
        Assert.Equal(faces, ChunkedCount(v, 1));
        Assert.Equal(faces, ChunkedCount(v, 4));
    }

    [Fact]
    public void Faces_to_outside_and_between_nmc_voxels_are_not_surface()
    {
        var v = new Volume<byte>(1, 1, 5, [PhaseLabel.Outside, PhaseLabel.Nmc, PhaseLabel.Nmc, PhaseLabel.Carbon, PhaseLabel.Nmc]);
        Assert.Equal(new ContactFaces(2, 0), ContactLoss.Count(v));
    }

    [Fact]
    public void Sphere_half_covered_by_void_loses_about_half_its_contact_and_chunks_sum_to_the_whole()
    {
        var v = HalfCrackedSphere(48, 15, 3);
        var whole = ContactLoss.Count(v);
        Assert.InRange(whole.LossFraction, 0.45, 0.55);
        Assert.Equal(whole, ChunkedCount(v, 16));
        Assert.Equal(whole, ChunkedCount(v, 5));
    }

    /// <summary>Each chunk is passed with the next chunk's first slice, as a worker would read it.</summary>
    internal static ContactFaces ChunkedCount(Volume<byte> v, int chunkSlices)
    {
        var total = default(ContactFaces);
        for (var z = 0; z < v.Depth; z += chunkSlices)
        {
            var owned = Math.Min(chunkSlices, v.Depth - z);
            total += ContactLoss.Count(Halo.CropZ(v, z, Math.Min(v.Depth, z + owned + 1)), owned);
        }
        return total;
    }
}
