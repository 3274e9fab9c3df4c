using SsbTomo.Hosting;
using SsbTomo.TestSupport;

namespace SsbTomo.Orchestrator.Tests;

/// <summary>The confinement rule on real folders and links (Linux semantics: what the kernel would open).</summary>
public class SharePathsTests : IDisposable
{
    private readonly TempDirectory _dir = new("ssbtomo-sharepaths");
    private readonly string _share;
    private readonly string _outside;

    public SharePathsTests()
    {
        _share = Directory.CreateDirectory(Path.Combine(_dir.Path, "share")).FullName;
        _outside = Directory.CreateDirectory(Path.Combine(_dir.Path, "outside")).FullName;
        Directory.CreateDirectory(Path.Combine(_share, "stack"));
        Directory.CreateDirectory(Path.Combine(_outside, "dir"));
        File.WriteAllText(Path.Combine(_outside, "secret.tif"), "x");
    }

    public void Dispose() => _dir.Dispose();

    private Confinement Confine(string path) => SharePaths.Confine(path, [_share]);

    [Fact]
    public void A_folder_inside_the_root_and_the_root_itself_are_accepted_as_they_are()
    {
        Assert.Equal(Path.Combine(_share, "stack"), Confine(Path.Combine(_share, "stack")).ResolvedPath);
        Assert.Equal(_share, Confine(_share).ResolvedPath);
        Assert.Equal(_share, Confine(_share + "/").ResolvedPath);
    }

    [Fact]
    public void A_path_that_does_not_exist_yet_is_judged_by_where_it_would_be()
    {
        Assert.Equal(Path.Combine(_share, "later", "stack"), Confine(Path.Combine(_share, "later", "stack")).ResolvedPath);
        Assert.False(Confine(Path.Combine(_outside, "later")).IsAllowed);
    }

    [Fact]
    public void Paths_outside_are_refused_with_a_reason()
    {
        var refused = Confine(Path.Combine(_outside, "dir"));
        Assert.Null(refused.ResolvedPath);
        Assert.Equal("it lies outside the share roots", refused.Reason);
        Assert.False(Confine("/etc/passwd").IsAllowed);
        Assert.False(Confine("/").IsAllowed);
    }

    [Fact]
    public void A_sibling_whose_name_starts_with_the_root_is_outside()
    {
        var sibling = Directory.CreateDirectory(_share + "2").FullName;
        Assert.False(Confine(Path.Combine(sibling, "stack")).IsAllowed);
        Assert.False(Confine(sibling).IsAllowed);
        Assert.False(SharePaths.IsWithin("/tmp/x/share2", "/tmp/x/share"));
        Assert.True(SharePaths.IsWithin("/tmp/x/share/a", "/tmp/x/share/"));
        Assert.True(SharePaths.IsWithin("/anything", "/"));
    }

    [Fact]
    public void Dot_dot_is_applied_before_the_check()
    {
        Assert.False(Confine(Path.Combine(_share, "..", "outside", "dir")).IsAllowed);
        Assert.False(Confine(_share + "/stack/../../outside").IsAllowed);
        Assert.Equal(Path.Combine(_share, "other"), Confine(_share + "/stack/./../other").ResolvedPath);
    }

    [Fact]
    public void A_link_inside_the_root_is_judged_by_its_target()
    {
        var toOutside = Path.Combine(_share, "escape");
        Directory.CreateSymbolicLink(toOutside, Path.Combine(_outside, "dir"));
        File.CreateSymbolicLink(Path.Combine(_share, "slice.tif"), "../outside/secret.tif");
        Directory.CreateSymbolicLink(Path.Combine(_share, "alias"), "stack");

        Assert.False(Confine(toOutside).IsAllowed);
        Assert.False(Confine(Path.Combine(toOutside, "below")).IsAllowed);
        Assert.False(Confine(Path.Combine(_share, "slice.tif")).IsAllowed);
        Assert.Equal(Path.Combine(_share, "stack"), Confine(Path.Combine(_share, "alias")).ResolvedPath);
    }

    [Fact]
    public void Dot_dot_after_a_link_climbs_from_the_link_target_as_the_system_does()
    {
        // Lexically share/escape/../stack is share/stack; the kernel opens outside/stack.
        Directory.CreateSymbolicLink(Path.Combine(_share, "escape"), Path.Combine(_outside, "dir"));
        Directory.CreateDirectory(Path.Combine(_outside, "stack"));

        Assert.False(Confine(Path.Combine(_share, "escape", "..", "stack")).IsAllowed);
    }

    [Fact]
    public void A_root_reached_through_a_link_is_the_same_root()
    {
        var linkedRoot = Path.Combine(_dir.Path, "share-link");
        Directory.CreateSymbolicLink(linkedRoot, _share);

        Assert.Equal(Path.Combine(_share, "stack"), SharePaths.Confine(Path.Combine(linkedRoot, "stack"), [_share]).ResolvedPath);
        Assert.Equal(Path.Combine(_share, "stack"), SharePaths.Confine(Path.Combine(_share, "stack"), [linkedRoot]).ResolvedPath);
        Assert.False(SharePaths.Confine(Path.Combine(_outside, "dir"), [linkedRoot]).IsAllowed);
    }

    [Fact]
    public void A_loop_of_links_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_share, "a"), Path.Combine(_share, "b"));
        Directory.CreateSymbolicLink(Path.Combine(_share, "b"), Path.Combine(_share, "a"));

        Assert.Equal("it has too many levels of symbolic links", Confine(Path.Combine(_share, "a", "stack")).Reason);
    }

    [Fact]
    public void Relative_paths_and_an_empty_list_of_roots_are_refused()
    {
        Assert.Equal("it is not an absolute path", Confine("share/stack").Reason);
        Assert.Equal("no share roots are configured", SharePaths.Confine(Path.Combine(_share, "stack"), []).Reason);
    }

    [Fact]
    public void The_roots_are_the_configured_ones_and_the_watch_root()
    {
        var options = new SsbTomoOptions { ShareRoots = ["/a", " ", "/b/"] };
        options.Ingest.WatchRoot = "/c";
        Assert.Equal(["/a", "/b/", "/c"], SharePaths.Roots(options));
        Assert.Empty(SharePaths.Roots(new SsbTomoOptions()));
    }
}
