using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator.Tests.Security;

/// <summary>
/// Job fields as a hostile share could make them: folder names end up in the source path, the sample and series
/// (from the folder-name pattern), the failure reason and detail, and the warnings. Every payload, if it ran or
/// became markup, would change the page's title, open a dialog or add an element or event handler.
/// </summary>
internal static class HostileJobs
{
    /// <summary>A folder path, not one name: '/' cannot be in a name, so the share holds "&lt;script&gt;alert(1)&lt;" with "script&gt;" inside.</summary>
    public const string ScriptFolder = "<script>alert(1)</script>";
    public const string TitleScript = "<script>document.title='pwned'</script>";
    public const string ImageSample = "\"><img src=x onerror=\"document.title='img'\">";
    public const string QuotedSeries = "s1' onmouseover='alert(3)' & \"x\"";
    public const string AttributeBreakingDetail = "\" autofocus onfocus=\"alert(4)\" x=\"&amp; <b>";
    public const string CellBreakingReason = "</td><script>alert(5)</script><td>";
    public const string FrameWarning = "<iframe src=\"javascript:alert(6)\"></iframe>";

    public static JobState Failed() => new()
    {
        CorrelationId = Guid.NewGuid(), CurrentState = JobStates.Failed, SourcePath = $"/share/{TitleScript}/{ScriptFolder}",
        SubmittedUtc = DateTime.UtcNow, UpdatedUtc = DateTime.UtcNow, FailedStage = "ingest",
        FailureReason = CellBreakingReason, FailureDetail = AttributeBreakingDetail, Warnings = [FrameWarning],
        Acquisition = new WatchedAcquisition(new CompletionRule("end-marker", "an end marker", 8, "done.txt"), Sample: ImageSample, Series: QuotedSeries),
    };
}
