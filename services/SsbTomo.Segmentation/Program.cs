using SsbTomo.Hosting;
using SsbTomo.Segmentation;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddSegmentation(), "ssbtomo-segmentation");
builder.LimitProcessMemory();

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
