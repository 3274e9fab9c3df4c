"""How the dark-mode floor (HistogramPeaks.MinimumDarkShare) decides which stacks get the mixture's second start.

Re-implements HistogramPeaks (its smoothing, bulk pair and DarkPeaks) on each finished run's denoised.zarr histogram
(1024 bins over 0-65536, as the orchestrator merges it) and counts, per floor, the stacks with exactly two dark modes.
Usage: /usr/bin/python3 dark_mode_floor.py 'DIR/*/run' [more globs]   (runs kept by `-- sweep --keep DIR`)
Session 24, 147 runs at 15/25/50/100 nm: 0.001-0.005 -> the same 26 stacks (15 and 25 nm only), 0.01 -> 25, 0.02 -> 24.
"""
import sys, glob, zarr, numpy as np
def smooth(c, s):
    r=int(np.ceil(3*s)); k=np.exp(-np.arange(-r,r+1)**2/(2*s*s)); n=len(c); out=np.zeros(n)
    for i in range(n):
        lo=max(-r,-i); hi=min(r,n-1-i)
        out[i]=np.dot(c[i+lo:i+hi+1], k[lo+r:hi+r+1])
    return out
def sep(sm,a,b,ratio=0.8):
    lo,hi=min(a,b),max(a,b); return sm[lo:hi+1].min() < ratio*min(sm[a],sm[b])
def bulk(sm):
    mx=[i for i in range(1,len(sm)-1) if sm[i]>0 and sm[i]>=sm[i-1] and sm[i]>sm[i+1]]
    mx.sort(key=lambda i:(-sm[i],i))
    if len(mx)<2: return None
    h=mx[0]
    for o in mx[1:]:
        if sm[o] < 0.05*sm[h]: break
        if sep(sm,o,h): return (min(o,h),max(o,h))
    return None
def dark(sm, matrix, share):
    top=sm.max()
    cand=[i for i in range(1,matrix) if sm[i]>=share*top and sm[i]>=sm[i-1] and sm[i]>sm[i+1]]
    cand.sort(key=lambda i:(-sm[i],i))
    taken=[matrix]
    for p in cand:
        if all(sep(sm,p,o) for o in taken): taken.append(p)
    return sorted(taken[1:])
shares=[0.001,0.002,0.005,0.01,0.02]
counts={s:0 for s in shares}; differ=[]
runs=sorted(r for g in sys.argv[1:] for r in glob.glob(g))
for r in runs:
    try: den=np.asarray(zarr.open(r+'/denoised.zarr',mode='r')['0'])
    except Exception as e: continue
    h,_=np.histogram(den,bins=1024,range=(0,65536)); sm=smooth(h.astype(float),3)
    b=bulk(sm)
    if b is None: continue
    res={s: len(dark(sm,b[0],s))==2 for s in shares}
    for s in shares: counts[s]+=res[s]
    if res[0.002]: print("two dark modes at the floor in use (0.002):", r)
    if len(set(res.values()))>1: differ.append((r, {s:res[s] for s in shares}))
print(len(runs),'runs; stacks with exactly two dark modes per share:',counts)
for d in differ: print(d)
