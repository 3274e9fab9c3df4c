"""A copy of a finished run whose denoised.zarr has each slice's electrolyte made level, for `-- cleanup` to re-segment.

Usage: /usr/bin/python3 level_electrolyte.py MODE RUN OUT PHANTOM [THRESHOLDS] [ROUNDS]
  MODE oracle: the electrolyte is the truth's LPS (eroded by 2); class: the voxels the run's thresholds put between
  carbon|LPS and LPS|NMC (THRESHOLDS "t1/t2/t3" as `cleanup` prints them), eroded by 2 (6-connected), re-classified
  after each of ROUNDS (default 3) levellings.
Per slice: the electrolyte's median in a 16 x 16 grid of blocks (at least 20 voxels), a degree-2 polynomial fitted by
biweight-reweighted least squares, subtracted less the electrolyte's median over the stack (so each slice's own level
is matched too). OUT links every other file of RUN.
Then: SSBTOMO_CLEANUP_RULES=pipeline dotnet B/SsbTomo.Benchmarks.dll cleanup PHANTOM OUT (the run's thresholds stay).
Session 35, contact loss error in pp on the fresh seeds (the pipeline's own → class 1 round / class 3 rounds / oracle):
325 −6.14 → −2.99 / −2.49 / −2.29; 323 −4.04 → −3.79 / −2.63 / −2.02 (Dice LPS 0.878 → 0.922 / 0.930 / 0.938);
313 −2.30 → −2.24 / −2.29 / −2.35; 319 −7.33 → −6.41 / −7.09 / −7.00 (void −3.90 → −4.91 / −3.86 / −3.84);
301 +0.83 → +0.68 / +0.66 / +0.70; 303 −3.35 → −3.36 / −3.36 / −3.35.
"""
import os, shutil, sys, json, numpy as np, zarr
from scipy import ndimage as ndi

mode, src, dst, phantom = sys.argv[1:5]
rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 3
if os.path.exists(dst):
    shutil.rmtree(dst)
os.makedirs(dst)
for f in os.listdir(src):
    if f == "denoised.zarr" or f.startswith("labels"):
        continue
    s = os.path.join(src, f)
    if os.path.isdir(s):
        os.symlink(os.path.abspath(s), os.path.join(dst, f))
    else:
        shutil.copy(s, dst)
shutil.copytree(f"{src}/denoised.zarr", f"{dst}/denoised.zarr")
stored = zarr.open(f"{dst}/denoised.zarr", mode="r+")["0"]
grey = np.asarray(stored).astype(np.float64)
depth, h, w = grey.shape
v, u = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
terms = lambda u, v: np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], -1)
pixel_terms = terms(u.ravel(), v.ravel())


def robust_fit(us, vs, qs):
    design, weights = terms(us, vs), np.ones(len(qs))
    for _ in range(20):
        root = np.sqrt(weights)
        c = np.linalg.lstsq(design * root[:, None], qs * root, rcond=None)[0]
        r = qs - design @ c
        scale = 1.4826 * np.median(np.abs(r))
        if scale < 1e-9:
            break
        x = r / (4.685 * scale)
        weights = np.where(np.abs(x) < 1, (1 - x * x) ** 2, 0)
    return c


if mode == "oracle":
    y0, y1, x0, x1 = json.load(open(f"{src}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{phantom}/truth_labels", mode="r")["0"])[:, y0:y1, x0:x1]
    electrolyte = lambda g: ndi.binary_erosion(truth == 2, iterations=2)
    rounds = 1
else:
    _, carbon_lps, lps_nmc = [float(t) for t in sys.argv[5].split("/")]
    cross = ndi.generate_binary_structure(3, 1)
    electrolyte = lambda g: ndi.binary_erosion((g >= carbon_lps) & (g < lps_nmc), structure=cross, iterations=2)
background = np.zeros_like(grey)
for _ in range(rounds):
    cores = electrolyte(grey - background)
    level = np.median(grey[cores])
    for z in range(depth):
        us, vs, qs = [], [], []
        for by in range(16):
            for bx in range(16):
                ys, xs = slice(by * h // 16, (by + 1) * h // 16), slice(bx * w // 16, (bx + 1) * w // 16)
                m = cores[z, ys, xs]
                if m.sum() >= 20:
                    us.append(u[ys, xs].mean()); vs.append(v[ys, xs].mean()); qs.append(np.median(grey[z, ys, xs][m]))
        if len(qs) >= 12:
            field = (pixel_terms @ robust_fit(np.array(us), np.array(vs), np.array(qs))).reshape(h, w)
            background[z] = field - level
stored[:] = np.clip(np.round(grey - background), 0, 65535).astype(np.uint16)
print(f"{dst}: background 1/99 % {np.percentile(background, [1, 99]).round(0)}")
