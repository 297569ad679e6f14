"""Before trusting a class: is there a source, and is it like what the model was trained on?

A classifier always answers. Given pure noise, the FR classifier used to say FR II at
p = 1. :func:`assess` asks two questions a radio astronomer asks first:

* **Is there a source?** (``has_source``) A detection in the model's field of view,
  against the sky measured the same way the wrapper measures it (sigma-clipped median
  and spread of the whole image): the brightest pixel must reach ``peak_snr`` sky
  sigmas and the island of emission around it (connected pixels above 3 sigma) a
  signal-to-noise of ``island_snr``, the noise of a sum of pixels counted per beam
  because radio noise is correlated over the beam.
* **Is it like the training data?** (``in_distribution``) The Mahalanobis distance of
  the network's penultimate features to the nearest class's training features, with a
  shrunk shared covariance (Lee et al. 2018). The threshold is the 99th percentile of
  the distance over the training images, so about 1% of training-like inputs are
  flagged by design.

Both thresholds are chosen on the tune part of the development data
(:mod:`glue_xai.data.splits`), stored beside the shipped weights, and reported on the
other part (``benchmarks/bench_trust.py``).
"""
from dataclasses import dataclass, field

import numpy as np

from glue_xai.models.preprocess import sigma_clipped_background

#: Detection thresholds (sky sigmas), chosen on the tune part (docs/trust.rst).
DETECTION = {"peak_snr": 9.0, "island_snr": 5.0, "island_sigma": 3.0, "beam_arcsec": 5.4}


@dataclass
class OODReference:
    """Training-feature statistics of a model: class means (K, D), a shared precision
    matrix (D, D) and the distance threshold; see :func:`fit_ood_reference`."""

    means: np.ndarray
    precision: np.ndarray
    threshold: float
    info: dict = field(default_factory=dict)

    def distances(self, features):
        """Mahalanobis distance of each feature row (N, D) to the nearest class mean."""
        features = np.atleast_2d(np.asarray(features, dtype=np.float64))
        d = features[:, None, :] - self.means[None]
        squared = np.einsum("nkd,de,nke->nk", d, self.precision, d)
        return np.sqrt(np.maximum(squared.min(axis=1), 0.0))

    def save(self, path):
        np.savez(path, means=self.means, precision=self.precision, threshold=self.threshold,
                 info=np.array(repr(self.info)))

    @classmethod
    def load(cls, path):
        import ast

        with np.load(path, allow_pickle=False) as f:
            return cls(f["means"], f["precision"], float(f["threshold"]), ast.literal_eval(str(f["info"])))


@dataclass
class Assessment:
    """What :func:`assess` found for one image."""

    probabilities: np.ndarray
    classes: tuple
    has_source: bool
    peak_snr: float
    island_snr: float
    ood_score: float
    in_distribution: bool
    reason: str

    @property
    def predicted_class(self):
        return self.classes[int(np.argmax(self.probabilities))]

    @property
    def trusted(self):
        """True when there is a source and it is like the training data."""
        return bool(self.has_source and self.in_distribution)

    @property
    def verdict(self):
        """A short label for a legend: the class, or why there is none."""
        if not self.has_source:
            return "no source"
        if not self.in_distribution:
            return "unlike the training data"
        return self.predicted_class

    def columns(self, prefix="xai_"):
        """Catalogue columns of this assessment."""
        return {f"{prefix}has_source": bool(self.has_source), f"{prefix}in_distribution": bool(self.in_distribution),
                f"{prefix}ood_score": float(self.ood_score), f"{prefix}peak_snr": float(self.peak_snr)}


def penultimate_features(model, x):
    """The input of the network's last linear layer for model-ready inputs (N, C, h, w)."""
    import torch

    module = model.module
    if module is None:
        raise TypeError(f"model {model.name!r} is not a torch module: it has no features to compare")
    if hasattr(module, "features"):
        with torch.inference_mode():
            return module.features(model.tensor(x)).cpu().numpy().astype(np.float64)
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise TypeError(f"model {model.name!r} has no linear layer whose input could serve as features")
    captured = []
    hook = linears[-1].register_forward_hook(lambda mod, inp, out: captured.append(inp[0].detach()))
    try:
        with torch.inference_mode():
            module(model.tensor(x))
    finally:
        hook.remove()
    return torch.cat(captured).flatten(1).cpu().numpy().astype(np.float64)


def fit_ood_reference(model, inputs, labels, quantile=0.99, info=None):
    """Class means, a Ledoit-Wolf shrunk shared covariance and the ``quantile`` of the
    training distances, from model-ready training inputs (N, C, h, w) and their labels."""
    from sklearn.covariance import LedoitWolf

    features = np.concatenate([penultimate_features(model, inputs[s:s + 256]) for s in range(0, len(inputs), 256)])
    labels = np.asarray(labels)
    means = np.stack([features[labels == k].mean(axis=0) for k in range(len(model.classes))])
    centred = features - means[labels]
    precision = LedoitWolf().fit(centred).precision_
    reference = OODReference(means, precision, 0.0, dict(info or {}))
    reference.threshold = float(np.quantile(reference.distances(features), quantile))
    reference.info.update({"quantile": quantile, "n_training_inputs": int(len(features))})
    return reference


def detection(image, pixel_scale_arcsec, k_sigma=None, beam_arcsec=None, noise_image=None):
    """(peak S/N, S/N of the island around the peak) of a 2-D image against its sky."""
    from scipy import ndimage

    k_sigma = DETECTION["island_sigma"] if k_sigma is None else k_sigma
    beam_arcsec = DETECTION["beam_arcsec"] if beam_arcsec is None else beam_arcsec
    image = np.asarray(image, dtype=np.float64)
    median, sigma = sigma_clipped_background(image if noise_image is None else noise_image)
    finite = np.isfinite(image)
    if sigma <= 0 or not finite.any():
        return 0.0, 0.0
    snr = np.where(finite, (image - median) / sigma, -np.inf)
    peak = np.unravel_index(np.argmax(snr), snr.shape)
    labels, _ = ndimage.label(snr > k_sigma)
    island = labels == labels[peak] if labels[peak] else np.zeros_like(finite)
    # Noise of a sum of n pixels: sqrt(n * pixels per beam) sigmas (correlated over the beam).
    beam_pixels = 1.1331 * (beam_arcsec / pixel_scale_arcsec) ** 2 if pixel_scale_arcsec else 1.0
    n = max(int(island.sum()), 1)
    island_snr = float(snr[island].sum() / np.sqrt(n * max(beam_pixels, 1.0))) if island.any() else 0.0
    return float(snr[peak]), island_snr


def assess(model, image, wcs=None, pixel_scale_arcsec=None, fit="crop"):
    """Probabilities plus whether there is a source to classify and whether the input
    looks like the model's training data (see the module's docstring).

    ``image``: (H, W) or (C, H, W) in its own pixels, as for :func:`glue_xai.explain`.
    """
    from glue_xai.models.preprocess import pixel_scale_from_wcs

    if wcs is not None and pixel_scale_arcsec is None:
        pixel_scale_arcsec = pixel_scale_from_wcs(wcs)
    x, placement = model.prepare(image, pixel_scale_arcsec=pixel_scale_arcsec, fit=fit)
    return _assessment(model, image, x, placement, model.proba_of_inputs(x[None])[0], pixel_scale_arcsec)


def assess_explanation(model, image, explanation):
    """:func:`assess` of the image ``explanation`` was computed on, reusing its model input,
    placement and probabilities instead of preparing and classifying the image again."""
    return _assessment(model, image, explanation.model_input, explanation.placement, explanation.probabilities,
                       explanation.params.get("pixel_scale_arcsec"),
                       explanation.extras.get("penultimate_features"))


def _assessment(model, image, x, placement, probabilities, pixel_scale_arcsec, features=None):
    grey = model._as_channels(image).mean(axis=0)
    field = placement.sample_input(grey)
    scale = model.card.pixel_scale_arcsec or pixel_scale_arcsec  # the field is on the model's grid
    peak_snr, island_snr = detection(field, scale, noise_image=grey)
    has_source = peak_snr >= DETECTION["peak_snr"] and island_snr >= DETECTION["island_snr"]

    reference = getattr(model, "ood_reference", None)
    if reference is not None and model.module is not None:
        if features is None:  # a survey batch computes them for many sources in one pass
            features = penultimate_features(model, x[None])[0]
        ood_score = float(reference.distances(np.asarray(features, dtype=np.float64)[None])[0])
        in_distribution = ood_score <= reference.threshold
    else:
        ood_score, in_distribution = float("nan"), True

    if not has_source:
        reason = (f"no source: the brightest pixel is {peak_snr:.1f} sky sigmas "
                  f"(a detection needs {DETECTION['peak_snr']:g}) and its island S/N {island_snr:.1f} "
                  f"(needs {DETECTION['island_snr']:g})")
    elif not in_distribution:
        reason = (f"unlike the training data: feature distance {ood_score:.1f} beyond the training "
                  f"threshold {reference.threshold:.1f}")
    elif reference is None:
        reason = "source detected; this model has no training-feature reference, so no out-of-distribution check"
    else:
        reason = f"source detected (peak {peak_snr:.0f} sigma) and like the training data"
    return Assessment(np.asarray(probabilities), tuple(model.classes), bool(has_source), peak_snr, island_snr,
                      ood_score, bool(in_distribution), reason)
