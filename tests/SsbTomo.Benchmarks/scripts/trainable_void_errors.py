"""Where the trainable path's void errors lie, from `trainable-family --work DIR --dump`.

For each family member it reads DIR/family-N/dump (aligned grey, truth, unsupervised and trainable labels) and
splits the void errors over the slices that were not trained on (the last slice left out: its back wall is unknown):

- missed void (truth void, labelled otherwise) by in-plane distance to the nearest solid pixel (1: the rim) and by
  back depth k, the slices to the first solid behind it along +z (k = 1: the pore's last slice, which the wall behind
  lights most; shine-through, and the pore's cap, whose section is small in-plane and so all rim);
- false void (truth solid, labelled void) by in-plane distance to the nearest void pixel, by truth phase, and whether
  it is the wall right behind a pore (void in the slice in front).

Usage: /usr/bin/python3 trainable_void_errors.py DIR [first last]
"""
import json
import sys

import numpy as np
from scipy import ndimage as ndi

VOID = 4
NAMES = ["nmc", "lps", "carbon"]


def load(directory):
    meta = json.load(open(f"{directory}/dump.json"))
    shape = meta["shape"]
    arrays = {k: np.fromfile(f"{directory}/{k}.raw", dtype=v).reshape(shape) for k, v in meta["dtypes"].items()}
    return arrays, meta


def in_plane_distance(mask):
    return np.stack([ndi.distance_transform_edt(s) for s in mask])


def back_depth(void):
    """Slices from each void voxel to the first solid behind it (+z); 0 for solid, 99 where the stack ends first."""
    depth = np.zeros(void.shape, np.int32)
    depth[-1] = np.where(void[-1], 99, 0)
    for z in range(void.shape[0] - 2, -1, -1):
        depth[z] = np.where(void[z], np.minimum(depth[z + 1] + 1, 99), 0)
    return depth


def bands(values, edges):
    return " ".join(f"{name}:{int(((values >= lo) & (values <= hi)).sum())}" for name, lo, hi in edges)


def report(directory, name):
    a, meta = load(directory)
    truth = a["truth"]
    void = truth == VOID
    scored = np.ones(truth.shape[0], bool)
    scored[meta["train_slices"]] = False
    scored[-1] = False
    scored = scored[:, None, None]
    inside = in_plane_distance(void)
    outside = in_plane_distance(~void)
    depth = back_depth(void)
    wall = np.zeros(void.shape, bool)
    wall[1:] = void[:-1] & ~void[1:]
    print(f"== {name}: void voxels scored {int((void & scored).sum())}; by back depth "
          + bands(depth[void & scored], [("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-8", 5, 8), (">8", 9, 99)]))
    for path in ["unsupervised", "trainable"]:
        said = a[path] == VOID
        missed = void & ~said & scored
        false = ~void & said & scored
        kept = int((void & said & scored).sum())
        dice = 2 * kept / (2 * kept + missed.sum() + false.sum())
        print(f"  {path}: Dice {dice:.3f}, missed {int(missed.sum())}, false {int(false.sum())}")
        print("    missed by in-plane depth " + bands(inside[missed], [("1", 0, 1), ("2", 1.01, 2), ("3-4", 2.01, 4), (">4", 4.01, 1e9)])
              + "; by back depth " + bands(depth[missed], [("1", 1, 1), ("2", 2, 2), ("3-4", 3, 4), ("5-8", 5, 8), (">8", 9, 99)]))
        print("      labelled as " + ", ".join(f"{NAMES[c - 1]} {int((a[path][missed] == c).sum())}" for c in (1, 2, 3)))
        print("    false by in-plane distance to void " + bands(outside[false], [("1", 0, 1), ("2", 1.01, 2), ("3-4", 2.01, 4), (">4", 4.01, 1e9)])
              + "; truth " + ", ".join(f"{NAMES[c - 1]} {int((truth[false] == c).sum())}" for c in (1, 2, 3))
              + f"; wall right behind a pore {int((false & wall).sum())}")


def main():
    work = sys.argv[1]
    first, last = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (1, 12)
    for seed in range(first, last + 1):
        report(f"{work}/family-{seed}/dump", f"family {seed}")


if __name__ == "__main__":
    main()
