using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace SsbTomo.Orchestrator.Access;

/// <summary>
/// The browser's way in: a form that takes an API key once and gives a session cookie (HttpOnly, SameSite=Strict,
/// 8 h sliding) carrying the key holder's name and role, never the key. Both POSTs check an antiforgery token.
/// </summary>
public static class SignIn
{
    public const string Path = "/signin";
    public const string SignOutPath = "/signout";
    public const string ProviderPath = "/signin/oidc";
    public const string KeyField = "apiKey";
    public const string ReturnField = "returnUrl";

    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, (HttpContext http, IAntiforgery antiforgery, string? returnUrl, string? failed) =>
            Page(http, antiforgery, LocalOrRoot(returnUrl), failed is null ? null : "Sign-in through your facility account failed; try again.",
                StatusCodes.Status200OK)).AllowAnonymous();
        app.MapPost(Path, SignInAsync).AllowAnonymous();
        // A GET that only redirects to the provider: nothing is signed in until the provider's answer comes back with
        // the state and nonce this browser was given.
        app.MapGet(ProviderPath, (string? returnUrl) => Results.Challenge(new AuthenticationProperties { RedirectUri = LocalOrRoot(returnUrl) },
            [AccessRegistration.OidcSignInScheme])).AllowAnonymous();
        app.MapPost(SignOutPath, async (HttpContext http, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(http)) return BadToken();
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.Redirect(Path);
        }).AllowAnonymous();
        return app;
    }

    private static async Task<IResult> SignInAsync(HttpContext http, IAntiforgery antiforgery, ApiKeyStore keys, ILoggerFactory logs)
    {
        if (!http.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(http)) return BadToken();
        var form = await http.Request.ReadFormAsync();
        var returnUrl = LocalOrRoot(form[ReturnField]);
        var holder = keys.Find(form[KeyField].ToString().Trim());
        var log = logs.CreateLogger("SsbTomo.Access");
        if (holder is null)
        {
            log.LogWarning("Refused a dashboard sign-in with an unknown API key from {RemoteAddress}", http.Connection.RemoteIpAddress);
            return Page(http, antiforgery, returnUrl, "That key is not valid.", StatusCodes.Status401Unauthorized);
        }
        await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme,
            ApiKeyAuthenticationHandler.Principal(holder, CookieAuthenticationDefaults.AuthenticationScheme));
        log.LogInformation("{Name} ({Role}) signed in to the dashboard", holder.Name, holder.Role);
        return Results.Redirect(returnUrl);
    }

    private static IResult BadToken() => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The form has expired",
        detail: $"Open {Path} again and resubmit.");

    /// <summary>Only a path on this site: never send a freshly signed-in user to another host.</summary>
    private static string LocalOrRoot(string? url) =>
        url is { Length: > 0 } && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\')) && !url.Contains('\n') && !url.Contains('\r')
            ? url : "/";

    private static IResult Page(HttpContext http, IAntiforgery antiforgery, string returnUrl, string? message, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var access = http.RequestServices.GetRequiredService<AccessState>().Options;
        var provider = access.Oidc.BrowserSignIn
            ? $"<p><a href=\"{ProviderPath}?returnUrl={Uri.EscapeDataString(returnUrl)}\">Sign in with your facility account</a></p>"
            : "";
        var error = message is null ? "" : $"<p class=\"error\">{E(message)}</p>";
        var html = $$"""
            <!doctype html><html><head><meta charset="utf-8"><title>Sign in · SsbTomo</title>{{PageSecurity.StylesheetLink}}</head><body>
            <h1>SsbTomo</h1>
            {{provider}}
            <form method="post" action="{{Path}}">
            <label for="key">API key</label><br><input id="key" name="{{KeyField}}" type="password" size="60" autocomplete="off" required autofocus><br>
            <input type="hidden" name="{{ReturnField}}" value="{{E(returnUrl)}}">
            <input type="hidden" name="{{E(tokens.FormFieldName)}}" value="{{E(tokens.RequestToken)}}">
            <button type="submit">Sign in</button>
            </form>
            {{error}}
            <p>Ask your SsbTomo administrator for a key (<code>ssbtomo apikey</code>).</p>
            </body></html>
            """;
        // The key form must not be framed by another site (clickjacking) nor post anywhere but here; nosniff, DENY and
        // no-referrer come from UsePageSecurityHeaders.
        PageSecurity.ForPage(http.Response);
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>Whether the user came with a session cookie (from a key or the provider) rather than a header credential.</summary>
    public static bool HasSession(HttpContext http) =>
        http.User.Identity?.AuthenticationType is CookieAuthenticationDefaults.AuthenticationScheme or AccessRegistration.OidcSignInScheme;

    /// <summary>The sign-out button for the dashboard, with its antiforgery token.</summary>
    public static string SignOutForm(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var user = http.User;
        var role = user.IsInRole(Roles.Operator) ? Roles.Operator : Roles.Viewer;
        return $"""
            <form method="post" action="{SignOutPath}">signed in as {E(user.Identity?.Name)} ({role})
            <input type="hidden" name="{E(tokens.FormFieldName)}" value="{E(tokens.RequestToken)}"> <button type="submit">Sign out</button></form>
            """;
    }

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
