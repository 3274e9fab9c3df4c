using System.Diagnostics;

namespace SsbTomo.TestSupport;

/// <summary>
/// Runs a script under Debian's /usr/bin/python3, which has scikit-image, scipy, scikit-learn, tifffile
/// and zarr (the independent peers); the pyenv python3 first on PATH has none of them.
/// </summary>
public static class PythonOracle
{
    public const string Interpreter = "/usr/bin/python3";

    /// <summary>Runs <paramref name="script"/> with arguments; returns stdout, throws with stderr on failure.</summary>
    public static string Run(string script, params string[] args)
    {
        var scriptPath = Path.Combine(Path.GetTempPath(), $"ssbtomo-oracle-{Guid.NewGuid():N}.py");
        File.WriteAllText(scriptPath, script);
        try
        {
            var psi = new ProcessStartInfo(Interpreter)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(scriptPath);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["PYTHONHASHSEED"] = "0";
            psi.Environment.Remove("PYTHONPATH");
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start python3");
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var stdout = stdoutTask.Result;
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"oracle script failed (exit {p.ExitCode}):\n{stderr}\n--- stdout ---\n{stdout}");
            return stdout;
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }
}
