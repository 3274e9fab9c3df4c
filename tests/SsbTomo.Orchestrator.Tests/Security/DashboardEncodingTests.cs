using System.Net;
using System.Net.Http.Json;
using SsbTomo.Orchestrator.Tests.Access;

namespace SsbTomo.Orchestrator.Tests.Security;

/// <summary>The dashboard's HTML with hostile job fields, and the headers every page and API answer carries.</summary>
public class DashboardEncodingTests
{
    [Fact]
    public void Every_hostile_field_is_encoded_in_text_and_attribute_positions()
    {
        var job = HostileJobs.Failed();

        var html = Dashboard.Render([job], new JobBoard());

        Assert.Contains(">/share/&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;/&lt;script&gt;alert(1)&lt;/script&gt;<", html);
        Assert.Contains("sample &quot;&gt;&lt;img src=x onerror=&quot;document.title=&#39;img&#39;&quot;&gt;, s1&#39; onmouseover=&#39;alert(3)&#39; &amp; &quot;x&quot;</small>", html);
        // The detail sits in a title attribute: its quotes must not end it, its ampersand must not start an entity.
        Assert.Contains("title=\"&quot; autofocus onfocus=&quot;alert(4)&quot; x=&quot;&amp;amp; &lt;b&gt;\">&lt;/td&gt;&lt;script&gt;alert(5)&lt;/script&gt;&lt;td&gt;</td>", html);
        Assert.Contains("<li>&lt;iframe src=&quot;javascript:alert(6)&quot;&gt;&lt;/iframe&gt;</li>", html);
        // Handler names survive as encoded text ("x onerror=&quot;..."); whether they became attributes is the browser test's question.
        foreach (var markup in new[] { "<script", "<img", "<iframe", "<b>", "<style", "\" onfocus", "' onmouseover" })
            Assert.DoesNotContain(markup, html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_job_on_a_folder_named_like_a_script_is_text_on_a_served_page_with_a_policy_that_forbids_inline_script_and_style()
    {
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>());
        var hostile = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(host.Stack)!, "<script>alert(1)</script>")).FullName;
        var quoted = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(host.Stack)!, "a \"quoted\" & 'apos' <b>folder</b>")).FullName;
        using var http = host.Client();
        foreach (var source in new[] { hostile, quoted })
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsJsonAsync("/api/jobs", new { sourcePath = source })).StatusCode);

        var html = "";
        Assert.True(await Eventually.TrueAsync(() =>
        {
            html = http.GetStringAsync("/").GetAwaiter().GetResult();
            return html.Contains("alert(1)", StringComparison.Ordinal) && html.Contains("quoted", StringComparison.Ordinal);
        }), html);

        Assert.Contains(WebUtility.HtmlEncode(hostile), html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("a &quot;quoted&quot; &amp; &#39;apos&#39; &lt;b&gt;folder&lt;/b&gt;", html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains($"<link rel=\"stylesheet\" href=\"{PageSecurity.StylesheetPath}\">", html);

        using var page = await http.GetAsync("/");
        AssertPageHeaders(page, PageSecurity.PagePolicy);
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.DoesNotContain("script-src", policy);
        Assert.StartsWith("default-src 'none'", policy);

        using var stylesheet = await http.GetAsync(PageSecurity.StylesheetPath);
        Assert.Equal(HttpStatusCode.OK, stylesheet.StatusCode);
        Assert.Equal("text/css", stylesheet.Content.Headers.ContentType?.MediaType);
        Assert.Contains(".Failed{color:#b00}", await stylesheet.Content.ReadAsStringAsync());
        Assert.Equal("nosniff", stylesheet.Headers.GetValues("X-Content-Type-Options").Single());

        // The API's answers are no pages: they get the policy that loads nothing.
        using var jobs = await http.GetAsync("/api/jobs");
        AssertPageHeaders(jobs, PageSecurity.DefaultPolicy);
        using var problem = await http.PostAsJsonAsync("/api/jobs", new { sourcePath = "/etc/passwd" });
        Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        AssertPageHeaders(problem, PageSecurity.DefaultPolicy);
    }

    [Fact]
    public async Task The_sign_in_page_and_a_refusal_carry_the_headers_when_keys_are_required()
    {
        using var dir = new SsbTomo.TestSupport.TempDirectory("ssbtomo-headers");
        var keys = Path.Combine(dir.Path, "api-keys");
        File.WriteAllLines(keys, [SsbTomo.Orchestrator.Access.ApiKeyStore.FileLine("vera", SsbTomo.Orchestrator.Access.Roles.Viewer,
            SsbTomo.Orchestrator.Access.ApiKeyStore.NewKey())]);
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?> { ["SsbTomo:Auth:ApiKeysFile"] = keys });
        using var http = host.Client();

        using var signIn = await http.GetAsync("/signin");
        AssertPageHeaders(signIn, PageSecurity.PagePolicy);
        var html = await signIn.Content.ReadAsStringAsync();
        Assert.DoesNotContain("<style", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(PageSecurity.StylesheetPath)).StatusCode);

        using var refused = await http.GetAsync("/api/jobs");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        AssertPageHeaders(refused, PageSecurity.DefaultPolicy);
        using var redirected = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, redirected.StatusCode);
        AssertPageHeaders(redirected, PageSecurity.DefaultPolicy);
    }

    private static void AssertPageHeaders(HttpResponseMessage response, string policy)
    {
        Assert.Equal(policy, response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
        Assert.False(response.Headers.Contains("Server"), string.Join(", ", response.Headers.Server));
    }
}
