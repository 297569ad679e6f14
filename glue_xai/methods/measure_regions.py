"""Which parts of a thresholded map belong to the source in the middle of the image.

Cutouts are centred on their source, but many also hold unrelated neighbours, and a
plain threshold then measures the distance between two galaxies. The rule here:

1. connected regions (8-connectivity) smaller than ``min_area_px`` (about a beam) are
   noise and dropped;
2. the *seed* is every region reaching within ``centre_radius_px`` of the centre; when
   none does (an FR-II whose core is too faint to show) the region nearest the centre;
3. regions close to the group (gap at most ``link_px``) join it: a lobe broken up by
   the threshold stays one source;
4. a region on the *opposite side* of the centre from a group member that reaches out
   from the centre joins it too (directions to their farthest pixels within
   ``opposite_deg`` of reversed, distances within a factor ``distance_ratio``), and so
   do two outlying regions opposite each other: the two lobes of a double source, with
   or without a core (or a one-sided jet) between them. A neighbour off to one side
   satisfies neither 3 nor 4 (two neighbours facing each other across the source would,
   which is rare and the price of finding coreless doubles).
"""
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

_EIGHT = np.ones((3, 3), dtype=bool)


def regions(mask, min_area_px):
    """Labels (0 = background) of the connected regions of ``mask`` with at least
    ``min_area_px`` pixels, and the number of them."""
    labels, n = ndimage.label(mask, structure=_EIGHT)
    if n == 0:
        return labels, 0
    areas = np.bincount(labels.ravel(), minlength=n + 1)
    keep = areas >= min_area_px
    keep[0] = False
    relabel = np.zeros(n + 1, dtype=int)
    relabel[keep] = np.arange(1, keep.sum() + 1)
    return relabel[labels], int(keep.sum())


def _region_stats(labels, n, centre_xy):
    """Per region: nearest distance to the centre (px), its pixels (x, y), its centroid
    offset and its rim (see :func:`_rims`)."""
    rims = _rims(labels)
    stats = []
    for index, slc in enumerate(ndimage.find_objects(labels), start=1):
        ys, xs = np.nonzero(labels[slc] == index)
        xs = xs + slc[1].start
        ys = ys + slc[0].start
        points = np.column_stack([xs, ys]).astype(float)
        offsets = points - centre_xy
        distances = np.hypot(*offsets.T)
        # "reach": the offset of the region's farthest pixel, i.e. which way it extends
        # from the centre (a core with a one-sided jet points along the jet).
        stats.append({"points": points, "reach": offsets[np.argmax(distances)],
                      "nearest": float(distances.min()), "rim": points[rims[ys, xs]]})
    return stats


def _rims(labels):
    """The pixels of every region with a side on a pixel outside it (boolean). The shortest
    gap between two regions always runs between two such pixels (from any other pixel a
    step towards the other region shortens the gap), so :func:`_neighbours` finds the
    same neighbours from the rims alone, with far fewer pixel pairs."""
    padded = np.pad(labels, 1)
    inner = ((padded[:-2, 1:-1] == labels) & (padded[2:, 1:-1] == labels) & (padded[1:-1, :-2] == labels)
             & (padded[1:-1, 2:] == labels))
    return (labels > 0) & ~inner


def _neighbours(stats, allowed, link_px):
    """Per region (index): the set of the ``allowed`` regions with a pixel at most ``link_px``
    from one of its pixels (a gap of at most ``link_px``). One search over all their pixels
    instead of one per pair of regions."""
    if not np.isfinite(link_px):
        return {i: set(allowed) - {i} for i in allowed}
    neighbours = {i: set() for i in allowed}
    if len(allowed) < 2:
        return neighbours
    points = np.concatenate([stats[i]["rim"] for i in allowed])
    owner = np.concatenate([np.full(len(stats[i]["rim"]), i) for i in allowed])
    pairs = cKDTree(points).query_pairs(float(link_px), output_type="ndarray")
    a, b = owner[pairs[:, 0]], owner[pairs[:, 1]]
    across = a != b
    for i, j in set(zip(a[across].tolist(), b[across].tolist())):
        neighbours[i].add(j)
        neighbours[j].add(i)
    return neighbours


def _opposite(u, v, opposite_deg, distance_ratio):
    nu, nv = np.hypot(*u), np.hypot(*v)
    if nu == 0 or nv == 0:
        return False
    cos = np.dot(u, -v) / (nu * nv)
    ratio = max(nu, nv) / min(nu, nv)
    return cos >= np.cos(np.radians(opposite_deg)) and ratio <= distance_ratio


def source_group(labels, n, centre_xy, centre_radius_px, link_px, opposite_deg=30.0, distance_ratio=3.0,
                 max_distance_px=np.inf):
    """Indices (1-based labels) of the regions making up the central source (see module doc).

    Regions whose nearest pixel is farther than ``max_distance_px`` from the centre never
    count. Returns an empty list when no region is close enough.
    """
    if n == 0:
        return []
    stats = _region_stats(labels, n, np.asarray(centre_xy, dtype=float))
    allowed = [i for i in range(n) if stats[i]["nearest"] <= max_distance_px]
    if not allowed:
        return []
    group = [i for i in allowed if stats[i]["nearest"] <= centre_radius_px]
    if not group:
        group = [min(allowed, key=lambda i: stats[i]["nearest"])]
    outlying = [i for i in allowed if stats[i]["nearest"] > centre_radius_px]
    # Regions reaching well beyond the centre can have a counterpart on the other side.
    extended = [i for i in allowed if np.hypot(*stats[i]["reach"]) > 2 * centre_radius_px]

    # Whether an outlying region faces an extended one across the centre does not change
    # as the group grows: decided once per outlying region, not on every pass below.
    paired_with = {j: any(_opposite(stats[i]["reach"], stats[j]["reach"], opposite_deg, distance_ratio)
                          for i in extended if i != j) for j in outlying}
    neighbours = _neighbours(stats, allowed, link_px)

    changed = True
    while changed:
        changed = False
        for j in allowed:
            if j in group:
                continue
            near = any(i in neighbours[j] for i in group)
            paired = paired_with.get(j, False)
            if near or paired:
                group.append(j)
                changed = True
    return sorted(i + 1 for i in group)
