using SsbTomo.Hosting;
using SsbTomo.Metrics;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddMetrics(), "ssbtomo-metrics");

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
