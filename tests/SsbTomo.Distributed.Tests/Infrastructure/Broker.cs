using System.Diagnostics;

namespace SsbTomo.Distributed.Tests.Infrastructure;

/// <summary>
/// Stops and starts the RabbitMQ application inside the running Erlang node (`rabbitmqctl stop_app` /
/// `start_app`). Unlike rabbitmq-stop.sh + rabbitmq-start.sh this keeps the Mnesia database: vhosts, users,
/// durable queues and persistent messages survive, as they would on a real broker restart (rabbitmq-start.sh
/// deliberately starts from an empty database, which would lose every queue). Needs root (as the scripts do).
/// </summary>
public static class Broker
{
    public static Task StopAppAsync() => RabbitMqCtlAsync("stop_app");

    public static Task StartAppAsync() => RabbitMqCtlAsync("start_app");

    private static async Task RabbitMqCtlAsync(string command)
    {
        var info = new ProcessStartInfo("rabbitmqctl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-n", "rabbit@localhost", "-q", command }) info.ArgumentList.Add(arg);
        info.Environment["ERL_EPMD_ADDRESS"] = "127.0.0.1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("rabbitmqctl did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"rabbitmqctl {command} exited {process.ExitCode}: {await stdout} {await stderr}");
    }
}
