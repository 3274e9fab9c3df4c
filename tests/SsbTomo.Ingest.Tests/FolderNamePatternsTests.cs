namespace SsbTomo.Ingest.Tests;

public class FolderNamePatternsTests
{
    [Theory]
    [InlineData("NMC811-A_50cyc", "NMC811-A", "cycles=50")]
    [InlineData("nmc_811_b_200CYC", "nmc_811_b", "cycles=200")]
    [InlineData("aging-S3", "S3", "aging")]
    public void Sample_and_series_come_from_the_first_pattern_that_matches_the_whole_name(string folder, string sample, string series)
    {
        var patterns = new FolderNamePatterns(["{sample}_{cycles}cyc", "{series}-{sample}"]);
        var labels = patterns.Match(folder);
        Assert.Equal((sample, series), (labels?.Sample, labels?.Series));
    }

    [Fact]
    public void A_name_no_pattern_matches_has_no_sample()
    {
        var patterns = new FolderNamePatterns(["{sample}_{cycles}cyc"]);
        Assert.Null(patterns.Match("NMC811-A_50cycles"));
        Assert.Null(patterns.Match("pristine"));
        Assert.Null(new FolderNamePatterns([]).Match("NMC811-A_50cyc"));
    }

    [Fact]
    public void Every_placeholder_is_kept_with_its_value()
    {
        var labels = new FolderNamePatterns(["{sample}_{cycles}cyc_{rate}C"]).Match("LPS-7_50cyc_0.5C")!;
        Assert.Equal(new Dictionary<string, string> { ["sample"] = "LPS-7", ["cycles"] = "50", ["rate"] = "0.5" }, labels.Values);
        Assert.Equal("cycles=50, rate=0.5", labels.Series);
    }

    [Theory]
    [InlineData("{sample}_{sample}")]
    [InlineData("no placeholder")]
    public void A_pattern_that_cannot_work_is_refused_when_the_watcher_starts(string pattern) =>
        Assert.Throws<ArgumentException>(() => new FolderNamePatterns([pattern]));
}
