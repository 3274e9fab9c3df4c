using SsbTomo.Hosting;
using SsbTomo.Ingest;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddIngest(), "ssbtomo-ingest");
builder.LimitProcessMemory();

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
