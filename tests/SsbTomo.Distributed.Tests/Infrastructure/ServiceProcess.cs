using System.Diagnostics;
using SsbTomo.Hosting;

namespace SsbTomo.Distributed.Tests.Infrastructure;

/// <summary>
/// One service as its own OS process (`dotnet services/SsbTomo.X/bin/.../SsbTomo.X.dll`), listening on a free
/// loopback port, with stdout and stderr captured to files for diagnostics. Disposing kills it. Like Kubernetes and
/// run-distributed.sh, it starts the service again (same port, same logs) when it exits with
/// <see cref="BusWatchdog.RestartExitCode"/>, the code of a service whose bus watchdog found it wedged.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private Process _process;
    private bool _stopping;
    private readonly StreamWriter _stdout;
    private readonly StreamWriter _stderr;
    private readonly object _gate = new();

    private ServiceProcess(string name, Process process, Uri baseUri, string stdoutPath, string stderrPath)
    {
        Name = name;
        _process = process;
        BaseUri = baseUri;
        StdoutPath = stdoutPath;
        StderrPath = stderrPath;
        _stdout = new StreamWriter(stdoutPath, append: true) { AutoFlush = true };
        _stderr = new StreamWriter(stderrPath, append: true) { AutoFlush = true };
    }

    public string Name { get; }
    public Uri BaseUri { get; }
    public string StdoutPath { get; }
    public string StderrPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Exited and not coming back: false while a service that its bus watchdog exited (code 75) is being started again,
    /// the moment in which its port refuses connections although the service is only restarting.
    /// </summary>
    public bool IsGone
    {
        get
        {
            lock (_gate)
                return _process.HasExited && (_stopping || _process.ExitCode != BusWatchdog.RestartExitCode);
        }
    }

    public static ServiceProcess Start(string name, string service, IReadOnlyDictionary<string, string> environment, string logDir)
    {
        var dll = Infra.ServiceDll(service);
        var port = Infra.FreePort();
        var baseUri = new Uri($"http://127.0.0.1:{port}/");
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        // Only what this test sets: nothing inherited may re-point a service at another broker, store or collector.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("SsbTomo__", StringComparison.OrdinalIgnoreCase) ||
                     k.StartsWith("SSBTOMO_", StringComparison.OrdinalIgnoreCase) || k.StartsWith("OTEL_", StringComparison.OrdinalIgnoreCase) ||
                     k.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)).ToList())
            info.Environment.Remove(key);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        info.Environment["ASPNETCORE_URLS"] = baseUri.ToString().TrimEnd('/');
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        // The tests poll the API every 50 ms: keep request logs out of the diagnostics.
        info.Environment["Logging__LogLevel__Microsoft.AspNetCore"] = "Warning";

        Directory.CreateDirectory(logDir);
        var stdoutPath = Path.Combine(logDir, $"{name}.stdout.log");
        var stderrPath = Path.Combine(logDir, $"{name}.stderr.log");
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var started = new ServiceProcess(name, process, baseUri, stdoutPath, stderrPath);
        started.Run(process);
        started.Write(started._stdout, $"[test] started pid {process.Id}: dotnet {dll} on {baseUri}");
        return started;
    }

    private void Run(Process process)
    {
        process.OutputDataReceived += (_, e) => Write(_stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Write(_stderr, e.Data);
        process.Exited += (_, _) => StartAgainIfAsked(process);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void StartAgainIfAsked(Process exited)
    {
        lock (_gate)
        {
            if (_stopping || !ReferenceEquals(exited, _process) || exited.ExitCode != BusWatchdog.RestartExitCode) return;
            var again = new Process { StartInfo = exited.StartInfo, EnableRaisingEvents = true };
            _process = again;
            Run(again);
            Restarts++;
            _stdout.WriteLine($"[test] exited with code {BusWatchdog.RestartExitCode} (bus watchdog): started again as pid {again.Id}");
        }
    }

    /// <summary>How often the service exited with <see cref="BusWatchdog.RestartExitCode"/> and was started again.</summary>
    public int Restarts { get; private set; }

    private void Write(StreamWriter writer, string? line)
    {
        if (line is null) return;
        lock (_gate)
        {
            try { writer.WriteLine(line); } catch (ObjectDisposedException) { }
        }
    }

    /// <summary>Waits until GET /health/ready answers 200 (the bus is connected).</summary>
    public async Task WaitReadyAsync(TimeSpan timeout, CancellationToken ct = default)
    {
        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        string last = "no answer";
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} before it was ready.{Environment.NewLine}{Tail()}");
            try
            {
                using var response = await http.GetAsync("health/ready", ct);
                if (response.IsSuccessStatusCode) return;
                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                last = e.Message;
            }
            await Task.Delay(200, ct);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout.TotalSeconds:0} s (last: {last}).{Environment.NewLine}{Tail()}");
    }

    /// <summary>SIGKILL: no graceful shutdown, unacknowledged deliveries go back to the queue.</summary>
    public void Kill()
    {
        lock (_gate) _stopping = true;
        if (_process.HasExited) return;
        Write(_stdout, "[test] SIGKILL");
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>The last lines of both logs, for failure messages.</summary>
    public string Tail(int lines = 25)
    {
        lock (_gate)
        {
            return $"--- {Name} ({StdoutPath}) ---{Environment.NewLine}{TailOf(StdoutPath, lines)}" +
                   $"--- {Name} ({StderrPath}) ---{Environment.NewLine}{TailOf(StderrPath, lines)}";
        }
    }

    private static string TailOf(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines)) + Environment.NewLine;
        }
        catch (IOException e)
        {
            return $"(unreadable: {e.Message}){Environment.NewLine}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate) _stopping = true;
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        lock (_gate)
        {
            _stdout.Dispose();
            _stderr.Dispose();
        }
        _process.Dispose();
    }
}
