using Microsoft.Extensions.Hosting;
using SsbTomo.Hosting;
using SsbTomo.Metrics;

var builder = Host.CreateApplicationBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddMetrics(), "ssbtomo-metrics");
builder.Build().Run();
