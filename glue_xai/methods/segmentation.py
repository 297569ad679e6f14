"""Superpixels for LIME-family methods, suited to radio and optical images.

Segmentation runs on an arcsinh-stretched copy of the model's input: radio maps have a
huge dynamic range, and a linear image gives superpixels that follow only the brightest
peak. Quickshift is deliberately absent: on a grey radio map it mostly segments noise.

The default, ``"radio"``, is built for radio maps: small superpixels on the emission
(one per peak, so a core, its jets and each lobe's hotspot are separate features),
and a few large blocks of empty sky. It lets LIME answer the question radio astronomers
ask of an FR classifier: did the core or the lobes decide?
"""
import numpy as np

SEGMENTATIONS = ("radio", "slic", "felzenszwalb", "watershed", "grid")
#: Area of one FIRST beam (5.4" FWHM) in 1.8" pixels.
BEAM_PIXELS = 10
#: Emission superpixels hold about three beams on average (the grown emission mask
#: includes the faint edge): small enough to part a core from a hotspot, large enough
#: that hiding one changes the picture.
BEAMS_PER_SUPERPIXEL = 3
#: Empty sky is cut into this many large blocks (a 3x3 grid): enough for LIME to notice a
#: neighbour or a noise peak, too few to spread relevance over the sky.
SKY_BLOCKS = 3


def arcsinh_stretch(image, softening=0.02):
    """Stretch a (C, h, w) or (h, w) image to a 2-D [0, 1] map that shows faint emission."""
    image = np.asarray(image, dtype=np.float64)
    grey = image.mean(axis=0) if image.ndim == 3 else image
    lo, hi = np.percentile(grey, 0.5), grey.max()
    if hi <= lo:
        return np.zeros_like(grey)
    scaled = np.clip((grey - lo) / (hi - lo), 0, 1)
    return np.arcsinh(scaled / softening) / np.arcsinh(1.0 / softening)


def segment(image, method="slic", n_segments=64, scale=None, seed=0):
    """Label image (h, w) of superpixels numbered 0..K-1.

    ``n_segments``: roughly how many superpixels (radio: at most; slic, watershed, grid).
    ``scale``: the method's own size knob: radio's smallest distance between emission
    peaks in pixels (default 3, about a beam), SLIC compactness (default 0.1),
    Felzenszwalb scale (default 60), watershed compactness (default 0.001); ignored by
    the grid. ``seed`` is accepted
    so the call shape is the same for every method: all four are deterministic.
    """
    from skimage import segmentation as sks

    if method not in SEGMENTATIONS:
        raise ValueError(f"unknown segmentation {method!r}; choose one of {SEGMENTATIONS}")
    n_segments = int(n_segments)
    if n_segments < 2:
        raise ValueError(f"n_segments must be at least 2, got {n_segments}")
    if method == "radio":
        return radio_segments(image, n_segments=n_segments, min_distance=scale)
    stretched = arcsinh_stretch(image)
    h, w = stretched.shape
    if method == "slic":
        labels = sks.slic(stretched, n_segments=n_segments, compactness=0.1 if scale is None else float(scale),
                          channel_axis=None, start_label=0, enforce_connectivity=True)
    elif method == "felzenszwalb":
        labels = sks.felzenszwalb(stretched, scale=60.0 if scale is None else float(scale), sigma=0.8,
                                  min_size=max(20, h * w // (4 * n_segments)))
    elif method == "watershed":
        from skimage.filters import sobel

        labels = sks.watershed(sobel(stretched), markers=n_segments,
                               compactness=0.001 if scale is None else float(scale)) - 1
    else:
        side = max(1, int(round(np.sqrt(h * w / n_segments))))
        rows, cols = np.arange(h) // side, np.arange(w) // side
        labels = rows[:, None] * (cols.max() + 1) + cols[None, :]
    # Renumber 0..K-1 so segment ids index weight vectors directly.
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(h, w).astype(np.int32)


def emission_islands(grey, k_sigma=3.0, min_pixels=5):
    """Pixels of islands above the sky (median + ``k_sigma`` clipped sigmas; for a
    clipped radio input simply the non-zero pixels) with at least ``min_pixels`` pixels:
    smaller islands are noise peaks and stay part of the sky."""
    from scipy import ndimage

    from glue_xai.models.preprocess import sigma_clipped_background

    grey = np.asarray(grey, dtype=np.float64)
    if (grey == 0).mean() > 0.5:  # a clipped input: the sky is exactly zero
        above = grey > 0
    else:
        median, std = sigma_clipped_background(grey)
        above = grey > median + k_sigma * std
    labels, n = ndimage.label(above)
    if n == 0:
        return above
    sizes = ndimage.sum_labels(np.ones_like(grey), labels, index=np.arange(1, n + 1))
    return np.isin(labels, np.flatnonzero(sizes >= min_pixels) + 1)


def radio_segments(image, n_segments=64, min_distance=None):
    """Superpixels for radio maps: watershed basins of the emission, seeded at its peaks,
    plus a 3x3 grid of empty-sky blocks.

    The emission (:func:`emission_islands`, grown by 2 pixels to hold its faint edge) is
    cut by a watershed of the smoothed brightness, with one seed per local peak at least
    ``min_distance`` pixels (default 3, one beam) from a brighter one. Large smooth lobes
    with a single peak get extra seeds on a regular grid, so no emission superpixel is
    much larger than its share of the emission. At most ``n_segments - 9`` emission
    superpixels, of about three beams each on average. Without any emission the
    image is cut into the sky grid alone.
    """
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    image = np.asarray(image, dtype=np.float64)
    grey = image.mean(axis=0) if image.ndim == 3 else image
    h, w = grey.shape
    min_distance = 3 if min_distance is None else max(1, int(round(min_distance)))
    sky_rows = np.minimum(np.arange(h) * SKY_BLOCKS // h, SKY_BLOCKS - 1)
    sky_cols = np.minimum(np.arange(w) * SKY_BLOCKS // w, SKY_BLOCKS - 1)
    labels = (sky_rows[:, None] * SKY_BLOCKS + sky_cols[None, :]).astype(np.int64)
    emission = ndimage.binary_dilation(emission_islands(grey), iterations=2)
    n_emission = min(int(n_segments) - SKY_BLOCKS ** 2, int(emission.sum() // (BEAMS_PER_SUPERPIXEL * BEAM_PIXELS)))
    if n_emission >= 1:
        smooth = ndimage.gaussian_filter(np.where(emission, grey, 0.0), 1.0)
        peaks = peak_local_max(smooth, min_distance=min_distance, labels=emission.astype(int),
                               num_peaks=n_emission, exclude_border=False)
        markers = np.zeros((h, w), dtype=np.int64)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        spacing = max(min_distance, int(np.sqrt(emission.sum() / n_emission)))
        if len(peaks) < n_emission:
            # Grid seeds in emission far from every peak (large single-peaked lobes).
            far = ndimage.distance_transform_edt(markers == 0) > spacing / 2
            grid = np.zeros_like(emission)
            grid[spacing // 2::spacing, spacing // 2::spacing] = True
            extra = np.argwhere(grid & emission & far)[: n_emission - len(peaks)]
            markers[tuple(extra.T)] = np.arange(len(peaks) + 1, len(peaks) + len(extra) + 1)
        basins = watershed(-smooth, markers=markers, mask=emission, compactness=0.01)
        labels = np.where(basins > 0, basins - 1 + SKY_BLOCKS ** 2, labels)
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(h, w).astype(np.int32)
