using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace SsbTomo.Orchestrator.Access;

/// <summary>
/// Scripts and tools: the key in <c>X-Api-Key: KEY</c> or <c>Authorization: ApiKey KEY</c>. No key: no result (another
/// scheme may answer); a wrong key: failure, and the challenge is a bare 401 that says nothing about why.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger,
    UrlEncoder encoder, ApiKeyStore keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";
    private const string AuthorizationPrefix = "ApiKey ";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedKey(Request);
        if (presented is null) return Task.FromResult(AuthenticateResult.NoResult());
        var holder = keys.Find(presented);
        if (holder is null)
        {
            Logger.LogWarning("Refused an unknown API key from {RemoteAddress} for {Path}", Context.Connection.RemoteIpAddress, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
        }
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal(holder, SchemeName), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{HeaderName}\", Bearer";
        return Task.CompletedTask;
    }

    /// <summary>The key a request carries, or null when it carries none.</summary>
    public static string? PresentedKey(HttpRequest request)
    {
        if (request.Headers[HeaderName] is { Count: > 0 } header) return header.ToString().Trim();
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith(AuthorizationPrefix, StringComparison.OrdinalIgnoreCase)
            ? authorization[AuthorizationPrefix.Length..].Trim()
            : null;
    }

    /// <summary>The identity of a key holder, the same whether they came with the key or with the cookie it bought.</summary>
    public static ClaimsPrincipal Principal(ApiKeyHolder holder, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, holder.Name), new Claim(ClaimTypes.Role, holder.Role)], scheme));
}

/// <summary>The open modes (<see cref="AccessDecision.OpenOnLoopback"/>, <see cref="AccessDecision.OpenByChoice"/>): everyone is an operator.</summary>
public sealed class OpenAccessHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Open";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "anonymous"), new Claim(ClaimTypes.Role, Roles.Viewer),
            new Claim(ClaimTypes.Role, Roles.Operator)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
