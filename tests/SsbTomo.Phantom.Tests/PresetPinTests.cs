using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SsbTomo.Phantom.Tests;

/// <summary>
/// The presets are the acceptance stacks of the README and the end-to-end tests: their bytes must not change
/// when the phantom's constants become parameters. The hashes were computed with the code before the phantom
/// family existed (commit deba14f).
/// </summary>
public class PresetPinTests
{
    [Theory]
    [InlineData(PhantomPreset.Pristine, "BE1C1463E231EE24033363996A10D60D4EFCFCC09F5E712210BC8D3FECF4A22D")]
    [InlineData(PhantomPreset.Cycled10, "FDA66E956DA499A241E7B87377F14D3E366FEC3D61131D700CEE856AEF14DB0B")]
    [InlineData(PhantomPreset.Cycled50, "C56B9CAE4D08D62DAF33B94880BEA732E075D39FF4C789C0F27A1EA1EEAD654B")]
    public void Preset_stacks_are_byte_identical_to_before_the_family(PhantomPreset preset, string expected)
    {
        string actual = StackHash(CathodePhantom.Create(new PhantomOptions(preset, 12, 48, 56, 50, Seed: 5)));
        Assert.True(expected == actual, $"{preset}: {actual}");
    }

    internal static string StackHash(CathodePhantom ph)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var o = ph.Options;
        sha.AppendData(ph.RenderLabels(0, o.Depth).Data);
        for (int z = 0; z < o.Depth; z++)
        {
            if (ph.BitDepth == 8) sha.AppendData(ph.RenderSlice(z).Pixels);
            else sha.AppendData(MemoryMarshal.AsBytes(ph.RenderSlice16(z).Pixels.AsSpan()));
        }
        for (int z = 0; z < o.Depth; z++)
        {
            var d = ph.DriftPx(z);
            sha.AppendData(BitConverter.GetBytes(d.Dy));
            sha.AppendData(BitConverter.GetBytes(d.Dx));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
