using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;
using SsbTomo.Orchestrator.Access;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>
/// Bearer tokens from an OpenID Connect provider. The provider here is a test RSA key published as the provider's
/// configuration (what JwtBearer would fetch from the authority's discovery document), so no network is needed.
/// </summary>
public class JwtAccessTests : IAsyncLifetime
{
    private const string Issuer = "https://login.example.org/realms/facility";
    private const string Audience = "ssbtomo";
    private readonly RsaSecurityKey _providerKey = new(RSA.Create(2048)) { KeyId = "provider" };
    private OrchestratorHost? _host;

    public async Task InitializeAsync() =>
        _host = await OrchestratorHost.StartAsync(new Dictionary<string, string?>
        {
            ["SsbTomo:Auth:Oidc:Authority"] = Issuer,
            ["SsbTomo:Auth:Oidc:Audience"] = Audience,
        }, builder => builder.Services.Configure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, o =>
            o.Configuration = new OpenIdConnectConfiguration { Issuer = Issuer, SigningKeys = { _providerKey } }));

    public async Task DisposeAsync()
    {
        if (_host is not null) await _host.DisposeAsync();
    }

    private string Token(string[]? roles, string audience = Audience, string issuer = Issuer, SecurityKey? key = null, DateTime? expires = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = "u-123", ["preferred_username"] = "alice" };
        if (roles is not null) claims["roles"] = roles;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer, Audience = audience, Claims = claims,
            IssuedAt = (expires ?? now.AddMinutes(10)).AddMinutes(-20), NotBefore = (expires ?? now.AddMinutes(10)).AddMinutes(-20),
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(key ?? _providerKey, SecurityAlgorithms.RsaSha256),
        });
    }

    private async Task<HttpStatusCode> SendAsync(HttpMethod method, string path, string token)
    {
        using var http = _host!.Client();
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (method == HttpMethod.Post)
            request.Content = new StringContent(JsonSerializer.Serialize(new { sourcePath = _host.Stack, voxelSizeNm = (object?)null }), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", body);
        // Why a token was refused stays in the server's log.
        Assert.DoesNotContain("error_description", response.Headers.WwwAuthenticate.ToString());
        return response.StatusCode;
    }

    [Fact]
    public async Task A_token_with_the_operator_role_submits()
    {
        Assert.Equal(HttpStatusCode.Accepted, await SendAsync(HttpMethod.Post, "/api/jobs", Token([Roles.Operator])));
    }

    [Fact]
    public async Task A_token_with_the_viewer_role_reads_but_cannot_submit()
    {
        var token = Token([Roles.Viewer]);
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/api/jobs", token));
        Assert.Equal(HttpStatusCode.OK, await SendAsync(HttpMethod.Get, "/", token));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, "/api/jobs", token));
    }

    [Fact]
    public async Task A_valid_token_without_a_role_is_forbidden_everywhere()
    {
        var token = Token(roles: null);
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Get, "/api/jobs", token));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync(HttpMethod.Post, "/api/jobs", Token(["admin"])));
    }

    public static TheoryData<string> Forgeries => ["wrong audience", "wrong issuer", "signed by another key", "expired", "unsigned", "tampered"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task A_forged_expired_or_foreign_token_is_401(string forgery)
    {
        var token = forgery switch
        {
            "wrong audience" => Token([Roles.Operator], audience: "another-app"),
            "wrong issuer" => Token([Roles.Operator], issuer: "https://evil.example.org"),
            "signed by another key" => Token([Roles.Operator], key: new RsaSecurityKey(RSA.Create(2048)) { KeyId = "provider" }),
            "expired" => Token([Roles.Operator], expires: DateTime.UtcNow.AddMinutes(-10)),
            "unsigned" => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = Issuer, Audience = Audience, Expires = DateTime.UtcNow.AddMinutes(10),
                Claims = new Dictionary<string, object> { ["roles"] = new[] { Roles.Operator } },
            }),
            "tampered" => Tamper(Token([Roles.Viewer])),
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };

        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Post, "/api/jobs", token));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendAsync(HttpMethod.Get, "/api/jobs", token));
    }

    /// <summary>A viewer's token with its payload changed to say operator, the signature kept.</summary>
    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace($"\"{Roles.Viewer}\"", $"\"{Roles.Operator}\"");
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
    }
}
