using SsbTomo.Hosting;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Access;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddOrchestrator(), "ssbtomo-orchestrator");
builder.AddSsbTomoAccess();

var app = builder.Build();
app.UseSsbTomoAccess();
app.MapSsbTomoEndpoints();
app.MapJobsApi();
app.MapDashboard();
app.Run();
