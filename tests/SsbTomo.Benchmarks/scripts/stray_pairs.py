"""Which slices SliceIntensityRanges.StrayBulkPeaks flags, re-implemented on finished runs' alignment/chunk-*.json.

Usage: python3 stray_pairs.py 'DIR/family-*/run' [-v]   (runs kept by `-- sweep --keep DIR`)
Prints per run the stray slices (pair slid by a phase against the median pair of the 101 slices around, or separation
under half / over twice theirs) and how many slices have unsmoothed peaks. Session 25, 87 runs: strays only in 8, 17,
114, 118 and 119 (25 nm).
"""
import sys, glob, json, statistics as st
def load(run):
    sl=[]
    for f in sorted(glob.glob(run+'/alignment/chunk-*.json'), key=lambda p:int(p.split('-')[-1].split('.')[0])):
        sl+=json.load(open(f))['Slices']
    return sl
H=50
for run in sorted(glob.glob(sys.argv[1])):
    s=load(run); P=[x['Brightness']['BulkPeaks'] for x in s]
    P=[(p['Low'],p['High']) if p and p['High']>p['Low'] else None for p in P]
    out=[]; worst=0
    for z,p in enumerate(P):
        if not p: continue
        w=[P[i] for i in range(max(0,z-H),min(len(P),z+H+1)) if P[i]]
        lo=st.median(x[0] for x in w); hi=st.median(x[1] for x in w); sep=hi-lo; mid=(lo+hi)/2
        if p[1]<mid or p[0]>mid or p[1]-p[0]<0.5*sep or p[1]-p[0]>2*sep: out.append(z)
        worst=max(worst, (mid-p[1])/sep if p[1]<hi else 0, (p[0]-mid)/sep if p[0]>lo else 0)
    if out or '-v' in sys.argv: print(run.split('/')[-2], out, f'{len([p for p in P if p])}/{len(P)}')
