# Selection networks for the curtaining filter's running median (shared/SsbTomo.Imaging/Alignment/MedianOf25.cs):
# Batcher's odd-even merge sort on 32 wires (Batcher 1968; Knuth, TAOCP vol. 3, 5.3.4), the wires beyond the inputs held
# at +infinity (a comparator that touches one does nothing or renames a wire), pruned backwards to the comparators and
# halves (min or max) that reach the wanted order statistics; checked by the 0-1 principle over all 2^n inputs.
#   /usr/bin/python3 median_networks.py 25 12          # the median of 25: 113 comparators, 202 operations
#   /usr/bin/python3 median_networks.py 22 9,10,11,12  # the four-window lanes: 101 comparators, 184 operations
#   /usr/bin/python3 median_networks.py 22 9,10,11,12 --emit a   # the C# lines, temporaries named a22, a23, ...
import sys, numpy as np
def oddeven_merge(lo, hi, r):
    step = r * 2
    if step < hi - lo:
        yield from oddeven_merge(lo, hi, step)
        yield from oddeven_merge(lo + r, hi, step)
        yield from [(i, i + r) for i in range(lo + r, hi - r, step)]
    else:
        yield (lo, lo + r)
def oddeven_merge_sort_range(lo, hi):
    if (hi - lo) >= 1:
        mid = lo + ((hi - lo) // 2)
        yield from oddeven_merge_sort_range(lo, mid)
        yield from oddeven_merge_sort_range(mid + 1, hi)
        yield from oddeven_merge(lo, hi, 1)
def network(n, wanted, size=32):
    comps = list(oddeven_merge_sort_range(0, size - 1))
    # forward: names per wire; inf constant = None
    names = {w: (f"s{w}" if w < n else None) for w in range(size)}
    ops = []  # (kind, out, a, b) kind in min/max
    counter = [0]
    steps = []
    for (a, b) in comps:
        na, nb = names[a], names[b]
        if nb is None:  # max is inf, min is a: nothing
            continue
        if na is None:  # a inf, b finite: swap
            names[a], names[b] = nb, None
            continue
        mn, mx = f"m{counter[0]}", f"m{counter[0]+1}"; counter[0] += 2
        steps.append((mn, mx, na, nb))
        names[a], names[b] = mn, mx
    outs = [names[w] for w in wanted]
    # backward pruning
    needed = set(outs)
    kept = []
    for (mn, mx, na, nb) in reversed(steps):
        want_min, want_max = mn in needed, mx in needed
        if not (want_min or want_max): continue
        kept.append((mn if want_min else None, mx if want_max else None, na, nb))
        needed.add(na); needed.add(nb)
    kept.reverse()
    return kept, outs
def check(n, kept, outs, ranks):
    # 0-1 principle, bit-packed over all 2^n patterns
    N = 1 << n
    idx = np.arange(N, dtype=np.uint64)
    vals = {f"s{w}": ((idx >> np.uint64(w)) & np.uint64(1)).astype(bool) for w in range(n)}
    for (mn, mx, a, b) in kept:
        if mn: vals[mn] = vals[a] & vals[b]
        if mx: vals[mx] = vals[a] | vals[b]
    ones = np.zeros(N, np.int32)
    for w in range(n): ones += vals[f"s{w}"]
    ok = True
    for o, r in zip(outs, ranks):
        # r-th smallest (0-based) is 1 iff number of zeros <= r
        expect = (n - ones) <= r
        ok &= bool(np.array_equal(vals[o], expect))
    return ok
def emit(n, ranks, prefix="v", per_line=3):
    kept, outs = network(n, ranks)
    rename = {f"s{w}": f"{prefix}{w}" for w in range(n)}
    nxt = n
    lines = []
    for (mn, mx, a, b) in kept:
        for name, fn in ((mn, "MinNative"), (mx, "MaxNative")):
            if name:
                rename[name] = f"{prefix}{nxt}"; nxt += 1
                lines.append(f"var {rename[name]} = Vector256.{fn}({rename[a]}, {rename[b]});")
    return lines, [rename[o] for o in outs]

if __name__ == "__main__":
    n = int(sys.argv[1]); ranks = [int(x) for x in sys.argv[2].split(",")]
    if len(sys.argv) > 4 and sys.argv[3] == "--emit":
        lines, outs = emit(n, ranks, prefix=sys.argv[4])
        for i in range(0, len(lines), 3): print("        " + " ".join(lines[i:i + 3]))
        print(f"        // order statistics {ranks}: {', '.join(outs)}")
    else:
        kept, outs = network(n, ranks)
        ops = sum((1 if k[0] else 0) + (1 if k[1] else 0) for k in kept)
        print(f"n={n} ranks={ranks}: {len(kept)} comparators, {ops} min/max ops; 0-1 check:", check(n, kept, outs, ranks))
