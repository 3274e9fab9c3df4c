"""Where a run's contact loss reads low (session 32): the truth's NMC|void faces by how thick the void is there, and the
truth's void beside NMC by where the NMC lies (directly behind it along z, in front, only sideways), each with what the
run's labels put there and the denoised grey (as a share of void -> electrolyte, from the labels' medians).

Usage: /usr/bin/python3 contact_loss_misses.py DIR [DIR ...]   (a `-- sweep --keep` member: DIR/run, DIR/phantom)
Truth cropped by the run's alignment.json crop_yx; labels 1 NMC, 2 LPS, 3 carbon, 4 void; z grows with milling depth,
so "NMC behind" is the pore's last slice before a particle, the one shine-through lights most.
"""
import json, sys, numpy as np, zarr

names = {1: "n", 2: "l", 3: "c", 4: "v"}
for d in sys.argv[1:]:
    run, ph = d + "/run", d + "/phantom"
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    lab = np.asarray(zarr.open(f"{run}/aligned.zarr/labels/phases/0", "r"))
    den = np.asarray(zarr.open(f"{run}/denoised.zarr", "r")["0"]).astype(np.float64)
    mu = {k: np.median(den[lab == k]) for k in (1, 2, 3, 4)}
    g = (den - mu[4]) / (mu[2] - mu[4])
    measured, true = json.load(open(f"{run}/metrics.json"))["contact_loss_fraction"], json.load(open(f"{ph}/truth.json"))["contact_loss_fraction"]
    print(f"{d}: contact loss {100 * measured:.2f} % against {100 * true:.2f} % ({100 * (measured - true):+.2f} pp); NMC at {(mu[1] - mu[4]) / (mu[2] - mu[4]):.2f} of the contrast")
    # Faces: p NMC, q void one step along an axis; the void's run length from q on, and the label at q.
    totals, by_label = {}, {}
    for axis in range(3):
        for sign in (1, -1):
            t = np.moveaxis(truth, axis, 0)[::sign]
            lq = np.moveaxis(lab, axis, 0)[::sign][1:]
            face = (t[:-1] == 1) & (t[1:] == 4)
            length = np.zeros(face.shape, np.int16)
            alive = face.copy()
            for k in range(1, 5):
                ahead = np.zeros_like(alive)
                ahead[: t.shape[0] - 1 - k] = t[1 + k:] == 4
                alive &= ahead
                length += alive
            length += face  # the void voxel at q itself
            for r in range(1, 6):
                sel = face & (np.minimum(length, 5) == r)
                totals[r] = totals.get(r, 0) + sel.sum()
                for lv in (1, 2, 3, 4):
                    by_label[(r, lv)] = by_label.get((r, lv), 0) + (sel & (lq == lv)).sum()
    print("  truth NMC|void faces by void thickness (voxels), labels at the void side: " + "  ".join(
        f"{r if r < 5 else '5+'}: {totals[r]} (" + " ".join(f"{names[lv]}{100 * by_label[(r, lv)] / max(totals[r], 1):.0f}" for lv in (4, 3, 2, 1)) + ")"
        for r in range(1, 6)))
    nmc = truth == 1
    behind = np.zeros_like(nmc); behind[:-1] = nmc[1:]
    front = np.zeros_like(nmc); front[1:] = nmc[:-1]
    side = np.zeros_like(nmc)
    for axis in (1, 2):
        for shift in (1, -1):
            side |= np.roll(nmc, shift, axis=axis)
    for name, sel in (("NMC behind", behind & ~front), ("NMC in front", front & ~behind), ("NMC beside only", side & ~front & ~behind)):
        sel = sel & (truth == 4)
        if not sel.any():
            continue
        shares = " ".join(f"{names[lv]}{100 * (lab[sel] == lv).mean():.0f}" for lv in (4, 3, 2, 1))
        print(f"  truth void, {name}: {sel.sum()} voxels, labelled {shares} %, grey median {np.median(g[sel]):.2f}")
