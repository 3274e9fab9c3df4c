using System.Net.Http.Json;
using MassTransit;
using MassTransit.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using SsbTomo.Contracts;
using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

public class JobsApiFailureTests
{
    private sealed class IngestWithBug : IConsumer<IngestStack>
    {
        public Task Consume(ConsumeContext<IngestStack> context) =>
            throw new InvalidOperationException("Sequence contains no elements");
    }

    [Fact]
    public async Task A_failed_job_shows_its_reason_and_keeps_the_exception_in_a_separate_detail()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMassTransitTestHarness(bus =>
        {
            bus.AddOrchestrator();
            bus.AddConsumer<IngestWithBug>();
        });
        builder.AddSsbTomoAccess();
        await using var app = builder.Build();
        app.UseSsbTomoAccess();
        app.MapJobsApi();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
        var jobId = NewId.NextGuid();

        await app.Services.GetRequiredService<ITestHarness>().Bus.Publish(new SubmitJob(jobId, "/share/stack", "jobs/api", null, 16));

        JobsApi.JobView? job = null;
        for (var i = 0; i < 300 && job?.State != "Failed"; i++)
        {
            await Task.Delay(50);
            var response = await http.GetAsync($"/api/jobs/{jobId}");
            if (response.IsSuccessStatusCode) job = await response.Content.ReadFromJsonAsync<JobsApi.JobView>();
        }

        Assert.Equal("Failed", job?.State);
        Assert.Equal("ingest", job!.FailedStage);
        Assert.Empty(ReadableReason.Offenders(job.Reason));
        Assert.StartsWith("An internal error in ingest stopped the job.", job.Reason);
        Assert.StartsWith("System.InvalidOperationException: Sequence contains no elements", job.Detail);
        var listed = (await http.GetFromJsonAsync<JobsApi.JobView[]>("/api/jobs"))!.Single(j => j.JobId == jobId);
        Assert.Equal(job.Reason, listed.Reason);
        await app.StopAsync();
    }
}
