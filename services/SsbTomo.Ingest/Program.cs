using Microsoft.Extensions.Hosting;
using SsbTomo.Hosting;
using SsbTomo.Ingest;

var builder = Host.CreateApplicationBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddIngest(), "ssbtomo-ingest");
builder.Build().Run();
