"""The classical baseline: measure a source from its image alone (where the flux is).

Emission above ``sigma`` times the sigma-clipped background noise, keeping only the
pieces that belong to the source in the middle of the image (the same rule and the same
geometry as :func:`~glue_xai.methods.measure.salient_extent`, so the two can be put side
by side column by column).
"""
import numpy as np

from glue_xai.methods.measure_region import (FIRST_BEAM_ARCSEC, Geometry, check_map, check_wcs_shape,
                                             describe_region, enclosed_level, pixel_scale)
from glue_xai.models.preprocess import sigma_clipped_background


RULES = ("sigma", "enclosed")


def flux_extent(image, wcs=None, pixel_scale_arcsec=None, sigma=3.0, *, rule="sigma", enclosed_fraction=0.9,
                peak_sigma=5.0, beam_arcsec=FIRST_BEAM_ARCSEC,
                centre=None, centre_radius_arcsec=None, link_arcsec=None, min_peak_separation_arcsec=None,
                max_distance_arcsec=None):
    """Extent, position angle, centre, components and peaks of the emission of the
    source at ``centre`` (pixel (x, y); default the image centre) in ``image`` (H, W).

    Emission is every pixel above median + ``sigma`` x spread of the sigma-clipped
    background; pieces smaller than a beam, or whose peak stays below ``peak_sigma``
    times the spread, are noise (the island and peak thresholds of radio source finders). The source is the pieces near the
    centre, pieces within ``link_arcsec`` of them and pairs of pieces facing each other
    across the centre (defaults 2 beams, see :mod:`~glue_xai.methods.measure_regions`).
    NaN pixels are missing sky.

    ``rule="enclosed"`` narrows that emission the way
    :func:`~glue_xai.methods.measure.salient_extent` narrows a relevance map: to the
    brightest pixels holding ``enclosed_fraction`` of the flux above the background, so
    the saliency and flux measurements can also be compared under one and the same rule.

    Returns the same keys as
    :func:`~glue_xai.methods.measure.salient_extent`, measured on the image (peaks are
    the brightest emission, ``threshold`` is in the image's units).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    image = check_map(image, "image")
    check_wcs_shape(wcs, image.shape)
    scale = pixel_scale(wcs, pixel_scale_arcsec)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    valid = np.isfinite(image)
    median, spread = sigma_clipped_background(image[valid])
    if spread <= 0:
        raise ValueError("the image's background has no spread (constant image?): no noise level to clip at")
    threshold = median + sigma * spread
    geometry = Geometry(image.shape, scale, beam_arcsec, centre, centre_radius_arcsec, link_arcsec,
                        min_peak_separation_arcsec, max_distance_arcsec, min_peak=median + peak_sigma * spread)
    filled = np.where(valid, image, -np.inf)
    emission = filled > threshold
    rule_text = f"median + {sigma:g} x sigma-clipped background spread ({spread:.3g})"
    if rule == "enclosed":
        above = np.where(emission, filled - median, 0.0)
        level = enclosed_level(above, enclosed_fraction)
        emission &= above >= level
        threshold = median + level
        rule_text = (f"enclosed: the brightest emission (above {sigma:g} sigma) holding {enclosed_fraction:g} "
                     f"of the flux above the background ({level / spread:.3g} sigma)")
    mask, n, pixels = geometry.group(emission, filled)
    if n == 0:
        raise ValueError(f"no emission above {sigma:g} sigma near the source centre")
    return describe_region(np.where(valid, image, np.nan), mask, n, geometry, wcs, threshold, rule_text, valid,
                           pixels)
