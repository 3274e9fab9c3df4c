using System.Text;
using System.Text.RegularExpressions;
using MassTransit;
using SsbTomo.Contracts;

namespace SsbTomo.Hosting;

/// <summary>What a failed job tells the person who submitted it, and what it keeps for operators.</summary>
/// <param name="Reason">Sentences a user can act on: the stage, the file or slices, what is wrong, what to do.</param>
/// <param name="Detail">Exception types, messages and stack traces; for the log and the operators' view only.</param>
public sealed record FailureDescription(string Reason, string? Detail);

/// <summary>
/// The one place that turns a failure into a reason. Users read the reason on the CLI, the dashboard and the API;
/// exception type names, parameter names and stack traces mean nothing to them, so those go to the detail and the
/// log. Input problems keep the thrower's message (it names the file); anything else is either storage that stayed
/// unreachable through every retry, or a bug, and the reason says which and where the details are.
/// </summary>
public static partial class FailureReasons
{
    /// <summary>Stage names as the stages report them, in the words a user reads.</summary>
    public static string StageInWords(string stage, object? command)
    {
        var words = stage switch
        {
            "denoise" => "denoising",
            "metrics" => "measurement",
            _ => stage,
        };
        return command is ISlabMessage slab ? $"{words} of {Slices(slab.Z0, slab.Z1)}" : words;
    }

    /// <summary>Slices are numbered from 0 as in alignment.json; a slab is [z0, z1).</summary>
    public static string Slices(int z0, int z1) => z1 - z0 <= 1 ? $"slice {z0}" : $"slices {z0}–{z1 - 1}";

    public static FailureDescription InvalidInput(string stage, object? command, InvalidInputException exception)
    {
        var reason = new StringBuilder($"{Capitalize(StageInWords(stage, command))} failed: {Sentence(exception.Message)}");
        if (exception.Advice is { } advice) reason.Append(' ').Append(Capitalize(Sentence(advice)));
        return new FailureDescription(reason.ToString(), exception.InnerException is null ? null : Detail(exception.InnerException));
    }

    /// <summary>
    /// A command that failed through every retry. <paramref name="service"/> is whose log has the exception; it comes
    /// from the fault's host where known, because the same consumer runs in its own service or inside the CLI.
    /// </summary>
    public static FailureDescription Fault<T>(string stage, Fault<T> fault, Guid jobId) where T : class
    {
        var first = fault.Exceptions?.FirstOrDefault();
        var service = ServiceName(fault.Host, stage);
        var where = StageInWords(stage, fault.Message);
        var detail = first is null ? null : Detail(first);
        if (first is not null && IsStorageProblem(first))
            return new FailureDescription(
                $"{Capitalize(where)} kept failing to read or write its data, through every retry: {Sentence(Plain(first.Message))} "
                + $"Check that the source stack and the job store are reachable and writable, then submit the job again; "
                + $"the log of {service} has the details under job id {jobId}.",
                detail);
        if (first?.ExceptionType == "System.OutOfMemoryException")
            return new FailureDescription(OutOfMemory(where, service, jobId), detail);
        return new FailureDescription(InternalError(where, service, jobId), detail);
    }

    /// <summary>
    /// A process that ran out of memory through every retry: the slab it was given does not fit its memory budget (the
    /// settings, not the data, decide that), so the reason names the settings that do.
    /// </summary>
    public static string OutOfMemory(string where, string service, Guid jobId) =>
        $"{Capitalize(where)} ran out of memory in {service} through every retry: its slab of slices did not fit the process's memory. "
        + "Give the process a larger budget (SsbTomo:MemoryBudgetMb; `ssbtomo run --memory-mb`), fewer alignment workers per process "
        + "(SsbTomo:AlignmentWorkers; --alignment-workers) or smaller slabs (SsbTomo:ChunkSlices; --chunk-slices), then submit the job again; "
        + $"the log of {service} has the details under job id {jobId}.";

    /// <summary>A bug: nothing the user did or can change in the data explains it.</summary>
    public static string InternalError(string where, string service, Guid jobId) =>
        $"An internal error in {where} stopped the job. This is a bug in SsbTomo, not a problem with the data: "
        + $"please report it with job id {jobId} and the log of {service}, which has the details under that job id.";

    /// <summary>Full technical account of an exception and its causes, for the log and operators.</summary>
    public static string Detail(Exception exception) => exception.ToString();

    public static string Detail(ExceptionInfo exception)
    {
        var text = new StringBuilder();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (text.Length > 0) text.Append("\n ---> ");
            text.Append(e.ExceptionType).Append(": ").Append(e.Message);
            if (!string.IsNullOrEmpty(e.StackTrace)) text.Append('\n').Append(e.StackTrace);
        }
        return text.ToString();
    }

    /// <summary>The service name each Program.cs gives AddSsbTomoDefaults ("ssbtomo-segmentation"; "ssbtomo" for the CLI).</summary>
    public static string ServiceName(HostInfo? host, string stage)
    {
        var assembly = host?.Assembly;
        if (!string.IsNullOrWhiteSpace(assembly) && assembly.StartsWith("ssbtomo", StringComparison.OrdinalIgnoreCase))
            return assembly.Replace('.', '-').ToLowerInvariant();
        return "ssbtomo-" + stage switch
        {
            "denoise" => "segmentation",
            "ingest" or "alignment" or "segmentation" or "reconstruction" or "metrics" => stage,
            _ => "orchestrator",
        };
    }

    // Errors of the share drive, the blob store or the network: after every retry the user's best move is to check
    // that storage, not to report a bug.
    private static readonly HashSet<string> StorageExceptionTypes =
    [
        "System.IO.IOException", "System.IO.DirectoryNotFoundException", "System.IO.FileNotFoundException",
        "System.IO.DriveNotFoundException", "System.IO.PathTooLongException", "System.UnauthorizedAccessException",
        "System.TimeoutException", "System.Net.Http.HttpRequestException", "System.Net.Sockets.SocketException",
        "Azure.RequestFailedException",
    ];

    private static bool IsStorageProblem(ExceptionInfo exception) => StorageExceptionTypes.Contains(exception.ExceptionType);

    /// <summary>A framework message without the argument-name suffix that only a programmer can read.</summary>
    private static string Plain(string message) => ParameterSuffix().Replace(message ?? "", "").Trim();

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)")]
    private static partial Regex ParameterSuffix();

    private static string Sentence(string text)
    {
        text = text.Trim();
        if (text.Length == 0) return text;
        return text[^1] is '.' or '!' or '?' ? text : text + ".";
    }

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
