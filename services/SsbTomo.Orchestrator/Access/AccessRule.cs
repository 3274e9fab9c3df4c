using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Access;

public enum AccessDecision
{
    /// <summary>Every request but health needs an API key, a bearer token or a sign-in cookie.</summary>
    Enforced,

    /// <summary>Nothing configured, one process on loopback only: whoever can reach it is on this machine.</summary>
    OpenOnLoopback,

    /// <summary><see cref="AccessMode.None"/>: open by an explicit, logged choice.</summary>
    OpenByChoice,
}

/// <summary>
/// Fail closed: an orchestrator that other machines can reach (a broker transport, or an address that is not
/// loopback) does not start without authentication, unless told so in so many words.
/// </summary>
public static partial class AccessRule
{
    public static AccessDecision Decide(AccessOptions access, TransportKind transport, IReadOnlyList<string> listenUrls)
    {
        if (access.Mode == AccessMode.None) return AccessDecision.OpenByChoice;
        if (access.Oidc.IsConfigured && string.IsNullOrWhiteSpace(access.Oidc.Audience))
            throw new AccessConfigurationException(
                "SsbTomo:Auth:Oidc:Authority is set but SsbTomo:Auth:Oidc:Audience is not: set the audience your tokens are issued for " +
                "(SsbTomo__Auth__Oidc__Audience), so that a token for another application is refused.");
        // JwtBearer refuses to fetch signing keys over plain HTTP only when the first token arrives, as a 500 on every
        // bearer request; said here, at start, it is a configuration mistake with a message.
        if (access.Oidc.IsConfigured && !(Uri.TryCreate(access.Oidc.Authority, UriKind.Absolute, out var authority) && authority.Scheme == Uri.UriSchemeHttps))
            throw new AccessConfigurationException(
                $"SsbTomo:Auth:Oidc:Authority must be the provider's https:// issuer URL, not {access.Oidc.Authority}: its signing keys " +
                "are fetched from there, and over plain HTTP anyone on the way could hand out keys that sign any token.");
        if (!string.IsNullOrWhiteSpace(access.Oidc.ClientId) && !access.Oidc.IsConfigured)
            throw new AccessConfigurationException(
                "SsbTomo:Auth:Oidc:ClientId is set but SsbTomo:Auth:Oidc:Authority is not: the dashboard's sign-in needs the provider's issuer URL.");
        if (access.IsConfigured) return AccessDecision.Enforced;

        var exposed = listenUrls.Where(url => !IsLoopback(url)).ToList();
        if (transport == TransportKind.InMemory && exposed.Count == 0) return AccessDecision.OpenOnLoopback;
        var why = transport != TransportKind.InMemory
            ? $"the transport is {transport} (a distributed deployment)"
            : $"it would listen on {string.Join(", ", exposed)}, which other machines can reach";
        throw new AccessConfigurationException(
            $"Refusing to start the API and dashboard without authentication: {why}. Configure API keys " +
            "(SsbTomo__Auth__ApiKeysFile=/path/to/api-keys, lines made by `ssbtomo apikey`) and/or an OpenID Connect provider " +
            "(SsbTomo__Auth__Oidc__Authority and SsbTomo__Auth__Oidc__Audience), or, only where the network itself keeps " +
            "strangers out, set SsbTomo__Auth__Mode=None.");
    }

    /// <summary>
    /// Where Kestrel will listen, from the settings it reads itself: <c>urls</c> (ASPNETCORE_URLS, UseUrls),
    /// <c>http_ports</c>/<c>https_ports</c> (every interface), and <c>Kestrel:Endpoints:*:Url</c>; none: ASP.NET's
    /// default, localhost:5000.
    /// </summary>
    public static IReadOnlyList<string> ListenUrls(IConfiguration configuration)
    {
        var urls = new List<string>();
        foreach (var url in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            urls.Add(url);
        foreach (var (key, scheme) in new[] { ("http_ports", "http"), ("https_ports", "https") })
            foreach (var port in (configuration[key] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                urls.Add($"{scheme}://*:{port}");
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
            if (endpoint["Url"] is { Length: > 0 } url)
                urls.Add(url);
        if (urls.Count == 0) urls.Add("http://localhost:5000");
        return urls;
    }

    /// <summary>localhost, 127.0.0.0/8 or [::1]; a wildcard (*, +, 0.0.0.0, [::]), a host name or a Unix socket is not.</summary>
    public static bool IsLoopback(string url)
    {
        var match = UrlHost().Match(url);
        if (!match.Success) return false;
        var host = match.Groups["host"].Value;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address);
    }

    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*://(?<host>\[[^\]]*\]|[^:/\[]*)")]
    private static partial Regex UrlHost();
}
