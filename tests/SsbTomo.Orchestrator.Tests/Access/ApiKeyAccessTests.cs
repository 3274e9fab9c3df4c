using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>Trying to get in with API keys: none, wrong ones, a viewer's, an operator's; and the browser's sign-in.</summary>
public partial class ApiKeyAccessTests : IAsyncLifetime
{
    private readonly string _viewerKey = ApiKeyStore.NewKey();
    private readonly string _operatorKey = ApiKeyStore.NewKey();
    private readonly List<(string Path, string Body)> _bodies = [];
    private OrchestratorHost? _host;

    private OrchestratorHost Host => _host!;

    public async Task InitializeAsync()
    {
        var dir = new TempDirectory("ssbtomo-access");
        var keys = Path.Combine(dir.Path, "api-keys");
        await File.WriteAllLinesAsync(keys, ["# name role sha256", ApiKeyStore.FileLine("vera", Roles.Viewer, _viewerKey), ApiKeyStore.FileLine("otto", Roles.Operator, _operatorKey)]);
        _host = await OrchestratorHost.StartAsync(new Dictionary<string, string?> { ["SsbTomo:Auth:ApiKeysFile"] = keys }, dir: dir);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        // Whatever the answer, it never shows the server's insides. (Metrics, for viewers, name exception types in
        // their labels, and the process's meters count what other tests' hosts did: only stack frames are checked there.)
        foreach (var (path, body) in _bodies)
        {
            Assert.DoesNotContain("   at ", body);
            if (path != "/metrics") Assert.DoesNotContain("Exception", body);
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, (string Name, string Value)? header = null, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (header is { } h) request.Headers.TryAddWithoutValidation(h.Name, h.Value);
        var response = await http.SendAsync(request);
        _bodies.Add((path, await response.Content.ReadAsStringAsync()));
        return response;
    }

    private StringContent SubmitBody() =>
        new(JsonSerializer.Serialize(new { sourcePath = Host.Stack, voxelSizeNm = (object?)null }), Encoding.UTF8, "application/json");

    private static (string, string) Key(string key) => ("X-Api-Key", key);

    private async Task<int> JobCountAsync()
    {
        using var http = Host.Client();
        var response = await SendAsync(http, HttpMethod.Get, "/api/jobs", Key(_viewerKey));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetArrayLength();
    }

    [Fact]
    public async Task Without_credentials_every_api_route_and_metrics_answer_401_and_the_dashboard_sends_to_sign_in()
    {
        using var http = Host.Client();

        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/jobs"), (HttpMethod.Get, $"/api/jobs/{Guid.NewGuid()}"), (HttpMethod.Post, "/api/jobs"),
                     (HttpMethod.Get, "/metrics"), (HttpMethod.Delete, "/api/jobs/x"), (HttpMethod.Get, "/anything-else") })
        {
            using var response = await SendAsync(http, method, path, content: method == HttpMethod.Post ? SubmitBody() : null);
            if (path == "/anything-else")
                Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            else
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {(int)response.StatusCode}");
        }

        using var dashboard = await SendAsync(http, HttpMethod.Get, "/");
        Assert.Equal(HttpStatusCode.Redirect, dashboard.StatusCode);
        Assert.Equal("/signin?ReturnUrl=%2F", dashboard.Headers.Location?.PathAndQuery);
        Assert.DoesNotContain(Host.Stack, _bodies[^1].Body);
        Assert.Equal(0, await JobCountAsync());
    }

    /// <summary>Every route the orchestrator maps, found by routing itself, so that a route added later is tried too.</summary>
    [Fact]
    public async Task Every_mapped_route_but_health_and_sign_in_refuses_a_request_without_credentials()
    {
        string[] open = ["/health/live", "/health/ready", "/signin", "/signin/oidc", "/signout", PageSecurity.StylesheetPath];
        var routes = Host.Services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(method => (Method: method, Endpoint: e)))
            .ToList();
        foreach (var (method, pattern) in new[] { ("POST", "/api/jobs/"), ("GET", "/api/jobs/{jobId:guid}"), ("GET", "/"), ("GET", "/metrics") })
            Assert.Contains(routes, r => r.Method == method && r.Endpoint.RoutePattern.RawText == pattern);
        using var http = Host.Client();

        foreach (var (method, endpoint) in routes)
        {
            var path = "/" + endpoint.RoutePattern.RawText!.TrimStart('/').Replace("{jobId:guid}", Guid.NewGuid().ToString());
            if (open.Contains(path)) continue;
            Assert.Null(endpoint.Metadata.GetMetadata<IAllowAnonymous>());
            using var response = await SendAsync(http, new HttpMethod(method), path, content: method == "POST" ? SubmitBody() : null);
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized || (response.StatusCode is HttpStatusCode.Redirect && method == "GET" && !path.StartsWith("/api", StringComparison.Ordinal)),
                $"{method} {path} without credentials: {(int)response.StatusCode}");
        }
        Assert.Equal(0, await JobCountAsync());
    }

    [Theory]
    [InlineData("X-Api-Key", "ssbtomo_wrong")]
    [InlineData("X-Api-Key", "")]
    [InlineData("Authorization", "ApiKey ssbtomo_wrong")]
    [InlineData("Authorization", "Bearer ssbtomo_wrong")]
    [InlineData("Authorization", "Basic b3R0bzpzZWNyZXQ=")]
    public async Task A_wrong_key_or_an_unknown_scheme_is_401_on_reads_and_writes(string header, string value)
    {
        using var http = Host.Client();

        using var read = await SendAsync(http, HttpMethod.Get, "/api/jobs", (header, value));
        using var write = await SendAsync(http, HttpMethod.Post, "/api/jobs", (header, value), SubmitBody());
        using var dashboard = await SendAsync(http, HttpMethod.Get, "/", (header, value));

        Assert.Equal(HttpStatusCode.Unauthorized, read.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, write.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Equal(0, await JobCountAsync());
    }

    [Fact]
    public async Task A_viewer_reads_jobs_the_dashboard_and_metrics_but_submitting_is_403_and_makes_no_job()
    {
        using var http = Host.Client();

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/api/jobs", Key(_viewerKey))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/", Key(_viewerKey))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/metrics", ("Authorization", $"ApiKey {_viewerKey}"))).StatusCode);
        using var submit = await SendAsync(http, HttpMethod.Post, "/api/jobs", Key(_viewerKey), SubmitBody());

        Assert.Equal(HttpStatusCode.Forbidden, submit.StatusCode);
        Assert.Equal(0, await JobCountAsync());
    }

    [Theory]
    [InlineData("X-Api-Key", "")]
    [InlineData("Authorization", "ApiKey ")]
    [InlineData("Authorization", "apikey ")]
    public async Task An_operator_submits_with_either_header(string header, string prefix)
    {
        using var http = Host.Client();

        using var submit = await SendAsync(http, HttpMethod.Post, "/api/jobs", (header, prefix + _operatorKey), SubmitBody());

        Assert.Equal(HttpStatusCode.Accepted, submit.StatusCode);
        var jobId = JsonDocument.Parse(_bodies[^1].Body).RootElement.GetProperty("jobId").GetGuid();
        var seen = HttpStatusCode.NotFound;
        for (var i = 0; i < 200 && seen != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50);
            seen = (await SendAsync(http, HttpMethod.Get, $"/api/jobs/{jobId}", Key(_viewerKey))).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, seen);
    }

    [Fact]
    public async Task Health_is_open()
    {
        using var http = Host.Client();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/health/ready")).StatusCode);
    }

    [GeneratedRegex("name=\"(?<name>__RequestVerificationToken)\" value=\"(?<value>[^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    private async Task<KeyValuePair<string, string>> AntiforgeryTokenAsync(HttpClient http, string path)
    {
        using var page = await SendAsync(http, HttpMethod.Get, path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("form-action 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        var match = AntiforgeryField().Match(_bodies[^1].Body);
        Assert.True(match.Success, _bodies[^1].Body);
        return KeyValuePair.Create(match.Groups["name"].Value, WebUtility.HtmlDecode(match.Groups["value"].Value));
    }

    private Task<HttpResponseMessage> PostFormAsync(HttpClient http, string path, params KeyValuePair<string, string>[] fields) =>
        SendAsync(http, HttpMethod.Post, path, content: new FormUrlEncodedContent(fields));

    [Fact]
    public async Task A_browser_signs_in_with_a_key_reads_the_dashboard_cannot_change_anything_with_the_cookie_and_signs_out()
    {
        using var http = Host.Client();
        var token = await AntiforgeryTokenAsync(http, "/signin");

        using var noToken = await PostFormAsync(http, "/signin", KeyValuePair.Create("apiKey", _operatorKey));
        Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);

        using var wrong = await PostFormAsync(http, "/signin", token, KeyValuePair.Create("apiKey", "ssbtomo_wrong"));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("That key is not valid.", _bodies[^1].Body);
        Assert.Equal(HttpStatusCode.Redirect, (await SendAsync(http, HttpMethod.Get, "/")).StatusCode);

        // A return address on another site is not followed: a sign-in link cannot be used to send people elsewhere.
        using var signedIn = await PostFormAsync(http, "/signin", token, KeyValuePair.Create("apiKey", _operatorKey),
            KeyValuePair.Create("returnUrl", "//evil.example.org/phish"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location?.OriginalString);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("ssbtomo.session=", StringComparison.Ordinal));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(_operatorKey, cookie);

        using var dashboard = await SendAsync(http, HttpMethod.Get, "/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("signed in as otto (operator)", _bodies[^1].Body);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Get, "/api/jobs")).StatusCode);

        // The cookie never authorises a change through the API, even an operator's: a cross-site form could send it.
        using var submit = await SendAsync(http, HttpMethod.Post, "/api/jobs", content: SubmitBody());
        Assert.Equal(HttpStatusCode.Unauthorized, submit.StatusCode);
        Assert.Equal(0, await JobCountAsync());

        var signOutToken = AntiforgeryField().Match(_bodies.First(b => b.Body.Contains("signed in as otto", StringComparison.Ordinal)).Body);
        using var forgedSignOut = await PostFormAsync(http, "/signout");
        Assert.Equal(HttpStatusCode.BadRequest, forgedSignOut.StatusCode);
        using var signOut = await PostFormAsync(http, "/signout",
            KeyValuePair.Create(signOutToken.Groups["name"].Value, WebUtility.HtmlDecode(signOutToken.Groups["value"].Value)));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await SendAsync(http, HttpMethod.Get, "/")).StatusCode);
    }

    [Fact]
    public async Task A_forged_session_cookie_is_not_accepted()
    {
        using var http = Host.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/jobs");
        request.Headers.Add("Cookie", "ssbtomo.session=CfDJ8forged");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
