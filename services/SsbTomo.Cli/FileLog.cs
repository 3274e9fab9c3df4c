using System.Globalization;
using Microsoft.Extensions.Logging;

namespace SsbTomo.Cli;

/// <summary>
/// Warnings and errors of an embedded run, appended to one file in the output folder. A failed job's reason tells
/// the user to send "the log of ssbtomo" with a bug report; without --verbose the console shows no log, so this
/// file is that log. Created on the first entry: a clean run leaves no file behind.
/// </summary>
public sealed class FileLogProvider(string path, LogLevel minimum = LogLevel.Warning) : ILoggerProvider
{
    public const string FileName = "ssbtomo.log";

    private readonly LogLevel _minimum = minimum;
    private readonly Lock _gate = new();
    private StreamWriter? _writer;

    public string Path { get; } = path;

    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    public void Dispose()
    {
        lock (_gate)
        {
            _writer?.Dispose();
            _writer = null;
        }
    }

    private void Write(string line)
    {
        lock (_gate)
        {
            _writer ??= new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
            _writer.WriteLine(line);
        }
    }

    private sealed class FileLogger(FileLogProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {logLevel} {category}: {formatter(state, exception)}");
            provider.Write(exception is null ? line : line + Environment.NewLine + exception);
        }
    }
}
