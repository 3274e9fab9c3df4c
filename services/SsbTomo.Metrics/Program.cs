using SsbTomo.Hosting;
using SsbTomo.Metrics;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddMetrics(), "ssbtomo-metrics");
builder.LimitProcessMemory();

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
