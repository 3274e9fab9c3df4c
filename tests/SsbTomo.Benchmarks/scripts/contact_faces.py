# Contact-loss faces per direction (z, y, x, each sign): the truth's NMC|void faces, what a re-segmentation has there, and the
# reverse. Usage: SSBTOMO_CLEANUP_DUMP_RULE="survey + shine correction" dotnet ...SsbTomo.Benchmarks.dll cleanup PHANTOM RUN
# (writes RUN/labels.u8), then /usr/bin/python3 contact_faces.py PHANTOM RUN. Labels: 1 NMC, 2 LPS, 3 carbon, 4 void.
import json, sys, numpy as np, zarr
ph, run = sys.argv[1], sys.argv[2]
crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
lab = np.fromfile(f"{run}/labels.u8", np.uint8).reshape(truth.shape)
names = {1: "n", 2: "l", 3: "c", 4: "v"}
def faces(v):
    out = {}
    for ax in range(3):
        for sgn in (1, -1):
            a = np.moveaxis(v, ax, 0)
            nm, other = (a[:-1], a[1:]) if sgn == 1 else (a[1:], a[:-1])
            out[(ax, sgn)] = (nm, other)
    return out
tf, lf = faces(truth), faces(lab)
tot_t = tot_l = surf_t = surf_l = 0
for key in tf:
    tn, to = tf[key]; ln, lo = lf[key]
    t_loss = (tn == 1) & (to == 4); l_loss = (ln == 1) & (lo == 4)
    surf_t += ((tn == 1) & (to != 1)).sum(); surf_l += ((ln == 1) & (lo != 1)).sum()
    tot_t += t_loss.sum(); tot_l += l_loss.sum()
    missed = t_loss & ~l_loss
    pairs = {}
    for a in (1, 2, 3, 4):
        for b in (1, 2, 3, 4):
            c = (missed & (ln == a) & (lo == b)).sum()
            if c: pairs[names[a] + names[b]] = c
    top = sorted(pairs.items(), key=lambda kv: -kv[1])[:5]
    extra = (l_loss & ~t_loss)
    epairs = {}
    for a in (1, 2, 3, 4):
        for b in (1, 2, 3, 4):
            c = (extra & (tn == a) & (to == b)).sum()
            if c: epairs[names[a] + names[b]] = c
    etop = sorted(epairs.items(), key=lambda kv: -kv[1])[:4]
    print(f"axis {'zyx'[key[0]]}{'+' if key[1] > 0 else '-'}: truth nmc|void {t_loss.sum():6d} labels {l_loss.sum():6d} missed {missed.sum():6d} as {top}; extra {extra.sum()} truly {etop}")
print(f"loss truth {tot_t}/{surf_t} = {tot_t/surf_t:.4f}  labels {tot_l}/{surf_l} = {tot_l/surf_l:.4f}")
