"""What replaces hidden pixels: the 'substrate' of LIME perturbations and deletion curves.

For radio images the natural substrate is empty sky: noise drawn like the image's own
background. After MiraBest's preprocessing (sky below 3 sigma set to 0) that is exactly 0.
"""
import numpy as np

SUBSTRATES = ("noise", "mean", "blur", "zero", "structure")


def make_substrate(image, kind="noise", segments=None, seed=0):
    """An array like ``image`` (C, h, w) to show wherever a pixel is hidden.

    ``noise``: Gaussian noise with the sigma-clipped background's median and spread;
    ``mean``: each superpixel's mean (needs ``segments``) or the image mean;
    ``blur``: the image smoothed with a Gaussian of 5 pixels; ``zero``: zeros;
    ``structure``: each superpixel's emission (its pixels that are not exactly 0, the
    clipped sky) flattened to its mean, the sky left at 0. Hiding a piece then removes its
    shape but keeps its flux, in place: a network that only counted flux would not notice.
    Without ``segments`` the pieces are the image's connected islands of emission.
    """
    from glue_xai.models.preprocess import sigma_clipped_background

    image = np.asarray(image, dtype=np.float32)
    if kind not in SUBSTRATES:
        raise ValueError(f"unknown substrate {kind!r}; choose one of {SUBSTRATES}")
    if kind == "zero":
        return np.zeros_like(image)
    if kind == "noise":
        rng = np.random.default_rng(seed)
        out = np.empty_like(image)
        for c, channel in enumerate(image):
            med, std = sigma_clipped_background(channel)
            out[c] = med + std * rng.standard_normal(channel.shape)
        return out
    if kind == "blur":
        from scipy.ndimage import gaussian_filter

        return np.stack([gaussian_filter(c, 5.0) for c in image]).astype(np.float32)
    if kind == "structure":
        return _flattened_emission(image, segments)
    if segments is None:
        return np.broadcast_to(image.mean(axis=(1, 2), keepdims=True), image.shape).astype(np.float32)
    out = np.empty_like(image)
    for c, channel in enumerate(image):
        out[c] = _piece_means(channel, segments)[segments]
    return out


def _piece_means(channel, labels):
    """Mean of ``channel`` over each label of ``labels`` (0 for a label with no pixels)."""
    flux = np.bincount(labels.ravel(), weights=channel.ravel())
    return flux / np.maximum(np.bincount(labels.ravel()), 1)


def _flattened_emission(image, segments):
    """The ``structure`` substrate: per piece and band, the emission's mean on its own pixels."""
    from scipy import ndimage

    out = np.zeros_like(image)
    for c, channel in enumerate(image):
        emission = channel != 0
        pieces = ndimage.label(emission)[0] if segments is None else np.where(emission, segments + 1, 0)
        means = _piece_means(channel, pieces)
        means[0] = 0.0  # the clipped sky stays empty
        out[c] = means[pieces]
    return out
