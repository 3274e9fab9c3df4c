# The clean-up's NMC|band|void lines against a blurred-profile model (session 52): for every line along z, y or x in
# the classifier's labels whose ends are NMC and void with a band of 1 or 2 intermediate (LPS or carbon) voxels between,
# the band voxels' truth against (a) the clean-up's rule (each band voxel to the end class on its side of the NMC|void
# midpoint) and (b) the least-squares fit of an N|L|V step profile, N for x < a, L for a < x < b, V beyond (a = b: a
# direct edge), blurred by a Gaussian of σ = SCALE·sqrt(blur² + 0.5²) in-plane (the phantom's drawn blur and the
# denoising's 0.5 voxel) and Z_SIGMA along z, each band voxel labelled by the fitted profile at its centre. Grey levels:
# the truth's eroded pure-phase medians of the denoised stack ("truth") or the classified labels' medians ("labels").
# Dump the classified labels first (contact_face_patterns.py's command), then:
#   /usr/bin/python3 band_profile_fit.py truth|labels SCALE Z_SIGMA PHANTOM RUN [PHANTOM RUN ...]
import json, sys
import numpy as np, zarr
from scipy.special import ndtr

levels_from, scale, z_sigma, args = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
for phantom, run in zip(args[0::2], args[1::2]):
    drawn = json.load(open(f"{phantom}/truth.json"))
    blur = drawn["phantom_parameters"]["appearance"]["blur_sigma_px"] if "phantom_parameters" in drawn else 1.0
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{phantom}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    labels = np.fromfile(f"{run}/labels-classified.u8", np.uint8).reshape(truth.shape)
    grey = np.asarray(zarr.open(f"{run}/denoised.zarr", mode="r")["0"]).squeeze().astype(np.float32)
    if levels_from == "truth":
        from scipy.ndimage import binary_erosion
        level = {q: np.median(grey[binary_erosion(truth == q, iterations=1)]) for q in (1, 2, 4)}
    else:
        level = {q: np.median(grey[labels == q]) for q in (1, 2, 4)}
    N, L, V = level[1], level[2], level[4]
    grid = np.arange(-0.5, 3.51, 0.05)
    lines = {}
    for axis in range(3):
        sigma = scale * ((blur ** 2 + 0.25) ** 0.5 if axis > 0 else z_sigma)
        lab, true, g = (np.moveaxis(a, axis, -1) for a in (labels, truth, grey))
        n = lab.shape[-1]
        intermediate = (lab == 2) | (lab == 3)
        for k in (1, 2):
            for flip in (False, True):
                ends = (lab[..., :n - k - 1] == 1) & (lab[..., k + 1:] == 4) if not flip else (lab[..., :n - k - 1] == 4) & (lab[..., k + 1:] == 1)
                for j in range(1, k + 1):
                    ends &= intermediate[..., j:n - k - 1 + j]
                at = np.nonzero(ends)
                steps = list(range(0, k + 2)) if not flip else list(range(k + 1, -1, -1))
                values = np.stack([g[at[:-1] + (at[-1] + j,)] for j in steps], 1)  # NMC end first
                band_truth = np.stack([true[at[:-1] + (at[-1] + j,)] for j in steps], 1)[:, 1:-1]
                band_truth = np.where(band_truth == 3, 2, band_truth)
                centres = np.arange(k + 2)[None, :]
                midpoint_rule = np.where(values[:, 1:-1] > (N + V) / 2, 1, 4)
                best, fitted = np.full(len(values), np.inf), np.zeros((len(values), k), np.int64)
                for a in grid:
                    for b in grid[grid >= a]:
                        pa, pb = ndtr((a - centres) / sigma), ndtr((b - centres) / sigma)
                        residual = ((values - (N * pa + L * (pb - pa) + V * (1 - pb))) ** 2).sum(1)
                        classes = np.where(centres[:, 1:-1] < a, 1, np.where(centres[:, 1:-1] < b, 2, 4))
                        better = residual < best
                        best = np.where(better, residual, best)
                        fitted[better] = classes
                lines.setdefault(k, []).append((band_truth, midpoint_rule, fitted))
    parts = []
    for k, found in sorted(lines.items()):
        t, m, f = (np.concatenate([x[i] for x in found]) for i in range(3))
        counts = lambda a: ((a == 4).sum(), (a == 1).sum(), (a == 2).sum())
        parts.append(f"band {k}: {len(t)} lines, right: midpoint {100 * (m == t).mean():.0f} %, fit {100 * (f == t).mean():.0f} % "
                     f"| void/NMC/LPS truth {counts(t)} midpoint {counts(m)} fit {counts(f)}")
    print(f"{phantom}: blur {blur:.2f}; " + "; ".join(parts))
