using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SsbTomo.Hosting;

namespace SsbTomo.Orchestrator.Tests;

public sealed class TransparentHugePagesTests
{
    [Fact]
    public void Anonymous_private_mappings_named_or_not_are_read_from_the_maps_in_address_order_and_files_stacks_and_shared_memory_are_not()
    {
        string[] maps =
        [
            "55d0c0a00000-55d0c0a21000 r--p 00000000 fd:01 1835061                    /usr/bin/dotnet",
            "7f1200000000-7f1240000000 ---p 00000000 00:00 0 ",
            "7f1240000000-7f1241000000 rw-p 00000000 00:00 0",
            "7f1241000000-7f1250000000 ---p 00000000 00:00 0 ",
            "7f1250000000-7f1251000000 rw-p 00000000 00:00 0                          [anon:.NET GC]",
            "7f1260000000-7f1260100000 rw-s 00000000 00:01 4242                       /dev/shm/x",
            "7f1270000000-7f1270021000 rw-p 00000000 00:00 0                          [heap]",
            "7ffd3c000000-7ffd3c021000 rw-p 00000000 00:00 0                          [stack]",
        ];

        var mappings = TransparentHugePages.AnonymousMappings(maps);

        Assert.Equal(
            [(0x7f1200000000UL, 0x7f1240000000UL), (0x7f1240000000UL, 0x7f1241000000UL), (0x7f1241000000UL, 0x7f1250000000UL),
                (0x7f1250000000UL, 0x7f1251000000UL)],
            mappings);
    }

    [Fact]
    public void Where_the_kernel_gives_huge_pages_on_request_the_collected_heap_asks_for_them_and_a_large_array_is_eligible()
    {
        const string modePath = "/sys/kernel/mm/transparent_hugepage/enabled";
        var madviseMode = OperatingSystem.IsLinux() && File.Exists(modePath) && File.ReadAllText(modePath).Contains("[madvise]");

        var advised = TransparentHugePages.AdviseCollectedHeap();

        Assert.Equal(madviseMode, advised);
        if (!madviseMode)
        {
            Assert.Null(TransparentHugePages.AdvisedRange);
            return;
        }
        var array = new byte[64 << 20];
        var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            var address = (ulong)handle.AddrOfPinnedObject();
            // The kernel's own word: the mapping that holds the array may take huge pages. A part of the range that the
            // collector decommitted and committed again since the last renewal, or that a renewal's read of the maps
            // joins to the range, gets the advice at the next one.
            var waited = Stopwatch.StartNew();
            while (!(InAdvisedRange(address) && IsHugePageEligible(address)) && waited.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
            var (start, length) = TransparentHugePages.AdvisedRange!.Value;
            Assert.True(InAdvisedRange(address), $"0x{address:x} is outside the advised range 0x{start:x} + 0x{length:x} after {waited.Elapsed.TotalSeconds:F1} s");
            Assert.True(IsHugePageEligible(address), $"the mapping at 0x{address:x} is not THP-eligible after {waited.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            handle.Free();
        }
    }

    [Fact]
    public void The_run_around_an_address_is_the_adjacent_mappings_that_hold_it_and_a_gap_ends_it()
    {
        List<(ulong, ulong)> mappings = [(0x1000, 0x2000), (0x3000, 0x4000), (0x4000, 0x8000), (0x8000, 0x9000), (0xa000, 0xb000)];

        Assert.Equal((0x3000UL, 0x9000UL), TransparentHugePages.RunAround(mappings, 0x4000));
        Assert.Equal((0x3000UL, 0x9000UL), TransparentHugePages.RunAround(mappings, 0x8fff));
        Assert.Equal((0x1000UL, 0x2000UL), TransparentHugePages.RunAround(mappings, 0x1000));
        Assert.Null(TransparentHugePages.RunAround(mappings, 0x2000));
        Assert.Null(TransparentHugePages.RunAround(mappings, 0xb000));
    }

    private static bool InAdvisedRange(ulong address) =>
        TransparentHugePages.AdvisedRange is var (start, length) && (ulong)start <= address && address < (ulong)start + (ulong)length;

    /// <summary>"THPeligible: 1" in /proc/self/smaps for the mapping that holds <paramref name="address"/>.</summary>
    private static bool IsHugePageEligible(ulong address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-');
            var space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var from)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var to))
            {
                inside = from <= address && address < to;
                continue;
            }
            if (inside && line.StartsWith("THPeligible:", StringComparison.Ordinal)) return line.EndsWith('1');
        }
        return false;
    }
}
