"""How the XAI viewer shows a radio map when it is first opened (Qt-free).

Raw min/max limits put almost all of a FIRST cutout near black: the source is a few
bright pixels under the explanation overlay. Radio astronomers show such maps from just
above the sky noise (sky + 2 sigma, black) to a fraction of the peak (white) with a
square-root stretch, so lobes and jets show and the noise does not. Percentile limits
(99.5 %) were tried and rejected: on a 300 x 300 cutout most of the top 0.25 % of pixels
are the source itself, so the noise fills the frame in grey (docs/viewer.rst shows both).
"""
import numpy as np

__all__ = ["radio_display_limits", "apply_radio_display", "RADIO_STRETCH", "PEAK_FRACTION"]

RADIO_STRETCH = "sqrt"
#: White is this fraction of the peak: the brightest half of a source saturates a little,
#: which keeps fainter lobes visible beside a bright core.
PEAK_FRACTION = 0.5
#: Statistics from at most this many pixels (evenly spaced), so a survey tile opens fast.
MAX_PIXELS = 1_000_000


def radio_display_limits(pixels, peak_fraction=PEAK_FRACTION):
    """``(v_min, v_max)`` for a radio map: sky + 2 sigma (median and MAD of the pixels) to
    ``peak_fraction`` of the peak; for a stack of cutouts (ndim > 2) of the median of the
    cutouts' peaks, so one bright source does not darken the others. None when the
    pixels hold no such range (blank, constant or all-NaN)."""
    pixels = np.asarray(pixels, dtype=float)
    sample = pixels.ravel()[::max(1, pixels.size // MAX_PIXELS)]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None
    sky = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - sky)))
    if pixels.ndim > 2:
        stack = pixels.reshape(-1, *pixels.shape[-2:])
        peaks = [np.nanmax(cutout) for cutout in stack if np.isfinite(cutout).any()]
        peak = float(np.median(peaks))
    else:
        peak = float(sample.max()) if pixels.size <= MAX_PIXELS else float(np.nanmax(pixels))
    v_min, v_max = sky + 2 * sigma, peak_fraction * peak
    return (v_min, v_max) if v_max > v_min else None


def apply_radio_display(layer_state, pixels, peak_fraction=PEAK_FRACTION):
    """Give glue's image ``layer_state`` the radio display of ``pixels``; True when applied
    (an image with no such range keeps glue's own limits)."""
    limits = radio_display_limits(pixels, peak_fraction)
    if limits is None:
        return False
    layer_state.stretch = RADIO_STRETCH
    layer_state.percentile = "Custom"
    layer_state.v_min, layer_state.v_max = limits
    return True
