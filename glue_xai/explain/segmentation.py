"""Superpixels for LIME-family methods, suited to radio and optical images.

Segmentation runs on an arcsinh-stretched copy of the model's input: radio maps have a
huge dynamic range, and a linear image gives superpixels that follow only the brightest
peak. Quickshift is deliberately absent: on a grey radio map it mostly segments noise.
"""
import numpy as np

SEGMENTATIONS = ("slic", "felzenszwalb", "watershed", "grid")


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

    ``n_segments``: roughly how many superpixels (slic, watershed, grid). ``scale``: the
    method's own size knob: SLIC compactness (default 0.1), Felzenszwalb scale (default
    60), watershed compactness (default 0.001); ignored by the grid. ``seed`` is accepted
    so the call shape is the same for every method: all four are deterministic.
    """
    from skimage import segmentation as sks

    if method not in SEGMENTATIONS:
        raise ValueError(f"unknown segmentation {method!r}; choose one of {SEGMENTATIONS}")
    n_segments = int(n_segments)
    if n_segments < 2:
        raise ValueError(f"n_segments must be at least 2, got {n_segments}")
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
