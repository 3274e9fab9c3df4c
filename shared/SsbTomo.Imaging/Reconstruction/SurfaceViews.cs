using SsbTomo.Imaging.Measurement;

namespace SsbTomo.Imaging.Reconstruction;

/// <summary>The headless 3D views of a sample (the paper's Fig. 3 and Fig. 4d-f).</summary>
public enum SurfaceView
{
    /// <summary>Every phase in its colour: the volume as a block (Fig. 3a).</summary>
    Phases,
    /// <summary>The NMC surface alone, blue where it touches the electrolyte and red where it faces void (Fig. 4d,e).</summary>
    Nmc,
    /// <summary>The void alone (Fig. 3, voids).</summary>
    Void,
    /// <summary>One particle, coloured by contact, with the void around it (Fig. 4f).</summary>
    Particle,
}

/// <summary>Which meshes each 3D view draws, in which colours, rendered by <see cref="MeshRenderer"/>.</summary>
public static class SurfaceViews
{
    public const int Width = 720;
    public const int Height = 540;

    /// <summary>
    /// One of the whole-sample views from the phases' meshes (index = label; NMC's with contact classes for
    /// <see cref="SurfaceView.Nmc"/>), as RGB of <see cref="Width"/>×<see cref="Height"/>.
    /// </summary>
    public static byte[] Render(SurfaceView view, IReadOnlyList<SurfaceMesh?> meshesByLabel)
    {
        ArgumentNullException.ThrowIfNull(meshesByLabel);
        MeshLayer Phase(byte label) => MeshLayer.Uniform(meshesByLabel[label] ?? SurfaceMesh.Empty, PhaseLabel.Colours[label]!.Value);
        IReadOnlyList<MeshLayer> layers = view switch
        {
            SurfaceView.Phases => [.. Enumerable.Range(1, PhaseLabel.Count - 1).Select(l => Phase((byte)l))],
            SurfaceView.Nmc => meshesByLabel[PhaseLabel.Nmc] is { Contacts: not null } nmc ? [MeshLayer.ByContact(nmc)] : [Phase(PhaseLabel.Nmc)],
            SurfaceView.Void => [Phase(PhaseLabel.Void)],
            _ => throw new ArgumentOutOfRangeException(nameof(view), view, "the particle view needs the particles: RenderParticle"),
        };
        return MeshRenderer.Render(layers, Width, Height);
    }

    /// <summary>Label given to the chosen particle's voxels in its neighbourhood (not a phase label).</summary>
    private const byte ChosenParticle = 255;

    /// <summary>
    /// Smallest particle worth a view, in voxels: a ball of radius 4 voxels (4σ of the smoothing the meshes follow; a
    /// smaller fragment of the watershed is a few voxels that the smoothed surface leaves out or shows as a blob).
    /// </summary>
    public static readonly long MinimumParticleVoxels = (long)Math.Ceiling(4 / 3.0 * Math.PI * 4 * 4 * 4);

    /// <summary>
    /// The largest particle not cut by the volume's edge or the crop (<see cref="NmcParticle.TouchesBorder"/>) and of at
    /// least <see cref="MinimumParticleVoxels"/>, meshed with its contact classes (other particles it touches are no
    /// contact), and the void within a margin around it of half its equivalent diameter (at least 4 voxels); null when
    /// there is no such particle (a stack thinner than its particles has none).
    /// </summary>
    /// <returns>The particle, its mesh and the void's, or null.</returns>
    public static (NmcParticle Particle, SurfaceMesh ParticleMesh, SurfaceMesh VoidMesh)? ParticleSurroundings(Volume<byte> labels,
        NmcParticleLabels particleLabels, IReadOnlyList<NmcParticle> particles, VoxelSize voxelSize, SurfaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(particleLabels);
        ArgumentNullException.ThrowIfNull(particles);
        var chosen = particles.Where(p => !p.TouchesBorder && p.Voxels >= MinimumParticleVoxels).OrderByDescending(p => p.Voxels).ThenBy(p => p.Id).FirstOrDefault();
        if (chosen is null) return null;
        var (depth, height, width) = (labels.Depth, labels.Height, labels.Width);
        int z0 = depth, z1 = -1, y0 = height, y1 = -1, x0 = width, x1 = -1;
        for (var z = 0; z < depth; z++)
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    if (particleLabels.Ids[(z * height + y) * width + x] == chosen.Id)
                        (z0, z1, y0, y1, x0, x1) = (Math.Min(z0, z), Math.Max(z1, z), Math.Min(y0, y), Math.Max(y1, y), Math.Min(x0, x), Math.Max(x1, x));
        var marginNm = Math.Max(chosen.EquivalentDiameterUm * 1000 / 2, 4 * Math.Max(voxelSize.XNm, Math.Max(voxelSize.YNm, voxelSize.ZNm)));
        int Margin(double spacing) => (int)Math.Ceiling(marginNm / spacing);
        (z0, z1) = (Math.Max(0, z0 - Margin(voxelSize.ZNm)), Math.Min(depth - 1, z1 + Margin(voxelSize.ZNm)));
        (y0, y1) = (Math.Max(0, y0 - Margin(voxelSize.YNm)), Math.Min(height - 1, y1 + Margin(voxelSize.YNm)));
        (x0, x1) = (Math.Max(0, x0 - Margin(voxelSize.XNm)), Math.Min(width - 1, x1 + Margin(voxelSize.XNm)));
        var box = new Volume<byte>(z1 - z0 + 1, y1 - y0 + 1, x1 - x0 + 1);
        for (var z = 0; z < box.Depth; z++)
            for (var y = 0; y < box.Height; y++)
                for (var x = 0; x < box.Width; x++)
                {
                    var i = ((z + z0) * height + y + y0) * width + x + x0;
                    box[z, y, x] = particleLabels.Ids[i] == chosen.Id ? ChosenParticle : labels.Data[i];
                }
        var particleMesh = PhaseSurfaceBuilder.Build(box, ChosenParticle, voxelSize, options, classifyContact: true);
        var voidMesh = PhaseSurfaceBuilder.Build(box, PhaseLabel.Void, voxelSize, options);
        // Back into the volume's coordinates, so the view and the files line up with the whole-sample meshes.
        return (chosen, Shift(particleMesh, x0, y0, z0, voxelSize), Shift(voidMesh, x0, y0, z0, voxelSize));
    }

    /// <summary>The particle view: the particle by contact and the void around it in the void colour.</summary>
    public static byte[] RenderParticle(SurfaceMesh particleMesh, SurfaceMesh voidMesh) =>
        MeshRenderer.Render([MeshLayer.ByContact(particleMesh), MeshLayer.Uniform(voidMesh, PhaseLabel.Colours[PhaseLabel.Void]!.Value)], Width, Height);

    private static SurfaceMesh Shift(SurfaceMesh mesh, int x0, int y0, int z0, VoxelSize voxelSize)
    {
        var positions = (float[])mesh.Positions.Clone();
        var (dx, dy, dz) = ((float)(x0 * voxelSize.XNm / 1000), (float)(y0 * voxelSize.YNm / 1000), (float)(z0 * voxelSize.ZNm / 1000));
        for (var i = 0; i < positions.Length; i += 3)
        {
            positions[i] += dx;
            positions[i + 1] += dy;
            positions[i + 2] += dz;
        }
        return mesh with { Positions = positions };
    }
}
