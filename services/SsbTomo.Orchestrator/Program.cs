using SsbTomo.Hosting;
using SsbTomo.Orchestrator;
using SsbTomo.Orchestrator.Access;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddOrchestrator(), "ssbtomo-orchestrator");
builder.LimitProcessMemory();
try
{
    builder.AddSsbTomoAccess();
}
catch (AccessConfigurationException refused)
{
    // A configuration mistake, not a crash: the message says what to set, a stack trace would bury it.
    Console.Error.WriteLine($"ssbtomo-orchestrator: {refused.Message}");
    return 2;
}

var app = builder.Build();
app.UseSsbTomoAccess();
app.MapSsbTomoEndpoints();
app.MapJobsApi();
app.MapDashboard();
app.Run();
// Not 0: a wedged bus stops the host after setting the exit code that asks to be started again (BusWatchdog.RestartExitCode),
// and a top-level program's return value would replace it (run-distributed.sh and the distributed tests then left the
// orchestrator down after a broker outage).
return Environment.ExitCode;
