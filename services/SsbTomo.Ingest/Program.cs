using SsbTomo.Hosting;
using SsbTomo.Ingest;

var builder = WebApplication.CreateBuilder(args);
builder.AddSsbTomoDefaults(bus => bus.AddIngest(), "ssbtomo-ingest");

var app = builder.Build();
app.MapSsbTomoEndpoints();
app.Run();
