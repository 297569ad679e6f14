"""Geometry of a region on the sky: largest extent, position angle, centre and peaks.

Pixel coordinates here are ``(x, y)`` = (column, row), 0-based, as matplotlib and glue
draw them with ``origin="lower"``. Arrays are indexed ``[y, x]``.

Position angle convention: east of north, in [0, 180) degrees (a line has no head).
With a celestial WCS the angle is measured on the sky between the two ends of the
extent line, so any image orientation is handled. Without one the image is taken to
be a standard RA---TAN image: north up (+y), east to the left (-x); a line running
from the lower right to the upper left (north-east) then has PA 45 degrees.
"""
import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from glue_xai.models.preprocess import celestial_part


def region_pixels(mask):
    """``(ys, xs)`` of the pixels of ``mask``, row by row (``np.nonzero``): found once by a
    caller measuring one region several ways and handed to the functions here as
    ``pixels``, which then give the numbers they give from the mask."""
    return np.nonzero(mask)


def _points(mask, pixels):
    """The region's pixel centres as (x, y) floats, in row-major order."""
    ys, xs = region_pixels(mask) if pixels is None else pixels
    return np.column_stack([xs, ys]).astype(float)


def farthest_pair(mask, pixels=None):
    """The two pixel centres of ``mask`` farthest apart: ``((x0, y0), (x1, y1)), distance_px``.

    The farthest pair always lies on the convex hull, which keeps the search small even
    for big regions. A single pixel gives that pixel twice and distance 0. ``pixels``:
    the mask's :func:`region_pixels`, when the caller has them.
    """
    ys, xs = region_pixels(mask) if pixels is None else pixels
    if len(xs) == 0:
        raise ValueError("the region is empty")
    found = _unique_farthest_pair(mask, ys, xs)
    if found is not None:
        return found
    points = np.column_stack([xs, ys]).astype(float)  # (x, y)
    if len(points) > 3:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:
            pass  # collinear pixels: the brute force below is still small enough
    diff = points[:, None, :] - points[None, :, :]
    d2 = (diff ** 2).sum(axis=-1)
    i, j = np.unravel_index(np.argmax(d2), d2.shape)
    # Order the ends so the line runs from south to north (then east to west): stable output.
    a, b = points[i], points[j]
    if (a[1], -a[0]) > (b[1], -b[0]):
        a, b = b, a
    return (tuple(a), tuple(b)), float(np.sqrt(d2[i, j]))


def _unique_farthest_pair(mask, ys, xs):
    """:func:`farthest_pair` of the pixels ``(ys, xs)`` of ``mask`` (row by row, as
    ``np.nonzero`` gives them) when only one pair of pixels is that far apart, else None.

    Both ends of a farthest pair are corners of the convex hull, and a corner is the
    first or last pixel of its row and the lowest or highest of its column (a pixel
    between two others of its row or column is not a corner): the search runs over those
    few pixels instead of building the hull of every pixel. With one such pair the answer
    is the hull search's, whatever order that search visits the corners in (the same
    pixels, the same exact integer squared distance); when several pairs tie, which one
    the hull search picks depends on its order, so the caller runs it."""
    is_end = np.zeros(len(ys), dtype=bool)
    new_row = np.flatnonzero(ys[1:] != ys[:-1]) + 1
    is_end[0] = is_end[-1] = True
    is_end[new_row] = is_end[new_row - 1] = True
    y0, x0 = int(ys[0]), int(xs.min())
    box = mask[y0:int(ys[-1]) + 1, x0:int(xs.max()) + 1]
    lowest, highest = box.argmax(axis=0), box.shape[0] - 1 - box[::-1].argmax(axis=0)
    ends = np.flatnonzero(is_end)
    row, column = ys[ends] - y0, xs[ends] - x0
    ends = ends[(row == lowest[column]) | (row == highest[column])]
    x, y = xs[ends].astype(float), ys[ends].astype(float)
    if len(x) == 1:
        return ((x[0], y[0]), (x[0], y[0])), 0.0
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    d2 = dx * dx + dy * dy  # exact: integers
    i, j = np.nonzero(d2 == d2.max())
    if len(i) != 2:  # a tie between pairs
        return None
    a, b = (x[i[0]], y[i[0]]), (x[j[0]], y[j[0]])
    if (a[1], -a[0]) > (b[1], -b[0]):
        a, b = b, a
    return (a, b), float(np.sqrt(d2[i[0], j[0]]))


def principal_axis(mask, pixels=None):
    """Unit vector (dx, dy) of the long axis of the region's pixels (second moments).

    Unweighted, so a bright core or one bright hotspot does not pull the axis; for a
    plume or lobe that is wide at its end it follows the source's axis, where the
    farthest pair of pixels would run corner to corner.
    """
    points = _points(mask, pixels)
    if len(points) < 2:
        return np.array([0.0, 1.0])
    values, vectors = np.linalg.eigh(np.cov(points.T))
    axis = vectors[:, np.argmax(values)]
    return axis if axis[1] >= 0 else -axis


def axis_line(mask, start, end, axis=None):
    """The line drawn for a region: through the midpoint of its farthest pair of pixels,
    as long as that pair is far apart, along the region's principal axis (``axis``, when
    the caller has it already)."""
    length = np.hypot(end[0] - start[0], end[1] - start[1])
    middle = np.array([(start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0])
    half = (principal_axis(mask) if axis is None else axis) * length / 2.0
    return tuple(middle - half), tuple(middle + half)


def _world_radians(wcs, xy, world=None):
    """(longitude, latitude) in radians, in the WCS's own frame, of pixel ``(x, y)``;
    looked up in ``world`` (from :func:`world_radians_of`) when it holds the pixel."""
    known = None if world is None else world.get(_pixel_key(xy))
    if known is not None:
        return known
    lon, lat = celestial_part(wcs).pixel_to_world_values(*xy)
    return np.radians(float(lon)), np.radians(float(lat))


def _pixel_key(xy):
    return np.asarray(xy, dtype=np.float64).tobytes()  # the bits: -0.0 is not 0.0


def world_radians_of(wcs, points):
    """:func:`_world_radians` of many pixels (x, y) in one call to the WCS (each pixel is
    converted on its own inside, so the numbers are those of one call per pixel: the
    tests check it), as a lookup for the ``world`` arguments here; None without a WCS."""
    if wcs is None:
        return None
    points = [p for p in points if p is not None]
    if not points:
        return {}
    xs, ys = (np.array([float(p[axis]) for p in points], dtype=np.float64) for axis in (0, 1))
    lon, lat = celestial_part(wcs).pixel_to_world_values(xs, ys)
    return {_pixel_key(p): (np.radians(float(a)), np.radians(float(b))) for p, a, b in zip(points, lon, lat)}


def position_angle_deg(start, end, wcs=None, world=None):
    """PA east of north in [0, 180) of the line from ``start`` to ``end`` (pixel (x, y))."""
    if start == end:
        return float("nan")
    if wcs is not None:
        # On the sphere, in the WCS's own frame (the formula of astropy's position_angle).
        (lon1, lat1), (lon2, lat2) = _world_radians(wcs, start, world), _world_radians(wcs, end, world)
        x = np.sin(lat2) * np.cos(lat1) - np.cos(lat2) * np.sin(lat1) * np.cos(lon2 - lon1)
        y = np.sin(lon2 - lon1) * np.cos(lat2)
        return float(np.degrees(np.arctan2(y, x)) % 180.0)
    dx, dy = end[0] - start[0], end[1] - start[1]
    # North is +y, east is -x: the angle from +y towards -x.
    return float(np.degrees(np.arctan2(-dx, dy)) % 180.0)


def separation_arcsec(start, end, wcs=None, pixel_scale_arcsec=None, world=None):
    """Angular distance between two pixel positions (on the sky with a WCS)."""
    if wcs is not None:
        # Vincenty's formula, as astropy's separation computes it.
        (lon1, lat1), (lon2, lat2) = _world_radians(wcs, start, world), _world_radians(wcs, end, world)
        dlon = lon2 - lon1
        across = np.cos(lat2) * np.sin(dlon)
        along = np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon)
        towards = np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon)
        return float(np.degrees(np.arctan2(np.hypot(across, along), towards)) * 3600.0)
    return float(np.hypot(end[0] - start[0], end[1] - start[1]) * pixel_scale_arcsec)


_TO_ICRS = {}  # (RADESYS, EQUINOX) -> rotation matrix from that frame's unit vectors to ICRS


def _rotation_to_icrs(wcs):
    """The matrix turning unit vectors of an ICRS or FK5 WCS's frame into ICRS ones (both
    are fixed rotations of each other), or None for other frames (FK4's E-terms, galactic
    ...: those go through astropy each time)."""
    frame = (wcs.wcs.radesys.strip().upper(), float(wcs.wcs.equinox) if np.isfinite(wcs.wcs.equinox) else None)
    if frame[0] not in ("ICRS", "FK5") or not all(c.startswith(("RA", "DEC")) for c in wcs.wcs.ctype):
        return None
    if frame not in _TO_ICRS:
        from astropy.wcs.utils import wcs_to_celestial_frame

        from_frame = wcs_to_celestial_frame(wcs)
        from astropy.coordinates import SkyCoord

        axes = SkyCoord(x=[1.0, 0.0, 0.0], y=[0.0, 1.0, 0.0], z=[0.0, 0.0, 1.0], representation_type="cartesian",
                        frame=from_frame).icrs.cartesian
        _TO_ICRS[frame] = np.stack([axes.x.value, axes.y.value, axes.z.value])  # column k: image of axis k
    return _TO_ICRS[frame]


def sky_position(xy, wcs=None, world=None):
    """(RA, Dec) in degrees (ICRS) of pixel ``(x, y)`` with a WCS, else (nan, nan)."""
    if wcs is None:
        return float("nan"), float("nan")
    celestial = celestial_part(wcs)
    rotation = _rotation_to_icrs(celestial)
    if rotation is None:
        sky = celestial.pixel_to_world(*xy).icrs
        return float(sky.ra.deg), float(sky.dec.deg)
    lon, lat = _world_radians(celestial, xy, world)
    x, y, z = rotation @ np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    return float(np.degrees(np.arctan2(y, x)) % 360.0), float(np.degrees(np.arctan2(z, np.hypot(x, y))))


def brightest_on_each_side(values, mask, centre_xy, axis, pixels=None):
    """Fanaroff & Riley's points: the brightest pixel of the region on either side of
    the centre along ``axis`` (unit (dx, dy)), as two (x, y) positions. A one-sided
    region gives its brightest pixel and its pixel nearest the centre (the core end),
    so the separation never exceeds the region's extent."""
    ys, xs = region_pixels(mask) if pixels is None else pixels
    if len(xs) == 0:
        return None, None
    along = (xs - centre_xy[0]) * axis[0] + (ys - centre_xy[1]) * axis[1]
    ends = []
    for side in (along < 0, along >= 0):
        if side.any():
            best = np.argmax(np.where(side, values[ys, xs], -np.inf))
            ends.append((float(xs[best]), float(ys[best])))
    if len(ends) == 1:
        nearest = np.argmin(np.hypot(xs - centre_xy[0], ys - centre_xy[1]))
        ends.append((float(xs[nearest]), float(ys[nearest])))
    return ends[0], ends[1]


def local_peaks(values, mask, size_px):
    """Local maxima of ``values`` inside ``mask`` (within a ``size_px`` box), strongest
    first, as an (n, 2) array of (x, y) pixel positions and their values."""
    size = max(3, int(np.ceil(size_px)) | 1)
    # Only the region's box, widened by the filter's reach, is filtered: every window of a
    # pixel in the box lies in it (or beyond the image, -inf either way), so the peaks are
    # those of the whole image, in the same order.
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    reach = size // 2
    y0, x0 = (max(0, rows[0] - reach), max(0, cols[0] - reach)) if len(rows) else (0, 0)
    y1, x1 = (rows[-1] + reach + 1, cols[-1] + reach + 1) if len(rows) else mask.shape
    box = np.s_[y0:y1, x0:x1]
    # Outside the region counts as -inf so a peak on its edge is still a peak.
    inside = np.where(mask[box], values[box], -np.inf)
    is_peak = mask[box] & (inside == ndimage.maximum_filter(inside, size=size, mode="constant", cval=-np.inf))
    ys, xs = np.nonzero(is_peak)
    ys, xs = ys + y0, xs + x0
    order = np.argsort(-values[ys, xs], kind="stable")
    return np.column_stack([xs[order], ys[order]]).astype(float), values[ys[order], xs[order]]


def two_strongest_peaks(values, mask, min_separation_px, size_px):
    """The strongest peak and the strongest other peak at least ``min_separation_px`` from
    it, as two (x, y) positions; the second is None when there is no such peak."""
    positions, _ = local_peaks(values, mask, size_px)
    if len(positions) == 0:
        return None, None
    first = positions[0]
    far = np.hypot(*(positions - first).T) >= min_separation_px
    second = positions[np.argmax(far)] if far.any() else None
    return tuple(first), None if second is None else tuple(second)


def edge_brightening(values, mask, centre_xy, pixels=None):
    """Where along the source its weight lies: the ``values``-weighted mean distance of the
    region's pixels from the host (``centre_xy``) over the region's largest distance from
    it, in [0, 1]. Weight at the far ends (FR-II hotspots) gives values near 1, weight at
    the host (an FR-I core and inner jets) near 0: Fanaroff & Riley's edge-brightened /
    edge-darkened distinction, without having to pick one brightest point per side."""
    ys, xs = region_pixels(mask) if pixels is None else pixels
    if len(xs) == 0:
        return float("nan")
    weights = np.maximum(values[ys, xs], 0.0)
    distances = np.hypot(xs - centre_xy[0], ys - centre_xy[1])
    if weights.sum() <= 0 or distances.max() <= 0:
        return 0.0
    return float(np.sum(weights * distances) / weights.sum() / distances.max())
