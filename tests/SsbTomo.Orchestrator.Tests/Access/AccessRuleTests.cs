using Microsoft.Extensions.Configuration;
using SsbTomo.Hosting;
using SsbTomo.Orchestrator.Access;

namespace SsbTomo.Orchestrator.Tests.Access;

/// <summary>Fail closed: which configurations start without authentication, and which refuse to.</summary>
public class AccessRuleTests
{
    private static readonly AccessOptions Nothing = new();
    private static readonly AccessOptions Keys = new() { ApiKeysFile = "/etc/ssbtomo/api-keys" };
    private static readonly AccessOptions ExplicitlyOpen = new() { Mode = AccessMode.None };

    [Theory]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://127.0.0.2:5080", true)]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://LOCALHOST", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("https://127.0.0.1:0", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://10.1.2.3:8080", false)]
    [InlineData("http://ssbtomo.example.org", false)]
    [InlineData("http://localhost.example.org", false)]
    [InlineData("http://127.0.0.1.example.org", false)]
    [InlineData("http://unix:/run/ssbtomo.sock", false)]
    [InlineData("garbage", false)]
    public void Only_loopback_addresses_count_as_one_machine(string url, bool loopback) =>
        Assert.Equal(loopback, AccessRule.IsLoopback(url));

    [Fact]
    public void One_machine_in_memory_on_loopback_with_nothing_configured_is_open()
    {
        Assert.Equal(AccessDecision.OpenOnLoopback, AccessRule.Decide(Nothing, TransportKind.InMemory, ["http://127.0.0.1:5080"]));
        Assert.Equal(AccessDecision.OpenOnLoopback, AccessRule.Decide(Nothing, TransportKind.InMemory, ["http://localhost:5080", "http://[::1]:5080"]));
    }

    [Fact]
    public void A_distributed_orchestrator_without_authentication_refuses_to_start_saying_what_to_set()
    {
        var error = Assert.Throws<AccessConfigurationException>(() => AccessRule.Decide(Nothing, TransportKind.RabbitMq, ["http://127.0.0.1:5080"]));
        Assert.Contains("transport is RabbitMq", error.Message);
        Assert.Contains("SsbTomo__Auth__ApiKeysFile", error.Message);
        Assert.Contains("SsbTomo__Auth__Oidc__Authority", error.Message);
        Assert.Contains("SsbTomo__Auth__Mode=None", error.Message);
    }

    [Fact]
    public void Listening_beyond_loopback_without_authentication_refuses_to_start_naming_the_address()
    {
        var error = Assert.Throws<AccessConfigurationException>(() =>
            AccessRule.Decide(Nothing, TransportKind.InMemory, ["http://127.0.0.1:5080", "http://0.0.0.0:5081"]));
        Assert.Contains("http://0.0.0.0:5081", error.Message);
        Assert.DoesNotContain("127.0.0.1", error.Message);
    }

    [Fact]
    public void Configured_keys_are_enforced_everywhere_even_on_loopback()
    {
        Assert.Equal(AccessDecision.Enforced, AccessRule.Decide(Keys, TransportKind.RabbitMq, ["http://*:8080"]));
        Assert.Equal(AccessDecision.Enforced, AccessRule.Decide(Keys, TransportKind.InMemory, ["http://127.0.0.1:5080"]));
        var oidc = new AccessOptions { Oidc = { Authority = "https://login.example.org", Audience = "ssbtomo" } };
        Assert.Equal(AccessDecision.Enforced, AccessRule.Decide(oidc, TransportKind.RabbitMq, ["http://*:8080"]));
    }

    [Fact]
    public void Mode_none_opens_a_distributed_orchestrator_only_when_said()
    {
        Assert.Equal(AccessDecision.OpenByChoice, AccessRule.Decide(ExplicitlyOpen, TransportKind.RabbitMq, ["http://*:8080"]));
    }

    [Fact]
    public void An_oidc_authority_without_an_audience_is_refused()
    {
        var oidc = new AccessOptions { Oidc = { Authority = "https://login.example.org" } };
        var error = Assert.Throws<AccessConfigurationException>(() => AccessRule.Decide(oidc, TransportKind.RabbitMq, ["http://*:8080"]));
        Assert.Contains("SsbTomo:Auth:Oidc:Audience", error.Message);
    }

    [Theory]
    [InlineData("http://login.example.org/realms/facility")]
    [InlineData("login.example.org")]
    [InlineData("/realms/facility")]
    public void An_oidc_authority_that_is_not_an_https_url_is_refused_at_start(string authority)
    {
        var oidc = new AccessOptions { Oidc = { Authority = authority, Audience = "ssbtomo" } };
        var error = Assert.Throws<AccessConfigurationException>(() => AccessRule.Decide(oidc, TransportKind.RabbitMq, ["http://*:8080"]));
        Assert.Contains("must be the provider's https:// issuer URL", error.Message);
    }

    [Fact]
    public void A_dashboard_client_id_without_an_authority_is_refused()
    {
        var oidc = new AccessOptions { ApiKeysFile = "/etc/ssbtomo/api-keys", Oidc = { ClientId = "ssbtomo-dashboard" } };
        var error = Assert.Throws<AccessConfigurationException>(() => AccessRule.Decide(oidc, TransportKind.InMemory, ["http://127.0.0.1:5080"]));
        Assert.Contains("SsbTomo:Auth:Oidc:Authority", error.Message);
    }

    [Fact]
    public void Listen_urls_come_from_urls_ports_and_kestrel_endpoints_and_default_to_localhost()
    {
        static IReadOnlyList<string> From(params (string Key, string Value)[] settings) =>
            AccessRule.ListenUrls(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))).Build());

        Assert.Equal(["http://localhost:5000"], From());
        Assert.Equal(["http://127.0.0.1:5080", "http://0.0.0.0:5081"], From(("urls", "http://127.0.0.1:5080; http://0.0.0.0:5081")));
        // ASPNETCORE_HTTP_PORTS (set in the .NET container images) listens on every interface.
        Assert.Equal(["http://*:8080"], From(("http_ports", "8080")));
        Assert.Equal(["https://example.org:443"], From(("Kestrel:Endpoints:Web:Url", "https://example.org:443")));
    }
}
