using Microsoft.Extensions.Hosting;
using SsbTomo.Hosting;
using SsbTomo.Segmentation;

var builder = Host.CreateApplicationBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddSegmentation(), "ssbtomo-segmentation");
builder.Build().Run();
