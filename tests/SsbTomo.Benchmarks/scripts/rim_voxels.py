# What the voxels at a particle's rim truly are: voxels labelled carbon or LPS that touch both labelled void and labelled
# NMC, and NMC-labelled voxels next to labelled void, by their truth class and denoised grey (as a share of the
# void-to-NMC contrast of the truth's interiors), and those with labelled void in front along z and NMC behind. Usage: SSBTOMO_CLEANUP_RULES=pipeline SSBTOMO_CLEANUP_DUMP_RULE=pipeline
# dotnet ...SsbTomo.Benchmarks.dll cleanup PHANTOM RUN (writes RUN/labels.u8), then /usr/bin/python3 rim_voxels.py PHANTOM RUN.
# Labels: 1 NMC, 2 LPS, 3 carbon, 4 void.
import json, sys, numpy as np, zarr
from scipy import ndimage as ndi
ph, run = sys.argv[1], sys.argv[2]
crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
lab = np.fromfile(f"{run}/labels.u8", np.uint8).reshape(truth.shape)
grey = zarr.open(f"{run}/denoised.zarr", mode="r")
grey = np.asarray(grey["0"] if "0" in grey else grey)[:, :truth.shape[1], :truth.shape[2]].astype(float)
N, L, C, V = 1, 2, 3, 4
faces = ndi.generate_binary_structure(3, 1)
near_void, near_nmc = ndi.binary_dilation(lab == V, faces), ndi.binary_dilation(lab == N, faces)
interior = {x: np.median(grey[(truth == x) & ~ndi.binary_dilation(truth != x, faces, iterations=2)]) for x in (V, C, L, N)}
def share(a): return np.round((a - interior[V]) / (interior[N] - interior[V]), 2)
print("interior medians v c l n:", [share(interior[x]) for x in (V, C, L, N)])
# Along z (the milling direction): labelled void directly in front (z - 1) and labelled NMC directly behind (z + 1), the
# place of a pore's lit last slice before a particle.
void_in_front, nmc_behind = np.zeros(lab.shape, bool), np.zeros(lab.shape, bool)
void_in_front[1:], nmc_behind[:-1] = lab[:-1] == V, lab[1:] == N
rims = [("carbon/LPS between void and NMC", (lab != V) & (lab != N) & near_void & near_nmc), ("NMC next to void", (lab == N) & near_void),
        ("non-void with void in front and NMC behind", (lab != V) & void_in_front & nmc_behind)]
for name, rim in rims:
    n = rim.sum()
    print(f"{name}: {n} voxels, truly v/c/l/n %", [round(100 * (rim & (truth == x)).sum() / max(n, 1), 1) for x in (V, C, L, N)])
    for x, letter in [(V, "v"), (L, "l"), (N, "n")]:
        m = rim & (truth == x)
        if m.sum() > 30: print(f"   truly {letter}: {m.sum()} voxels, grey p10/50/90 {share(np.percentile(grey[m], [10, 50, 90]))}")
