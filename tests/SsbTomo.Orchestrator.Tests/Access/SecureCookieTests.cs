using System.Net;
using System.Text.RegularExpressions;
using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>
/// Behind a TLS-terminating ingress the pod sees plain HTTP: with ASPNETCORE_FORWARDEDHEADERS_ENABLED (the prod
/// overlay) it believes X-Forwarded-Proto and marks the session cookie Secure, so a browser never sends it over HTTP.
/// </summary>
public partial class SecureCookieTests
{
    [GeneratedRegex("name=\"(?<name>__RequestVerificationToken)\" value=\"(?<value>[^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    [Theory]
    [InlineData("https", true)]
    [InlineData(null, false)]
    public async Task The_session_cookie_is_secure_when_the_proxy_says_https(string? forwardedProto, bool secure)
    {
        var dir = new TempDirectory("ssbtomo-access");
        var key = ApiKeyStore.NewKey();
        var keys = Path.Combine(dir.Path, "api-keys");
        await File.WriteAllTextAsync(keys, ApiKeyStore.FileLine("vera", Roles.Viewer, key));
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>
        {
            ["SsbTomo:Auth:ApiKeysFile"] = keys,
            // What ASPNETCORE_FORWARDEDHEADERS_ENABLED=true sets.
            ["FORWARDEDHEADERS_ENABLED"] = "true",
        }, dir: dir);
        using var http = host.Client();
        if (forwardedProto is not null) http.DefaultRequestHeaders.Add("X-Forwarded-Proto", forwardedProto);

        var form = await http.GetStringAsync("/signin");
        var token = AntiforgeryField().Match(form);
        using var signedIn = await http.PostAsync("/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            [token.Groups["name"].Value] = WebUtility.HtmlDecode(token.Groups["value"].Value),
            ["apiKey"] = key,
        }));

        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var cookie = Assert.Single(signedIn.Headers.GetValues("Set-Cookie"), c => c.StartsWith("ssbtomo.session=", StringComparison.Ordinal));
        Assert.Equal(secure, cookie.Contains("; secure", StringComparison.OrdinalIgnoreCase));
    }
}
