"""Straighten a segmented microstructure whose structure slides steadily from slice to slice.

A label volume segmented from a real FIB-SEM acquisition can keep a residual drift or shear (the TauFactor
electrode.tiff's structure moves ~0.34 px a slice, 82 px over its 240 slices). Imaged again by `ssbtomo phantom
--labels`, that slide is indistinguishable from stage drift, so the pipeline removes part of it and the phantom's
drift truth no longer says where a voxel is. This measures the slide (skimage phase_cross_correlation between
neighbouring slices of the labels, unnormalised, chained), fits a straight line per axis, moves each slice back by
the line's whole-pixel value and keeps the region every slice covers.

With --phase VALUE only that label's voxels are registered (the active material's particles, which the alignment's
section tracks and registration follow; the TauFactor electrode's NMC slides 0.4 px a slice where its binder does not).

usage: straighten_labels.py IN.tif OUT.tif [SLICES] [--phase VALUE]
"""
import sys

import numpy as np
from PIL import Image
from skimage.registration import phase_cross_correlation


def main():
    args = sys.argv[1:]
    phase = None
    if "--phase" in args:
        at = args.index("--phase")
        phase = int(args[at + 1])
        del args[at:at + 2]
    source, target = args[0], args[1]
    image = Image.open(source)
    count = int(args[2]) if len(args) > 2 else image.n_frames
    volume = []
    for i in range(count):
        image.seek(i)
        volume.append(np.array(image))
    volume = np.array(volume)
    signal = (volume == phase) if phase is not None else volume
    steps = [np.zeros(2)]
    for k in range(1, count):
        shift, _, _ = phase_cross_correlation(signal[k - 1].astype(np.float32), signal[k].astype(np.float32),
                                              upsample_factor=10, normalization=None)
        steps.append(-shift)
    track = np.cumsum(steps, axis=0)
    z = np.arange(count)
    fit = np.stack([np.polyval(np.polyfit(z, track[:, a], 1), z) for a in range(2)], axis=1)
    moves = np.round(fit - fit[0]).astype(int)
    low = moves.min(axis=0)
    height, width = np.array(volume.shape[1:]) - (moves.max(axis=0) - low)
    # A feature at p in slice 0 lies at p + moves[k] in slice k: read slice k from there.
    out = []
    for k in range(count):
        y0, x0 = moves[k] - low
        out.append(volume[k, y0:y0 + height, x0:x0 + width])
    frames = [Image.fromarray(s) for s in out]
    frames[0].save(target, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    print(f"slide {fit[-1, 0] - fit[0, 0]:+.1f} / {fit[-1, 1] - fit[0, 1]:+.1f} px (y / x) over {count} slices; "
          f"kept {height}x{width} of {volume.shape[1]}x{volume.shape[2]}")


if __name__ == "__main__":
    main()
