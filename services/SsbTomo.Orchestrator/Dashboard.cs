using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Antiforgery;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Orchestrator.Persistence;

namespace SsbTomo.Orchestrator;

/// <summary>
/// The operators' page: every job, its stage, chunk progress, failure reason (the exception behind it, if any, on
/// hover) and warnings, refreshed every few seconds.
/// Server-rendered so that it needs nothing but a browser and no script; every value is HTML-encoded (paths and sample
/// names come from folder names on the share: hostile), and <see cref="PageSecurity.PagePolicy"/> forbids inline script and style.
/// </summary>
public static class Dashboard
{
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", async (HttpContext http, IAntiforgery antiforgery, JobBoard board, IJobStateStore store,
            Microsoft.Extensions.Options.IOptions<SsbTomo.Hosting.SsbTomoOptions> options, CancellationToken ct) =>
        {
            // Only a browser signed in with a cookie has a session to end; key and token holders sign nothing out.
            var signOut = SignIn.HasSession(http) ? SignIn.SignOutForm(http, antiforgery) : null;
            PageSecurity.ForPage(http.Response);
            return Results.Content(Render((await store.ListAsync(ct)).Select(s => s.State), board, signOut,
                options.Value.Stall, JobsApi.Clock(http).GetUtcNow().UtcDateTime), "text/html; charset=utf-8");
        }).RequireAuthorization(AccessPolicies.Read);
        app.MapStylesheet();
        return app;
    }

    /// <param name="signOutForm">HTML of the sign-out button (<see cref="SignIn.SignOutForm"/>), for a browser that signed in.</param>
    public static string Render(IEnumerable<JobState> jobs, JobBoard board, string? signOutForm = null,
        SsbTomo.Hosting.StallSettings? stall = null, DateTime? nowUtc = null)
    {
        var now = nowUtc ?? DateTime.UtcNow;
        stall ??= new SsbTomo.Hosting.StallSettings();
        var html = new StringBuilder($"""
            <!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="3">
            <title>SsbTomo jobs</title>{PageSecurity.StylesheetLink}</head><body>
            """).Append(signOutForm).Append("""
            <h1>SsbTomo jobs</h1><table><tr><th>job</th><th>source</th><th>state</th><th>chunks</th><th>submitted (UTC)</th><th>updated (UTC)</th><th>waiting</th><th>stages</th><th>failure</th><th>warnings</th></tr>
            """);
        foreach (var job in jobs.OrderByDescending(j => j.SubmittedUtc))
        {
            var stored = job.ToProgress();
            var live = board.Find(job.CorrelationId);
            var progress = live is not null && JobBoard.IsLater(live, stored) ? live : stored;
            html.Append(CultureInfo.InvariantCulture, $"""
                <tr><td>{job.CorrelationId}</td><td>{E(job.SourcePath)}{Sample(job.Acquisition)}{Carbon(job.Carbon)}{RegistrationCrop(job.RegistrationCropPx)}</td><td class="{E(progress.State)}">{E(progress.State)}{Report(job)}</td>
                <td><progress max="{Math.Max(1, progress.ChunksTotal)}" value="{progress.ChunksDone}"></progress> {progress.ChunksDone}/{progress.ChunksTotal}</td>
                <td>{job.SubmittedUtc:yyyy-MM-dd HH:mm:ss}</td><td>{job.UpdatedUtc:yyyy-MM-dd HH:mm:ss}</td>
                {Waiting(job, stall, now)}<td>{Stages(job, now)}</td>
                <td title="{E(job.FailureDetail)}">{E(job.FailureReason)}</td><td>{Warnings(job.Warnings)}</td></tr>
                """);
        }
        return html.Append("</table></body></html>").ToString();
    }

    /// <summary>A stalled (re-driven, still waiting) job stands out; one whose re-drive helped keeps a note of it.</summary>
    private static string Waiting(JobState job, SsbTomo.Hosting.StallSettings stall, DateTime now)
    {
        if (JobsApi.StallView.Of(job, now, stall) is not { } view) return "<td></td>";
        var redriven = view.Redrives == 0 ? "" : $"<br><small title=\"{E(view.LastRedrive)}\">re-driven {view.Redrives}×</small>";
        if (view.WaitingFor is null) return $"<td>{redriven}</td>";
        var waited = StallPolicy.Duration(TimeSpan.FromSeconds(view.NoProgressSeconds ?? 0));
        var limit = StallPolicy.Duration(TimeSpan.FromSeconds(view.TimeoutSeconds ?? 0));
        return view.Stalled
            ? $"<td class=\"stalled\">stalled: {E(view.WaitingFor)}, sent again {waited} ago (fails after {limit}){redriven}</td>"
            : $"<td>{E(view.WaitingFor)}: {waited} of {limit}{redriven}</td>";
    }

    private static string Stages(JobState job, DateTime now) => job.Stages.Count == 0 ? ""
        : $"<details><summary>{StallPolicy.Duration((job.Stages[^1].EndedUtc ?? now) - job.Stages[0].StartedUtc)}</summary><ul>"
          + string.Concat(job.Stages.Select(s => $"<li>{E(s.State)} {StallPolicy.Duration((s.EndedUtc ?? now) - s.StartedUtc)}</li>")) + "</ul></details>";

    /// <summary>A completed job's report.html (served by the jobs API).</summary>
    private static string Report(JobState job) => job.CurrentState == JobStates.Completed
        ? $"<br><a class=\"report\" href=\"/api/jobs/{job.CorrelationId}/report.html\">report</a>"
        : "";

    private static string Sample(WatchedAcquisition? acquisition) =>
        acquisition is { Sample: not null } or { Series: not null }
            ? $"<br><small>sample {E(acquisition.Sample ?? "?")}{(acquisition.Series is null ? "" : $", {E(acquisition.Series)}")}</small>"
            : "";

    /// <summary>A job submitted with its carbon says so; one without runs the services' default and shows nothing.</summary>
    private static string Carbon(CarbonShape? carbon) => carbon is { } shape ? $"<br><small>carbon {E(shape.ToString().ToLowerInvariant())}</small>" : "";

    /// <summary>A registration crop other than the default: the operator sees which jobs were aligned differently.</summary>
    private static string RegistrationCrop(int? px) =>
        px is { } crop && crop != Imaging.Alignment.PairwiseRegistration.DefaultCropPx ? $"<br><small>registration crop {crop} px</small>" : "";

    private static string Warnings(IReadOnlyList<string> warnings) => warnings.Count == 0 ? ""
        : $"<details><summary>{warnings.Count}</summary><ul>{string.Concat(warnings.Select(w => $"<li>{E(w)}</li>"))}</ul></details>";

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
