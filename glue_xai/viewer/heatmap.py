"""How a relevance map is coloured, without glue or Qt (numpy and matplotlib's colour maps).

Shared by the viewer's explanation layer and the methods' comparison figure
(:mod:`glue_xai.methods.compare_plot`), which must not import glue to draw a PNG.
"""
import numpy as np
from matplotlib import colormaps

__all__ = ["robust_peak", "heatmap_rgba", "SIGNED_COLOUR_START"]

SIGNED_COLOUR_START = 1 / 3


def robust_peak(values, percentile=99.5):
    """The colour scale's end: a high percentile of |relevance| over the pixels that have any.

    Not the maximum: gradient maps (integrated gradients, saliency) have a few extreme
    pixels, and scaling to them would leave the rest of the map invisible.
    """
    magnitude = np.abs(values[np.isfinite(values) & (values != 0)])
    if magnitude.size == 0:
        return 1.0
    return float(np.percentile(magnitude, percentile)) or float(magnitude.max())


def heatmap_rgba(relevance, signed, cmap_name, opacity):
    """RGBA image of a relevance map: colour from the map, opacity growing with |relevance|.

    Near-zero relevance stays transparent so the source under it remains visible;
    signed maps are scaled symmetrically about 0, to :func:`robust_peak` (larger values
    saturate). NaN pixels are fully transparent.
    """
    finite = np.isfinite(relevance)
    values = np.where(finite, relevance, 0.0)
    peak = robust_peak(values)
    # A magnitude map's few negative values (evolved LIME's tie-breaks) count as none.
    strength = np.clip((np.abs(values) if signed else values) / peak, 0, 1)
    if signed:
        # Diverging maps are white in the middle: faint relevance would be a white haze,
        # invisible over a bright source. Its colour starts a third of the way out instead,
        # so the sign always shows, and the opacity says how strong it is.
        position = 0.5 + 0.5 * np.sign(values) * (SIGNED_COLOUR_START + (1 - SIGNED_COLOUR_START) * strength)
    else:
        position = strength
    rgba = colormaps[cmap_name](position)
    # sqrt: moderate relevance is still clearly coloured, faint relevance fades out.
    rgba[..., 3] = opacity * np.sqrt(strength) * finite
    return rgba
