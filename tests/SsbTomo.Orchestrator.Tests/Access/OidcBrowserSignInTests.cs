using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using SsbTomo.Orchestrator.Access;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>
/// The dashboard's sign-in through the facility's OpenID Connect provider, against a provider made here: an authorize
/// endpoint that answers at once with a code, and a token endpoint that checks the PKCE verifier and returns an ID
/// token signed with a test key. The orchestrator gets the provider's configuration directly (no discovery, no network).
/// </summary>
public sealed class OidcBrowserSignInTests : IAsyncLifetime
{
    private const string Issuer = "https://login.example.org/realms/facility";
    private const string ClientId = "ssbtomo-dashboard";
    private readonly RsaSecurityKey _providerKey = new(RSA.Create(2048)) { KeyId = "provider" };
    private readonly ConcurrentDictionary<string, (string Nonce, string Challenge)> _grants = new();
    private string[] _roles = [Roles.Operator];
    private WebApplication? _provider;
    private OrchestratorHost? _host;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _provider = builder.Build();
        _provider.MapGet("/authorize", Authorize);
        _provider.MapPost("/token", TokenAsync);
        await _provider.StartAsync();
        var provider = _provider.Urls.First();

        _host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>
        {
            ["SsbTomo:Auth:Oidc:Authority"] = Issuer,
            ["SsbTomo:Auth:Oidc:Audience"] = "ssbtomo",
            ["SsbTomo:Auth:Oidc:ClientId"] = ClientId,
        }, b => b.Services.Configure<OpenIdConnectOptions>(AccessRegistration.OidcSignInScheme, o => o.Configuration = new OpenIdConnectConfiguration
        {
            Issuer = Issuer, AuthorizationEndpoint = $"{provider}/authorize", TokenEndpoint = $"{provider}/token", SigningKeys = { _providerKey },
        }));
    }

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
        if (_provider is not null) await _provider.DisposeAsync();
    }

    private IResult Authorize(HttpRequest request)
    {
        var query = request.Query;
        if (query["client_id"] != ClientId || query["response_type"] != "code" || query["code_challenge_method"] != "S256")
            return Results.BadRequest();
        var code = Guid.NewGuid().ToString("N");
        _grants[code] = (query["nonce"].ToString(), query["code_challenge"].ToString());
        return Results.Redirect($"{query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(query["state"].ToString())}");
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        if (!_grants.TryRemove(form["code"].ToString(), out var grant) ||
            Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString()))) != grant.Challenge)
            return Results.Json(new { error = "invalid_grant" }, statusCode: StatusCodes.Status400BadRequest);
        var accessToken = Guid.NewGuid().ToString("N");
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer, Audience = ClientId, Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object>
            {
                ["sub"] = "u-42", ["preferred_username"] = "alice", ["nonce"] = grant.Nonce, ["roles"] = _roles,
                ["at_hash"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))[..16]),
            },
            SigningCredentials = new SigningCredentials(_providerKey, SecurityAlgorithms.RsaSha256),
        });
        return Results.Json(new { access_token = accessToken, token_type = "Bearer", expires_in = 300, id_token = idToken });
    }

    /// <summary>Follows the redirects the browser would: orchestrator → provider → orchestrator's callback → return address.</summary>
    private static async Task<HttpResponseMessage> SignInThroughProviderAsync(HttpClient http)
    {
        var response = await http.GetAsync("/signin/oidc?returnUrl=%2F");
        for (var hops = 0; hops < 3 && response.StatusCode == HttpStatusCode.Redirect && response.Headers.Location!.OriginalString != "/"; hops++)
        {
            var next = response.Headers.Location!;
            response.Dispose();
            response = await http.GetAsync(next);
        }
        return response;
    }

    [Fact]
    public async Task The_sign_in_page_offers_the_provider_and_a_provider_user_with_the_operator_role_reads_the_dashboard()
    {
        using var http = _host!.Client();
        Assert.Contains("href=\"/signin/oidc?returnUrl=%2F\"", await http.GetStringAsync("/signin"));

        using var challenge = await http.GetAsync("/signin/oidc?returnUrl=%2F");
        var authorize = challenge.Headers.Location!.ToString();
        Assert.StartsWith(_provider!.Urls.First() + "/authorize?", authorize);
        Assert.Contains("code_challenge_method=S256", authorize);
        // The code comes back in the query (the default for the code flow), not by a cross-site form post.
        Assert.DoesNotContain("response_mode=form_post", authorize);

        using var signedIn = await SignInThroughProviderAsync(http);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        Assert.Equal("/", signedIn.Headers.Location!.OriginalString);

        var dashboard = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("signed in as alice (operator)", await dashboard.Content.ReadAsStringAsync());
        // Even an operator's session cookie submits nothing: the API takes changes only with a header credential.
        using var submit = await http.PostAsync("/api/jobs",
            new StringContent(JsonSerializer.Serialize(new { sourcePath = _host.Stack }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, submit.StatusCode);
    }

    [Fact]
    public async Task A_provider_user_without_a_role_is_forbidden()
    {
        _roles = [];
        using var http = _host!.Client();
        using var signedIn = await SignInThroughProviderAsync(http);
        Assert.Equal("/", signedIn.Headers.Location!.OriginalString);

        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync("/api/jobs")).StatusCode);
    }

    [Fact]
    public async Task A_forged_answer_from_the_provider_signs_nobody_in()
    {
        using var http = _host!.Client();
        // A code and state the orchestrator never asked for (no correlation cookie in this browser).
        using var forged = await http.GetAsync("/signin-oidc?code=stolen&state=forged");

        Assert.Equal(HttpStatusCode.Redirect, forged.StatusCode);
        Assert.Equal("/signin?failed=provider", forged.Headers.Location!.OriginalString);
        Assert.False(forged.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("ssbtomo.session=", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Redirect, (await http.GetAsync("/")).StatusCode);
    }
}
