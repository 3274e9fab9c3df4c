using SsbTomo.Hosting;
using SsbTomo.Reconstruction;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddReconstruction(), "ssbtomo-reconstruction");
builder.LimitProcessMemory();

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
