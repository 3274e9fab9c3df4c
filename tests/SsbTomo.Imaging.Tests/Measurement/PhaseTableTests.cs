using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Tests.Measurement;

public class PhaseTableTests
{
    [Fact]
    public void Named_values_become_labels_in_order_and_unnamed_values_are_counted_per_value()
    {
        var values = new Volume<ushort>(2, 2, 3, [0, 0, 85, 170, 7, 7, 0, 85, 85, 300, 170, 0]);
        var table = new PhaseTable([new("pore", 0), new("nmc", 85), new("cbd", 170)]);
        var (labels, unclassified) = table.Map(values);
        Assert.Equal(new byte[] { 1, 1, 2, 3, 0, 0, 1, 2, 2, 0, 3, 1 }, labels.Data);
        Assert.Equal(new Dictionary<int, long> { [7] = 2, [300] = 1 }, unclassified);
        Assert.Equal((byte)2, table.LabelOf("NMC"));
        Assert.Null(table.LabelOf("void"));
        Assert.Equal("cbd", table.NameOf(3));
    }

    [Fact]
    public void A_table_refuses_repeated_names_repeated_values_and_more_than_four_phases()
    {
        Assert.Contains("name 'pore' is given to more than one value",
            Assert.Throws<ArgumentException>(() => new PhaseTable([new("pore", 0), new("Pore", 1)])).Message);
        Assert.Contains("value 3 is named more than once (a, b)",
            Assert.Throws<ArgumentException>(() => new PhaseTable([new("a", 3), new("b", 3)])).Message);
        Assert.Contains("at most 4",
            Assert.Throws<ArgumentException>(() => new PhaseTable([new("a", 1), new("b", 2), new("c", 3), new("d", 4), new("e", 5)])).Message);
    }

    [Fact]
    public void Measurement_of_named_phases_equals_the_surface_and_component_accumulators_on_the_mapped_labels()
    {
        var random = new Random(4);
        var values = new Volume<ushort>(9, 8, 7);
        for (var i = 0; i < values.Data.Length; i++) values.Data[i] = (ushort)(random.Next(3) * 50);
        var table = new PhaseTable([new("a", 0), new("b", 50), new("c", 100)]);
        var (labels, _) = table.Map(values);
        var m = LabelVolumeMeasurement.Measure(labels, table, VoxelSize.Isotropic(1000), tortuosityPhase: 0, tortuosityAxis: 0, slabSlices: 4);
        var whole = new SurfaceAreaAccumulator(VoxelSize.Isotropic(1000));
        whole.Add(labels);
        for (byte p = 1; p <= 3; p++)
        {
            Assert.Equal(labels.Data.Count(l => l == p) / (double)labels.Length, m.VolumeFraction(p), 12);
            Assert.Equal(whole.Result().FaceCountSurfaceUm2(p), m.Surfaces.FaceCountSurfaceUm2(p), 9);
            Assert.Equal(ConnectedComponents.Summarize(ConnectedComponents.Label(labels, p)).Count, m.Components[p].Count);
        }
        Assert.Null(m.Tortuosity);
    }
}
