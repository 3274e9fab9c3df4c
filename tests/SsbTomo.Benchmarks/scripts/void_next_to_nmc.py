"""How a run labels the voxels that touch NMC, per true phase (truth void next to NMC is the contact loss's side).

Usage: /usr/bin/python3 void_next_to_nmc.py RUN PHANTOM   (a `-- sweep --keep DIR` member: DIR/family-N/run, DIR/family-N/phantom)
Truth is cropped by the run's alignment.json crop_yx; labels 1 NMC, 2 LPS, 3 carbon, 4 void. Also prints, of the true
void next to NMC read as electrolyte, the share with NMC directly behind (slice z+1).
"""
import zarr, numpy as np, json, sys
from scipy.ndimage import binary_dilation
run=sys.argv[1]; ph=sys.argv[2]
lab=zarr.open(run+'/aligned.zarr/labels/phases/0','r')[:]
aj=json.load(open(run+'/alignment.json')); y0,y1,x0,x1=aj['crop_yx']
tr=zarr.open(ph+'/truth_labels/0','r')[:, y0:y1, x0:x1]
nmc=(tr==1)
near=binary_dilation(nmc, structure=np.ones((3,3,3),bool)) & ~nmc
names={1:'nmc',2:'lps',3:'carbon',4:'void'}
for c in (2,3,4):
    m=near&(tr==c)
    vals,cnt=np.unique(lab[m],return_counts=True)
    print('truth',names[c],'next to NMC:',m.sum(), {names.get(int(v),v):round(n/m.sum(),3) for v,n in zip(vals,cnt)})
# z-position of void next to NMC read as LPS: is the NMC behind (z+1..z+3)?
m=near&(tr==4)&(lab==2)
zs,ys,xs=np.nonzero(m)
behind=[(tr[min(z+k,tr.shape[0]-1),y,x]==1) for z,y,x in zip(zs,ys,xs) for k in (1,)]
print('void-next-to-NMC read LPS:',m.sum(),'with NMC directly behind (z+1):',round(np.mean(behind),3) if len(behind) else None)
