using SsbTomo.Imaging.Alignment;

namespace SsbTomo.Alignment;

/// <summary>The registration crop a job's alignment chunks were measured on, for alignment.json and the job's warnings.</summary>
public static class RegistrationCrops
{
    /// <summary>
    /// The one crop of <paramref name="chunkCrops"/> (a chunk stored before the crop was recorded: the default), or null and a
    /// warning naming them when the chunks used several: commands from before a job carried its crop, measured by alignment
    /// workers configured differently, give a drift that depends on which worker took which chunk.
    /// </summary>
    public static (int? Crop, string? Warning) Of(IEnumerable<int?> chunkCrops)
    {
        var crops = new SortedSet<int>(chunkCrops.Select(c => c ?? PairwiseRegistration.DefaultCropPx));
        return crops.Count switch
        {
            0 => (null, null),
            1 => (crops.Min, null),
            _ => (null, $"the slices were registered on crops of {string.Join(", ", crops)} pixels: alignment workers with different "
                + "SsbTomo:RegistrationCropPx measured this job's chunks; submit it again for one crop"),
        };
    }
}
