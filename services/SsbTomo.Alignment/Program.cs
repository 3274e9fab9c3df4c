using Microsoft.Extensions.Hosting;
using SsbTomo.Alignment;
using SsbTomo.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddAlignment(), "ssbtomo-alignment");
builder.Build().Run();
