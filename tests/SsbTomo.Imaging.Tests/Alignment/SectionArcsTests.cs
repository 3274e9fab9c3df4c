using SsbTomo.TestSupport;
using SsbTomo.Imaging.Alignment;
using Xunit.Abstractions;

namespace SsbTomo.Imaging.Tests.Alignment;

/// <summary>
/// Sections of particles that are cut by the field edge or touch a neighbour, placed by the circles their outlines
/// follow (<see cref="ParticleDetectionOptions.ForDrift"/>), and what that does for the drift of a stack of large,
/// densely packed particles in a small field (phantom family members 12 and 19 failed there).
/// </summary>
public class SectionArcsTests(ITestOutputHelper output)
{
    [Fact]
    public void Cut_and_touching_sections_are_found_at_their_circles_centres_and_short_arcs_and_elongated_blobs_are_not()
    {
        var scene = new SectionScene(220, 260);
        var whole = new (double Y, double X, double R)[] { (60.3, 70.7, 18), (150.6, 80.2, 25.5), (160.2, 200.8, 21) };
        var arcs = new (double Y, double X, double R)[]
        {
            (8.4, 130.2, 30),       // cut by the top edge
            (110.7, 252.3, 25),     // cut by the right edge
            (212.6, 30.1, 28),      // cut by the bottom edge
            (195.3, 110.6, 14),     // two touching particles
            (192.1, 137.4, 13),
        };
        foreach (var (y, x, r) in whole.Concat(arcs)) scene.Ellipse(y, x, r, r, 195);
        scene.Ellipse(-13, 200, 30, 30, 195);         // centre outside the field: a third of its outline is seen
        scene.Ellipse(235, 200, 20, 20, 195);         // less than a quarter of its outline is seen
        scene.Ellipse(110, 150, 10, 24, 195);         // elongated
        scene.DarkSpecks(count: 120, grey: 25, seed: 5);
        scene.DarkSpecks(count: 60, grey: 65, seed: 6);
        var image = scene.Render(noiseSigma: 6, seed: 7);

        var sections = ParticleSections.Detect(image, ParticleDetectionOptions.ForDrift);
        var wholeOnly = ParticleSections.Detect(image);

        output.WriteLine(string.Join("\n", sections.Select(s => $"{s.Y:F3} {s.X:F3} r {s.RadiusPx:F2}")));
        Assert.Equal(whole.Length, wholeOnly.Length);
        Assert.Equal(whole.Length + arcs.Length + 1, sections.Length);
        foreach (var (y, x, r) in arcs)
        {
            var found = sections.OrderBy(s => Math.Abs(s.Y - y) + Math.Abs(s.X - x)).First();
            Assert.True(Math.Abs(found.Y - y) < 0.2 && Math.Abs(found.X - x) < 0.2, $"section at ({y}, {x}) found at ({found.Y:F3}, {found.X:F3})");
            Assert.InRange(found.RadiusPx, r - 1.5, r + 1.5);
        }
        foreach (var section in wholeOnly) Assert.Contains(section, sections);
        // The short arc places its circle across its axis (x) as well as a whole section does, along it (y) far worse.
        var shortArc = sections.OrderBy(s => Math.Abs(s.Y + 13) + Math.Abs(s.X - 200)).First();
        Assert.True(Math.Abs(shortArc.X - 200) < 0.2, $"short arc's centre x {shortArc.X:F3}");
        Assert.True(shortArc.VarianceScaleY > 10 * shortArc.VarianceScaleX, $"variance scales y {shortArc.VarianceScaleY:F1}, x {shortArc.VarianceScaleX:F1}");
        Assert.All(wholeOnly, s => Assert.True(s.VarianceScaleY == 1 && s.VarianceScaleX == 1));
    }

    /// <summary>
    /// As <see cref="Large_particles_cut_by_the_field_edge_anchor_the_drift_through_their_circles"/>, but the spheres' centres
    /// lie outside the field, so that a third or less of each section's outline is seen (phantom family members 122, 135:
    /// one or two large particles, mostly outside a small field). Each such circle still places its particle along the
    /// field edge that cuts it.
    /// </summary>
    [Fact]
    public void Particles_centred_outside_the_field_anchor_the_drift_along_the_edges_that_cut_them()
    {
        const int n = 48, height = 128, width = 150;
        var spheres = new (double Z, double Y, double X, double R)[]
        {
            (24, -14, 75, 36), (24, height + 14, 75, 36), (24, 64, -12, 32), (24, 64, width + 12, 32),
        };
        var (truth, registered, images) = BiasedDriftThroughSpheres(n, height, width, spheres, seed: 22);
        var sections = images.Select(image => ParticleSections.Detect(image, ParticleDetectionOptions.ForDrift)).ToList();

        var anchored = AnchoredDrift.Refine(registered, ParticleTracks.Link(sections, registered));

        var (registeredRms, anchoredRms) = (Rms(registered, truth), Rms(anchored.Drift, truth));
        output.WriteLine($"registered {registeredRms:F3} px; anchored {anchoredRms:F3} px ({anchored.Tracks} tracks, {anchored.AnchoredSlices} slices)");
        Assert.True(registeredRms > 1, $"the registration bias must matter (registered {registeredRms:F3} px)");
        Assert.Equal(n, anchored.AnchoredSlices);
        Assert.True(anchoredRms < 0.25, $"anchored on the short arcs: drift RMS error {anchoredRms:F3} px");
    }

    /// <summary>
    /// 48 slices of 128x150 through spheres of radius 30-36 px that the field edges cut: only one of them is whole, and
    /// only in the first and last 8 slices. The registered drift carries a bias (0.07 px per slice, as evolving structure gives); whole
    /// sections alone anchor it at the ends of the stack, the circles of the cut ones in every slice.
    /// </summary>
    [Fact]
    public void Large_particles_cut_by_the_field_edge_anchor_the_drift_through_their_circles()
    {
        const int n = 48, height = 128, width = 150;
        var spheres = new (double Z, double Y, double X, double R)[]
        {
            (24, 24, 75, 36), (24, 104, 75, 36), (24, 64, 20, 30), (24, 64, 130, 30), // one cut by each edge of the field
        };
        var (truth, registered, images) = BiasedDriftThroughSpheres(n, height, width, spheres, seed: 21);
        var whole = images.Select(image => ParticleSections.Detect(image)).ToList();
        var withArcs = images.Select(image => ParticleSections.Detect(image, ParticleDetectionOptions.ForDrift)).ToList();

        var before = AnchoredDrift.Refine(registered, ParticleTracks.Link(whole, registered));
        var after = AnchoredDrift.Refine(registered, ParticleTracks.Link(withArcs, registered));

        var (registeredRms, beforeRms, afterRms) = (Rms(registered, truth), Rms(before.Drift, truth), Rms(after.Drift, truth));
        output.WriteLine($"registered {registeredRms:F3} px; whole sections {beforeRms:F3} px ({before.Tracks} tracks, {before.AnchoredSlices} slices); "
            + $"with circles {afterRms:F3} px ({after.Tracks} tracks, {after.AnchoredSlices} slices)");
        Assert.True(beforeRms > 0.5, $"the scene must defeat whole sections alone (whole sections {beforeRms:F3} px)");
        Assert.Equal(n, after.AnchoredSlices);
        Assert.True(afterRms < 0.2, $"anchored on the circles: drift RMS error {afterRms:F3} px");
    }

    /// <summary>
    /// <paramref name="n"/> slices through bright spheres (z, y, x, radius in px) that drift by a random walk, with the
    /// registered drift carrying a bias (0.07 px per slice in y, −0.05 in x, as evolving structure gives); pores and
    /// carbon specks in the matrix are painted first so that the particles cover them.
    /// </summary>
    private static (Shift2D[] Truth, Shift2D[] Registered, List<Image2D<float>> Images) BiasedDriftThroughSpheres(
        int n, int height, int width, (double Z, double Y, double X, double R)[] spheres, int seed)
    {
        var rng = new Random(seed);
        var truth = new Shift2D[n];
        var registered = new Shift2D[n];
        for (var k = 1; k < n; k++)
        {
            var step = new Shift2D(0.4 * rng.NextGaussian(), 0.4 * rng.NextGaussian());
            truth[k] = truth[k - 1] + step;
            registered[k] = registered[k - 1] + step + new Shift2D(0.07 + 0.04 * rng.NextGaussian(), -0.05 + 0.04 * rng.NextGaussian());
        }
        var specks = Enumerable.Range(0, 30).Select(i => (Y: rng.NextDouble() * height, X: rng.NextDouble() * width, R: 2 + 3 * rng.NextDouble(), Grey: i % 3 == 0 ? 65f : 25f)).ToArray();
        var images = new List<Image2D<float>>();
        for (var k = 0; k < n; k++)
        {
            var scene = new SectionScene(height, width);
            foreach (var (y, x, r, grey) in specks) scene.Ellipse(y + truth[k].Dy, x + truth[k].Dx, r, r, grey);
            foreach (var (z, y, x, r) in spheres)
            {
                var section = r * r - (k - z) * (k - z);
                if (section > 0) scene.Ellipse(y + truth[k].Dy, x + truth[k].Dx, Math.Sqrt(section), Math.Sqrt(section), 195);
            }
            images.Add(scene.Render(noiseSigma: 6, seed: k));
        }
        return (truth, registered, images);
    }

    private static double Rms(IReadOnlyList<Shift2D> estimate, IReadOnlyList<Shift2D> truth) =>
        Math.Sqrt(estimate.Zip(truth, (e, t) => (e - t).Dy * (e - t).Dy + (e - t).Dx * (e - t).Dx).Average());

    /// <summary>
    /// The RANSAC draws' inlier count, four points at a time, is the plain test's count point by point: random outlines
    /// around random circles, points placed on the band's edges (distance R ± 0.8), and counts without a vector's worth.
    /// </summary>
    [Fact]
    public void Inliers_counted_four_at_a_time_are_those_of_the_plain_test()
    {
        var random = new Random(3);
        for (var trial = 0; trial < 300; trial++)
        {
            var circle = (Y: 200 * random.NextDouble(), X: 200 * random.NextDouble(), R: 6 + 40 * random.NextDouble());
            var points = new List<(double Y, double X)>();
            var n = random.Next(0, 90);
            for (var k = 0; k < n; k++)
            {
                var angle = 2 * Math.PI * random.NextDouble();
                var radius = (k % 3) switch { 0 => circle.R + 0.8, 1 => circle.R - 0.8, _ => circle.R + 3 * (random.NextDouble() - 0.5) };
                points.Add((circle.Y + radius * Math.Sin(angle), circle.X + radius * Math.Cos(angle)));
            }
            var plain = points.Count(p => Math.Abs(Math.Sqrt((p.Y - circle.Y) * (p.Y - circle.Y) + (p.X - circle.X) * (p.X - circle.X)) - circle.R) <= 0.8);
            Assert.Equal(plain, SectionArcs.EdgePoints.Of(points).CountInliers(circle));
        }
    }
}
