using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace SsbTomo.Hosting;

public static class ConsumeContextLogging
{
    /// <summary>
    /// A logger from the consuming service's container. Static helpers (StageRunner, the saga's activities) have no
    /// constructor to take one; a host without logging gets a logger that drops everything rather than a second failure.
    /// </summary>
    public static ILogger Logger(this ConsumeContext context, string category) =>
        context.TryGetPayload<IServiceProvider>(out var services) && services.GetService<ILoggerFactory>() is { } factory
            ? factory.CreateLogger(category)
            : NullLogger.Instance;
}
