"""The standing-curtain estimator's tunings across finished family runs (session 27).

Usage: /usr/bin/python3 standing_curtains_grid.py DIR/family-101 DIR/family-102 ...   (runs kept by `-- sweep --keep DIR`)

A numpy prototype of StandingCurtains (per slice, the column-pair differences around their noise peak over whole-height
blocks, summed over the stack; running sum less its running median) for a grid of kept-window widths (robust SD),
mean-shift rounds and trend windows, each scored against each column's median of the truth's electrolyte in the
denoised volume: rms over the columns as a share of 2 x (LPS|NMC - carbon|LPS threshold), median over the runs.
"""
import json
import sys

import numpy as np
import zarr


def load(run):
    denoised = np.asarray(zarr.open(run + '/run/denoised.zarr/0', 'r')[:]).astype(np.int64)
    truth = np.asarray(zarr.open(run + '/phantom/truth_labels/0', 'r')[:])
    y0, y1, x0, x1 = json.load(open(run + '/run/alignment.json'))['crop_yx']
    thresholds = [t['value'] for t in json.load(open(run + '/run/metrics.json'))['uncertainty']['thresholds']]
    return denoised, truth[:, y0:y1, x0:x1], thresholds


def steps(denoised, kept_sd, rounds):
    diff = (denoised[:, :, 1:] - denoised[:, :, :-1]).astype(float)
    centre = np.median(diff, axis=1, keepdims=True)
    limit = np.maximum(1, kept_sd * 1.4826 * np.median(np.abs(diff - centre), axis=1, keepdims=True))
    for _ in range(rounds):
        keep = np.abs(diff - centre) <= limit
        centre = (diff * keep).sum(axis=1, keepdims=True) / np.maximum(keep.sum(axis=1, keepdims=True), 1)
    keep = np.abs(diff - centre) <= limit
    return (diff * keep).sum(axis=(0, 1)) / np.maximum(keep.sum(axis=(0, 1)), 1)


def offsets(step, trend):
    profile = np.concatenate([[0], np.cumsum(step)])
    width = len(profile)
    half = min(trend, width if width % 2 else width - 1) // 2
    result = np.empty(width)
    for x in range(width):
        x0 = min(max(x - half, 0), width - 1 - 2 * half)
        result[x] = profile[x] - np.median(profile[x0:x0 + 2 * half + 1])
    return result


def electrolyte_levels(denoised, truth):
    levels = []
    for x in range(denoised.shape[2]):
        lps = truth[:, :, x] == 2
        levels.append(np.median(denoised[:, :, x][lps]) if lps.sum() > 50 else np.nan)
    levels = np.array(levels)
    levels = np.where(np.isnan(levels), np.nanmedian(levels), levels)
    return levels - np.median(levels)


grid = [(sd, rounds, trend) for sd in (0.7, 1, 1.5) for rounds in (3, 6) for trend in (41, 61, 81)]
scores = {g: [] for g in grid}
none = []
for run in sys.argv[1:]:
    denoised, truth, thresholds = load(run)
    contrast = 2 * (thresholds[2] - thresholds[1])
    reference = electrolyte_levels(denoised, truth)
    none.append(np.sqrt(np.mean(reference ** 2)) / contrast * 100)
    cache = {}
    for sd, rounds, trend in grid:
        if (sd, rounds) not in cache:
            cache[(sd, rounds)] = steps(denoised, sd, rounds)
        scores[(sd, rounds, trend)].append(np.sqrt(np.mean((reference - offsets(cache[(sd, rounds)], trend)) ** 2)) / contrast * 100)
none = np.array(none)
print(f'{len(none)} runs; no correction: median {np.median(none):.2f} %')
for (sd, rounds, trend), values in scores.items():
    values = np.array(values)
    print(f'{sd:.1f} SD, {rounds} rounds, trend {trend}: median {np.median(values):.2f} %, '
          f'{(values > none + 0.3).sum()} runs worse than none by > 0.3, worst {(values - none).max():+.2f}')
