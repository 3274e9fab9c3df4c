"""Two sets of finished runs of the same family members, member by member: void and contact-loss error against the
truth (percentage points) and Dice of carbon and void, before -> after, and each set's shares inside the issue's targets.

A sweep kept with `-- sweep ... --keep BEFORE` holds BEFORE/family-N/{phantom,run}; to measure a change without drawing
the phantoms again, run the new build on the same stacks into AFTER/family-N/run, e.g.

    for n in $(seq 331 350); do
      mkdir -p AFTER/family-$n && ln -sfn BEFORE/family-$n/phantom AFTER/family-$n/phantom
      ssbtomo run BEFORE/family-$n/phantom/stack --out AFTER/family-$n/run
    done
    /usr/bin/python3 compare_sweep_runs.py BEFORE AFTER

Dice is over the run's valid region with the truth moved by each slice's drift (measured minus true, rounded to whole
pixels), as the sweep does; its median can differ from the sweep's in the third digit.

usage: compare_sweep_runs.py BEFORE_DIR AFTER_DIR
"""
import json
import os
import sys

import numpy as np
import zarr


def measure(phantom, run):
    truth_json = json.load(open(f"{phantom}/truth.json"))
    alignment = json.load(open(f"{run}/alignment.json"))
    metrics = json.load(open(f"{run}/metrics.json"))
    truth = np.array(zarr.open(f"{phantom}/truth_labels", mode="r")["0"]).squeeze()
    labels = np.array(zarr.open(f"{run}/aligned.zarr/labels/phases", mode="r")["0"]).squeeze()
    y0, _, x0, _ = alignment["crop_yx"]
    _, height, width = labels.shape
    moved = np.zeros_like(labels)
    for s in alignment["slices"]:
        k = s["index"]
        (ey, ex), (ty, tx) = s["drift_px"], truth_json["drift_px"][k]
        oy, ox = int(round(y0 + ey - ty)), int(round(x0 + ex - tx))
        rows = np.clip(np.arange(height) + oy, 0, truth.shape[1] - 1)
        columns = np.clip(np.arange(width) + ox, 0, truth.shape[2] - 1)
        moved[k] = truth[k][np.ix_(rows, columns)]
    valid = labels > 0
    dice = {}
    for phase in (3, 4):  # carbon, void
        a, b = (labels == phase) & valid, (moved == phase) & valid
        dice[phase] = 2 * (a & b).sum() / max(1, a.sum() + b.sum())
    void_error = 100 * (metrics["phase_fractions"]["void"] - truth_json["phase_fractions"]["void"])
    contact_error = 100 * (metrics["contact_loss_fraction"] - truth_json["contact_loss_fraction"])
    return void_error, contact_error, dice[3], dice[4]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    before, after = sys.argv[1], sys.argv[2]
    rows = []
    for member in sorted(os.listdir(after)):
        if not os.path.exists(f"{after}/{member}/run/metrics.json"):
            continue
        old = measure(f"{before}/{member}/phantom", f"{before}/{member}/run")
        new = measure(f"{after}/{member}/phantom", f"{after}/{member}/run")
        rows.append((old, new))
        print(f"{member:12s} void {old[0]:+.2f} -> {new[0]:+.2f} | contact {old[1]:+.2f} -> {new[1]:+.2f} | "
              f"Dice carbon {old[2]:.3f} -> {new[2]:.3f} void {old[3]:.3f} -> {new[3]:.3f}")
    for index, name in ((0, "before"), (1, "after")):
        void = np.array([r[index][0] for r in rows])
        contact = np.array([r[index][1] for r in rows])
        carbon_dice = np.array([r[index][2] for r in rows])
        void_dice = np.array([r[index][3] for r in rows])
        print(f"{name}: {len(rows)} members, void within ±0.5 pp {100 * np.mean(abs(void) <= 0.5):.0f} %, "
              f"±1.5 pp {100 * np.mean(abs(void) <= 1.5):.0f} %, contact loss within ±2 pp {100 * np.mean(abs(contact) <= 2):.0f} %, "
              f"median Dice carbon {np.median(carbon_dice):.3f}, void {np.median(void_dice):.3f}")


if __name__ == "__main__":
    main()
