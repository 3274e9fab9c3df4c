namespace SsbTomo.Benchmarks;

/// <summary>
/// The independent peer: Debian's python3 with scipy 1.10, scikit-image 0.19 and zarr 2.13, run once over the
/// same raw files. Each operation is timed inside python with time.perf_counter (median of N after one warm-up;
/// loading the files and starting the interpreter are not timed) and its result written back for comparison.
/// </summary>
internal static class Peer
{
    public const string Script = """
        import sys, json, time, os
        import numpy as np
        from scipy import ndimage
        from skimage.filters import threshold_multiotsu
        from skimage.registration import phase_cross_correlation
        import zarr, numcodecs

        d = sys.argv[1]
        shape = tuple(int(s) for s in sys.argv[2].split(','))
        repeats = int(sys.argv[3])
        chunks = tuple(int(s) for s in sys.argv[4].split(','))
        pc_size = int(sys.argv[5])

        def timed(f):
            f()
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t0)
            return sorted(ts)[len(ts) // 2] * 1000.0, r

        out = {}
        raw = np.fromfile(d + '/raw.u16', dtype='<u2').reshape(shape)
        labels = np.fromfile(d + '/labels.u8', dtype=np.uint8).reshape(shape)

        raw_f = raw.astype(np.float32)
        ms, g = timed(lambda: ndimage.gaussian_filter(raw_f, 1.0))
        g.astype('<f4').tofile(d + '/peer_gauss.f32')
        out['gauss'] = {'ms': ms}

        ms, h = timed(lambda: np.histogram(raw, bins=1024, range=(0, 65536))[0])
        out['hist'] = {'ms': ms, 'sum': int(h.sum())}
        h.astype('<i8').tofile(d + '/peer_hist.i8')
        def hist_otsu():
            hh = np.histogram(raw, bins=1024, range=(0, 65536))[0]
            return threshold_multiotsu(hist=hh, classes=4)
        ms, t = timed(hist_otsu)
        out['otsu'] = {'ms': ms, 'thresholds': [int(x) for x in t]}

        ms, (ids, n) = timed(lambda: ndimage.label(labels == 4, structure=np.ones((3, 3, 3))))
        ids.astype('<i4').tofile(d + '/peer_ids.i4')
        out['label'] = {'ms': ms, 'count': int(n)}

        def faces():
            s = v = 0
            for ax in range(3):
                a = labels[tuple(slice(0, -1) if k == ax else slice(None) for k in range(3))]
                b = labels[tuple(slice(1, None) if k == ax else slice(None) for k in range(3))]
                other = np.where(a == 1, b, np.where(b == 1, a, 0))
                s += int(np.count_nonzero((other >= 2) & (other <= 4)))
                v += int(np.count_nonzero(other == 4))
            return s, v
        ms, (s, v) = timed(faces)
        out['faces'] = {'ms': ms, 'surface': s, 'void': v}

        # Surfaces: skimage's marching cubes (Lewiner) per phase, on the binary indicator and after a Gaussian of 1 voxel.
        from skimage import measure
        def mc_areas(smooth):
            areas = []
            for p in (1, 2, 3, 4):
                f = (labels == p).astype(np.float32)
                if smooth:
                    f = ndimage.gaussian_filter(f, 1.0)
                v, fa, _, _ = measure.marching_cubes(f, 0.5)
                areas.append(float(measure.mesh_surface_area(v, fa)))
            return areas
        ms, a = timed(lambda: mc_areas(False))
        out['mc'] = {'ms': ms, 'areas': a}
        ms, a = timed(lambda: mc_areas(True))
        out['mc_smoothed'] = {'ms': ms, 'areas': a}
        ms, e = timed(lambda: ndimage.distance_transform_edt(labels != 1, sampling=(2.0, 1.0, 1.0)))
        e.astype('<f8').tofile(d + '/peer_edt.f8')
        out['edt'] = {'ms': ms}

        ref = np.fromfile(d + '/pc_ref.f32', dtype='<f4').reshape(pc_size, pc_size)
        mov = np.fromfile(d + '/pc_mov.f32', dtype='<f4').reshape(pc_size, pc_size)
        ms, r = timed(lambda: phase_cross_correlation(ref, mov, upsample_factor=20))
        out['phasecorr'] = {'ms': ms, 'shift': [float(r[0][0]), float(r[0][1])]}

        # Zarr: can zarr-python read the array SsbTomo wrote?
        ours = zarr.open(d + '/ours.zarr', mode='r')
        out['zarr_reads_ours'] = bool(np.array_equal(ours[:], raw))
        # numcodecs' default Zstd (level 1), the level SsbTomo writes too; the C# side compares the chunk sizes.
        zstd = numcodecs.Zstd()
        def zarr_roundtrip():
            z = zarr.open(d + '/peer.zarr', mode='w', shape=shape, chunks=chunks, dtype='<u2', compressor=zstd)
            z[:] = raw
            return zarr.open(d + '/peer.zarr', mode='r')[:]
        ms, back = timed(zarr_roundtrip)
        out['zarr'] = {'ms': ms, 'equal': bool(np.array_equal(back, raw)), 'level': zstd.level}
        print(json.dumps(out))
        """;
}
