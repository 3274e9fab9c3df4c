# Which step of the segmentation recipe moves voxels between classes, and what those voxels truly are (session 31).
# Dump the steps' labels first:
#   SSBTOMO_CLEANUP_RULES="classified,fibre survey,survey + shine correction,pipeline"
#   SSBTOMO_CLEANUP_DUMP_RULE="classified,fibre survey,survey + shine correction,pipeline"
#   dotnet B/SsbTomo.Benchmarks.dll cleanup PHANTOM RUN [PHANTOM RUN ...]
# then /usr/bin/python3 cleanup_steps.py PHANTOM RUN [PHANTOM RUN ...]. Per run: the voxels each step moves from one class
# to another (at least 2000), with their truth (n NMC, l LPS, c carbon, v void, in %), and the voxels beside the active
# material that end as carbon by their classified label and truth. Labels: 1 NMC, 2 LPS, 3 carbon, 4 void.
import json, sys, numpy as np, zarr

names = {1: "n", 2: "l", 3: "c", 4: "v"}

def shares(truth, mask):
    return "/".join(f"{names[k]}{100 * (truth[mask] == k).mean():.0f}" for k in (1, 2, 3, 4))

for phantom, run in zip(sys.argv[1::2], sys.argv[2::2]):
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{phantom}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    def labels(rule):
        return np.fromfile(f"{run}/labels-{rule.replace(' ', '_')}.u8", np.uint8).reshape(truth.shape)
    classified, cleaned, corrected, final = (labels(r) for r in ("classified", "fibre survey", "survey + shine correction", "pipeline"))
    moves = []
    for step, before, after in (("clean-up", classified, cleaned), ("shine-through", cleaned, corrected), ("fibres + runs", corrected, final)):
        for a in (1, 2, 3, 4):
            for b in (1, 2, 3, 4):
                moved = (before == a) & (after == b)
                if a != b and moved.sum() >= 2000:
                    moves.append(f"{step} {names[a]}>{names[b]} {moved.sum()} ({shares(truth, moved)})")
    active = final == 1
    beside = np.zeros(truth.shape, bool)
    for axis in range(3):
        for shift in (1, -1):
            beside |= np.roll(active, shift, axis=axis)
    face_carbon = beside & (final == 3)
    print(f"{run}: carbon beside the active material {face_carbon.sum()}, classified {shares(classified, face_carbon)}, truth {shares(truth, face_carbon)} | " + "; ".join(moves))
