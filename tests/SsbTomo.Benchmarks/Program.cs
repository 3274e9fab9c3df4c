using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using SsbTomo.Benchmarks;
using SsbTomo.Imaging;
using SsbTomo.Imaging.Alignment;
using SsbTomo.Imaging.Measurement;
using SsbTomo.Imaging.Segmentation;
using SsbTomo.Phantom;
using SsbTomo.Storage;
using SsbTomo.TestSupport;

// SsbTomo vs the independent peer (scipy / scikit-image / zarr-python) on the same generated data, one run.
// Usage: dotnet run -c Release --project tests/SsbTomo.Benchmarks -- [--size 64,512,512] [--repeats 3] [--pc-size 1024]
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- drift [options]   (see DriftStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- sweep [options]   (see SweepStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- carbon PHANTOM RUN [...]   (see CarbonStudy: where carbon goes, fibre rules)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- carbon --ceiling [--draws 24] [--runs DIR]   (see CarbonCeilingStudy: what blur leaves reachable)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- segment-cpu [--repeats 3] [--parts | --variant-bands | --owned-span H | --slabs 32,64,96] PHANTOM RUN [...]   (see SegmentCpuStudy: the half-depth rule's CPU, the slab depth's)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- variant-sample [--every N] [--block 32,64,512] [--spread K] PHANTOM RUN [...]   (see VariantSampleStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- trainable [options]   (see TrainableStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- trainable-family [options]   (see TrainableFamilyStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- tortuosity [--size 128] [--axis 0]   (see TortuosityStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- reconstruction [--size 256,512,512]   (see ReconstructionStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- metrics [--size 256] [--stages]   (see MetricsStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- metrics-stage RUN_DIR   (see MetricsStageStudy: the metrics stage's per-voxel passes one by one)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- survey-stride PHANTOM RUN ...   (see SurveyStrideStudy: the carbon decision at sparser survey strides)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- particle-split RUN_DIR   (see ParticleSplitStudy: the metrics stage's particle split part by part)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- whole-volume-passes RUN_DIR   (see WholeVolumePassesStudy: the tortuosity and the particle split one after the other and side by side)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- drift-solve RUN_DIR   (see DriftSolveStudy: the alignment's serial drift solve)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- window-read RUN_DIR   (see WindowReadStudy: what reading the segmentation's and the metrics' windows costs alone)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- alignment [--size 16,1024,1024]   (see AlignmentStudy: CPU per alignment kernel)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- noise-level KEEP_DIR [...]   (see NoiseLevelStudy: the noise-to-contrast share and the denoising σ it picks)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- memory survey|segment|tortuosity|particles [8,768,768]   (see MemoryStudy)
//        dotnet run -c Release --project tests/SsbTomo.Benchmarks -- --chunk-path [--size 32,384,384] [--repeats 3]   (the segmentation chunk path's two rows only, with the extra steps one by one)
if (args.FirstOrDefault() == "drift") return DriftStudy.Run(args[1..]);
if (args.FirstOrDefault() == "drift-replay") return DriftStudy.Replay(args[1..]);
if (args.FirstOrDefault() == "sweep") return await SweepStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "thresholds") return await ThresholdStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "trainable") return TrainableStudy.Run(args[1..]);
if (args.FirstOrDefault() == "trainable-family") return await TrainableFamilyStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "cleanup") return await CleanupStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "self-twin") return await SelfTwinStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "noise-level") return await NoiseLevelStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "estimated-twin") return await EstimatedTwinStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "simulated-forest") return await SimulatedForestStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "carbon") return await CarbonStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "segment-cpu") return await SegmentCpuStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "variant-sample") return await VariantSampleStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "tortuosity") return TortuosityStudy.Run(args[1..]);
if (args.FirstOrDefault() == "reconstruction") return await ReconstructionStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "metrics") return MetricsStudy.Run(args[1..]);
if (args.FirstOrDefault() == "survey-memory") return await SurveyMemoryStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "survey-stride") return await SurveyStrideStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "metrics-stage") return await MetricsStageStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "particle-split") return await ParticleSplitStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "whole-volume-passes") return await WholeVolumePassesStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "drift-solve") return await DriftSolveStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "window-read") return await WindowReadStudy.RunAsync(args[1..]);
if (args.FirstOrDefault() == "alignment") return AlignmentStudy.Run(args[1..]);
if (args.FirstOrDefault() == "memory") return MemoryStudy.Run(args[1..]);
var size = new[] { 64, 512, 512 };
var repeats = 3;
var pcSize = 1024;
int[] zarrChunks = [16, 512, 512];
var chunkPathOnly = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size" when i + 1 < args.Length:
            size = args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            if (size.Length != 3) throw new ArgumentException("--size needs depth,height,width");
            break;
        case "--repeats" when i + 1 < args.Length:
            repeats = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture));
            break;
        case "--chunk-path":
            chunkPathOnly = true;
            break;
        case "--pc-size" when i + 1 < args.Length:
            pcSize = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine("usage: SsbTomo.Benchmarks [--size D,H,W] [--repeats N] [--pc-size N] [--chunk-path]");
            return 2;
    }
}
var (depth, height, width) = (size[0], size[1], size[2]);
zarrChunks = [Math.Min(zarrChunks[0], depth), Math.Min(zarrChunks[1], height), Math.Min(zarrChunks[2], width)];
var total = Stopwatch.StartNew();
Console.WriteLine($"SsbTomo benchmark: {depth}x{height}x{width} voxels, median of {repeats} after one warm-up, {Environment.ProcessorCount} cores, .NET {Environment.Version}");

var watch = Stopwatch.StartNew();
var data = BenchData.Generate(depth, height, width);
var voxels = data.Raw.Length;
Console.WriteLine($"data: Cycled50 phantom → blur σ=1 + noise → uint16 → denoise → 4-class multi-Otsu labels → cleanup (labelling and faces use these) ({watch.ElapsedMilliseconds} ms)");
if (chunkPathOnly) return ChunkPathStudy.Run(data, repeats);

using var dir = new TempDirectory("ssbtomo-bench");
File.WriteAllBytes(Path.Combine(dir.Path, "raw.u16"), MemoryMarshal.AsBytes(data.Raw.Data.AsSpan()).ToArray());
File.WriteAllBytes(Path.Combine(dir.Path, "labels.u8"), data.Cleaned.Data);

// Two 1024² images: a realistic phantom slice and the same slice moved by a known sub-pixel shift.
const int margin = 16;
var slice = CathodePhantom.Create(new PhantomOptions(PhantomPreset.Cycled50, 1, pcSize + 2 * margin, pcSize + 2 * margin, Seed: 3)).RenderSlice(0);
var big = new Image2D<float>(slice.Height, slice.Width, Array.ConvertAll(slice.Pixels, p => (float)p));
var applied = new Shift2D(3.37, -5.81); // moving(p) = reference(p + applied): our Shift is -applied
var movedBig = SubpixelShift.Apply(big, applied);
var pcReference = Crop(big, margin, pcSize);
var pcMoving = Crop(movedBig, margin, pcSize);
File.WriteAllBytes(Path.Combine(dir.Path, "pc_ref.f32"), MemoryMarshal.AsBytes(pcReference.Pixels.AsSpan()).ToArray());
File.WriteAllBytes(Path.Combine(dir.Path, "pc_mov.f32"), MemoryMarshal.AsBytes(pcMoving.Pixels.AsSpan()).ToArray());

// --- SsbTomo side ---
Volume<float> ourGauss = null!;
var tGauss = Measure.Run(() => ourGauss = Denoise.Gaussian(data.Raw, 1.0), repeats);
long[] ourHist = [];
var tHist = Measure.Run(() => ourHist = Histogram.Compute(data.Raw, 1024, 0, 65536), repeats);
int[] ourThresholds = [];
var tOtsu = Measure.Run(() => ourThresholds = MultiOtsu.Thresholds(Histogram.Compute(data.Raw, 1024, 0, 65536), 4), repeats);
ComponentLabels ourIds = null!;
var tLabel = Measure.Run(() => ourIds = ConnectedComponents.Label(data.Cleaned, PhaseLabel.Void), repeats);
ComponentChunk ourChunk = null!;
var tChunk = Measure.Run(() => ourChunk = ComponentChunk.Of(data.Cleaned, PhaseLabel.Void), repeats);
ContactFaces ourFaces = default;
var tFaces = Measure.Run(() => ourFaces = ContactLoss.Count(data.Cleaned), repeats);
RegistrationResult ourShift = default;
var tPc = Measure.Run(() => ourShift = PhaseCorrelation.Estimate(pcReference, pcMoving, 20, polish: false), repeats);
var store = new FileSystemBlobStore(dir.Path);
Volume<ushort> ourBack = null!;
var tZarr = await Measure.RunAsync(async () =>
{
    var array = await ZarrArray<ushort>.CreateAsync(store, "ours.zarr", [depth, height, width], zarrChunks, ZarrCompressor.Zstd);
    await array.WriteRegionAsync(0, 0, 0, data.Raw);
    var reopened = await ZarrArray<ushort>.OpenAsync(store, "ours.zarr");
    ourBack = await reopened.ReadRegionAsync(0, depth, 0, height, 0, width);
}, repeats);
Volume<byte> cleaned = null!;
var tPvc = Measure.Run(() => cleaned = PartialVolumeCleanup.Apply(data.Labels, data.Denoised, BenchData.DarkToBright, data.ClassMeans), repeats);
var changed = cleaned.Data.Where((label, i) => label != data.Labels.Data[i]).LongCount();
// The segmentation stage's per-chunk work as its consumers do it (denoise σ 0.8, classify, clean up): the figure a
// new segmentation method is held against (voxels per second per core); then the path as it runs now, with the fibre
// survey, the shine-through estimate and correction and the fibres' half-depth rule (ChunkPathStudy).
var segmentationThresholds = MultiOtsu.ToIntensities(ourThresholds, 1024, 0, 65536);
var tSegment = Measure.Run(() => ChunkPathStudy.Without(data, segmentationThresholds), repeats);
var tSurveyed = Measure.Run(() => ChunkPathStudy.With(data, segmentationThresholds), repeats);
var cleanupDeterministic = cleaned.Data.AsSpan().SequenceEqual(data.Cleaned.Data);
// Surfaces and distances on the cleaned labels (1 nm voxels, so areas are in voxel faces; the EDT with z twice x and y).
var unitVoxel = VoxelSize.Isotropic(1000);
SurfaceAreas ourAreas = null!;
var tMc = Measure.Run(() =>
{
    var accumulator = new SurfaceAreaAccumulator(unitVoxel);
    accumulator.Add(data.Cleaned);
    ourAreas = accumulator.Result();
}, repeats);
SmoothedSurfaceAreaAccumulator ourSmoothed = null!;
var tMcSmoothed = Measure.Run(() =>
{
    ourSmoothed = new SmoothedSurfaceAreaAccumulator(unitVoxel);
    ourSmoothed.Add(data.Cleaned, new SlabWindow(0, depth, 0, depth), TileWindow.Whole(data.Cleaned.Height, data.Cleaned.Width));
}, repeats);
double[] ourEdt = [];
var tEdt = Measure.Run(() => ourEdt = DistanceTransform.SquaredNm2(data.Cleaned, label => label == PhaseLabel.Nmc, new VoxelSize(1, 1, 2)), repeats);

// --- peer side: one python process over the same files ---
watch.Restart();
var json = PythonOracle.Run(Peer.Script, dir.Path, $"{depth},{height},{width}", repeats.ToString(CultureInfo.InvariantCulture),
    string.Join(',', zarrChunks), pcSize.ToString(CultureInfo.InvariantCulture));
var peer = JsonDocument.Parse(json.Trim().Split('\n')[^1]).RootElement;
Console.WriteLine($"peer: /usr/bin/python3 finished in {watch.ElapsedMilliseconds} ms (including start-up, file loading and warm-ups; not in the table)");
double PeerMs(string op) => peer.GetProperty(op).GetProperty("ms").GetDouble();

// --- agreement ---
var peerGauss = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir.Path, "peer_gauss.f32"))).ToArray();
var gaussDiff = 0.0;
for (var i = 0; i < peerGauss.Length; i++) gaussDiff = Math.Max(gaussDiff, Math.Abs(ourGauss.Data[i] - peerGauss[i]));
var peerHist = MemoryMarshal.Cast<byte, long>(File.ReadAllBytes(Path.Combine(dir.Path, "peer_hist.i8"))).ToArray();
var peerThresholds = peer.GetProperty("otsu").GetProperty("thresholds").EnumerateArray().Select(e => e.GetInt32()).ToArray();
var thresholdDiff = ourThresholds.Zip(peerThresholds, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(int.MaxValue).Max();
var peerIds = MemoryMarshal.Cast<byte, int>(File.ReadAllBytes(Path.Combine(dir.Path, "peer_ids.i4"))).ToArray();
var peerCount = peer.GetProperty("label").GetProperty("count").GetInt32();
var idsIdentical = peerIds.AsSpan().SequenceEqual(ourIds.Ids);
var slice0 = data.Cleaned.SliceLength;
var chunkMatches = ourChunk.Sizes.AsSpan().SequenceEqual(ourIds.Sizes) && ourChunk.FirstSliceIds.AsSpan().SequenceEqual(peerIds.AsSpan(0, slice0))
    && ourChunk.LastSliceIds.AsSpan().SequenceEqual(peerIds.AsSpan((depth - 1) * slice0, slice0));
var peerFaces = new ContactFaces(peer.GetProperty("faces").GetProperty("surface").GetInt64(), peer.GetProperty("faces").GetProperty("void").GetInt64());
var peerShiftArray = peer.GetProperty("phasecorr").GetProperty("shift").EnumerateArray().Select(e => e.GetDouble()).ToArray();
var peerShift = new Shift2D(-peerShiftArray[0], -peerShiftArray[1]); // skimage returns the negative of our convention
var truth = new Shift2D(-applied.Dy, -applied.Dx);
double Distance(Shift2D a, Shift2D b) => Math.Sqrt((a.Dy - b.Dy) * (a.Dy - b.Dy) + (a.Dx - b.Dx) * (a.Dx - b.Dx));
var peerZarr = await (await ZarrArray<ushort>.OpenAsync(store, "peer.zarr")).ReadRegionAsync(0, depth, 0, height, 0, width);
var zarrOk = ourBack.Data.AsSpan().SequenceEqual(data.Raw.Data) && peer.GetProperty("zarr").GetProperty("equal").GetBoolean();
var zarrCross = peer.GetProperty("zarr_reads_ours").GetBoolean() && peerZarr.Data.AsSpan().SequenceEqual(data.Raw.Data);
var ourZstdLevel = (await ZarrArray<ushort>.OpenAsync(store, "ours.zarr")).Metadata.CompressionLevel;
var peerZstdLevel = peer.GetProperty("zarr").GetProperty("level").GetInt32();
async Task<double> ChunkMegabytes(string arrayPath)
{
    long bytes = 0;
    await foreach (var key in store.ListAsync(arrayPath + "/"))
        if (!key.EndsWith(ZarrArrayMetadata.FileName, StringComparison.Ordinal))
            bytes += new FileInfo(store.PathOf(key)).Length;
    return bytes / 1e6;
}
var (ourZarrMb, peerZarrMb) = (await ChunkMegabytes("ours.zarr"), await ChunkMegabytes("peer.zarr"));

var peerMc = peer.GetProperty("mc").GetProperty("areas").EnumerateArray().Select(e => e.GetDouble()).ToArray();
var peerMcSmoothed = peer.GetProperty("mc_smoothed").GetProperty("areas").EnumerateArray().Select(e => e.GetDouble()).ToArray();
string AreaRatios(Func<int, double> ours, double[] theirs) =>
    string.Join(' ', Enumerable.Range(1, 4).Select(p => (ours(p) / theirs[p - 1]).ToString("F4", CultureInfo.InvariantCulture)));
var smoothedSurface = ourSmoothed.SurfaceUm2();
var smoothedWorst = Enumerable.Range(1, 4).Max(p => Math.Abs(smoothedSurface[p] / peerMcSmoothed[p - 1] - 1));
var peerEdt = MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir.Path, "peer_edt.f8"))).ToArray();
var edtDiff = 0.0;
for (var i = 0; i < peerEdt.Length; i++) edtDiff = Math.Max(edtDiff, Math.Abs(Math.Sqrt(ourEdt[i]) - peerEdt[i]));

// --- table ---
var rows = new List<string[]>
{
    Row("3D Gaussian σ=1 (float32 out)", voxels, tGauss, PeerMs("gauss"), $"max |Δ| = {gaussDiff:G3} grey"),
    Row("histogram 1024 bins (uint16)", voxels, tHist, PeerMs("hist"), ourHist.AsSpan().SequenceEqual(peerHist) ? "histograms identical" : "HISTOGRAMS DIFFER"),
    Row("histogram + multi-Otsu 4 classes", voxels, tOtsu, PeerMs("otsu"),
        $"bins [{string.Join(' ', ourThresholds)}] vs [{string.Join(' ', peerThresholds)}]{(thresholdDiff <= 1 ? "" : " DIFFER")}"),
    Row("26-connected labelling (void, cleaned)", voxels, tLabel, PeerMs("label"),
        $"{ourIds.Count} vs {peerCount} components, ids {(idsIdentical ? "identical" : "DIFFER")}"),
    Row("  component chunk summary (ours)", voxels, tChunk, null, chunkMatches ? "sizes + end-slice ids = label's" : "CHUNK DIFFERS"),
    Row("contact faces (NMC surf., NMC|void)", voxels, tFaces, PeerMs("faces"),
        $"({ourFaces.NmcSurface}, {ourFaces.NmcVoid}) {(ourFaces == peerFaces ? "identical" : $"DIFFER from ({peerFaces.NmcSurface}, {peerFaces.NmcVoid})")}"),
    Row("marching-cubes areas, 4 phases (binary)", voxels, tMc, PeerMs("mc"),
        $"ours/skimage {AreaRatios(p => ourAreas.MarchingCubesSurfaceUm2[p], peerMc)} (skimage's binary tie rule; + faces, interfaces)"),
    Row("  smoothed σ=1, 4 phases", voxels, tMcSmoothed, PeerMs("mc_smoothed"),
        $"ours/skimage {AreaRatios(p => smoothedSurface[p], peerMcSmoothed)}{(smoothedWorst <= 0.005 ? "" : " DIFFER > 0.5 %")} (+ 6 unions)"),
    Row("Euclidean distance transform, z×2", voxels, tEdt, PeerMs("edt"), $"max |Δ| = {edtDiff:G3} voxels{(edtDiff <= 1e-9 ? "" : " DIFFER")}"),
    Row($"phase correlation {pcSize}² up×20", (long)pcSize * pcSize, tPc, PeerMs("phasecorr"),
        $"|ours-peer| {Distance(ourShift.Shift, peerShift):F3} px; vs truth {Distance(ourShift.Shift, truth):F3} / {Distance(peerShift, truth):F3} px"),
    Row($"Zarr write+read zstd-{ourZstdLevel} (peer zstd-{peerZstdLevel}) {string.Join('x', zarrChunks)}", voxels, tZarr, PeerMs("zarr"),
        $"{(zarrOk ? "round trips exact" : "ROUND TRIP DIFFERS")}, {(zarrCross ? "each reads the other's" : "CROSS-READ DIFFERS")}, chunks {ourZarrMb:F2} vs {peerZarrMb:F2} MB"),
    Row("segmentation chunk path (no peer)", voxels, tSegment, null,
        $"{voxels / tSegment.MedianMs / 1000 / Environment.ProcessorCount:F2} Mvox/s per core, {voxels / tSegment.MedianCpuMs / 1000:F2} Mvox per CPU-s (denoise σ 0.8 + classify + cleanup)"),
    Row("  + fibre survey, shine-through, half-depth (no peer)", voxels, tSurveyed, null,
        $"{voxels / tSurveyed.MedianMs / 1000 / Environment.ProcessorCount:F2} Mvox/s per core, {voxels / tSurveyed.MedianCpuMs / 1000:F2} Mvox per CPU-s; {tSurveyed.MedianMs / tSegment.MedianMs:F2}x the time without, {tSurveyed.MedianCpuMs / tSegment.MedianCpuMs:F2}x its CPU"),
    Row("partial-volume cleanup (no peer)", voxels, tPvc, null, $"{voxels / tPvc.MedianMs / 1000:F1} Mvox/s, {changed} changed{(cleanupDeterministic ? ", same bytes every call" : ", NOT DETERMINISTIC: DIFFER")}"),
};
string[] header = ["operation", "voxels", "SsbTomo ms", "peer ms", "peer/ours", "alloc MB", "peak MB", "agreement"];
ResultTable.Print(header, rows, 1, 6);
Console.WriteLine("peer/ours > 1: SsbTomo is faster. alloc MB: managed bytes our call allocates; peak MB: largest managed-heap growth during it (sampled each ms).");
Console.WriteLine($"total {total.Elapsed.TotalSeconds:F0} s");
var failed = rows.Any(r => r[^1].Contains("DIFFER", StringComparison.Ordinal)) || thresholdDiff > 1 || gaussDiff > 0.05 || Distance(ourShift.Shift, peerShift) > 0.25;
return failed ? 1 : 0;

static string[] Row(string operation, long voxels, Timing ours, double? peerMs, string agreement) =>
[
    operation,
    voxels.ToString("N0", CultureInfo.InvariantCulture),
    ours.MedianMs.ToString("F1", CultureInfo.InvariantCulture),
    peerMs is { } p ? p.ToString("F1", CultureInfo.InvariantCulture) : "-",
    peerMs is { } q ? (q / ours.MedianMs).ToString("F2", CultureInfo.InvariantCulture) : "-",
    ours.AllocatedMb.ToString("F1", CultureInfo.InvariantCulture),
    ours.PeakHeapMb.ToString("F1", CultureInfo.InvariantCulture),
    agreement,
];

static Image2D<float> Crop(Image2D<float> image, int margin, int size)
{
    var crop = new Image2D<float>(size, size);
    for (var y = 0; y < size; y++) image.Row(y + margin).Slice(margin, size).CopyTo(crop.Row(y));
    return crop;
}
