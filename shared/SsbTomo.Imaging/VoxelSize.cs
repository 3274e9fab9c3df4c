namespace SsbTomo.Imaging;

/// <summary>Physical size of one voxel in nanometres; Z is the milled slice thickness.</summary>
public sealed record VoxelSize(double XNm, double YNm, double ZNm)
{
    public static VoxelSize Isotropic(double nm) => new(nm, nm, nm);

    public double VoxelVolumeNm3 => XNm * YNm * ZNm;

    public override string ToString() => $"{XNm:0.###},{YNm:0.###},{ZNm:0.###} nm";
}
