"""A trained surface-layer decision across family members: every voxel the pipeline labels non-active next to an
active one is re-classified from its grey profile along the face normal (7 voxels), its in-plane 3x3 minimum and its
z neighbours, greys normalised per stack by the pipeline labels' medians (void 0, electrolyte 1), by a scikit-learn
forest trained on the other half of the members (1-12 + presets vs 13-24); void and contact-loss errors before and
after. Reads the sweep's kept runs (FAM/NAME/{phantom,run}, run/labels.u8 written by `-- cleanup` with
SSBTOMO_CLEANUP_DUMP_RULE=pipeline). Session 15: contact loss within +-2 pp 67 % -> 48 % of the 27 runs, void
unchanged: the members' appearance varies too much for a profile rule learnt on others.
Usage: /usr/bin/python3 surface_layer_forest.py  (edit FAM)"""
import json, sys, numpy as np, zarr
from sklearn.ensemble import RandomForestClassifier
NMC, LPS, CARBON, VOID = 1, 2, 3, 4
FAM = "/tmp/s10/fam"
names = [f"family-{i}" for i in range(1, 25)] + ["cycled50-seed-1", "pristine-seed-1", "cycled10-seed-1"]

def cl(lab):
    surf = nv = 0
    for ax in range(3):
        a = np.moveaxis(lab, ax, 0)
        x, y = a[:-1], a[1:]
        for p, q in ((x, y), (y, x)):
            m = (p == NMC) & (q >= 2)
            surf += m.sum(); nv += (m & (q == VOID)).sum()
    return nv / surf

def load(name):
    ph, run = f"{FAM}/{name}/phantom", f"{FAM}/{name}/run"
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{ph}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    g = np.asarray(zarr.open(f"{run}/denoised.zarr", mode="r")["0"]).astype(np.float32)
    lab = np.fromfile(f"{run}/labels.u8", np.uint8).reshape(truth.shape)
    return g, lab, truth

OFFS = [-2, -1, 0, 1, 2, 3, 4]
def features(g, lab):
    # per-stack normalisation by the pipeline labels' interior medians
    means = {}
    for c in (VOID, LPS, NMC, CARBON):
        m = lab == c
        means[c] = np.median(g[m]) if m.any() else np.nan
    lo, hi = means[VOID], means[LPS]
    n = (g - lo) / (hi - lo)
    nmcn = (means[NMC] - lo) / (hi - lo)
    D, H, W = lab.shape
    rows, idx = [], []
    for ax in range(3):
        for sgn in (1, -1):
            # voxel v non-NMC (valid) whose neighbour at v - sgn*e_ax is NMC
            sh = [0, 0, 0]; sh[ax] = sgn
            nb = np.roll(lab, sh, axis=(0, 1, 2))  # nb[v] = lab[v - sgn e]
            cand = (lab >= 2) & (nb == NMC)
            # drop wrap-around
            sl = [slice(None)] * 3
            sl[ax] = slice(0, 1) if sgn == 1 else slice(-1, None)
            cand[tuple(sl)] = False
            zz, yy, xx = np.nonzero(cand)
            f = []
            for o in OFFS:
                c = [zz, yy, xx]
                c[ax] = np.clip(c[ax] + sgn * o, 0, lab.shape[ax] - 1)
                f.append(n[c[0], c[1], c[2]])
            # in-plane 3x3 minimum and z +-1 of the voxel
            f.append(np.minimum.reduce([n[zz, np.clip(yy + dy, 0, H - 1), np.clip(xx + dx, 0, W - 1)] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]))
            f.append(n[np.clip(zz - 1, 0, D - 1), yy, xx]); f.append(n[np.clip(zz + 1, 0, D - 1), yy, xx])
            f.append(np.full(zz.shape, nmcn, np.float32)); f.append(np.full(zz.shape, ax, np.float32)); f.append(np.full(zz.shape, sgn, np.float32))
            f.append(lab[zz, yy, xx].astype(np.float32))
            rows.append(np.stack(f, 1)); idx.append((zz, yy, xx))
    X = np.concatenate(rows)
    I = tuple(np.concatenate([i[k] for i in idx]) for k in range(3))
    return X, I

data = {}
for name in names:
    g, lab, truth = load(name)
    X, I = features(g, lab)
    data[name] = (X, I, lab, truth)
    print(name, X.shape[0], flush=True)

groups = [names[0:12] + names[24:], names[12:24]]
res = []
for k, test in enumerate(groups):
    train = [n for n in names if n not in test]
    Xtr = np.concatenate([data[n][0] for n in train]); ytr = np.concatenate([data[n][3][data[n][1]] for n in train])
    sel = np.random.default_rng(0).choice(len(ytr), min(len(ytr), 400000), replace=False)
    rf = RandomForestClassifier(100, min_samples_leaf=5, n_jobs=2, random_state=0).fit(Xtr[sel], ytr[sel])
    for n in test:
        X, I, lab, truth = data[n]
        pred = rf.predict(X)
        new = lab.copy()
        # a voxel seen from several directions: majority over its rows (last write wins is fine for a ceiling)
        new[I] = np.where(pred == NMC, lab[I], pred)  # never relabel to NMC (keep the particle)
        tv = (truth == VOID).mean(); t_cl = cl(truth)
        res.append((n, 100 * ((lab == VOID).mean() - tv), 100 * ((new == VOID).mean() - tv), 100 * (cl(lab) - t_cl), 100 * (cl(new) - t_cl)))
        print(f"{n:16s} void {res[-1][1]:+.2f} -> {res[-1][2]:+.2f}  CL {res[-1][3]:+.2f} -> {res[-1][4]:+.2f}", flush=True)
r = np.array([x[1:] for x in res])
print("void<=0.5", (abs(r[:, 0]) <= .5).mean(), "->", (abs(r[:, 1]) <= .5).mean(), " CL<=2", (abs(r[:, 2]) <= 2).mean(), "->", (abs(r[:, 3]) <= 2).mean())
