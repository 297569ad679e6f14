"""Localisation against a ground truth (e.g. the synthetic sources' component masks):
does the map point at the component, and how much of its relevance lies on it?"""
import numpy as np
from scipy import ndimage

from glue_xai.methods.metrics_inputs import is_explanation


def map_for_mask(explanation_or_map, mask):
    """``(relevance, mask)`` as float and bool arrays of the same shape.

    An Explanation's input-grid ``map`` is used when the mask has the input image's
    shape, its ``model_map`` when the mask has the model grid's shape.
    """
    mask = np.asarray(mask)
    if is_explanation(explanation_or_map):
        e = explanation_or_map
        candidates = [m for m in (e.map, e.model_map) if m is not None and np.shape(m) == mask.shape]
        if not candidates:
            raise ValueError(f"the mask has shape {mask.shape}, neither the input grid {np.shape(e.map)} "
                             f"nor the model grid {np.shape(e.model_map)}")
        relevance = candidates[0]
    else:
        relevance = explanation_or_map
    relevance = np.asarray(relevance, dtype=np.float64)
    if relevance.shape != mask.shape:
        raise ValueError(f"the map has shape {relevance.shape} but the mask {mask.shape}")
    if not np.isfinite(relevance).all():
        raise ValueError("the relevance map has non-finite values")
    mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("the mask is empty: there is nothing to localise")
    return relevance, mask


def pointing_game(explanation_or_map, mask, tolerance=0):
    """True when the map's maximum lies inside ``mask`` (grown by ``tolerance`` pixels).

    A maximum shared by many pixels (a superpixel map) counts as a hit when most of
    those pixels are inside, so a flat map cannot score by luck of the tie-break.
    """
    relevance, mask = map_for_mask(explanation_or_map, mask)
    if tolerance:
        mask = ndimage.binary_dilation(mask, iterations=int(tolerance))
    peak = relevance == relevance.max()
    return bool(mask[peak].mean() > 0.5)


def relevance_mass_inside(explanation_or_map, mask):
    """Fraction of the map's positive relevance inside ``mask`` (0 when nothing is positive).

    A uniform or random map scores about the mask's area fraction.
    """
    relevance, mask = map_for_mask(explanation_or_map, mask)
    positive = np.clip(relevance, 0, None)
    total = positive.sum()
    return float(positive[mask].sum() / total) if total > 0 else 0.0
