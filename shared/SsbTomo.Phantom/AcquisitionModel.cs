using SsbTomo.Imaging;

namespace SsbTomo.Phantom;

/// <summary>
/// The simulated FIB-SEM: stage/beam drift, curtaining, charging and detector gain drift. All terms are seeded
/// from (seed, purpose) and evolve slowly with the slice index; see <see cref="ArtefactDescription"/>.
/// </summary>
internal sealed class AcquisitionModel
{
    public const double DriftStepSigmaPx = 0.4;

    private readonly double[] _dy, _dx;
    private readonly Stripe[] _stripes;
    private readonly double _planeY, _planeX, _bumpAmp, _pYPeriod, _pXPeriod, _bumpPeriod, _phY, _phX, _phB, _bumpCy, _bumpCx, _bumpSigma;
    private readonly double _g1, _g2, _gp1, _gp2, _gph1, _gph2;
    private readonly int _height, _width;

    private readonly record struct Stripe(double X, double HalfWidth, double Amplitude, double Z0, double Z1, double Period, double Phase);

    public AcquisitionModel(PhantomOptions o, PhantomAppearance a)
    {
        _height = o.Height;
        _width = o.Width;

        // Drift: a Gaussian random walk (σ 0.4 px per slice per axis) plus a slow linear trend, DriftPx(0) = 0.
        var rng = Rng.For(o.Seed, Stream.Drift);
        double trendY = rng.Uniform(0.04, 0.06) * (rng.NextDouble() < 0.5 ? -1 : 1);
        double trendX = rng.Uniform(-0.02, 0.02);
        _dy = new double[o.Depth];
        _dx = new double[o.Depth];
        for (int z = 1; z < o.Depth; z++)
        {
            _dy[z] = _dy[z - 1] + o.DriftScale * trendY + o.DriftScale * DriftStepSigmaPx * rng.Gaussian();
            _dx[z] = _dx[z - 1] + o.DriftScale * trendX + o.DriftScale * DriftStepSigmaPx * rng.Gaussian();
        }
        // Jumps drawn after the walk, so that a stack without them keeps its bytes.
        for (var j = 0; j < o.DriftJumps && o.Depth > 1; j++)
        {
            var at = 1 + (int)(rng.NextDouble() * (o.Depth - 1));
            var angle = rng.Uniform(0, 2 * Math.PI);
            for (var z = at; z < o.Depth; z++)
            {
                _dy[z] += o.DriftJumpPx * Math.Sin(angle);
                _dx[z] += o.DriftJumpPx * Math.Cos(angle);
            }
        }
        double walked = 0;
        for (int z = 0; z < o.Depth; z++) walked = Math.Max(walked, Math.Max(Math.Abs(_dy[z]), Math.Abs(_dx[z])));
        // a stationary stack keeps the drifting one's margin, so that its specimen (built in the box) is the same
        MarginPx = (int)Math.Ceiling(walked) + a.BlurRadius + 4;
        if (o.Stationary)
        {
            Array.Clear(_dy);
            Array.Clear(_dx);
        }
        MaxDrift = o.Stationary ? 0 : walked;

        // Curtaining: vertical stripes in the specimen frame (grooves milled into the face move with it),
        // 3–40 px wide, ± the appearance's amplitude range, each living 150–600 slices with a smooth fade and a slow pulsation;
        // successive stripes of one track stay near the same x so the pattern persists and evolves slowly.
        var crng = Rng.For(o.Seed, Stream.Curtain);
        var stripes = new List<Stripe>();
        double x0 = -MarginPx - 20, x1 = o.Width + MarginPx + 20;
        int tracks = Math.Max(2, (int)((x1 - x0) / 100 * 3));
        for (int t = 0; t < tracks; t++)
        {
            double x = crng.Uniform(x0, x1);
            double z = -crng.Uniform(0, 600);
            while (z < o.Depth)
            {
                double life = crng.Uniform(150, 600);
                double amp = crng.Uniform(a.CurtainAmplitudeMin, a.CurtainAmplitudeMax) * (crng.NextDouble() < 0.5 ? -1 : 1);
                stripes.Add(new Stripe(x + 3 * crng.Gaussian(), crng.Uniform(1.5, 20), amp, z, z + life, crng.Uniform(80, 300), crng.Uniform(0, 2 * Math.PI)));
                z += life - 20;
            }
        }
        _stripes = [.. stripes];

        // Charging: a tilted plane plus a broad bump, slowly varying with z.
        var grng = Rng.For(o.Seed, Stream.Charging);
        _planeY = grng.Uniform(a.ChargingPlaneMin, a.ChargingPlaneMax);
        _planeX = grng.Uniform(a.ChargingPlaneMin, a.ChargingPlaneMax);
        _bumpAmp = grng.Uniform(a.ChargingBumpMin, a.ChargingBumpMax);
        _pYPeriod = grng.Uniform(300, 900);
        _pXPeriod = grng.Uniform(300, 900);
        _bumpPeriod = grng.Uniform(200, 600);
        _phY = grng.Uniform(0, 2 * Math.PI);
        _phX = grng.Uniform(0, 2 * Math.PI);
        _phB = grng.Uniform(0, 2 * Math.PI);
        _bumpCy = grng.Uniform(0.2, 0.8) * o.Height;
        _bumpCx = grng.Uniform(0.2, 0.8) * o.Width;
        _bumpSigma = grng.Uniform(0.25, 0.45) * Math.Max(o.Height, o.Width);

        // Gain: two slow sinusoids.
        var arng = Rng.For(o.Seed, Stream.Gain);
        _g1 = arng.Uniform(a.GainDriftSlowMin, a.GainDriftSlowMax);
        _g2 = arng.Uniform(a.GainDriftFastMin, a.GainDriftFastMax);
        _gp1 = arng.Uniform(250, 700);
        _gp2 = arng.Uniform(60, 200);
        _gph1 = arng.Uniform(0, 2 * Math.PI);
        _gph2 = arng.Uniform(0, 2 * Math.PI);
    }

    public double MaxDrift { get; }
    public int MarginPx { get; }

    public Shift2D Drift(int z) => new(_dy[z], _dx[z]);

    public double Gain(int z) => 1 + _g1 * Math.Sin(2 * Math.PI * z / _gp1 + _gph1) + _g2 * Math.Sin(2 * Math.PI * z / _gp2 + _gph2);

    /// <summary>Curtain offset for each raw column of slice z (stripes are fixed to the specimen, which has moved by dx).</summary>
    public void Curtain(int z, double dx, Span<double> column)
    {
        column.Clear();
        foreach (var s in _stripes)
        {
            if (z < s.Z0 || z > s.Z1) continue;
            double fade = Math.Min(1, Math.Min(z - s.Z0, s.Z1 - z) / 20.0);
            double amp = s.Amplitude * fade * (0.8 + 0.2 * Math.Sin(2 * Math.PI * z / s.Period + s.Phase));
            // raw column x sees specimen x − dx
            int lo = Math.Max(0, (int)Math.Floor(s.X - s.HalfWidth - 2 + dx)), hi = Math.Min(column.Length - 1, (int)Math.Ceiling(s.X + s.HalfWidth + 2 + dx));
            for (int x = lo; x <= hi; x++)
            {
                double u = Math.Abs(x + 0.5 - dx - s.X) - s.HalfWidth; // soft-edged box
                double w = u <= -1 ? 1 : u >= 1 ? 0 : 0.5 - 0.5 * Math.Sin(u * Math.PI / 2);
                column[x] += amp * w;
            }
        }
    }

    /// <summary>Charging offset for raw row y of slice z (image frame: it is a beam effect).</summary>
    public void Charging(int z, int y, Span<double> row)
    {
        double ay = _planeY * Math.Cos(2 * Math.PI * z / _pYPeriod + _phY);
        double ax = _planeX * Math.Cos(2 * Math.PI * z / _pXPeriod + _phX);
        double ab = _bumpAmp * (0.6 + 0.4 * Math.Cos(2 * Math.PI * z / _bumpPeriod + _phB));
        double fy = 2 * (y + 0.5) / _height - 1;
        double dy = y + 0.5 - _bumpCy;
        double inv = 1 / (2 * _bumpSigma * _bumpSigma);
        for (int x = 0; x < row.Length; x++)
        {
            double fx = 2 * (x + 0.5) / _width - 1;
            double dx = x + 0.5 - _bumpCx;
            row[x] = ay * fy + ax * fx + ab * Math.Exp(-(dx * dx + dy * dy) * inv);
        }
    }
}
