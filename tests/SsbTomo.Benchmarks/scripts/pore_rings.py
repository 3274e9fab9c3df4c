#!/usr/bin/python3
# Where a run misses void: every true pore voxel by its distance to the pore's back wall along z (d = 1: the pore's last
# slice before solid) and its in-plane distance to the pore's outline (the outermost ring, the next, deeper), with the
# share labelled void and what the missed ones were labelled; then by the phase of the back wall, and what the false void
# truly is. Usage: SSBTOMO_CLEANUP_RULES=pipeline SSBTOMO_CLEANUP_DUMP_RULE=pipeline dotnet ...SsbTomo.Benchmarks.dll
# cleanup PHANTOM RUN (writes RUN/labels.u8), then /usr/bin/python3 pore_rings.py PHANTOM RUN. Labels: 1 NMC, 2 LPS,
# 3 carbon, 4 void.
import json, sys, numpy as np, zarr
from scipy import ndimage as ndi
ph, run = sys.argv[1], sys.argv[2]
crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
lab = np.fromfile(f"{run}/labels.u8", np.uint8).reshape(truth.shape)
N, L, C, V = 1, 2, 3, 4
tv, lv = truth == V, lab == V
print(f"truth void {tv.mean() * 100:.2f} %, labelled {lv.mean() * 100:.2f} %; missed {np.sum(tv & ~lv)}, false {np.sum(lv & ~tv)}")
depth = tv.shape[0]
back = np.zeros(tv.shape, np.int16)  # pore slices (99: no wall within the stack) from this one to the back wall, this one included
run_length = np.full(tv.shape[1:], 99, np.int16)  # below the last slice: wall unseen
for z in range(depth - 1, -1, -1):
    run_length = np.where(tv[z], np.minimum(run_length + 1, 99), 0)
    back[z] = run_length
outline = np.stack([ndi.distance_transform_edt(tv[z]) for z in range(depth)])
print(" d | outermost ring: voxels, labelled void, missed as N/L/C | next ring | deeper")
for d in range(1, 9):
    cells = []
    for lo, hi in ((0, 1.01), (1.01, 2.01), (2.01, np.inf)):
        m = tv & (back == d) & (outline > lo) & (outline <= hi)
        if not m.any():
            cells.append("-")
            continue
        miss = m & ~lv
        cells.append(f"{m.sum():6d} {100 * lv[m].mean():5.1f} % N{np.sum(miss & (lab == N))} L{np.sum(miss & (lab == L))} C{np.sum(miss & (lab == C))}")
    print(f"{d:2d} | " + " | ".join(cells))
deep = tv & (back > 8)
print(f">8 | {deep.sum()} {100 * lv[deep].mean():.1f} %")
wall_z = np.clip(np.arange(depth)[:, None, None] + back, 0, depth - 1).astype(np.int64)
wall = np.take_along_axis(truth, wall_z, axis=0)
wall[np.arange(depth)[:, None, None] + back >= depth] = 0
for k, name in ((N, "NMC"), (L, "LPS"), (C, "carbon")):
    m = tv & (wall == k)
    print(f"back wall {name}: pore voxels {m.sum()}, labelled void {100 * lv[m].mean() if m.any() else 0:.1f} %, missed {np.sum(m & ~lv)}")
false = lv & ~tv
print("false void, truly N/L/C:", [int(np.sum(false & (truth == k))) for k in (N, L, C)])
