using SsbTomo.Hosting;
using SsbTomo.Orchestrator;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddOrchestrator(), "ssbtomo-orchestrator");

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.MapJobsApi();
app.MapDashboard();
app.Run();
