"""Classifiers of spectra: one wrapper for scikit-learn and torch models on a wavelength grid.

A :class:`SpectrumClassifier` holds a model, its class names and the wavelength grid it
was trained on, and does the preparation a spectrum needs before the model sees it:
NaN pixels filled from their neighbours, resampling onto the model's grid, and
(optionally) division by the mean flux in a wavelength window, so the flux units and
the source's brightness do not matter. A wide window (the shipped model uses its whole
range) spreads the normalisation's share of the gradient thinly over many pixels; a
narrow continuum window would concentrate it there, and saliency maps would light up
the window rather than the lines.

Where the model's mathematics is known, the whole chain (preparation and model) is
written out in torch, float64, so gradients are *exact* (autograd of the closed form):

* linear models (``coef_``/``intercept_``: LogisticRegression, LinearSVC, SGD, Ridge...):
  probabilities are the model's own (sigmoid / softmax / normalised one-vs-rest
  sigmoids, whichever reproduces ``predict_proba``), or, for models without
  ``predict_proba``, the sigmoid (binary) or softmax (multiclass) of the decision function;
* RBF-kernel SVMs (SVC, NuSVC): the decision function is the kernel expansion over the
  support vectors; with ``probability=True`` libsvm's Platt sigmoids of the pairwise
  decision values, and for more than two classes its pairwise coupling (Wu, Lin & Weng
  2004), solved exactly here where libsvm iterates to a tolerance, so probabilities agree
  with ``predict_proba`` to ~1e-3 rather than to rounding error.

Each analytic form is checked against the estimator's own output when wrapped; if it
does not reproduce it, the model is treated as a black box and explanations use
finite differences. Shipped spectrum models are stored as plain arrays (``.npz`` read
with ``allow_pickle=False``) plus a JSON model card: no pickles.
"""
import warnings
from pathlib import Path

import numpy as np

from glue_xai.models.card import ModelCard
from glue_xai.models.loading import WEIGHTS_DIR  # noqa: F401  (also imported from here by train_spectra)
#: shipped spectrum models: name -> file stem in ``weights/`` (``.npz`` + ``.json``)
SHIPPED_SPECTRUM_MODELS = {"agn-spectra": "agn_spectra"}

# libsvm clips pairwise probabilities to this distance from 0 and 1
_LIBSVM_MIN_PROB = 1e-7


# --- backends: the model proper, on prepared (model-grid, normalised) spectra -------------
class LinearBackend:
    """A linear score ``W z + b`` turned into probabilities by ``link``.

    ``link``: "sigmoid" (binary: p1 = sigmoid(s)), "softmax", or "ovr" (one-vs-rest
    sigmoids normalised to sum to 1, scikit-learn's old multiclass logistic regression).
    """

    kind = "linear"
    exact = True

    def __init__(self, coef, intercept, link):
        self.coef = np.atleast_2d(np.asarray(coef, dtype=np.float64))
        self.intercept = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        if link not in ("sigmoid", "softmax", "ovr"):
            raise ValueError(f"unknown link {link!r}")
        self.link = link

    def torch_proba(self, z):
        import torch

        score = z @ torch.as_tensor(self.coef.T) + torch.as_tensor(self.intercept)
        if self.link == "sigmoid":
            p1 = torch.sigmoid(score[:, 0])
            return torch.stack([1.0 - p1, p1], dim=1)
        if self.link == "softmax":
            return torch.softmax(score, dim=1)
        s = torch.sigmoid(score)
        return s / s.sum(dim=1, keepdim=True)

    def arrays(self):
        return {"coef": self.coef, "intercept": self.intercept}

    def options(self):
        return {"link": self.link}


class RBFSVMBackend:
    """An RBF-kernel support-vector machine, libsvm's layout, with optional Platt scaling.

    ``dual_coef`` (n_classes - 1, n_sv) and ``intercept`` (n_pairs,) are scikit-learn's
    *multiclass* convention (libsvm's own: a positive pairwise decision value votes for
    the first class of the pair, ``intercept = -rho``), used for two classes as well.
    ``prob_a``/``prob_b``: the Platt sigmoid of each pair, ``P(first class | pair) =
    1 / (1 + exp(A d + B))``; empty when the SVM was trained without probabilities, in
    which case two-class probabilities are the sigmoid of the decision value.
    """

    kind = "rbf_svm"
    exact = True

    def __init__(self, support_vectors, dual_coef, intercept, n_support, gamma, prob_a=(), prob_b=()):
        self.support_vectors = np.asarray(support_vectors, dtype=np.float64)
        self.dual_coef = np.atleast_2d(np.asarray(dual_coef, dtype=np.float64))
        self.intercept = np.atleast_1d(np.asarray(intercept, dtype=np.float64))
        self.n_support = np.asarray(n_support, dtype=np.int64)
        self.gamma = float(gamma)
        self.prob_a = np.atleast_1d(np.asarray(prob_a, dtype=np.float64))
        self.prob_b = np.atleast_1d(np.asarray(prob_b, dtype=np.float64))
        self.n_classes = len(self.n_support)
        if not self.has_platt and self.n_classes > 2:
            # without Platt scaling, scikit-learn's multiclass output is a vote count
            raise ValueError("a multiclass SVM needs probability=True for a differentiable probability")

    @property
    def has_platt(self):
        return self.prob_a.size > 0

    def pairwise_decision(self, z):
        """libsvm's decision value of every class pair (i < j), (N, n_pairs); > 0 favours i."""
        import torch

        sv = torch.as_tensor(self.support_vectors)
        sq_dist = (z * z).sum(1, keepdim=True) - 2.0 * z @ sv.T + (sv * sv).sum(1)
        kernel = torch.exp(-self.gamma * sq_dist.clamp_min(0.0))
        starts = np.concatenate([[0], np.cumsum(self.n_support)])
        coef = torch.as_tensor(self.dual_coef)
        columns, pair = [], 0
        for i in range(self.n_classes):
            for j in range(i + 1, self.n_classes):
                si, sj = slice(starts[i], starts[i + 1]), slice(starts[j], starts[j + 1])
                value = kernel[:, si] @ coef[j - 1, si] + kernel[:, sj] @ coef[i, sj] + self.intercept[pair]
                columns.append(value)
                pair += 1
        return torch.stack(columns, dim=1)

    def torch_proba(self, z):
        import torch

        decision = self.pairwise_decision(z)
        if not self.has_platt:
            p0 = torch.sigmoid(decision[:, 0])
            return torch.stack([p0, 1.0 - p0], dim=1)
        pairwise = torch.sigmoid(-(decision * torch.as_tensor(self.prob_a) + torch.as_tensor(self.prob_b)))
        pairwise = pairwise.clamp(_LIBSVM_MIN_PROB, 1.0 - _LIBSVM_MIN_PROB)
        if self.n_classes == 2:
            return torch.stack([pairwise[:, 0], 1.0 - pairwise[:, 0]], dim=1)
        return _couple_pairwise(pairwise, self.n_classes)

    def arrays(self):
        support_vectors = self.support_vectors
        half = support_vectors.astype(np.float16)
        if np.array_equal(half.astype(np.float64), support_vectors):
            # already rounded to half precision (as the shipped model is): store half the bytes
            support_vectors = half
        return {"support_vectors": support_vectors, "dual_coef": self.dual_coef,
                "intercept": self.intercept, "n_support": self.n_support,
                "prob_a": self.prob_a, "prob_b": self.prob_b}

    def options(self):
        return {"gamma": self.gamma}


def _couple_pairwise(pairwise, n_classes):
    """Class probabilities from pairwise ones, Wu, Lin & Weng (2004) method 2, exactly.

    ``pairwise[:, k]`` is r_ij = P(i | i or j) for the k-th pair i < j. The probabilities
    minimise p^T Q p subject to sum(p) = 1; that is a linear (KKT) system, solved here
    directly, which makes the result differentiable.
    """
    import torch

    n = pairwise.shape[0]
    r = torch.zeros((n, n_classes, n_classes), dtype=pairwise.dtype)
    pair = 0
    for i in range(n_classes):
        for j in range(i + 1, n_classes):
            r[:, i, j] = pairwise[:, pair]
            r[:, j, i] = 1.0 - pairwise[:, pair]
            pair += 1
    # Q_tt = sum_{j != t} r_jt^2 ; Q_tj = -r_jt r_tj (the diagonal of r is 0)
    q = -r.transpose(1, 2) * r
    q = q + torch.diag_embed((r * r).sum(1))
    kkt = torch.zeros((n, n_classes + 1, n_classes + 1), dtype=pairwise.dtype)
    kkt[:, :n_classes, :n_classes] = q
    kkt[:, :n_classes, n_classes] = 1.0
    kkt[:, n_classes, :n_classes] = 1.0
    rhs = torch.zeros((n, n_classes + 1, 1), dtype=pairwise.dtype)
    rhs[:, n_classes] = 1.0
    return torch.linalg.solve(kkt, rhs)[:, :n_classes, 0]


class TorchBackend:
    """A glue-xai :class:`~glue_xai.models.Classifier` around a torch module taking (N, 1, L)."""

    kind = "torch"
    exact = True

    def __init__(self, classifier):
        self.classifier = classifier

    def torch_proba(self, z):
        dtype = next(self.classifier.module.parameters()).dtype
        return self.classifier.torch_proba(z[:, None, :].to(dtype)).to(z.dtype)


class BlackBoxBackend:
    """Any estimator: ``predict_proba``, or else sigmoid/softmax of ``decision_function``."""

    kind = "black_box"
    exact = False

    def __init__(self, estimator):
        self.estimator = estimator
        self.probability = "predict_proba" if hasattr(estimator, "predict_proba") else "decision_function"

    def proba(self, z):
        if self.probability == "predict_proba":
            return np.asarray(self.estimator.predict_proba(z), dtype=np.float64)
        score = np.asarray(self.estimator.decision_function(z), dtype=np.float64)
        if score.ndim == 1:
            p1 = 1.0 / (1.0 + np.exp(-score))
            return np.stack([1.0 - p1, p1], axis=1)
        score = score - score.max(1, keepdims=True)
        return np.exp(score) / np.exp(score).sum(1, keepdims=True)


# --- the wrapper --------------------------------------------------------------------------
class SpectrumClassifier:
    """A classifier of 1-D spectra on a fixed wavelength grid.

    ``backend``: one of the backends above (see :func:`from_sklearn` and
    :func:`from_torch` to build one); ``wavelength``: the model's pixel centres
    (Angstrom); ``normalisation_window``: (lo, hi) Angstrom whose mean flux divides the
    spectrum (and 1 is subtracted) before the model sees it, or None to feed the flux
    as it is.
    """

    def __init__(self, backend, classes, wavelength, normalisation_window=None, name="spectrum classifier",
                 info=None):
        self.backend = backend
        self.classes = tuple(str(c) for c in classes)
        self.wavelength = np.asarray(wavelength, dtype=np.float64)
        if self.wavelength.ndim != 1 or np.any(np.diff(self.wavelength) <= 0):
            raise ValueError("the model's wavelength grid must be 1-D and increasing")
        self.normalisation_window = None
        if normalisation_window is not None:
            lo, hi = self.normalisation_window = tuple(float(w) for w in normalisation_window)
            self._normalisation_mask = (self.wavelength >= lo) & (self.wavelength <= hi)
            if not self._normalisation_mask.any():
                raise ValueError(f"normalisation window {lo}-{hi} Å holds no pixel of the model's grid")
        self.name = name
        self.info = dict(info or {})
        #: largest difference between the closed form's probabilities and the estimator's own
        self.closed_form_deviation = 0.0

    @property
    def exact_gradients(self):
        """True when the gradient is the closed form's (autograd), False for finite differences."""
        return self.backend.exact

    @property
    def n_pixels(self):
        return len(self.wavelength)

    def class_index(self, target):
        """Index of ``target`` given as an index or a class name."""
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if not 0 <= target < len(self.classes):
                raise ValueError(f"class index {target} is out of range for classes {self.classes}")
            return int(target)
        if isinstance(target, str) and target in self.classes:
            return self.classes.index(target)
        raise ValueError(f"unknown class {target!r}; this model's classes are {self.classes}")

    # --- the caller's spectrum to the model's input ----------------------------------------
    def check_spectra(self, spectra, wavelength=None):
        """Spectra as a float64 (N, L) array on the caller's grid, NaNs filled, and that grid.

        Raises ValueError for a length that does not match the grid, a spectrum without a
        finite pixel, or a grid that does not cover the model's wavelength range.
        """
        spectra = np.asarray(spectra, dtype=np.float64)
        if spectra.ndim == 1:
            spectra = spectra[None]
        if spectra.ndim != 2:
            raise ValueError(f"a spectrum must be 1-D (or a stack, 2-D), got shape {spectra.shape}")
        grid = self.wavelength if wavelength is None else np.asarray(wavelength, dtype=np.float64)
        if grid.ndim != 1 or spectra.shape[1] != len(grid):
            where = "the model's grid" if wavelength is None else "the wavelength array"
            raise ValueError(f"the spectrum has {spectra.shape[1]} pixels but {where} has {grid.size}")
        if np.any(np.diff(grid) <= 0):
            raise ValueError("wavelength must increase along the spectrum")
        if grid[0] > self.wavelength[0] * (1 + 1e-9) or grid[-1] < self.wavelength[-1] * (1 - 1e-9):
            raise ValueError(f"the spectrum covers {grid[0]:.1f}-{grid[-1]:.1f} Å but model {self.name!r} "
                             f"needs {self.wavelength[0]:.1f}-{self.wavelength[-1]:.1f} Å")
        filled = spectra.copy()
        pixels = np.arange(spectra.shape[1])
        for row, spectrum in enumerate(spectra):
            good = np.isfinite(spectrum)
            if not good.any():
                raise ValueError(f"spectrum {row} has no finite pixel (all NaN or inf)")
            if not good.all():
                # fill gaps by linear interpolation: bad pixels carry no information
                filled[row, ~good] = np.interp(pixels[~good], pixels[good], spectrum[good])
        return filled, grid

    def _resampling(self, grid):
        """(left index, right index, right weight) of linear interpolation onto the model's grid."""
        if len(grid) == self.n_pixels and np.allclose(grid, self.wavelength, rtol=1e-9, atol=0):
            return None
        right = np.clip(np.searchsorted(grid, self.wavelength), 1, len(grid) - 1)
        left = right - 1
        weight = (self.wavelength - grid[left]) / (grid[right] - grid[left])
        return left, right, np.clip(weight, 0.0, 1.0)

    def prepare_torch(self, spectra, grid):
        """The model's input from (N, L_caller) tensor ``spectra``: resampled and normalised."""
        import torch

        resampling = self._resampling(grid)
        if resampling is not None:
            left, right, weight = (torch.as_tensor(a) for a in resampling)
            spectra = spectra[:, left] * (1.0 - weight) + spectra[:, right] * weight
        if self.normalisation_window is not None:
            level = spectra[:, torch.as_tensor(self._normalisation_mask)].mean(1, keepdim=True)
            spectra = spectra / level - 1.0
        return spectra

    def torch_proba(self, spectra, grid):
        """Differentiable (N, n_classes) probabilities of (N, L) float64 ``spectra`` on ``grid``."""
        if not self.backend.exact:
            raise TypeError(f"model {self.name!r} is a black box: use finite differences")
        return self.backend.torch_proba(self.prepare_torch(spectra, grid))

    def proba_filled(self, spectra, grid):
        """Probabilities of already-checked (N, L) numpy spectra on ``grid``, batched."""
        import torch

        parts = []
        with torch.no_grad():
            for start in range(0, len(spectra), 512):
                chunk = torch.as_tensor(spectra[start:start + 512], dtype=torch.float64)
                if self.backend.exact:
                    parts.append(self.backend.torch_proba(self.prepare_torch(chunk, grid)).numpy())
                else:
                    parts.append(self.backend.proba(self.prepare_torch(chunk, grid).numpy()))
        return np.concatenate(parts).astype(np.float64)

    def predict_proba(self, spectra, wavelength=None):
        """(N, n_classes) class probabilities of one spectrum or a stack, NaN pixels allowed."""
        filled, grid = self.check_spectra(spectra, wavelength)
        return self.proba_filled(filled, grid)

    def predict(self, spectra, wavelength=None):
        """Predicted class names."""
        return [self.classes[i] for i in self.predict_proba(spectra, wavelength).argmax(1)]

    def __repr__(self):
        return (f"<SpectrumClassifier {self.name!r} {self.backend.kind} classes={self.classes} "
                f"{self.wavelength[0]:.0f}-{self.wavelength[-1]:.0f} Å, {self.n_pixels} pixels>")

    # --- saving -----------------------------------------------------------------------------
    def save(self, stem):
        """Write ``<stem>.npz`` (plain arrays) and ``<stem>.json`` (the model card)."""
        if self.backend.kind not in ("linear", "rbf_svm"):
            raise ValueError(f"only linear and RBF-SVM spectrum models can be saved as arrays, not {self.backend.kind}")
        stem = Path(stem)
        np.savez_compressed(stem.with_suffix(".npz"), wavelength=self.wavelength, **self.backend.arrays())
        window = self.normalisation_window
        card = ModelCard(
            name=self.name, classes=self.classes, input_shape=(1, 1, self.n_pixels),
            preprocessing={"normalise": "window_mean" if window else "none",
                           "normalisation_window_A": list(window) if window else None},
            architecture=self.backend.kind, architecture_options=self.backend.options(),
            output="probabilities", info=self.info)
        card.save(stem.with_suffix(".json"))


def load_spectrum_model(name_or_stem="agn-spectra"):
    """Load a shipped spectrum model by name (``"agn-spectra"``) or from ``<stem>.npz`` + ``<stem>.json``."""
    if name_or_stem in SHIPPED_SPECTRUM_MODELS:
        stem = WEIGHTS_DIR / SHIPPED_SPECTRUM_MODELS[name_or_stem]
    else:
        stem = Path(name_or_stem).with_suffix("")
    npz, card_path = stem.with_suffix(".npz"), stem.with_suffix(".json")
    if not npz.exists() or not card_path.exists():
        raise FileNotFoundError(f"no spectrum model at {stem} (.npz + .json); shipped: "
                                f"{list(SHIPPED_SPECTRUM_MODELS)}; `python -m glue_xai.models.train_spectra` "
                                "rebuilds the shipped one")
    card = ModelCard.load(card_path)
    with np.load(npz, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    wavelength = arrays.pop("wavelength")
    if card.architecture == "linear":
        backend = LinearBackend(arrays["coef"], arrays["intercept"], card.architecture_options["link"])
    elif card.architecture == "rbf_svm":
        backend = RBFSVMBackend(gamma=card.architecture_options["gamma"], **arrays)
    else:
        raise ValueError(f"unknown spectrum model architecture {card.architecture!r} in {card_path}")
    window = card.preprocessing.get("normalisation_window_A")
    return SpectrumClassifier(backend, card.classes, wavelength, normalisation_window=window, name=card.name,
                              info=card.info)


# --- building wrappers -------------------------------------------------------------------
def from_torch(classifier, wavelength, normalisation_window=None):
    """Wrap a glue-xai :class:`~glue_xai.models.Classifier` whose torch module takes (N, 1, L) spectra."""
    if not getattr(classifier, "is_differentiable", False):
        raise TypeError("from_torch needs a Classifier around a torch module")
    return SpectrumClassifier(TorchBackend(classifier), classifier.classes, wavelength,
                              normalisation_window=normalisation_window, name=classifier.name)


def _linear_links(estimator, n_classes):
    if not hasattr(estimator, "predict_proba"):
        return ["sigmoid"] if n_classes == 2 else ["softmax"]
    return ["sigmoid"] if n_classes == 2 else ["softmax", "ovr"]


def _analytic_backends(estimator, n_classes):
    """Candidate closed forms for ``estimator``, most likely first (may be empty)."""
    kernel = getattr(estimator, "kernel", None)
    if kernel == "rbf" and hasattr(estimator, "support_vectors_"):
        dual, intercept = np.asarray(estimator.dual_coef_), np.asarray(estimator.intercept_)
        if n_classes == 2:
            # scikit-learn flips the sign of binary SVMs' public coefficients relative to libsvm
            dual, intercept = -dual, -intercept
        platt = getattr(estimator, "probability", False)
        with warnings.catch_warnings():
            # scikit-learn 1.9 deprecates probability=True; its fitted sigmoids are still what we need
            warnings.simplefilter("ignore", FutureWarning)
            prob_a, prob_b = (estimator.probA_, estimator.probB_) if platt else ((), ())
        try:
            return [RBFSVMBackend(estimator.support_vectors_, dual, intercept, estimator.n_support_,
                                  estimator._gamma, prob_a, prob_b)]
        except ValueError:
            return []
    if kernel is None and hasattr(estimator, "coef_") and hasattr(estimator, "intercept_"):
        coef, intercept = np.atleast_2d(estimator.coef_), np.atleast_1d(estimator.intercept_)
        if coef.shape[0] == (1 if n_classes == 2 else n_classes):
            return [LinearBackend(coef, intercept, link) for link in _linear_links(estimator, n_classes)]
    return []


def _estimator_proba(estimator, z):
    return BlackBoxBackend(estimator).proba(z)


def from_sklearn(estimator, wavelength, classes=None, normalisation_window=None, name=None, info=None, probe_seed=0):
    """Wrap a fitted scikit-learn classifier taking (N, L) spectra on ``wavelength``.

    Linear models and RBF SVMs get exact gradients when their closed form reproduces the
    estimator's probabilities on probe spectra (to 1e-9, or 2e-3 for multiclass Platt
    coupling, which libsvm solves iteratively); any other model is a black box.
    ``normalisation_window`` must be what the estimator was trained with.
    """
    import torch

    classes = tuple(getattr(estimator, "classes_", ())) if classes is None else tuple(classes)
    if len(classes) < 2:
        raise ValueError("give the class names: the estimator has no classes_")
    wavelength = np.asarray(wavelength, dtype=np.float64)
    name = name or type(estimator).__name__
    black_box = SpectrumClassifier(BlackBoxBackend(estimator), classes, wavelength, normalisation_window, name, info)
    rng = np.random.default_rng(probe_seed)
    probe = black_box.prepare_torch(torch.as_tensor(1.0 + 0.3 * rng.standard_normal((8, len(wavelength)))),
                                    wavelength).numpy()
    if hasattr(estimator, "support_vectors_"):
        # near the support vectors, where an RBF kernel is not just zero
        sv = np.asarray(estimator.support_vectors_)
        picks = sv[rng.choice(len(sv), size=8)]
        probe = np.concatenate([probe, picks + 0.05 * picks.std() * rng.standard_normal(picks.shape)])
    expected = _estimator_proba(estimator, probe)
    for backend in _analytic_backends(estimator, len(classes)):
        # libsvm couples Platt probabilities iteratively (for two classes as well), stopping
        # at a tolerance; the exact solution used here differs from it by up to ~2e-3
        platt = isinstance(backend, RBFSVMBackend) and backend.has_platt
        with torch.no_grad():
            got = backend.torch_proba(torch.as_tensor(probe)).numpy()
        if got.shape == expected.shape and np.allclose(got, expected, rtol=0, atol=5e-3 if platt else 1e-9):
            wrapped = SpectrumClassifier(backend, classes, wavelength, normalisation_window, name, info)
            wrapped.closed_form_deviation = float(np.abs(got - expected).max())
            return wrapped
    return black_box


def as_spectrum_classifier(model, wavelength=None):
    """Whatever the caller has (wrapper, glue-xai torch Classifier, scikit-learn estimator) as a wrapper."""
    if isinstance(model, SpectrumClassifier):
        return model
    if isinstance(model, str):
        return load_spectrum_model(model)
    from glue_xai.models.classifier import Classifier

    if isinstance(model, Classifier):
        grid = wavelength if wavelength is not None else model.card.info.get("wavelength_A")
        if grid is None:
            grid = np.arange(model.card.input_shape[-1], dtype=np.float64)
        window = model.card.preprocessing.get("normalisation_window_A")
        return from_torch(model, grid, normalisation_window=window)
    if hasattr(model, "predict_proba") or hasattr(model, "decision_function"):
        if wavelength is None:
            n = getattr(model, "n_features_in_", None)
            if n is None:
                raise ValueError("pass wavelength= for a scikit-learn model")
            wavelength = np.arange(n, dtype=np.float64)
        return from_sklearn(model, wavelength)
    raise TypeError(f"cannot explain spectra with a {type(model).__name__}: give a SpectrumClassifier, "
                    "a glue-xai Classifier or a scikit-learn classifier")
