"""The measurements shared by the saliency and the flux methods, from one selected region.

:func:`describe_region` turns "these pixels are the source, these are its values" into
the dictionary both :func:`~glue_xai.methods.measure.salient_extent` and
:func:`~glue_xai.methods.measure_flux.flux_extent` return, so the two are measured by
exactly the same geometry and can be compared column by column.
"""
import threading

import numpy as np
from scipy import ndimage

from glue_xai.methods.measure_geometry import (axis_line, brightest_on_each_side, edge_brightening, farthest_pair,
                                               principal_axis, position_angle_deg, region_pixels, separation_arcsec,
                                               sky_position, two_strongest_peaks, world_radians_of)
from glue_xai.methods.measure_regions import _stats_of_pixels, area_relabel, labelled_pixels, source_group
from glue_xai.models.preprocess import celestial_part

#: FIRST's restoring beam (FWHM, arcsec): the natural unit of "close" and "small" here.
FIRST_BEAM_ARCSEC = 5.4


def check_map(values, what="map"):
    """A float (H, W) copy of ``values``; ValueError for wrong shapes or no finite pixels."""
    values = np.array(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"the {what} must be a 2-D (H, W) array, got shape {values.shape}")
    if min(values.shape) < 3:
        raise ValueError(f"the {what} is too small to measure anything: shape {values.shape}")
    if not np.isfinite(values).any():
        raise ValueError(f"the {what} has no finite pixels (all NaN or infinite)")
    return values


def pixel_scale(wcs, pixel_scale_arcsec):
    """Arcsec per pixel from the WCS (preferred) or the number given; ValueError without either."""
    if wcs is not None:
        from glue_xai.methods.api import pixel_scale_from_wcs

        return pixel_scale_from_wcs(wcs)
    if pixel_scale_arcsec is None:
        raise ValueError("give wcs= or pixel_scale_arcsec= so the extent can be measured in arcsec")
    if not pixel_scale_arcsec > 0:
        raise ValueError(f"pixel_scale_arcsec must be positive, got {pixel_scale_arcsec}")
    return float(pixel_scale_arcsec)


def check_wcs_shape(wcs, shape):
    """A WCS made for another image size is a common slip: refuse it when the header says so."""
    if wcs is None:
        return
    pixel_shape = celestial_part(wcs).pixel_shape
    if pixel_shape is None:
        return
    nx, ny = pixel_shape
    if (ny, nx) != tuple(shape):
        raise ValueError(f"the WCS describes a {ny}x{nx} image but the map is {shape[0]}x{shape[1]}")


class Geometry:
    """The scale-dependent settings of one measurement, in pixels.

    Distances left as None default to two beams (``centre_radius_arcsec``,
    ``link_arcsec``, ``min_peak_separation_arcsec``) or to no limit
    (``max_distance_arcsec``).
    """

    def __init__(self, shape, scale_arcsec, beam_arcsec, centre=None, centre_radius_arcsec=None, link_arcsec=None,
                 min_peak_separation_arcsec=None, max_distance_arcsec=None, min_peak=-np.inf):
        two_beams = 2 * beam_arcsec
        centre_radius_arcsec = two_beams if centre_radius_arcsec is None else centre_radius_arcsec
        link_arcsec = two_beams if link_arcsec is None else link_arcsec
        min_peak_separation_arcsec = two_beams if min_peak_separation_arcsec is None else min_peak_separation_arcsec
        beam_px = beam_arcsec / scale_arcsec
        self.scale = scale_arcsec
        self.beam_px = beam_px
        self.min_area_px = max(1.0, 1.1331 * beam_px ** 2)  # one beam's area
        ny, nx = shape
        self.centre = (np.array([(nx - 1) / 2.0, (ny - 1) / 2.0]) if centre is None
                       else np.asarray(centre, dtype=float))
        self.centre_radius_px = centre_radius_arcsec / scale_arcsec
        self.link_px = link_arcsec / scale_arcsec
        self.min_peak_separation_px = min_peak_separation_arcsec / scale_arcsec
        self.max_distance_px = np.inf if max_distance_arcsec is None else max_distance_arcsec / scale_arcsec
        self.min_peak = min_peak

    def significant(self, mask, values):
        """Labels of the regions of ``mask`` at least a beam in area whose brightest pixel
        reaches ``min_peak`` (the island / peak thresholds of radio source finders)."""
        raw, _, _, _, relabel, n = self._significant_pixels(mask, values)
        return relabel[raw], n

    def _significant_pixels(self, mask, values):
        """:meth:`significant` as ``(raw, ys, xs, raw_owner, relabel, n)``: the raw labels
        of :func:`~glue_xai.methods.measure_regions.labelled_pixels`, their pixels, and the
        map from raw labels to the significant regions' (0: dropped)."""
        raw, ys, xs, raw_owner, n_raw = labelled_pixels(mask)
        relabel, n = area_relabel(raw_owner, n_raw, self.min_area_px)
        if n == 0 or not np.isfinite(self.min_peak):
            return raw, ys, xs, raw_owner, relabel, n
        owner = relabel[raw_owner]
        inside = owner > 0  # the pixels of the regions a beam or more in area, row by row
        in_regions = np.asarray(values, dtype=np.float64)[ys[inside], xs[inside]]
        if np.isnan(in_regions).any():  # ndimage's rule for NaN, not np.maximum's
            peaks = np.asarray(ndimage.maximum(values, relabel[raw], index=np.arange(1, n + 1)))
        else:  # each region's brightest pixel (a maximum is exact in any order), without ndimage's overhead
            peaks = np.full(n + 1, -np.inf)
            np.maximum.at(peaks, owner[inside], in_regions)
            peaks = peaks[1:]
        keep = np.concatenate([[False], peaks >= self.min_peak])
        kept = np.zeros(n + 1, dtype=int)
        kept[keep] = np.arange(1, keep.sum() + 1)
        return raw, ys, xs, raw_owner, kept[relabel], int(keep.sum())

    def group_mask(self, mask, values):
        """The pixels of ``mask`` that belong to the central source, and its number of regions."""
        grouped, n, _ = self.group(mask, values)
        return grouped, n

    def group(self, mask, values):
        """:meth:`group_mask` and the source's pixels ``(ys, xs)`` row by row (what
        ``np.nonzero`` of the mask gives), from one labelling of ``mask``: the regions are
        filtered, measured and grouped from their pixel lists, not from relabelled images."""
        raw, ys, xs, raw_owner, relabel, n = self._significant_pixels(mask, values)
        owner = relabel[raw_owner]
        inside = owner > 0
        ys, xs, owner = ys[inside], xs[inside], owner[inside]
        stats = _stats_of_pixels(raw, ys, xs, owner, n, self.centre, relabel) if n else None
        chosen = source_group(None, n, self.centre, self.centre_radius_px, self.link_px,
                              max_distance_px=self.max_distance_px, stats=stats)
        # A lookup by label (0, the background, never chosen) instead of np.isin's sort.
        wanted = np.zeros(n + 1, dtype=bool)
        wanted[chosen] = True
        picked = wanted[owner]
        ys, xs = ys[picked], xs[picked]
        grouped = np.zeros(np.shape(mask), dtype=bool)
        grouped[ys, xs] = True
        return grouped, len(chosen), (ys, xs)


def enclosed_level(values, fraction):
    """The level above which the map's strongest pixels hold ``fraction`` of its total
    (non-negative) weight: the highest-density region, as a credible region is for a
    probability map. ``values`` are non-negative; NaN pixels are ignored."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"the enclosed fraction must be in (0, 1], got {fraction}")
    finite = values[np.isfinite(values)]
    ordered = np.sort(finite[finite > 0])[::-1]
    if len(ordered) == 0:
        raise ValueError("nothing is above zero: no region encloses any weight")
    cumulative = np.cumsum(ordered)
    return float(ordered[min(np.searchsorted(cumulative, fraction * cumulative[-1]), len(ordered) - 1)])


def touches_edge(mask, valid):
    """True when the region reaches the image border or missing (NaN) pixels: it may go on."""
    edge = remembered_for_mask("edge", valid, lambda: ~ndimage.binary_erosion(valid, border_value=0))
    return bool((mask & edge).any())


_FOR_MASK = {}  # (what, extra, shape, packed mask bits) -> array, the last few
_FOR_MASK_SIZE = 8
_FOR_MASK_LOCK = threading.Lock()


def remembered_for_mask(what, mask, compute, extra=None):
    """``compute()``, an array that depends only on the boolean ``mask`` (and ``extra``),
    remembered for the last few masks. A survey's cutouts mostly share one mask (the
    model's whole field of view), so its border or smoothed weight is computed once, not
    twice per source. The answer is read-only."""
    mask = np.asarray(mask)
    if mask.dtype != bool:
        return compute()
    key = (what, extra, mask.shape, np.packbits(mask).tobytes())
    with _FOR_MASK_LOCK:
        known = _FOR_MASK.get(key)
    if known is not None:
        return known
    answer = np.asarray(compute())
    answer.flags.writeable = False
    with _FOR_MASK_LOCK:
        _FOR_MASK[key] = answer
        while len(_FOR_MASK) > _FOR_MASK_SIZE:
            del _FOR_MASK[next(iter(_FOR_MASK))]
    return answer


def describe_region(values, mask, n_components, geometry, wcs, threshold, threshold_rule, valid, pixels=None):
    """Measurements of the region ``mask`` of ``values`` (see :func:`salient_extent`);
    ``pixels``: the mask's :func:`~glue_xai.methods.measure_geometry.region_pixels`, when
    the caller has them (:meth:`Geometry.group` does)."""
    pixels = region_pixels(mask) if pixels is None else pixels  # found once for the measurements below
    if len(pixels[0]) == 0:
        raise ValueError("nothing is above the threshold near the source centre")
    (start, end), _ = farthest_pair(mask, pixels)
    inside = np.where(mask, values, -np.inf)
    first, second = two_strongest_peaks(inside, mask, geometry.min_peak_separation_px, geometry.beam_px)
    axis = principal_axis(mask, pixels)
    fr_points = brightest_on_each_side(inside, mask, geometry.centre, axis, pixels)
    centre_xy = ((start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0)
    line = axis_line(mask, start, end, axis)
    # Every pixel put on the sky below, in one call to the WCS.
    world = world_radians_of(wcs, [start, end, first, second, *fr_points, centre_xy, *line])
    extent = separation_arcsec(start, end, wcs, geometry.scale, world)
    fr_separation = separation_arcsec(*fr_points, wcs, geometry.scale, world)
    peak_separation = 0.0 if second is None else separation_arcsec(first, second, wcs, geometry.scale, world)
    ra, dec = sky_position(centre_xy, wcs, world)
    return {
        "extent_arcsec": extent,
        "pa_deg": position_angle_deg(line[0], line[1], wcs, world),
        "centre": (ra, dec) if wcs is not None else centre_xy,
        "centre_xy": centre_xy,
        "centre_ra_deg": ra,
        "centre_dec_deg": dec,
        "n_components": int(n_components),
        "peak_separation_arcsec": peak_separation,
        "peaks_xy": (first, second),
        "fr_separation_arcsec": fr_separation,
        "fr_points_xy": fr_points,
        "fr_ratio": fr_separation / extent if extent > 0 else 0.0,
        "edge_brightening": edge_brightening(values, mask, geometry.centre, pixels),
        "threshold": float(threshold),
        "threshold_rule": threshold_rule,
        "line_xy": line,
        "farthest_pair_xy": (start, end),
        "n_pixels": len(pixels[0]),
        "truncated": touches_edge(mask, valid),
        "mask": mask,
    }
