# What lies along the face normal where the labels put NMC against void (session 52): per labelled NMC|void voxel face,
# the truth's labels from 3 voxels inside the particle to 4 outside (N NMC, L LPS, C carbon, V void; the face between the
# 4th and 5th character), most common first, then the wrong faces with the classifier's labels (before the clean-up)
# along the same line. Dump the labels first:
#   SSBTOMO_CLEANUP_RULES="classified,pipeline" SSBTOMO_CLEANUP_DUMP_RULE="classified,pipeline" \
#     dotnet B/SsbTomo.Benchmarks.dll cleanup PHANTOM RUN [PHANTOM RUN ...]
# then /usr/bin/python3 contact_face_patterns.py PHANTOM RUN [PHANTOM RUN ...] (DIRs as `-- sweep --keep` leaves them).
import collections, json, sys
import numpy as np, zarr

names = {0: ".", 1: "N", 2: "L", 3: "C", 4: "V"}
for phantom, run in zip(sys.argv[1::2], sys.argv[2::2]):
    crop = json.load(open(f"{run}/alignment.json"))["crop_yx"]
    truth = np.asarray(zarr.open(f"{phantom}/truth_labels", mode="r")["0"])[:, crop[0]:crop[1], crop[2]:crop[3]]
    final = np.fromfile(f"{run}/labels-pipeline.u8", np.uint8).reshape(truth.shape)
    classified = np.fromfile(f"{run}/labels-classified.u8", np.uint8).reshape(truth.shape)
    patterns, wrong, total = collections.Counter(), collections.Counter(), 0
    for axis in range(3):
        labels, true, first = (np.moveaxis(a, axis, -1) for a in (final, truth, classified))
        n = labels.shape[-1]
        for flip in (False, True):
            a, b = labels[..., 3:n - 4], labels[..., 4:n - 3]
            faces = np.nonzero((a == 1) & (b == 4) if not flip else (a == 4) & (b == 1))
            offsets = range(-3, 5) if not flip else range(4, -4, -1)  # NMC side first
            t = np.stack([true[faces[:-1] + (faces[-1] + 3 + o,)] for o in offsets], 1)
            c = np.stack([first[faces[:-1] + (faces[-1] + 3 + o,)] for o in offsets], 1)
            for row, row_classified in zip(t, c):
                pattern = "".join(names[x] for x in row)
                patterns[pattern] += 1
                total += 1
                if pattern[3] != "N" or pattern[4] != "V":
                    wrong[(pattern, "".join(names[x] for x in row_classified))] += 1
    print(f"{phantom}: {total} labelled NMC|void faces; truth along the normal (NMC side first)")
    for pattern, count in patterns.most_common(12):
        print(f"    {pattern} {count}")
    print("  faces the truth does not have: truth / classified")
    for (pattern, first_labels), count in wrong.most_common(12):
        print(f"    {pattern} {first_labels} {count}")
