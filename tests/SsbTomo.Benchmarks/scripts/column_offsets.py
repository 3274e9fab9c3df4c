"""What curtains left in the aligned stack cost, and what one column offset per x over the whole stack gives back.

Usage: /usr/bin/python3 column_offsets.py DIR/family-N [ITERATIONS]   (a `-- sweep --keep DIR` member: run/ and phantom/)
Prints (1) the columns' residual: per x the median aligned grey of the truth's interior electrolyte, its spread across
x in units of the active-material-to-electrolyte contrast (0.01-0.02 on members without curtains: the noise floor);
(2) the phase errors and Dice of the run's labels, of the run's thresholds alone (no clean-up, no shine-through rule),
and of those thresholds after subtracting per x the median residual of the voxels they label interior electrolyte,
over all slices and rows (curtains are fixed to the specimen, so in the aligned frame they stand still), iterated.
Session 26: 119 (stripes of ±25 grey levels against a 40-level contrast) thresholds alone NMC −4.11 → −2.48 pp, Dice
NMC 0.935 → 0.962 after 3 iterations; 135 LPS Dice 0.924 → 0.950; 106 (no curtains) unchanged. Per 16 or 8 slices
instead of the whole stack it is worse (119: −3.89 / −4.11 pp).
"""
import zarr, numpy as np, json, sys, warnings
from scipy import ndimage as ndi
warnings.simplefilter('ignore', RuntimeWarning)
d = sys.argv[1]; iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 3
denoised = zarr.open(d + '/run/denoised.zarr/0', 'r')[:].astype(np.float32)
aligned = zarr.open(d + '/run/aligned.zarr/0', 'r')
labels = zarr.open(d + '/run/aligned.zarr/labels/phases/0', 'r')[:]
y0, y1, x0, x1 = json.load(open(d + '/run/alignment.json'))['crop_yx']
truth = zarr.open(d + '/phantom/truth_labels/0', 'r')[:, y0:y1, x0:x1]
thresholds = [t['value'] for t in json.load(open(d + '/run/metrics.json'))['uncertainty']['thresholds']]
depth, height, width = denoised.shape

spreads = []
for z in range(4, depth, 12):
    a = aligned[z].astype(float); t = truth[z]
    core = ndi.binary_erosion(t == 2, iterations=2)
    contrast = np.median(a[ndi.binary_erosion(t == 1, iterations=2)]) - np.median(a[core])
    columns = np.array([np.median(a[:, x][core[:, x]]) for x in range(width) if core[:, x].sum() > 15])
    spreads.append(np.std(columns) / contrast)
print(f"column residual of the interior electrolyte: sd {np.mean(spreads):.3f} of the NMC-LPS contrast")

def classify(volume):  # 1 NMC, 2 LPS, 3 carbon, 4 void
    return np.where(volume < thresholds[0], 4, np.where(volume < thresholds[1], 3, np.where(volume < thresholds[2], 2, 1))).astype(np.uint8)

def report(result, name):
    errors = [100 * ((result == c).mean() - (truth == c).mean()) for c in (4, 3, 2, 1)]
    dice = [2 * ((result == c) & (truth == c)).sum() / ((result == c).sum() + (truth == c).sum()) for c in (4, 3, 2, 1)]
    print(f"{name:24s} error pp void {errors[0]:+.2f} carbon {errors[1]:+.2f} LPS {errors[2]:+.2f} NMC {errors[3]:+.2f} | Dice {' '.join('%.3f' % x for x in dice)}")

report(labels, 'pipeline labels')
current = classify(denoised); report(current, 'thresholds alone')
offsets = np.zeros(width, np.float32)
for iteration in range(iterations):
    corrected = denoised - offsets[None, None, :]
    interior = ndi.binary_erosion(current == 2, structure=np.ones((1, 3, 3), bool))
    residual = np.where(interior, corrected - np.median(corrected[interior]), np.nan)
    step = np.nanmedian(residual.reshape(-1, width), axis=0)
    offsets += np.where(np.isfinite(step), step, 0).astype(np.float32)
    current = classify(denoised - offsets[None, None, :])
    report(current, f'column offsets, round {iteration + 1}')
print(f"offsets: sd {offsets.std():.0f}, range {np.ptp(offsets):.0f} grey levels; NMC-LPS threshold gap {thresholds[2] - thresholds[1]:.0f}")
