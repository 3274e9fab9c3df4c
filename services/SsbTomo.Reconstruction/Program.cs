using Microsoft.Extensions.Hosting;
using SsbTomo.Hosting;
using SsbTomo.Reconstruction;

var builder = Host.CreateApplicationBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddReconstruction(), "ssbtomo-reconstruction");
builder.Build().Run();
