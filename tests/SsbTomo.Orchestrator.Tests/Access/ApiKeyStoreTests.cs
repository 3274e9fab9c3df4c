using SsbTomo.Orchestrator.Access;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests.Access;

public class ApiKeyStoreTests
{
    [Fact]
    public void A_made_key_is_found_through_its_file_line_and_the_line_holds_no_part_of_the_key()
    {
        var key = ApiKeyStore.NewKey();
        var line = ApiKeyStore.FileLine("alice", Roles.Operator, key);
        var store = ApiKeyStore.Parse(["# keys", "", line, ApiKeyStore.FileLine("bob", Roles.Viewer, ApiKeyStore.NewKey())], "test");

        Assert.Equal(new ApiKeyHolder("alice", Roles.Operator), store.Find(key));
        Assert.Null(store.Find(key[..^1]));
        Assert.Null(store.Find(key + "x"));
        Assert.Null(store.Find(""));
        Assert.DoesNotContain(key[ApiKeyStore.KeyPrefix.Length..][..8], line);
        // 32 random bytes in base64url: 43 characters after the prefix.
        Assert.Equal(ApiKeyStore.KeyPrefix.Length + 43, key.Length);
        Assert.NotEqual(key, ApiKeyStore.NewKey());
    }

    [Fact]
    public void The_hash_is_plain_sha256_of_the_key_so_an_operator_can_make_a_line_with_sha256sum()
    {
        // printf '%s' 'abc' | sha256sum
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiKeyStore.HashHex("abc"));
    }

    public static TheoryData<string, string> MalformedLines => new()
    {
        { "alice operator", "expected 'name role sha256hex' (3 fields), found 2" },
        { "alice operator ab12 extra", "found 4" },
        { "alice admin " + new string('a', 64), "unknown role 'admin'" },
        { "alice operator " + new string('g', 64), "must be the key's SHA-256 as 64 hex digits" },
        { "alice operator ssbtomo_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not the key itself" },
        { "al/ice operator " + new string('a', 64), "the name must be" },
        { "bob viewer " + new string('b', 64), "the name 'bob' is used twice" },
        { "carol viewer " + new string('0', 64), "the same key is listed twice" },
    };

    [Theory]
    [MemberData(nameof(MalformedLines))]
    public void A_malformed_line_refuses_the_whole_file_naming_the_file_and_the_line(string badLine, string expected)
    {
        string[] lines = ["bob viewer " + new string('0', 64), "# a comment", badLine];

        var error = Assert.Throws<AccessConfigurationException>(() => ApiKeyStore.Parse(lines, "/etc/ssbtomo/api-keys"));

        Assert.Contains("/etc/ssbtomo/api-keys line 3", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_missing_or_empty_key_file_is_refused_saying_how_to_make_one()
    {
        using var dir = new TempDirectory("ssbtomo-keys");
        var missing = Path.Combine(dir.Path, "missing");
        Assert.Contains($"{missing} does not exist", Assert.Throws<AccessConfigurationException>(() => ApiKeyStore.Load(missing)).Message);

        var empty = Path.Combine(dir.Path, "empty");
        File.WriteAllText(empty, "# nobody yet\n");
        Assert.Contains("has no keys", Assert.Throws<AccessConfigurationException>(() => ApiKeyStore.Load(empty)).Message);
    }

    [Fact]
    public void A_demoted_or_removed_holder_no_longer_holds_the_role()
    {
        var store = ApiKeyStore.Parse([ApiKeyStore.FileLine("alice", Roles.Viewer, ApiKeyStore.NewKey())], "test");
        Assert.True(store.Holds("alice", Roles.Viewer));
        Assert.False(store.Holds("alice", Roles.Operator));
        Assert.False(store.Holds("bob", Roles.Viewer));
    }
}
