using SsbTomo.Imaging;

namespace SsbTomo.TestSupport;

/// <summary>Sparse training labels drawn from a truth image as a person would draw them.</summary>
public static class Strokes
{
    /// <summary>
    /// Short straight runs inside one phase (not within a pixel of another), the same budget for every phase present,
    /// at most <paramref name="share"/> of the slice's pixels in all.
    /// </summary>
    public static Image2D<byte> Draw(Image2D<byte> truth, int seed, double share = 0.02, int strokeLength = 12)
    {
        var random = new Random(seed);
        var (h, w) = (truth.Height, truth.Width);
        var labels = new Image2D<byte>(h, w);
        bool Interior(int y, int x, byte phase)
        {
            for (var dy = -1; dy <= 1; dy++)
                for (var dx = -1; dx <= 1; dx++)
                {
                    var (yy, xx) = (y + dy, x + dx);
                    if (yy < 0 || yy >= h || xx < 0 || xx >= w || truth[yy, xx] != phase) return false;
                }
            return true;
        }
        var present = truth.Pixels.Distinct().Where(p => p != 0).ToArray();
        var perPhase = (int)(share * h * w / present.Length);
        foreach (var phase in present)
        {
            var starts = Enumerable.Range(0, h * w).Where(i => Interior(i / w, i % w, phase)).ToArray();
            var budget = perPhase;
            for (var attempt = 0; attempt < 10_000 && budget > 0 && starts.Length > 0; attempt++)
            {
                var start = starts[random.Next(starts.Length)];
                var (y, x) = (start / w, start % w);
                var (dy, dx) = random.Next(4) switch { 0 => (0, 1), 1 => (1, 0), 2 => (1, 1), _ => (1, -1) };
                for (var s = 0; s < strokeLength && budget > 0 && y < h && x >= 0 && x < w && Interior(y, x, phase); s++, y += dy, x += dx)
                    if (labels[y, x] == 0)
                    {
                        labels[y, x] = phase;
                        budget--;
                    }
            }
        }
        return labels;
    }
}
