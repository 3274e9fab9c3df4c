using SsbTomo.Imaging;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Metrics;

namespace SsbTomo.EndToEnd.Tests;

/// <summary>metrics.json warns when the pixels are too coarse for the carbon fibres (README "At other voxel sizes").</summary>
public class FibreResolutionWarningTests
{
    private static MetricsReport Report(VoxelSize voxel)
    {
        var labels = new Volume<byte>(4, 8, 8);
        for (var i = 0; i < labels.Data.Length; i++) labels.Data[i] = (byte)(1 + i % 4);
        var accumulator = new MicrostructureAccumulator();
        accumulator.Add(labels);
        return MetricsReport.From(accumulator.Result(), voxel, [4, 8, 8]);
    }

    [Theory]
    [InlineData(100, 100, 50)]
    [InlineData(80, 90, 20)]
    public void Pixels_wider_than_a_fibres_radius_get_a_warning_that_names_them(double xNm, double yNm, double zNm)
    {
        var report = Report(new VoxelSize(xNm, yNm, zNm)).WithFibreResolution();

        var warning = Assert.Single(report.Warnings ?? []);
        Assert.Contains($"the pixels are {0.5 * (xNm + yNm):0.#} nm", warning);
        Assert.Contains("under two pixels", warning);
    }

    [Theory]
    [InlineData(50, 50, 50)]
    [InlineData(25, 25, 100)]
    [InlineData(75, 75, 75)]
    public void Pixels_that_resolve_the_fibres_get_none(double xNm, double yNm, double zNm)
    {
        var report = Report(new VoxelSize(xNm, yNm, zNm));

        Assert.Same(report, report.WithFibreResolution());
    }
}
