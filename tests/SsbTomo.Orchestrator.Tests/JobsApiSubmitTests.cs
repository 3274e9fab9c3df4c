using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Hosting;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>POST /api/jobs over a real HTTP host: what it accepts, and how it says no.</summary>
public class JobsApiSubmitTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("ssbtomo-submit");
    private readonly string _share;
    private readonly string _outside;
    private WebApplication? _app;
    private HttpClient? _http;

    public JobsApiSubmitTests()
    {
        _share = Directory.CreateDirectory(Path.Combine(_dir.Path, "share")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside")).FullName;
        Directory.CreateDirectory(Path.Combine(_share, "stack"));
        Directory.CreateDirectory(Path.Combine(_outside, "stack"));
        Directory.CreateDirectory(_share + "2");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        _dir.Dispose();
    }

    private async Task<HttpClient> StartAsync(params string[] roots)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.Configure<SsbTomoOptions>(o => o.ShareRoots = [.. roots]);
        // A short idle time lets the harness answer "nothing was published" quickly.
        builder.Services.AddMassTransitTestHarness(bus =>
        {
            bus.AddOrchestrator();
            bus.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromMilliseconds(300));
        });
        // No keys and loopback only: the open one-machine mode (AccessRuleTests and AccessApiTests cover the others).
        builder.AddSsbTomoAccess();
        _app = builder.Build();
        _app.UseSsbTomoAccess();
        _app.MapJobsApi();
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
        return _http;
    }

    private ITestHarness Harness => _app!.Services.GetRequiredService<ITestHarness>();

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Problem)> PostAsync(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/api/jobs", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("   at ", text);
        if (response.StatusCode != HttpStatusCode.Accepted)
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{(int)response.StatusCode} {response.Content.Headers.ContentType}: {text}");
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string SubmitBody(string sourcePath) => JsonSerializer.Serialize(new { sourcePath, voxelSizeNm = (object?)null });

    private static string[] FieldErrors(JsonElement problem, string field) =>
        problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(e => e.GetString()!).ToArray();

    [Fact]
    public async Task A_stack_inside_the_share_is_accepted_and_published_with_its_voxel_size()
    {
        var http = await StartAsync(_share);
        var stack = Path.Combine(_share, "stack");

        var (status, body) = await PostAsync(http, JsonSerializer.Serialize(new { sourcePath = stack, voxelSizeNm = new { x = 10, y = 10, z = 20.5 } }));

        Assert.Equal(HttpStatusCode.Accepted, status);
        var jobId = body.GetProperty("jobId").GetGuid();
        Assert.True(await Harness.Published.Any<SubmitJob>(m =>
            m.Context.Message.JobId == jobId && m.Context.Message.SourcePath == stack && m.Context.Message.VoxelSizeOverride == new VoxelSizeNm(10, 10, 20.5)));
    }

    [Fact]
    public async Task The_cathodes_carbon_shape_is_published_with_the_job_and_any_other_value_is_refused_naming_the_field()
    {
        var http = await StartAsync(_share);
        var stack = Path.Combine(_share, "stack");

        var (status, body) = await PostAsync(http, JsonSerializer.Serialize(new { sourcePath = stack, carbon = "Particles" }));
        Assert.Equal(HttpStatusCode.Accepted, status);
        var particles = body.GetProperty("jobId").GetGuid();
        (status, body) = await PostAsync(http, SubmitBody(stack));
        Assert.Equal(HttpStatusCode.Accepted, status);
        var unset = body.GetProperty("jobId").GetGuid();
        Assert.True(await Harness.Published.Any<SubmitJob>(m => m.Context.Message.JobId == particles && m.Context.Message.Carbon == CarbonShape.Particles));
        Assert.True(await Harness.Published.Any<SubmitJob>(m => m.Context.Message.JobId == unset && m.Context.Message.Carbon == null));

        foreach (var wrong in new object[] { "graphite", 1, "1", true })
        {
            (status, body) = await PostAsync(http, JsonSerializer.Serialize(new { sourcePath = stack, carbon = wrong }));
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("\"particles\"", Assert.Single(FieldErrors(body, "carbon")));
        }
    }

    [Fact]
    public async Task A_jobs_registration_crop_is_published_with_it_and_a_crop_out_of_range_is_refused()
    {
        var http = await StartAsync(_share);
        var stack = Path.Combine(_share, "stack");

        var (status, body) = await PostAsync(http, JsonSerializer.Serialize(new { sourcePath = stack, registrationCropPx = 1024 }));
        Assert.Equal(HttpStatusCode.Accepted, status);
        var larger = body.GetProperty("jobId").GetGuid();
        (status, body) = await PostAsync(http, SubmitBody(stack));
        Assert.Equal(HttpStatusCode.Accepted, status);
        var unset = body.GetProperty("jobId").GetGuid();
        Assert.True(await Harness.Published.Any<SubmitJob>(m => m.Context.Message.JobId == larger && m.Context.Message.RegistrationCropPx == 1024));
        // A job without its own takes the configured crop at submission: all its chunks are then registered alike.
        Assert.True(await Harness.Published.Any<SubmitJob>(m => m.Context.Message.JobId == unset
            && m.Context.Message.RegistrationCropPx == new SsbTomoOptions().RegistrationCropPx));

        foreach (var wrong in new object[] { 63, 16385, 512.5, "512", true })
        {
            (status, body) = await PostAsync(http, JsonSerializer.Serialize(new { sourcePath = stack, registrationCropPx = wrong }));
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("from 64 to 16384", Assert.Single(FieldErrors(body, "registrationCropPx")));
        }
    }

    [Fact]
    public async Task A_link_inside_the_share_is_published_as_its_target()
    {
        var http = await StartAsync(_share);
        Directory.CreateSymbolicLink(Path.Combine(_share, "alias"), "stack");

        var (status, body) = await PostAsync(http, SubmitBody(Path.Combine(_share, "alias")));

        Assert.Equal(HttpStatusCode.Accepted, status);
        var jobId = body.GetProperty("jobId").GetGuid();
        Assert.True(await Harness.Published.Any<SubmitJob>(m => m.Context.Message.JobId == jobId && m.Context.Message.SourcePath == Path.Combine(_share, "stack")));
    }

    public static TheoryData<string> Escapes => new()
    {
        "outside/stack",
        "/etc/passwd",
        "share/../outside/stack",
        "share/escape",
        "share/escape/../stack",
        "share2",
    };

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task A_source_outside_the_share_is_refused_naming_the_roots_and_no_job_is_made(string path)
    {
        var http = await StartAsync(_share);
        Directory.CreateSymbolicLink(Path.Combine(_share, "escape"), Path.Combine(_outside, "stack"));
        var source = Path.IsPathRooted(path) ? path : _dir.Path + "/" + path;

        var (status, problem) = await PostAsync(http, SubmitBody(source));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Assert.Single(FieldErrors(problem, "sourcePath"));
        Assert.Contains("outside the share roots", error);
        Assert.Contains(_share, error);
        Assert.Equal([_share], problem.GetProperty("allowedRoots").EnumerateArray().Select(r => r.GetString()));
        // The link's target is where the files are; the answer must not tell the client.
        Assert.DoesNotContain(_outside, problem.GetRawText());
        Assert.False(await Harness.Published.Any<SubmitJob>());
    }

    [Fact]
    public async Task A_source_inside_the_share_that_does_not_exist_is_refused()
    {
        var http = await StartAsync(_share);

        var (status, problem) = await PostAsync(http, SubmitBody(Path.Combine(_share, "missing")));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("no such stack folder or TIFF file", Assert.Single(FieldErrors(problem, "sourcePath")));
        Assert.False(await Harness.Published.Any<SubmitJob>());
    }

    [Fact]
    public async Task With_no_share_roots_every_submission_is_refused_saying_what_to_set()
    {
        var http = await StartAsync();

        var (status, problem) = await PostAsync(http, SubmitBody(Path.Combine(_share, "stack")));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("SsbTomo:ShareRoots", problem.GetProperty("detail").GetString());
        Assert.False(await Harness.Published.Any<SubmitJob>());
    }

    public static TheoryData<string, string, string> BadBodies => new()
    {
        { """{"source": "/x"}""", "source", "is not a known field" },
        { """{"source": "/x"}""", "sourcePath", "is required" },
        { """{"voxelSizeNm": null}""", "sourcePath", "is required" },
        { """{"sourcePath": 42}""", "sourcePath", "must be a string, not a number" },
        { """{"sourcePath": ""}""", "sourcePath", "must not be empty" },
        { $$"""{"sourcePath": "/{{new string('a', 4096)}}"}""", "sourcePath", "at most 4096 characters" },
        { """{"sourcePath": "/x\u0000y"}""", "sourcePath", "control characters" },
        { """{"sourcePath": "/x", "SourcePath": "/y"}""", "sourcePath", "more than once" },
        { """{"sourcePath": "/x", "voxelSizeNm": 5}""", "voxelSizeNm", "must be null or an object" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": -5, "y": 5, "z": 5}}""", "voxelSizeNm.x", "from 0.1 to 100000" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": 5, "y": 0, "z": 5}}""", "voxelSizeNm.y", "from 0.1 to 100000" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": 5, "y": 5, "z": 1e999}}""", "voxelSizeNm.z", "finite" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": 5, "y": 5, "z": "5"}}""", "voxelSizeNm.z", "must be a number, not a string" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": 5, "y": 5}}""", "voxelSizeNm.z", "is required" },
        { """{"sourcePath": "/x", "voxelSizeNm": {"x": 5, "y": 5, "z": 5, "w": 5}}""", "voxelSizeNm.w", "is not a known field" },
        { """["/x"]""", "$", "must be a JSON object" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task An_invalid_body_is_refused_naming_the_field(string body, string field, string message)
    {
        var http = await StartAsync(_share);

        var (status, problem) = await PostAsync(http, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, Assert.Single(FieldErrors(problem, field)));
        Assert.False(await Harness.Published.Any<SubmitJob>());
    }

    [Fact]
    public async Task Malformed_json_a_body_over_64_KB_and_a_non_json_body_are_refused()
    {
        var http = await StartAsync(_share);

        var (status, problem) = await PostAsync(http, """{"sourcePath": """);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("The body is not valid JSON", problem.GetProperty("title").GetString());

        var padded = $$"""{"sourcePath": "{{Path.Combine(_share, "stack")}}", "voxelSizeNm": null{{new string(' ', 64 * 1024)}}}""";
        (status, _) = await PostAsync(http, padded);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);

        using var text = await http.PostAsync("/api/jobs", new StringContent(SubmitBody(Path.Combine(_share, "stack")), Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.False(await Harness.Published.Any<SubmitJob>());
    }
}
