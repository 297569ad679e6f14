"""Explaining spectrum classifiers along the wavelength axis.

``explain_spectrum(model, spectrum, method=...)`` returns an
:class:`~glue_xai.methods.explanation.Explanation` whose ``map`` has one value per pixel
of the caller's spectrum: how the probability of the target class responds to the flux
at that wavelength.

* ``"saliency"``: the gradient d p_target / d flux;
* ``"smoothgrad"``: the gradient averaged over noisy copies of the spectrum (noise as a
  fraction of the spectrum's data range), which suppresses pixel-to-pixel jitter;
* ``"integrated_gradients"``: the gradient integrated on the straight path from a
  baseline spectrum (by default the spectrum's own continuum, i.e. the spectrum with its
  lines removed) to the spectrum, times the difference: the map's sum is the change in
  probability that the lines cause;
* ``"lime"``: contiguous wavelength windows switched between the spectrum and the
  baseline, and a weighted ridge regression (closed form) of the probability on which
  windows were present.

Gradients are exact (autograd of the model's closed form, see
:mod:`glue_xai.models.spectral`) when the model allows, central finite differences
otherwise; ``params["gradient"]`` says which was used. One ``seed`` drives all
randomness: the same inputs and seed give an identical map.
"""
import inspect
import time

import numpy as np

from glue_xai.methods.arguments import check_settings
from glue_xai.methods.explanation import Explanation
from glue_xai.methods.lime import kernel_weights, weighted_ridge
from glue_xai.models.spectral import as_spectrum_classifier

SPECTRUM_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "lime")
GRADIENT_CHOICES = ("auto", "exact", "finite_differences")


class _TargetProbability:
    """p_target of a classifier on spectra of one grid, its gradient, and a count of model calls."""

    def __init__(self, classifier, grid, target, gradient="auto", fd_step=1e-4):
        if gradient not in GRADIENT_CHOICES:
            raise ValueError(f"gradient must be one of {GRADIENT_CHOICES}, got {gradient!r}")
        if gradient == "exact" and not classifier.exact_gradients:
            raise ValueError(f"model {classifier.name!r} has no closed form: only finite differences are possible")
        self.classifier, self.grid, self.target = classifier, grid, target
        self.kind = "exact" if gradient == "auto" and classifier.exact_gradients else gradient
        self.kind = "finite_differences" if self.kind == "auto" else self.kind
        self.fd_step = float(fd_step)
        self.n_evals = 0

    def __call__(self, spectra):
        """p_target of each row of (N, L) ``spectra``."""
        spectra = np.atleast_2d(spectra)
        self.n_evals += len(spectra)
        return self.classifier.proba_filled(spectra, self.grid)[:, self.target]

    def gradient(self, spectra):
        """d p_target / d flux, (N, L), for each row of ``spectra``."""
        spectra = np.atleast_2d(spectra)
        if self.kind == "exact":
            return self._exact(spectra)
        return np.stack([self._finite_differences(s) for s in spectra])

    def _exact(self, spectra):
        import torch

        out = []
        for start in range(0, len(spectra), 256):
            chunk = torch.tensor(spectra[start:start + 256], dtype=torch.float64, requires_grad=True)
            self.classifier.torch_proba(chunk, self.grid)[:, self.target].sum().backward()
            out.append(chunk.grad.numpy())
        # one forward and one backward pass per spectrum
        self.n_evals += len(spectra)
        return np.concatenate(out)

    def _finite_differences(self, spectrum, block=256):
        # the step is a fixed fraction of the data range, so the result does not depend on flux units
        step = self.fd_step * max(np.ptp(spectrum), np.finfo(float).tiny)
        gradient = np.empty(len(spectrum))
        # ``block`` pixels at a time keeps memory at 2 x block spectra, whatever the length
        for start in range(0, len(spectrum), block):
            pixels = np.arange(start, min(start + block, len(spectrum)))
            n = len(pixels)
            shifted = np.repeat(spectrum[None], 2 * n, axis=0)
            shifted[np.arange(n), pixels] += step
            shifted[n + np.arange(n), pixels] -= step
            p = self(shifted)
            gradient[pixels] = (p[:n] - p[n:]) / (2.0 * step)
        return gradient


def continuum_baseline(spectrum, width_pixels=401):
    """The spectrum without its lines: a running median ``width_pixels`` wide.

    A median ignores features narrower than half its window, so 401 SDSS pixels
    (~28 000 km/s) remove even broad Balmer lines (FWHM up to ~6000 km/s) while keeping
    the continuum's slope.
    """
    from scipy import ndimage  # here, not at import: this module is loaded at glue start-up

    return ndimage.median_filter(spectrum, size=int(width_pixels), mode="nearest")


def _baseline(spectrum, baseline, classifier, continuum_pixels):
    if isinstance(baseline, str):
        if baseline == "continuum":
            return continuum_baseline(spectrum, continuum_pixels)
        if baseline == "median":
            return np.full_like(spectrum, np.median(spectrum))
        if baseline == "zeros":
            if classifier.normalisation_window is not None:
                raise ValueError("a zero baseline is undefined for a model that divides by the continuum level")
            return np.zeros_like(spectrum)
        raise ValueError(f"baseline must be 'continuum', 'median', 'zeros' or an array, got {baseline!r}")
    baseline = np.asarray(baseline, dtype=np.float64)
    if baseline.shape != spectrum.shape or not np.isfinite(baseline).all():
        raise ValueError(f"a baseline array must be finite and shaped like the spectrum {spectrum.shape}")
    return baseline


# --- the methods: (f, spectrum, seed, **options) -> dict ---------------------------------------
def saliency(f, spectrum, seed, gradient="auto", fd_step=1e-4):
    """The gradient of the target probability with respect to the flux."""
    return {"map": f.gradient(spectrum)[0]}


def smoothgrad(f, spectrum, seed, n_samples=50, noise_level=0.05, gradient="auto", fd_step=1e-4):
    """The gradient averaged over ``n_samples`` copies with Gaussian noise of
    ``noise_level`` times the spectrum's data range (max - min)."""
    if n_samples < 1 or noise_level < 0:
        raise ValueError("smoothgrad needs n_samples >= 1 and noise_level >= 0")
    rng = np.random.default_rng(seed)
    sigma = noise_level * np.ptp(spectrum)
    noisy = spectrum + sigma * rng.standard_normal((int(n_samples), len(spectrum)))
    return {"map": f.gradient(noisy).mean(0)}


def integrated_gradients(f, spectrum, seed, baseline="continuum", n_steps=64, continuum_pixels=401,
                         gradient="auto", fd_step=1e-4):
    """(spectrum - baseline) times the mean gradient on the straight path between them
    (midpoint rule, ``n_steps`` points). ``baseline``: "continuum" (running median,
    the spectrum without its lines), "median" (a flat spectrum at the median flux),
    "zeros", or an array."""
    if n_steps < 1:
        raise ValueError("integrated_gradients needs n_steps >= 1")
    start = _baseline(spectrum, baseline, f.classifier, continuum_pixels)
    alphas = (np.arange(int(n_steps)) + 0.5) / int(n_steps)
    path = start + alphas[:, None] * (spectrum - start)
    attribution = (spectrum - start) * f.gradient(path).mean(0)
    # completeness: the attributions should add up to p(spectrum) - p(baseline)
    p_ends = f(np.stack([spectrum, start]))
    return {"map": attribution, "extras": {"baseline_spectrum": start,
                                           "completeness_gap": float(attribution.sum() - (p_ends[0] - p_ends[1]))}}


def lime(f, spectrum, seed, n_windows=60, n_samples=1000, keep_probability=0.5, kernel_width=0.25,
         ridge_alpha=1.0, baseline="continuum", continuum_pixels=401):
    """LIME with ``n_windows`` contiguous, equal wavelength windows as features.

    Each sample keeps every window with ``keep_probability`` and replaces the others by
    the baseline; the samples are weighted by an exponential kernel of their cosine
    distance to the full spectrum, and a ridge regression (``ridge_alpha``, with
    intercept) of p_target on the window switches is solved in closed form.
    """
    n_windows, n_samples = int(n_windows), int(n_samples)
    if not 1 <= n_windows <= len(spectrum) or n_samples < 2:
        raise ValueError(f"lime needs 1 <= n_windows <= {len(spectrum)} and n_samples >= 2")
    rng = np.random.default_rng(seed)
    windows = np.minimum((np.arange(len(spectrum)) * n_windows) // len(spectrum), n_windows - 1)
    start = _baseline(spectrum, baseline, f.classifier, continuum_pixels)
    switches = (rng.random((n_samples, n_windows)) < keep_probability).astype(np.float64)
    switches[0] = 1.0  # the unperturbed spectrum is always a sample
    present = switches[:, windows]
    probabilities = f(start + present * (spectrum - start))
    # The spectral kernel is exp(-d^2 / width^2) itself, without LIME's square root: the
    # same curve as image LIME's kernel at width / sqrt(2).
    sample_weight = kernel_weights(switches, kernel_width / np.sqrt(2.0))
    coef, intercept, score = weighted_ridge(switches, probabilities, sample_weight, ridge_alpha)
    return {"map": coef[windows], "segments": windows, "weights": coef,
            "extras": {"intercept": intercept, "score": score, "baseline_spectrum": start}}


_FUNCTIONS = {"saliency": saliency, "smoothgrad": smoothgrad,
              "integrated_gradients": integrated_gradients, "lime": lime}


def spectrum_method_options(method):
    """The settings a spectrum method accepts, with their defaults."""
    if method not in _FUNCTIONS:
        raise ValueError(f"unknown method {method!r} for spectra; choose one of {SPECTRUM_METHODS}")
    return {name: p.default for name, p in list(inspect.signature(_FUNCTIONS[method]).parameters.items())[3:]}


def explain_spectrum(model, spectrum, method="saliency", target=None, seed=0, wavelength=None, **options):
    """Explain ``model``'s decision on one ``spectrum`` along its wavelength axis.

    ``model``: a :class:`~glue_xai.models.spectral.SpectrumClassifier` (e.g.
    ``load_spectrum_model("agn-spectra")``), a shipped model's name, a glue-xai torch
    ``Classifier`` taking (N, 1, L) spectra, or a fitted scikit-learn classifier.
    ``spectrum``: 1-D flux; NaN pixels are filled from their neighbours and get 0 in
    the map. ``wavelength``: its pixel centres in Angstrom (default: the model's grid);
    the spectrum is resampled onto the model's grid and the map is on the caller's.
    ``target``: class name or index (default: the predicted class). ``options`` go to
    the method (see :func:`spectrum_method_options`); gradient methods take
    ``gradient="auto" | "exact" | "finite_differences"`` and ``fd_step`` (a fraction of
    the data range).
    """
    started = time.perf_counter()
    allowed = spectrum_method_options(method)
    check_settings(method, options, allowed, seed)
    flux = np.asarray(spectrum, dtype=np.float64)
    if flux.ndim != 1:
        raise ValueError(f"a spectrum must be 1-D, got shape {flux.shape}")
    classifier = as_spectrum_classifier(model, wavelength)
    filled, grid = classifier.check_spectra(flux, wavelength)
    probabilities = classifier.proba_filled(filled, grid)[0]
    target_index = int(np.argmax(probabilities)) if target is None else classifier.class_index(target)

    settings = dict(allowed, **options)
    f = _TargetProbability(classifier, grid, target_index, gradient=settings.get("gradient", "auto"),
                           fd_step=settings.get("fd_step", 1e-4))
    result = _FUNCTIONS[method](f, filled[0], int(seed), **settings)
    relevance = np.asarray(result["map"], dtype=np.float64)
    relevance[~np.isfinite(flux)] = 0.0  # the model never saw these pixels
    if not np.isfinite(relevance).all():
        raise ValueError(f"{method} produced a non-finite map: the model's output or gradients are not finite")

    params = dict(settings, seed=int(seed), n_pixels=len(flux))
    if "gradient" in settings:
        params["gradient"] = f.kind
    if isinstance(params.get("baseline"), np.ndarray):
        params["baseline"] = "array"
    extras = dict(result.get("extras", {}), wavelength=grid)
    return Explanation(map=relevance, target=target_index, target_name=classifier.classes[target_index],
                       probability=float(probabilities[target_index]), method=method, params=params,
                       probabilities=probabilities, classes=classifier.classes, model_name=classifier.name,
                       segments=result.get("segments"), weights=result.get("weights"),
                       n_model_evals=f.n_evals + 1, elapsed_s=time.perf_counter() - started,
                       model_input=filled[0], extras=extras)
