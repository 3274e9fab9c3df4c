using SsbTomo.Hosting;
using SsbTomo.Alignment;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddAlignment(), "ssbtomo-alignment");
builder.LimitProcessMemory();

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
