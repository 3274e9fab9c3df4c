using SsbTomo.Contracts;

namespace SsbTomo.Orchestrator;

/// <summary>
/// Browser-side defences for everything the orchestrator serves. The pages carry no script at all and take their
/// styles from <see cref="StylesheetPath"/>, so the policy can forbid every inline script and style: if a hostile
/// folder name ever slipped past the HTML encoding, the browser would still refuse to run or style it.
/// </summary>
public static class PageSecurity
{
    public const string StylesheetPath = "/ssbtomo.css";

    /// <summary>The HTML pages' policy: their own stylesheet, forms that post only here, never framed.</summary>
    public const string PagePolicy = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    /// <summary>A job's report.html: no script; its own inline styles and its previews (data: URIs) only.</summary>
    public const string ReportPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Everything else (JSON, problem details, redirects, metrics) loads nothing and is never framed.</summary>
    public const string DefaultPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>The dashboard's and sign-in page's styles: class names are the job states the dashboard colours.</summary>
    public static readonly string Stylesheet = $$"""
        body{font-family:sans-serif;margin:2em}
        table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
        .{{JobStates.Failed}}{color:#b00}.stalled{color:#b00}.{{JobStates.Completed}}{color:#070}progress{width:10em}
        input{font:inherit;padding:.3em;margin:.3em 0}.error{color:#b00}
        """;

    /// <summary>
    /// Headers on every response, set before the endpoint runs so that 401s, 403s and problem details get them too;
    /// a page replaces the policy with <see cref="PagePolicy"/> (<see cref="ForPage"/>).
    /// </summary>
    public static IApplicationBuilder UsePageSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = DefaultPolicy;
        headers.XContentTypeOptions = "nosniff";
        // For browsers that predate frame-ancestors.
        headers.XFrameOptions = "DENY";
        // Job ids and return addresses in the URL are nobody else's business.
        headers["Referrer-Policy"] = "no-referrer";
        return next(http);
    });

    /// <summary>The policy of an HTML page of ours.</summary>
    public static void ForPage(HttpResponse response) => response.Headers.ContentSecurityPolicy = PagePolicy;

    /// <summary>The stylesheet, open like the sign-in page that needs it; it holds nothing but colours and spacing.</summary>
    public static IEndpointRouteBuilder MapStylesheet(this IEndpointRouteBuilder app)
    {
        app.MapGet(StylesheetPath, (HttpResponse response) =>
        {
            response.Headers.CacheControl = "public, max-age=3600";
            return Results.Text(Stylesheet, "text/css; charset=utf-8");
        }).AllowAnonymous();
        return app;
    }

    public const string StylesheetLink = $"<link rel=\"stylesheet\" href=\"{StylesheetPath}\">";
}
