#!/usr/bin/python3
# How often the segmentation intervals of finished runs hold the truth, per phase and for contact loss, and what a
# boundary-placement layer of DELTA voxels over each phase's marching-cubes surface would make of them (metrics.json's
# intervals are read as written, so run it on runs made with SsbTomo:Metrics:BoundaryPlacementVoxels=0 to see the
# threshold variants alone, or with the default to check it). KEEP is a sweep's --keep directory (KEEP/NAME/{phantom,run}).
# Usage: /usr/bin/python3 interval_coverage.py KEEP [DELTA ...]. Labels: 1 NMC, 2 LPS, 3 carbon, 4 void.
import json, os, sys, numpy as np, zarr
keep = sys.argv[1]
deltas = [float(d) for d in sys.argv[2:]] or [0, 0.1, 0.2, 0.25, 0.3, 0.5]
names = {1: "nmc", 2: "lps", 3: "carbon", 4: "void"}
N, V = 1, 4
def nmc_faces(a):
    surface = contact = 0
    for axis in range(3):
        x = np.moveaxis(a, axis, 0)
        p, q = x[:-1], x[1:]
        surface += (((p == N) & (q != N) & (q != 0)) | ((q == N) & (p != N) & (p != 0))).sum()
        contact += (((p == N) & (q == V)) | ((q == N) & (p == V))).sum()
    return contact / surface
rows = []
for name in sorted(os.listdir(keep)):
    ph, run = f"{keep}/{name}/phantom", f"{keep}/{name}/run"
    if not os.path.exists(f"{run}/metrics.json"):
        continue
    m = json.load(open(f"{run}/metrics.json"))
    if "phase_fraction_intervals" not in m:
        continue
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    labels = np.asarray(zarr.open(f"{run}/aligned.zarr/labels/phases", mode="r")["0"])
    if labels.shape != truth.shape:
        labels = labels[:, crop[0]:crop[1], crop[2]:crop[3]]
    valid = (labels != 0).sum()
    edge_um = np.cbrt(np.prod(m["voxel_size_nm"])) / 1000
    valid_um3 = valid * np.prod(m["voxel_size_nm"]) * 1e-9
    mc = m["surface_areas"]["marching_cubes"]["phase_surface_um2"]
    phases = {n: ((truth == k).sum() / valid, m["phase_fraction_intervals"][n], mc[n] * edge_um / valid_um3) for k, n in names.items()}
    rows.append((name, phases, nmc_faces(truth), m.get("contact_loss_interval")))
print(f"{len(rows)} runs")
for n in names.values():
    for d in deltas:
        held = sum(1 for _, p, *_ in rows if p[n][1][0] - d * p[n][2] <= p[n][0] <= p[n][1][1] + d * p[n][2])
        print(f"{n:7s} layer {d:4.2f} voxel: truth inside on {held}/{len(rows)}, median half-width added {100 * np.median([d * p[n][2] for _, p, *_ in rows]):.2f} pp")
held = sum(1 for *_, t, c in rows if c and c[0] <= t <= c[1])
print(f"contact loss: truth inside on {held}/{len(rows)}")
