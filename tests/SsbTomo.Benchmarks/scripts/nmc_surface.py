"""Where a re-segmentation's NMC surface (the contact loss's denominator) comes from, against the truth.

Usage: SSBTOMO_CLEANUP_DUMP_RULE=pipeline dotnet B/SsbTomo.Benchmarks.dll cleanup PHANTOM RUN (writes RUN/labels.u8),
then /usr/bin/python3 nmc_surface.py PHANTOM RUN. Prints the labels' NMC faces (NMC beside any other label) by the truth
on their two sides, the NMC-labelled voxels that are truly LPS by distance from the true NMC, and their components.
Session 35: member 325 has 467 k NMC faces against the truth's 277 k; 47 % of them lie between two truly-LPS voxels
(NMC labels in the electrolyte: 67 k voxels one voxel outside a particle, 42 k ten or more away, in blobs of up to
38 k voxels where the aligned electrolyte reads 4-5 k grey levels above its stack median), so contact loss reads
7.6 % against 13.8 % although the NMC|void faces are nearly all there (35.7 k against 38.2 k).
"""
import json, sys, numpy as np, zarr
from scipy import ndimage as ndi

phantom, run = sys.argv[1], sys.argv[2]
y0, y1, x0, x1 = json.load(open(f"{run}/alignment.json"))["crop_yx"]
truth = np.asarray(zarr.open(f"{phantom}/truth_labels", mode="r")["0"])[:, y0:y1, x0:x1]
labels = np.fromfile(f"{run}/labels.u8", np.uint8).reshape(truth.shape)
names = {1: "n", 2: "l", 3: "c", 4: "v"}
pairs, total = {}, 0
for axis in range(3):
    lab, tru = np.moveaxis(labels, axis, 0), np.moveaxis(truth, axis, 0)
    for near, far in ((slice(None, -1), slice(1, None)), (slice(1, None), slice(None, -1))):
        face = (lab[near] == 1) & (lab[far] != 1)
        total += face.sum()
        for a in names:
            for b in names:
                c = (face & (tru[near] == a) & (tru[far] == b)).sum()
                if c:
                    pairs[names[a] + names[b]] = pairs.get(names[a] + names[b], 0) + c
top = sorted(pairs.items(), key=lambda kv: -kv[1])[:8]
print(f"NMC faces: labels {total}; by truth (NMC-labelled side, other side): " + ", ".join(f"{k} {v / total:.3f}" for k, v in top))
false = (labels == 1) & (truth == 2)
distance = ndi.distance_transform_edt(truth != 1)
print("NMC labels on true LPS by distance from true NMC (1..9, 10+):", np.bincount(np.minimum(distance[false].astype(int), 10), minlength=11)[1:])
components, count = ndi.label(false)
sizes = np.bincount(components.ravel())[1:]
print(f"their components: {count}; 1 voxel {(sizes == 1).sum()}, 2-99 {((sizes > 1) & (sizes < 100)).sum()}, 100+ {(sizes >= 100).sum()} holding {sizes[sizes >= 100].sum()} voxels")
