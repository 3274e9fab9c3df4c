using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Access;

/// <summary>
/// Who may use the API and the dashboard, with ASP.NET Core's own schemes: API keys (<see cref="ApiKeyAuthenticationHandler"/>),
/// bearer tokens of an OpenID Connect provider (JwtBearer) and, for browsers, a session cookie got on <c>/signin</c> with
/// an API key or through the provider (OpenIdConnect). Every endpoint needs the viewer role unless it says otherwise
/// (health and the sign-in pages do).
/// </summary>
public static class AccessRegistration
{
    private const string SelectorScheme = "SsbTomo";
    private const string CookieScheme = CookieAuthenticationDefaults.AuthenticationScheme;

    /// <summary>The dashboard's sign-in through the OpenID Connect provider (<see cref="OidcSettings.ClientId"/>).</summary>
    public const string OidcSignInScheme = OpenIdConnectDefaults.AuthenticationScheme;

    /// <summary>Decides the access mode (<see cref="AccessRule"/>) and registers it; throws <see cref="AccessConfigurationException"/> for a configuration that must not start.</summary>
    public static IHostApplicationBuilder AddSsbTomoAccess(this IHostApplicationBuilder builder)
    {
        var access = builder.Configuration.GetSection(AccessOptions.Section).Get<AccessOptions>() ?? new AccessOptions();
        var transport = builder.Configuration.GetSection(SsbTomoOptions.Section).Get<SsbTomoOptions>()?.Transport ?? TransportKind.InMemory;
        var decision = AccessRule.Decide(access, transport, AccessRule.ListenUrls(builder.Configuration));
        builder.Services.AddSingleton(new AccessState(decision, access));
        builder.Services.AddAntiforgery(o => o.Cookie.Name = "ssbtomo.antiforgery");
        // Which server software answers is of use only to someone choosing an exploit.
        builder.Services.Configure<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>(o => o.AddServerHeader = false);

        if (decision == AccessDecision.Enforced) AddEnforced(builder.Services, access);
        else builder.Services.AddAuthentication(OpenAccessHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, OpenAccessHandler>(OpenAccessHandler.SchemeName, null);

        builder.Services.AddAuthorization(o =>
        {
            o.AddPolicy(AccessPolicies.Read, p => p.RequireAuthenticatedUser().RequireRole(Roles.Viewer, Roles.Operator));
            o.AddPolicy(AccessPolicies.Operate, p => p.RequireAuthenticatedUser().RequireRole(Roles.Operator));
            // An endpoint that forgets to say what it needs is for signed-in users, not for everyone.
            o.FallbackPolicy = o.GetPolicy(AccessPolicies.Read);
        });
        return builder;
    }

    private static void AddEnforced(IServiceCollection services, AccessOptions access)
    {
        // Loaded now, so that a bad key file stops the start with its line number instead of failing each request.
        var keys = string.IsNullOrWhiteSpace(access.ApiKeysFile) ? ApiKeyStore.Empty : ApiKeyStore.Load(access.ApiKeysFile);
        services.AddSingleton(keys);
        var jwt = access.Oidc.IsConfigured;

        var authentication = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key, bearer token or sign-in cookie", o => o.ForwardDefaultSelector = http => SchemeFor(http.Request, jwt))
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(CookieScheme, o =>
            {
                o.Cookie.Name = "ssbtomo.session";
                o.Cookie.HttpOnly = true;
                // Lax, not Strict: a provider's redirect back to /signin-oidc is a navigation from another site, and the
                // session must survive it. The cookie only reads and posts antiforgery-checked forms, so Lax costs nothing.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.LoginPath = SignIn.Path;
                o.Events.OnRedirectToLogin = context => RedirectOrStatus(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return Task.CompletedTask;
                };
                // A key holder's session lasts no longer than the key: once the line is removed or its role changed (and the
                // orchestrator restarted), the cookie stops working.
                o.Events.OnValidatePrincipal = context =>
                {
                    var user = context.Principal;
                    // The provider vouched for its users at sign-in; only key holders are checked against the file.
                    if (access.Oidc.BrowserSignIn && user?.Identity?.AuthenticationType == OidcSignInScheme) return Task.CompletedTask;
                    var store = context.HttpContext.RequestServices.GetRequiredService<ApiKeyStore>();
                    if (user?.Identity?.Name is not { } name || user.FindFirstValue(ClaimTypes.Role) is not { } role || !store.Holds(name, role))
                        context.RejectPrincipal();
                    return Task.CompletedTask;
                };
            });
        if (jwt)
            authentication.AddJwtBearer(o =>
            {
                o.Authority = access.Oidc.Authority;
                o.Audience = access.Oidc.Audience;
                o.MapInboundClaims = false;
                o.TokenValidationParameters.RoleClaimType = access.Oidc.RoleClaim;
                o.TokenValidationParameters.NameClaimType = access.Oidc.NameClaim;
                // Why a token was refused is for the log, not for whoever sent it.
                o.IncludeErrorDetails = false;
            });
        if (access.Oidc.BrowserSignIn)
            authentication.AddOpenIdConnect(OidcSignInScheme, "your facility account", o =>
            {
                o.Authority = access.Oidc.Authority;
                o.ClientId = access.Oidc.ClientId;
                o.ClientSecret = ClientSecret(access.Oidc.ClientSecretFile);
                o.ResponseType = OpenIdConnectResponseType.Code;
                o.UsePkce = true;
                // The code comes back in the query of a top-level GET, which carries Lax cookies; form_post would need
                // SameSite=None cookies, which browsers drop without HTTPS.
                o.ResponseMode = OpenIdConnectResponseMode.Query;
                o.CorrelationCookie.SameSite = o.NonceCookie.SameSite = SameSiteMode.Lax;
                o.CorrelationCookie.SecurePolicy = o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SignInScheme = CookieScheme;
                o.CallbackPath = "/signin-oidc";
                o.MapInboundClaims = false;
                o.SaveTokens = false;
                o.TokenValidationParameters.RoleClaimType = access.Oidc.RoleClaim;
                o.TokenValidationParameters.NameClaimType = access.Oidc.NameClaim;
                o.TokenValidationParameters.AuthenticationType = OidcSignInScheme;
                // A failed or forged answer from the provider sends the browser back to the sign-in page, not to an error page.
                o.Events.OnRemoteFailure = context =>
                {
                    context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("SsbTomo.Access")
                        .LogWarning("Refused a dashboard sign-in through the provider from {RemoteAddress}: {Reason}",
                            context.HttpContext.Connection.RemoteIpAddress, context.Failure?.Message);
                    context.Response.Redirect(SignIn.Path + "?failed=provider");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });
    }

    private static string? ClientSecret(string? file)
    {
        if (string.IsNullOrWhiteSpace(file)) return null;
        if (!File.Exists(file)) throw new AccessConfigurationException($"SsbTomo:Auth:Oidc:ClientSecretFile: {file} does not exist.");
        return File.ReadAllText(file).Trim();
    }

    /// <summary>
    /// Which scheme answers a request: the credential it carries decides. A cookie is accepted only to read: a change
    /// through the API needs a header credential, which a cross-site form cannot send (no CSRF on the API).
    /// </summary>
    private static string SchemeFor(HttpRequest request, bool jwt)
    {
        if (ApiKeyAuthenticationHandler.PresentedKey(request) is not null) return ApiKeyAuthenticationHandler.SchemeName;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && jwt) return JwtBearerDefaults.AuthenticationScheme;
        if (authorization.Length > 0) return ApiKeyAuthenticationHandler.SchemeName;
        if (IsMachineEndpoint(request) && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            return ApiKeyAuthenticationHandler.SchemeName;
        return CookieScheme;
    }

    /// <summary>Endpoints for programs: they get a 401 rather than a redirect to a sign-in page.</summary>
    private static bool IsMachineEndpoint(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/metrics");

    private static Task RedirectOrStatus(RedirectContext<CookieAuthenticationOptions> context, int status)
    {
        if (IsMachineEndpoint(context.Request)) context.Response.StatusCode = status;
        else context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    /// <summary>Authentication and authorization for every endpoint, the sign-in page when keys are in use, and a log line that says which mode is on.</summary>
    public static WebApplication UseSsbTomoAccess(this WebApplication app)
    {
        var state = app.Services.GetRequiredService<AccessState>();
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SsbTomo.Access");
        switch (state.Decision)
        {
            case AccessDecision.Enforced:
                log.LogInformation("API and dashboard need authentication: {ApiKeys} API keys{Oidc}", app.Services.GetRequiredService<ApiKeyStore>().Count,
                    state.Options.Oidc.IsConfigured ? $", bearer tokens from {state.Options.Oidc.Authority} for audience {state.Options.Oidc.Audience}" : "");
                break;
            case AccessDecision.OpenOnLoopback:
                log.LogInformation("API and dashboard are unauthenticated: one machine, listening on loopback only");
                break;
            case AccessDecision.OpenByChoice:
                log.LogWarning("SsbTomo:Auth:Mode=None: the API and dashboard are UNAUTHENTICATED. Anyone who can reach them can read every job and " +
                               "submit jobs on the share. Use this only where the network itself keeps strangers out");
                break;
        }
        // Before authentication, so that refusals carry the headers too; here because every host of the dashboard calls this.
        app.UsePageSecurityHeaders();
        app.UseAuthentication();
        app.UseAuthorization();
        if (state.Decision == AccessDecision.Enforced) app.MapSignIn();
        return app;
    }
}

/// <summary>The access mode in force and the settings it came from.</summary>
public sealed record AccessState(AccessDecision Decision, AccessOptions Options);
