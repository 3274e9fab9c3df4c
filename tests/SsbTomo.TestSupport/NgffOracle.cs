namespace SsbTomo.TestSupport;

/// <summary>
/// zarr-python (Debian python3-zarr) as the independent reader of OME-Zarr images, with structural checks of their
/// metadata written from the OME-NGFF 0.4 specification's required keys (https://ngff.openmicroscopy.org/0.4/,
/// "multiscales", "labels", "image-label"); no Debian package ships the specification's JSON schemas.
/// </summary>
public static class NgffOracle
{
    /// <summary>
    /// Arguments: image group folders. For each image, and each label image its "labels" group lists, checks the metadata
    /// and prints one line per level: "group-relative-path level dtype shape sha256-of-little-endian-bytes". Any violation
    /// fails the script with a message naming the group and the rule.
    /// </summary>
    public static string Inspect(params string[] imageGroups) => PythonOracle.Run(Script, imageGroups);

    private const string Script = """
        import sys, os, json, hashlib
        import numpy as np
        import zarr

        SPACE_UNITS = {'angstrom','attometer','centimeter','decimeter','exameter','femtometer','foot','gigameter','hectometer','inch',
            'kilometer','megameter','meter','micrometer','mile','millimeter','nanometer','parsec','petameter','picometer','terameter',
            'yard','yoctometer','yottameter','zeptometer','zettameter'}

        def fail(group, rule):
            sys.exit(f'{group}: {rule}')

        def check_multiscales(path, attrs, group):
            ms = attrs.get('multiscales')
            if not isinstance(ms, list) or not ms: fail(path, 'multiscales must be a non-empty list')
            m = ms[0]
            if m.get('version') != '0.4': fail(path, f"multiscales version {m.get('version')!r}, expected '0.4'")
            axes = m.get('axes')
            if not isinstance(axes, list) or not 2 <= len(axes) <= 5: fail(path, 'axes must list 2 to 5 axes')
            names = [a.get('name') for a in axes]
            if len(set(names)) != len(names) or any(not isinstance(n, str) for n in names): fail(path, 'axis names must be unique strings')
            for a in axes:
                if a.get('type') == 'space' and a.get('unit') not in SPACE_UNITS: fail(path, f"space axis {a['name']} has unit {a.get('unit')!r}")
            if sum(1 for a in axes if a.get('type') == 'space') not in (2, 3): fail(path, '2 or 3 space axes required')
            datasets = m.get('datasets')
            if not isinstance(datasets, list) or not datasets: fail(path, 'datasets must be a non-empty list')
            scales = []
            for d in datasets:
                ct = d.get('coordinateTransformations')
                if not isinstance(ct, list) or not 1 <= len(ct) <= 2: fail(path, f"dataset {d.get('path')}: one or two coordinateTransformations")
                if ct[0].get('type') != 'scale': fail(path, f"dataset {d.get('path')}: the first transformation must be a scale")
                if len(ct) == 2 and ct[1].get('type') != 'translation': fail(path, f"dataset {d.get('path')}: the second must be a translation")
                for t in ct:
                    values = t.get(t['type'])
                    if not isinstance(values, list) or len(values) != len(axes): fail(path, f"dataset {d.get('path')}: {t['type']} needs one value per axis")
                arr = group[d['path']]
                if arr.ndim != len(axes): fail(path, f"dataset {d['path']} has {arr.ndim} dimensions, {len(axes)} axes")
                scales.append(ct[0]['scale'])
            for level, s in enumerate(scales):
                if not np.allclose(s, np.array(scales[0]) * 2 ** level, rtol=1e-12): fail(path, f'level {level} scale {s} is not 2^{level} x {scales[0]}')
            shapes = [group[d['path']].shape for d in datasets]
            for level in range(1, len(shapes)):
                if shapes[level] != tuple((n + 1) // 2 for n in shapes[level - 1]): fail(path, f'level {level} shape {shapes[level]} is not half of {shapes[level - 1]}')
            return m

        def report(root, path, m, group):
            for level, d in enumerate(m['datasets']):
                a = group[d['path']][...]
                digest = hashlib.sha256(np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest()
                print(os.path.relpath(path, root), level, a.dtype.name, 'x'.join(map(str, a.shape)), digest)

        for image in sys.argv[1:]:
            root = os.path.dirname(image.rstrip('/'))
            group = zarr.open_group(image, mode='r')
            attrs = group.attrs.asdict()
            m = check_multiscales(image, attrs, group)
            report(root, image, m, group)
            labels_dir = os.path.join(image, 'labels')
            if not os.path.isdir(labels_dir): continue
            labels_group = zarr.open_group(labels_dir, mode='r')
            names = labels_group.attrs.asdict().get('labels')
            if not isinstance(names, list) or not names: fail(labels_dir, "the labels group must list its label images in 'labels'")
            for name in names:
                path = os.path.join(labels_dir, name)
                lg = zarr.open_group(path, mode='r')
                la = lg.attrs.asdict()
                lm = check_multiscales(path, la, lg)
                il = la.get('image-label')
                if not isinstance(il, dict): fail(path, "a label image needs 'image-label'")
                if il.get('version') not in (None, '0.4'): fail(path, f"image-label version {il.get('version')!r}")
                colors = il.get('colors', [])
                values = [c.get('label-value') for c in colors]
                if any(not isinstance(v, int) for v in values) or len(set(values)) != len(values): fail(path, 'colors: label-value must be unique integers')
                for c in colors:
                    rgba = c.get('rgba')
                    if not (isinstance(rgba, list) and len(rgba) == 4 and all(isinstance(x, int) and 0 <= x <= 255 for x in rgba)): fail(path, f'colors: bad rgba {rgba}')
                for p in il.get('properties', []):
                    if not isinstance(p.get('label-value'), int): fail(path, 'properties: label-value must be an integer')
                source = il.get('source', {}).get('image', '../../')
                if os.path.normpath(os.path.join(path, source)) != os.path.normpath(image): fail(path, f'source {source!r} does not lead to {image}')
                for d in lm['datasets']:
                    if not np.issubdtype(lg[d['path']].dtype, np.integer): fail(path, f"label dataset {d['path']} is not of an integer type")
                if len(lm['datasets']) != len(m['datasets']) or any(
                        ld['coordinateTransformations'] != d['coordinateTransformations'] for ld, d in zip(lm['datasets'], m['datasets'])):
                    fail(path, 'the label levels do not match the image levels (scales and translations), so viewers would not overlay them')
                report(root, path, lm, lg)
        """;
}
