"""Sanity: the model-parameter randomisation test (Adebayo et al. 2018).

The layers of a copy of the network are re-initialised one after another, from the
output down to the input, and the explanation is recomputed after each step. A method
whose map stays the same while the model is destroyed explains the image, not the
model. Agreement is the Spearman rank correlation between the original and the
randomised maps.
"""
import copy

import numpy as np
from scipy.stats import rankdata

from glue_xai.methods.metrics_inputs import is_explanation, method_settings, resolve


def spearman(a, b, absolute=False):
    """Spearman rank correlation of two maps (ties get average ranks).

    NaN when either map is constant: it has no ranking to agree with.
    ``absolute`` compares magnitudes, ignoring sign flips.
    """
    a = np.abs(np.ravel(a)) if absolute else np.ravel(a)
    b = np.abs(np.ravel(b)) if absolute else np.ravel(b)
    ra, rb = rankdata(a), rankdata(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    norm = np.sqrt((ra ** 2).sum() * (rb ** 2).sum())
    return float((ra * rb).sum() / norm) if norm > 0 else float("nan")


def randomisation_layers(module):
    """``(name, layer)`` of every layer holding parameters, from the output to the input.

    The order is the reverse of registration order, which for sequential networks (and
    the architectures shipped here) is the reverse of the forward pass.
    """
    layers = [(name, m) for name, m in module.named_modules() if any(True for _ in m.parameters(recurse=False))]
    return layers[::-1]


def reinitialise(layer):
    """Re-initialise one layer in place: its own initialiser, else Gaussian noise of the
    parameters' own spread (so the layer keeps its scale but loses what it learnt)."""
    import torch

    if hasattr(layer, "reset_parameters"):
        layer.reset_parameters()
        return
    with torch.no_grad():
        for p in layer.parameters(recurse=False):
            p.normal_(0.0, float(p.std()) if p.numel() > 1 and float(p.std()) > 0 else 0.01)


def randomisation_test(model, explanation_or_input, method=None, relevance=None, target=None, seed=0,
                       absolute=False, options=None, region=None):
    """Cascading model-parameter randomisation of ``model`` (a torch Classifier).

    Recomputes the explanation (its own method and settings, or ``method``/``options``)
    on a deep copy of the network after re-initialising each layer in turn, from the top.
    Returns ``{"layers": names in the order randomised, "correlations": Spearman rho
    between the original map and the map after randomising up to that layer,
    "control": rho of the original map against one recomputed on the untouched copy
    (1 for a deterministic method), "n_model_evals"}``.

    ``region``: a boolean (h, w) mask of the model grid to rank within (e.g. the source's
    emission). On a clipped radio map most pixels are exact zeros of the input, where
    any input-times-gradient map (integrated gradients) is zero whatever the weights:
    over all pixels those shared zeros alone make two maps agree.
    """
    import torch

    from glue_xai.methods.api import method_function
    from glue_xai.models.classifier import Classifier

    if model.module is None:
        raise TypeError(f"model {model.name!r} is not a torch module: the randomisation test needs one")
    x, original, target = resolve(model, explanation_or_input, relevance, target)
    method, settings = method_settings(explanation_or_input, method, options)
    run_seed = int(explanation_or_input.params.get("seed", seed)) if is_explanation(explanation_or_input) else seed
    function = method_function(method)
    network = copy.deepcopy(model.module)
    copy_model = Classifier(network, model.card, batch_size=model.batch_size, device=model.device)
    n_evals = 0

    keep = np.ones(np.shape(original), bool) if region is None else np.asarray(region, bool)
    original = np.asarray(original)[keep]

    def recompute():
        nonlocal n_evals
        result = function(copy_model, x, target, seed=run_seed, **settings)
        n_evals += int(result["n_model_evals"])
        return np.asarray(result["map"], dtype=np.float64)[keep]

    control = spearman(original, recompute(), absolute)
    names, correlations = [], []
    # fork_rng: the re-initialisation is seeded without touching the caller's torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for name, layer in randomisation_layers(network):
            reinitialise(layer)
            names.append(name)
            correlations.append(spearman(original, recompute(), absolute))
    return {"layers": names, "correlations": np.array(correlations), "control": control,
            "method": method, "absolute": bool(absolute), "n_model_evals": n_evals}
