using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SsbTomo.Orchestrator.Access;
using SsbTomo.Orchestrator.Tests.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Security;

/// <summary>
/// POST /api/jobs with an operator's key and bodies generated from a fixed seed, each malformed in its own way: every
/// answer is a 4xx that gives away no stack trace and no server path, and no job is started.
/// </summary>
public sealed class SubmitFuzzTests
{
    private const int Seed = 13;
    private const string Json = "application/json";
    // The API's limits (SubmitJobRequestReader): the cases go just past them.
    private const int MaxSourcePathChars = 4096;
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary>One malformed request: what it tries, its bytes, and the content type it claims (null: none).</summary>
    public sealed record Case(string Kind, byte[] Body, string? ContentType = Json)
    {
        public override string ToString() => $"{Kind} ({Body.Length} bytes, {ContentType ?? "no content type"})";
    }

    /// <summary>
    /// A source path that would pass every other check if it existed: under the share, so that a mutation which
    /// leaves the body well-formed still cannot start a job (it does not exist).
    /// </summary>
    private static string MissingStack(string share) => Path.Combine(share, "no-such-stack");

    public static IReadOnlyList<Case> Generate(string share, int seed = Seed)
    {
        var random = new Random(seed);
        var missing = MissingStack(share);
        var cases = new List<Case>();
        void Add(string kind, string body, string? type = Json) => cases.Add(new Case(kind, Encoding.UTF8.GetBytes(body), type));
        string Quoted(string s) => JsonSerializer.Serialize(s);
        string Valid(string path) => $"{{\"sourcePath\":{Quoted(path)},\"voxelSizeNm\":{{\"x\":5,\"y\":5,\"z\":10}}}}";

        // Wrong types where the path and the voxel size go, and whole bodies that are not an object.
        string[] wrongValues = ["0", "-1", "1.5", "1e999", "true", "false", "null", "[]", "[\"/share/a\"]", "{}", "{\"path\":\"/x\"}", "\"\"", "\"   \""];
        foreach (var value in wrongValues) Add($"sourcePath = {value}", $"{{\"sourcePath\":{value}}}");
        foreach (var value in wrongValues.Where(v => v != "null"))
            Add($"voxelSizeNm = {value}", $"{{\"sourcePath\":{Quoted(missing)},\"voxelSizeNm\":{value}}}");
        foreach (var body in new[] { "null", "[]", "[{}]", $"[{Quoted(missing)}]", "0", "true", Quoted(missing), "\"\"", $"[{Valid(missing)}]" })
            Add($"body = {body[..Math.Min(20, body.Length)]}", body);

        // Voxel sizes out of range or not numbers.
        foreach (var number in new[] { "0", "-5", "0.01", "1e999", "-1e999", "100001", "1e308", "5e-324", "\"5\"", "null", "[5]", "NaN", "Infinity", "0x10", "01", "+5", ".5", "5." })
            foreach (var axis in new[] { "x", "z" })
                Add($"voxelSizeNm.{axis} = {number}", Valid(missing).Replace($"\"{axis}\":{(axis == "z" ? "10" : "5")}", $"\"{axis}\":{number}"));
        Add("voxelSizeNm missing an axis", $"{{\"sourcePath\":{Quoted(missing)},\"voxelSizeNm\":{{\"x\":5,\"y\":5}}}}");
        Add("voxelSizeNm with a fourth axis", $"{{\"sourcePath\":{Quoted(missing)},\"voxelSizeNm\":{{\"x\":5,\"y\":5,\"z\":5,\"w\":5}}}}");

        // Unknown, misspelt, duplicated and missing fields; mass assignment of server-owned state.
        foreach (var field in new[] { "source", "path", "sourcepath_", "SourcePath2", "jobId", "state", "outputPrefix", "chunkSlices", "role", "user", "__proto__", "", " sourcePath" })
            Add($"unknown field {field}", $"{{\"sourcePath\":{Quoted(missing)},{Quoted(field)}:\"x\"}}");
        Add("no fields", "{}");
        Add("only voxelSizeNm", "{\"voxelSizeNm\":null}");
        Add("sourcePath twice", $"{{\"sourcePath\":{Quoted(missing)},\"sourcePath\":{Quoted(missing)}}}");
        Add("sourcePath twice in two spellings", $"{{\"sourcePath\":{Quoted(missing)},\"SOURCEPATH\":{Quoted(missing)}}}");

        // Paths that must not get through: outside the roots, traversal, relative, control characters, huge, missing.
        foreach (var path in new[] { "/etc/passwd", "/", "/proc/self/environ", $"{share}/../outside", $"{share}/../../etc", "relative/stack", "..", "~/stack",
                     "file:///etc/passwd", "http://169.254.169.254/latest/meta-data", "\\\\server\\share\\stack", $"{share}/a\u0000b", $"{share}/a\nb", $"{share}/\u001b[31m",
                     missing, share + "2", new string('a', MaxSourcePathChars + 1), share + "/" + new string('b', 5000) })
            Add($"sourcePath {path[..Math.Min(30, path.Length)]}", $"{{\"sourcePath\":{Quoted(path)}}}");

        // Deep nesting, in the body and in each field, past the parser's depth limit.
        foreach (var depth in new[] { 9, 10, 64, 1000, 5000 })
        {
            Add($"array nesting {depth}", new string('[', depth) + new string(']', depth));
            Add($"object nesting {depth} in voxelSizeNm", $"{{\"sourcePath\":{Quoted(missing)},\"voxelSizeNm\":" + string.Concat(Enumerable.Repeat("{\"x\":", depth)) + "1" + new string('}', depth + 1));
            Add($"array nesting {depth} in sourcePath", "{\"sourcePath\":" + new string('[', depth) + new string(']', depth) + "}");
        }

        // Truncated JSON: a well-formed body cut at random places.
        var whole = Valid(missing);
        foreach (var cut in Enumerable.Range(0, 25).Select(_ => random.Next(0, whole.Length)).Append(whole.Length - 1).Distinct())
            Add($"truncated at {cut}", whole[..cut]);

        // Invalid UTF-8 in the path, in a field name, and bare.
        byte[][] invalidUtf8 = [[0xff], [0xc3], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0x80]];
        foreach (var bad in invalidUtf8)
        {
            var hex = Convert.ToHexString(bad);
            cases.Add(new Case($"invalid UTF-8 {hex} in sourcePath", [.. Encoding.UTF8.GetBytes($"{{\"sourcePath\":\"{share}/"), .. bad, .. "\"}"u8]));
            cases.Add(new Case($"invalid UTF-8 {hex} in a field name", [.. "{\""u8, .. bad, .. "\":1}"u8]));
            cases.Add(new Case($"invalid UTF-8 {hex} as the body", bad));
        }
        cases.Add(new Case("UTF-16 body", Encoding.Unicode.GetBytes(whole)));
        cases.Add(new Case("UTF-8 byte order mark then a bad path", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("{\"sourcePath\":\"/etc/passwd\"}")]));

        // Not JSON, or JSON-ish extensions the parser must refuse.
        foreach (var body in new[] { "", " ", "\n", "{", "}", "{\"sourcePath\"}", "{\"sourcePath\":}", "{sourcePath:\"/x\"}", "{'sourcePath':'/x'}", "{\"sourcePath\":\"/x\",}",
                     "{\"sourcePath\":\"/x\"} {}", "/* c */ {\"sourcePath\":\"/x\"}", "{\"sourcePath\":\"\\u12\"}", "{\"sourcePath\":\"\\x41\"}", "<xml/>", "sourcePath=/x", "\u0000" })
            Add($"not JSON: {body.Replace("\n", "\\n")}", body);

        // Sizes around and past the body limit.
        foreach (var size in new[] { MaxBodyBytes + 1, MaxBodyBytes * 2 })
        {
            Add($"{size}-byte path", $"{{\"sourcePath\":{Quoted(share + "/" + new string('c', size))}}}");
            Add($"{size}-byte unknown field", $"{{\"sourcePath\":{Quoted(missing)},\"pad\":{Quoted(new string(' ', size))}}}");
        }
        Add("10 000 unknown fields", "{" + string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"\"f{i}\":0")) + "}");

        // Wrong or missing content type with an otherwise plausible body.
        foreach (var type in new[] { null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonp", "text/json-ish", "*/*" })
            Add($"content type {type ?? "none"}", Valid(missing), type);
        cases.Add(new Case("form post of a path", Encoding.UTF8.GetBytes($"sourcePath={Uri.EscapeDataString(missing)}"), "application/x-www-form-urlencoded"));

        // Random single-byte and multi-byte mutations of a well-formed body.
        var template = Encoding.UTF8.GetBytes(whole);
        for (var i = 0; i < 40; i++)
        {
            var mutated = (byte[])template.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                var at = random.Next(mutated.Length);
                byte replacement;
                do replacement = (byte)random.Next(256); while (replacement == mutated[at]);
                mutated[at] = replacement;
            }
            cases.Add(new Case($"mutation {i}", mutated));
        }
        return cases;
    }

    [Fact]
    public void The_generator_is_deterministic_and_makes_at_least_200_distinct_bodies()
    {
        var first = Generate("/share");
        var again = Generate("/share");
        Assert.True(first.Count >= 200, $"{first.Count} cases");
        Assert.Equal(first.Select(c => Convert.ToHexString(c.Body) + c.ContentType), again.Select(c => Convert.ToHexString(c.Body) + c.ContentType));
        Assert.True(first.Select(c => Convert.ToHexString(c.Body) + c.ContentType).Distinct().Count() >= 200);
    }

    [Fact]
    public async Task Every_malformed_body_gets_a_4xx_without_a_stack_trace_or_a_server_path_and_starts_no_job()
    {
        using var dir = new TempDirectory("ssbtomo-fuzz");
        var operatorKey = ApiKeyStore.NewKey();
        var keys = Path.Combine(dir.Path, "api-keys");
        await File.WriteAllLinesAsync(keys, [ApiKeyStore.FileLine("otto", Roles.Operator, operatorKey)]);
        await using var host = await OrchestratorHost.StartAsync(new Dictionary<string, string?> { ["SsbTomo:Auth:ApiKeysFile"] = keys }, dir: dir);
        var share = Path.GetDirectoryName(host.Stack)!;
        // What may not leak: where the server keeps its data and its code. The share root may: a refused path is told the allowed roots.
        string[] secrets = [Path.Combine(dir.Path, "data"), keys, AppContext.BaseDirectory.TrimEnd('/'), "/work/", "/root/", "/usr/share/dotnet"];
        using var http = host.Client();
        http.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, operatorKey);

        var failures = new List<string>();
        var cases = Generate(share);
        foreach (var fuzz in cases)
        {
            using var content = new ByteArrayContent(fuzz.Body);
            if (fuzz.ContentType is not null) content.Headers.ContentType = MediaTypeHeaderValue.Parse(fuzz.ContentType);
            using var response = await http.PostAsync("/api/jobs", content);
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (status is < 400 or >= 500) failures.Add($"{fuzz}: {status} {body}");
            else if (body.Contains("Exception", StringComparison.Ordinal) || body.Contains("   at ", StringComparison.Ordinal) || body.Contains(".cs:line", StringComparison.Ordinal))
                failures.Add($"{fuzz}: stack trace in {body}");
            else if (secrets.FirstOrDefault(secret => body.Contains(secret, StringComparison.Ordinal)) is { } leaked)
                failures.Add($"{fuzz}: {leaked} in {body}");
            else if (status == 400 && !body.Contains("\"title\"", StringComparison.Ordinal))
                failures.Add($"{fuzz}: a 400 that is no problem details: {body}");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} failed:\n" + string.Join("\n", failures.Take(30)));
        using var list = await http.GetAsync("/api/jobs");
        Assert.Equal(0, JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
    }
}
