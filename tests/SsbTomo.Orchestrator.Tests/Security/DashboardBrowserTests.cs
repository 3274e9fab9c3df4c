using Microsoft.Playwright;
using SsbTomo.Orchestrator.Tests.Access;

namespace SsbTomo.Orchestrator.Tests.Security;

/// <summary>
/// The dashboard in a real browser: Debian's chromium, headless, driven by Playwright without its own browser download
/// (infra/scripts/install-browser.sh installs it). A payload that ran would open a dialog or change the title; one that
/// became markup would add an element or an event-handler attribute.
/// </summary>
public sealed class DashboardBrowserTests : IAsyncLifetime
{
    private const string SystemChromium = "/usr/bin/chromium";
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        Assert.True(File.Exists(SystemChromium), $"{SystemChromium} is missing: run infra/scripts/install-browser.sh");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = SystemChromium, Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }

    /// <summary>A page that records dialogs and console messages (a CSP refusal is reported on the console).</summary>
    private async Task<(IPage Page, List<string> Dialogs, List<string> Console)> OpenAsync()
    {
        var page = await _browser!.NewPageAsync();
        var dialogs = new List<string>();
        var console = new List<string>();
        page.Dialog += (_, dialog) =>
        {
            lock (dialogs) dialogs.Add(dialog.Message);
            _ = dialog.DismissAsync();
        };
        page.Console += (_, message) => { lock (console) console.Add(message.Text); };
        return (page, dialogs, console);
    }

    private const string AutoRefresh = "<meta http-equiv=\"refresh\" content=\"3\">";

    /// <summary>
    /// The page without its meta refresh: every read of the page must see one document, not the next reload's blank one.
    /// </summary>
    private static string WithoutAutoRefresh(string html)
    {
        Assert.Contains(AutoRefresh, html);
        return html.Replace(AutoRefresh, "");
    }

    /// <summary>Serves every document the host sends without its meta refresh, keeping its status and headers (the policy).</summary>
    private static Task StopAutoRefreshAsync(IPage page, Uri host) => page.RouteAsync(host + "**", async route =>
    {
        if (route.Request.ResourceType != "document")
        {
            await route.ContinueAsync();
            return;
        }
        var response = await route.FetchAsync();
        var body = await response.TextAsync();
        await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.Replace(AutoRefresh, "") });
    });

    private static Task<bool> HasInjectedMarkupAsync(IPage page) => page.EvaluateAsync<bool>("""
        () => document.querySelectorAll('script, img, iframe, b, style').length > 0 ||
              [...document.querySelectorAll('*')].some(e => [...e.attributes].some(a => a.name.startsWith('on') || a.name === 'autofocus'))
        """);

    [Fact]
    public async Task Hostile_fields_in_text_and_attribute_positions_stay_text_even_without_the_policy()
    {
        var job = HostileJobs.Failed();
        var (page, dialogs, _) = await OpenAsync();

        // Served without a Content-Security-Policy, so only the encoding stands between payload and browser. Served from a
        // route rather than set as a blank page's content, and without its 3 s self-reload: on a loaded machine a reload
        // fell between two reads (the title read "Loading http://dashboard.test/", CI stop 59).
        const string url = "http://dashboard.test/";
        var html = WithoutAutoRefresh(Dashboard.Render([job], new JobBoard()));
        await page.RouteAsync(url, route => route.FulfillAsync(new RouteFulfillOptions { Body = html, ContentType = "text/html; charset=utf-8" }));
        await page.GotoAsync(url);
        await page.Locator("td[title]").HoverAsync();
        await page.WaitForTimeoutAsync(300);

        Assert.Empty(dialogs);
        Assert.Equal("SsbTomo jobs", await page.TitleAsync());
        Assert.False(await HasInjectedMarkupAsync(page));
        var sourceCell = await page.Locator("tr:nth-child(2) td:nth-child(2)").InnerTextAsync();
        Assert.Equal(job.SourcePath + "sample " + HostileJobs.ImageSample + ", " + HostileJobs.QuotedSeries, sourceCell.Replace("\n", ""));
        Assert.Equal(HostileJobs.AttributeBreakingDetail, await page.Locator("td[title]").GetAttributeAsync("title"));
        Assert.Equal(HostileJobs.CellBreakingReason, await page.Locator("td[title]").InnerTextAsync());
        // The warnings are in a closed <details>: not rendered, so their text content rather than their inner text.
        Assert.Equal(HostileJobs.FrameWarning, await page.Locator("li").TextContentAsync());
    }

    [Fact]
    public async Task A_job_on_a_folder_named_script_alert_shows_as_text_on_the_served_dashboard_with_its_stylesheet_allowed()
    {
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>());
        var hostile = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(host.Stack)!, HostileJobs.ScriptFolder)).FullName;
        using (var http = host.Client())
        {
            using var submitted = await http.PostAsync("/api/jobs", System.Net.Http.Json.JsonContent.Create(new { sourcePath = hostile }));
            Assert.Equal(System.Net.HttpStatusCode.Accepted, submitted.StatusCode);
        }
        var (page, dialogs, console) = await OpenAsync();
        await StopAutoRefreshAsync(page, host.Address);

        var shown = false;
        for (var attempt = 0; attempt < 50 && !shown; attempt++)
        {
            var response = await page.GotoAsync(host.Address.ToString());
            Assert.Equal(200, response!.Status);
            shown = await page.GetByText(hostile, new PageGetByTextOptions { Exact = true }).CountAsync() == 1;
            if (!shown) await page.WaitForTimeoutAsync(200);
        }

        Assert.True(shown, await page.ContentAsync());
        Assert.Empty(dialogs);
        Assert.Equal("SsbTomo jobs", await page.TitleAsync());
        Assert.False(await HasInjectedMarkupAsync(page));
        // The policy lets the page's own stylesheet in (body margin 2em of 16px) and had nothing inline to refuse.
        Assert.Equal("32px", await page.EvaluateAsync<string>("() => getComputedStyle(document.body).marginTop"));
        Assert.DoesNotContain(console, message => message.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase));
    }
}
