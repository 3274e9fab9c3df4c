"""How flat the electrolyte is after the alignment's charging-gradient removal, per family member.

Usage: /usr/bin/python3 electrolyte_flatness.py DIR/family-N [DIR/family-M ...]   (members of `-- sweep --keep DIR`)
Per member, over every 8th slice: the electrolyte's median in a 4 x 4 grid of blocks (truth LPS eroded by 3 px), its
10-90 % spread over the blocks as a share of the slice's LPS-to-NMC gap, on raw.zarr (the truth moved by the slice's
drift) and on aligned.zarr (the truth cropped); the median over the slices. What a correct flattening leaves is noise
and texture (0.01-0.08 on most members); session 35 found 0.24-0.57 on 313, 319, 323 and 325, where the aligned stack
is flattened on the wrong phase.
"""
import json, sys, numpy as np, zarr
from scipy import ndimage as ndi


def spread(img, t):
    lps, nmc = ndi.binary_erosion(t == 2, iterations=3), ndi.binary_erosion(t == 1, iterations=3)
    if lps.sum() < 500 or nmc.sum() < 500:
        return None
    gap = np.median(img[nmc]) - np.median(img[lps])
    h, w = t.shape
    medians = []
    for i in range(4):
        for j in range(4):
            ys, xs = slice(i * h // 4, (i + 1) * h // 4), slice(j * w // 4, (j + 1) * w // 4)
            if lps[ys, xs].sum() > 100:
                medians.append(np.median(img[ys, xs][lps[ys, xs]]))
    return (np.percentile(medians, 90) - np.percentile(medians, 10)) / gap


for member in sys.argv[1:]:
    phantom, run = member + "/phantom", member + "/run"
    alignment = json.load(open(f"{run}/alignment.json"))
    y0, y1, x0, x1 = alignment["crop_yx"]
    truth = zarr.open(f"{phantom}/truth_labels", mode="r")["0"]
    raw, aligned = zarr.open(f"{run}/raw.zarr", mode="r")["0"], zarr.open(f"{run}/aligned.zarr", mode="r")["0"]
    on_raw, on_aligned = [], []
    for z in range(4, truth.shape[0] - 4, 8):
        t = np.asarray(truth[z])
        dy, dx = alignment["slices"][z]["drift_px"]
        r = spread(np.asarray(raw[z]).astype(float), ndi.shift(t, (dy, dx), order=0, mode="nearest"))
        a = spread(np.asarray(aligned[z]).astype(float), t[y0:y1, x0:x1])
        if r is not None and a is not None:
            on_raw.append(r)
            on_aligned.append(a)
    bits = json.load(open(f"{phantom}/truth.json"))["bit_depth"]
    print(f"{member.rstrip('/').split('/')[-1]} {bits:2d}-bit  electrolyte spread / LPS-NMC gap: raw {np.median(on_raw):.2f}  aligned {np.median(on_aligned):.2f}")
