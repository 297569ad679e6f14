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
    raw, _, _, raw_owner, n_raw = labelled_pixels(mask)
    if n_raw == 0:
        return raw, 0
    relabel, n = area_relabel(raw_owner, n_raw, min_area_px)
    return relabel[raw], n


def labelled_pixels(mask):
    """``(raw, ys, xs, raw_owner, n_raw)``: the connected regions of ``mask`` labelled
    once (``raw``, 8-connectivity, as :func:`regions` labels them), and their pixels row
    by row with their labels. Filtering, grouping and measuring the regions from these
    pixel lists, instead of from relabelled images, spares a pass over every pixel of the
    image at each step."""
    raw, n_raw = ndimage.label(mask, structure=_EIGHT)
    ys, xs = np.nonzero(raw)
    return raw, ys, xs, raw[ys, xs], n_raw


def area_relabel(raw_owner, n_raw, min_area_px):
    """The relabelling of :func:`regions` (raw label -> kept label, 0 for regions smaller
    than ``min_area_px``) from the labelled pixels' raw labels, and the number kept."""
    areas = np.bincount(raw_owner, minlength=n_raw + 1)
    keep = areas >= min_area_px
    keep[0] = False
    relabel = np.zeros(n_raw + 1, dtype=int)
    relabel[keep] = np.arange(1, keep.sum() + 1)
    return relabel, int(keep.sum())


def _region_stats(labels, n, centre_xy):
    """Per region: nearest distance to the centre (px), its pixels (x, y), its centroid
    offset and its rim (see :func:`_rims`). One pass over the labelled pixels for all the
    regions: sorted by label (stably), each region's pixels keep the row-major order a
    search of its own box gives, so every number is the one of a region-by-region search."""
    ys, xs = np.nonzero(labels)
    return _stats_of_pixels(labels, ys, xs, labels[ys, xs], n, centre_xy)


def _stats_of_pixels(labels, ys, xs, owner, n, centre_xy, relabel=None):
    """:func:`_region_stats` from the labelled pixels ``(ys, xs)`` (row by row) and their
    labels ``owner``; ``labels`` is the label image, or with ``relabel`` the raw label
    image that ``relabel`` maps to those labels."""
    on_rim = _on_rim(labels, ys, xs, owner, relabel)
    order = np.argsort(owner, kind="stable")
    ys, xs, owner, on_rim = ys[order], xs[order], owner[order], on_rim[order]
    points = np.column_stack([xs, ys]).astype(float)
    offsets = points - centre_xy
    distances = np.hypot(*offsets.T)
    bounds = np.searchsorted(owner, np.arange(1, n + 2))
    stats = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        region = slice(start, stop)
        # "reach": the offset of the region's farthest pixel, i.e. which way it extends
        # from the centre (a core with a one-sided jet points along the jet).
        stats.append({"points": points[region], "reach": offsets[start + np.argmax(distances[region])],
                      "nearest": float(distances[region].min()), "rim": points[region][on_rim[region]]})
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


def _on_rim(labels, ys, xs, owner, relabel=None):
    """:func:`_rims` at the labelled pixels ``(ys, xs)`` (their labels ``owner``), looking
    at those pixels' four neighbours only instead of the whole image (beyond the image
    counts as background, as :func:`_rims`'s padding makes it). With ``relabel``,
    ``labels`` holds raw labels that ``relabel`` maps to ``owner``'s."""
    height, width = labels.shape
    rim = np.zeros(len(ys), dtype=bool)
    for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        y, x = ys + dy, xs + dx
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        rim |= ~inside
        beside = labels[y[inside], x[inside]]
        rim[inside] |= (beside if relabel is None else relabel[beside]) != owner[inside]
    return rim


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
    """Whether offsets ``u`` and ``v`` point away from each other (within ``opposite_deg``
    of reversed) at distances within a factor ``distance_ratio``: the rule for one pair,
    which :func:`_facing` applies to every pair at once."""
    nu, nv = np.hypot(*u), np.hypot(*v)
    if nu == 0 or nv == 0:
        return False
    # The distances first: cheaper than the angle, and enough to rule most pairs out.
    if not max(nu, nv) / min(nu, nv) <= distance_ratio:
        return False
    return np.dot(u, -v) / (nu * nv) >= _cos_deg(opposite_deg)


def _facing(stats, reach, outlying, extended, opposite_deg, distance_ratio):
    """``{j: whether outlying region j faces an extended region i != j}`` (:func:`_opposite`),
    for every pair at once: the same products, sums and quotients element by element
    (``np.dot`` of two 2-vectors rounds as the plain sum of the two products, which the
    tests check), so the same answers."""
    if not outlying or not extended:
        return {j: False for j in outlying}
    u = np.array([stats[i]["reach"] for i in extended])  # (e, 2)
    v = np.array([stats[j]["reach"] for j in outlying])[:, None, :]  # (o, 1, 2)
    nu = np.array([reach[i] for i in extended])[None, :]
    nv = np.array([reach[j] for j in outlying])[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = (u[None, :, 0] * -v[..., 0] + u[None, :, 1] * -v[..., 1]) / (nu * nv)
        ratio = np.maximum(nu, nv) / np.minimum(nu, nv)
    facing = (nu != 0) & (nv != 0) & (ratio <= distance_ratio) & (cos >= _cos_deg(opposite_deg))
    facing &= np.array(extended)[None, :] != np.array(outlying)[:, None]
    return dict(zip(outlying, facing.any(axis=1).tolist()))


def _cos_deg(degrees):
    return np.cos(np.radians(degrees))


def source_group(labels, n, centre_xy, centre_radius_px, link_px, opposite_deg=30.0, distance_ratio=3.0,
                 max_distance_px=np.inf, stats=None):
    """Indices (1-based labels) of the regions making up the central source (see module doc).

    Regions whose nearest pixel is farther than ``max_distance_px`` from the centre never
    count. Returns an empty list when no region is close enough. ``stats``: the regions'
    :func:`_region_stats`, when the caller has them (``labels`` is then not read).
    """
    if n == 0:
        return []
    if stats is None:
        stats = _region_stats(labels, n, np.asarray(centre_xy, dtype=float))
    allowed = [i for i in range(n) if stats[i]["nearest"] <= max_distance_px]
    if not allowed:
        return []
    group = [i for i in allowed if stats[i]["nearest"] <= centre_radius_px]
    if not group:
        group = [min(allowed, key=lambda i: stats[i]["nearest"])]
    if len(group) == len(allowed):  # every region is near the centre: nothing left to link or pair
        return sorted(i + 1 for i in group)
    outlying = [i for i in allowed if stats[i]["nearest"] > centre_radius_px]
    reach = {i: np.hypot(*stats[i]["reach"]) for i in allowed}  # how far each region reaches
    # Regions reaching well beyond the centre can have a counterpart on the other side.
    extended = [i for i in allowed if reach[i] > 2 * centre_radius_px]

    # Whether an outlying region faces an extended one across the centre does not change
    # as the group grows: decided once per outlying region, not on every pass below.
    paired_with = _facing(stats, reach, outlying, extended, opposite_deg, distance_ratio)
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
