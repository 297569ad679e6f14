"""A multi-band model's bands shown as one colour image, with glue's own RGB display (Qt-free).

Optical astronomers look at g, r, z images as a colour composite (the Legacy Surveys
viewer, SDSS finding charts): the bluest band blue, the middle one green, the reddest
red, each on an arcsinh stretch that shows the faint disc and the bright bulge at once
(Lupton et al. 2004). glue draws such a composite itself: in the image viewer's
*One color per layer* mode each image layer adds its stretched values times its colour.
So the composite here is glue's: one image layer per band, in that mode. The explanation
layers draw over it unchanged: their map lives on the pixel grid the viewer is aligned
to, which the colour mode does not touch.

Each band is scaled on its own, from its sky level (median, black) to its 99.9th
percentile (full colour) on an arcsinh stretch: the bands of a typical galaxy then weigh
about equally, as in the surveys' viewers, and a redder bulge or bar still shows redder
than its disc.
"""
import colorsys

import numpy as np

__all__ = ["COLOUR_MODE", "ONE_BAND_MODE", "band_colours", "band_display_limits", "style_band_layer"]

#: glue's ImageViewerState.color_mode values.
COLOUR_MODE = "One color per layer"
ONE_BAND_MODE = "Colormaps"
#: With glue's own softening (0.1 of the range): glue saves a changed one in sessions but
#: does not restore it (glue-core 1.28 resets it when it restores the stretch), and a
#: display must come back as it was saved.
STRETCH = "arcsinh"
#: Full colour at this percentile: a handful of the brightest pixels saturate.
TOP_PERCENTILE = 99.9
#: Statistics from at most this many pixels (evenly spaced), so a large image opens fast.
MAX_PIXELS = 1_000_000
#: Effective wavelengths (nm) of common filters, to order a card's bands from blue to red
#: whatever order the model takes them in.
WAVELENGTH_NM = {"fuv": 154, "nuv": 231, "u": 355, "g": 475, "r": 620, "i": 760, "z": 910, "y": 1000,
                 "j": 1250, "h": 1650, "k": 2200, "ks": 2150, "w1": 3400, "w2": 4600}


def band_colours(band_names):
    """``{band: colour}``: blue for the bluest band to red for the reddest (g blue, r green,
    z red). Bands are ordered by wavelength when every name is a known filter, else in the
    order given; between blue and red the hues are evenly spaced, so three bands get pure
    blue, green and red and a grey sky stays grey."""
    names = list(band_names)
    if all(name.lower() in WAVELENGTH_NM for name in names):
        names.sort(key=lambda name: WAVELENGTH_NM[name.lower()])
    if len(names) == 1:
        return {names[0]: "#ffffff"}
    colours = {}
    for k, name in enumerate(names):
        hue = (2 / 3) * (1 - k / (len(names) - 1))  # 2/3 is blue, 0 is red
        r, g, b = colorsys.hsv_to_rgb(hue, 1.0, 1.0)
        colours[name] = "#{:02x}{:02x}{:02x}".format(*(int(round(255 * c)) for c in (r, g, b)))
    return colours


def band_display_limits(pixels, top_percentile=TOP_PERCENTILE):
    """``(v_min, v_max)`` for one band: its sky (the median, black) to its ``top_percentile``
    (full colour); for a stack of cutouts (ndim > 2) the median of the cutouts'
    percentiles, so one bright galaxy does not darken the others. None when the pixels
    hold no such range (blank, constant, all NaN)."""
    pixels = np.asarray(pixels, dtype=float)
    flat = pixels.ravel()
    sample = flat[::max(1, flat.size // MAX_PIXELS)]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return None
    v_min = float(np.median(sample))
    if pixels.ndim > 2:
        cutouts = pixels.reshape(-1, *pixels.shape[-2:])
        cutouts = cutouts[::max(1, cutouts.size // MAX_PIXELS)]
        tops = [np.nanpercentile(c, top_percentile) for c in cutouts if np.isfinite(c).any()]
        v_max = float(np.median(tops))
    else:
        v_max = float(np.percentile(sample, top_percentile))
    return (v_min, v_max) if v_max > v_min else None


def style_band_layer(layer_state, pixels, colour=None):
    """Show one band on glue's image ``layer_state``: in ``colour`` for the composite, or
    (``colour=None``) alone in grey; both on the same arcsinh stretch and limits, so the
    band looks the same in either display."""
    layer_state.visible = True
    layer_state.alpha = 1.0
    if colour is None:
        layer_state.cmap = _grey()
    else:
        layer_state.color = colour
    limits = band_display_limits(pixels)
    layer_state.stretch = STRETCH
    if limits is not None:
        layer_state.percentile = "Custom"
        layer_state.v_min, layer_state.v_max = limits


def _grey():
    from matplotlib import colormaps

    return colormaps["gray"]
