namespace SsbTomo.Orchestrator.Access;

/// <summary>
/// The "SsbTomo:Auth" section: who may use the API and the dashboard. Either or both of API keys and an OpenID Connect
/// provider; with neither, only a one-machine setup (in-memory transport, loopback address) starts, unless
/// <see cref="Mode"/> is <see cref="AccessMode.None"/>.
/// </summary>
public sealed class AccessOptions
{
    public const string Section = "SsbTomo:Auth";

    public AccessMode Mode { get; set; } = AccessMode.Auto;

    /// <summary>File of <c>name role sha256hex</c> lines (<see cref="ApiKeyStore"/>), e.g. a mounted Kubernetes Secret.</summary>
    public string? ApiKeysFile { get; set; }

    public OidcSettings Oidc { get; set; } = new();

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ApiKeysFile) || Oidc.IsConfigured;
}

public enum AccessMode
{
    /// <summary>Enforced when keys or OIDC are configured; open on one machine; otherwise the orchestrator does not start.</summary>
    Auto,

    /// <summary>No authentication at all, wherever it listens: for a network that is itself the boundary. Logged as a warning.</summary>
    None,
}

/// <summary>Bearer tokens from the facility's OpenID Connect provider (JwtBearer: signature, issuer, audience, lifetime).</summary>
public sealed class OidcSettings
{
    /// <summary>The issuer URL; its <c>/.well-known/openid-configuration</c> gives the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience a token must name (the API's client id or resource); required with <see cref="Authority"/>.</summary>
    public string? Audience { get; set; }

    /// <summary>The claim holding the roles <c>viewer</c> / <c>operator</c> (Entra ID and Keycloak client roles: <c>roles</c>).</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The claim logged as the user's name.</summary>
    public string NameClaim { get; set; } = "preferred_username";

    /// <summary>
    /// The dashboard's client id at the provider: set, the sign-in page also offers "Sign in with your facility account"
    /// (authorization code flow with PKCE, redirect URI <c>https://HOST/signin-oidc</c>; roles from the ID token).
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>File holding the client secret, for a provider that treats the dashboard as a confidential client (a mounted Secret).</summary>
    public string? ClientSecretFile { get; set; }

    public bool BrowserSignIn => IsConfigured && !string.IsNullOrWhiteSpace(ClientId);

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Authority);
}

/// <summary>The two roles. An operator can do everything a viewer can.</summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";

    public static readonly IReadOnlyList<string> All = [Viewer, Operator];
}

/// <summary>Authorization policy names: what an endpoint needs.</summary>
public static class AccessPolicies
{
    /// <summary>Read jobs, results, the dashboard and metrics: viewer or operator.</summary>
    public const string Read = "ssbtomo-read";

    /// <summary>Submit, cancel, retry: operator.</summary>
    public const string Operate = "ssbtomo-operate";
}

/// <summary>A configuration that must not start: the message says what to set.</summary>
public sealed class AccessConfigurationException(string message) : Exception(message);
