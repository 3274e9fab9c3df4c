using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace SsbTomo.Orchestrator.Access;

/// <summary>Who an API key belongs to and what it may do.</summary>
public sealed record ApiKeyHolder(string Name, string Role);

/// <summary>
/// The API keys, as SHA-256 hashes only: the file (<c>SsbTomo:Auth:ApiKeysFile</c>) has one key per line,
/// <c>name role sha256hex</c>, with blank lines and <c>#</c> comments allowed. The keys themselves are 256 random bits,
/// so a plain hash is enough: nobody can guess a key from its hash, and a slow password hash would buy nothing.
/// </summary>
public sealed partial class ApiKeyStore
{
    public const string KeyPrefix = "ssbtomo_";

    private readonly (ApiKeyHolder Holder, byte[] Hash)[] _entries;

    private ApiKeyStore((ApiKeyHolder, byte[])[] entries) => _entries = entries;

    public static ApiKeyStore Empty { get; } = new([]);

    public int Count => _entries.Length;

    /// <summary>Reads the key file; any line that is not a valid key refuses the whole file, naming the line.</summary>
    public static ApiKeyStore Load(string path)
    {
        if (!File.Exists(path))
            throw new AccessConfigurationException(
                $"SsbTomo:Auth:ApiKeysFile: {path} does not exist. Create it with lines from `ssbtomo apikey --name NAME --role viewer|operator` " +
                "(on Kubernetes: the Secret ssbtomo-api-keys, see the README's Access section).");
        var store = Parse(File.ReadAllLines(path), path);
        if (store.Count == 0)
            throw new AccessConfigurationException($"SsbTomo:Auth:ApiKeysFile: {path} has no keys: add a line from `ssbtomo apikey`.");
        return store;
    }

    public static ApiKeyStore Parse(IReadOnlyList<string> lines, string source)
    {
        var entries = new List<(ApiKeyHolder, byte[])>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hashes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            string Where() => $"SsbTomo:Auth:ApiKeysFile: {source} line {i + 1}";
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 3)
                throw new AccessConfigurationException($"{Where()}: expected 'name role sha256hex' (3 fields), found {fields.Length}. " +
                                                       "Make lines with `ssbtomo apikey`.");
            var (name, role, hex) = (fields[0], fields[1], fields[2]);
            if (!Name().IsMatch(name))
                throw new AccessConfigurationException($"{Where()}: the name must be 1-64 letters, digits or . _ @ -");
            if (!Roles.All.Contains(role))
                throw new AccessConfigurationException($"{Where()}: unknown role '{role}'; the roles are {string.Join(", ", Roles.All)}");
            if (!Sha256Hex().IsMatch(hex))
                throw new AccessConfigurationException($"{Where()}: the third field must be the key's SHA-256 as 64 hex digits, not the key itself");
            if (!names.Add(name))
                throw new AccessConfigurationException($"{Where()}: the name '{name}' is used twice; every key needs its own name");
            if (!hashes.Add(hex))
                throw new AccessConfigurationException($"{Where()}: the same key is listed twice");
            entries.Add((new ApiKeyHolder(name, role), Convert.FromHexString(hex)));
        }
        return new ApiKeyStore([.. entries]);
    }

    /// <summary>
    /// The holder of <paramref name="presentedKey"/>, or null. Every stored hash is compared in fixed time, and all of
    /// them are, so the answer takes as long for a near miss as for a wrong key.
    /// </summary>
    public ApiKeyHolder? Find(string presentedKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey));
        ApiKeyHolder? found = null;
        foreach (var (holder, stored) in _entries)
            if (CryptographicOperations.FixedTimeEquals(hash, stored))
                found = holder;
        return found;
    }

    /// <summary>Whether a holder signed in earlier still has a key with that role (keys can be removed or demoted).</summary>
    public bool Holds(string name, string role) => _entries.Any(e => e.Holder.Name == name && e.Holder.Role == role);

    /// <summary>A new key: 256 bits from the system's cryptographic generator, base64url, with a recognisable prefix.</summary>
    public static string NewKey() => KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static string HashHex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The line for the key file: never the key, only its hash.</summary>
    public static string FileLine(string name, string role, string key)
    {
        if (!Name().IsMatch(name)) throw new ArgumentException("the name must be 1-64 letters, digits or . _ @ -");
        if (!Roles.All.Contains(role)) throw new ArgumentException($"the role must be one of {string.Join(", ", Roles.All)}");
        return $"{name} {role} {HashHex(key)}";
    }

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,64}$")]
    private static partial Regex Name();

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();
}
