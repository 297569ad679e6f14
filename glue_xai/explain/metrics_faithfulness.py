"""Faithfulness: does the model's output fall when the pixels the map calls relevant are
hidden (deletion), and rise when only they are shown (insertion)?

Pixels are hidden by a substrate (default: noise like the image's own background, which
after MiraBest's preprocessing is empty sky). Every point of a curve is one image, and
all of them go through the model in batched forward passes.
"""
import numpy as np

from glue_xai.explain.metrics_inputs import resolve
from glue_xai.explain.substrate import make_substrate


def relevance_order(relevance, seed=0):
    """Flat pixel indices, most relevant first; ties in a seeded random order.

    Ties are common (superpixel maps are constant per superpixel) and breaking them in
    raster order would always delete the top rows first.
    """
    flat = np.asarray(relevance, dtype=np.float64).ravel()
    shuffle = np.random.default_rng(seed).permutation(flat.size)
    return shuffle[np.argsort(-flat[shuffle], kind="stable")]


def _substrate_array(x, substrate, seed):
    if isinstance(substrate, str):
        return make_substrate(x, substrate, seed=seed)
    substrate = np.asarray(substrate, dtype=np.float32)
    if substrate.shape != x.shape:
        raise ValueError(f"a substrate array must have the input's shape {x.shape}, got {substrate.shape}")
    return substrate


def _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, insert):
    n_steps = int(n_steps)
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}")
    x, relevance, target = resolve(model, explanation_or_input, relevance, target)
    background = _substrate_array(x, substrate, seed)
    rank = np.empty(relevance.size, dtype=np.int64)
    rank[relevance_order(relevance, seed)] = np.arange(relevance.size)
    rank = rank.reshape(relevance.shape)
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    counts = np.round(fractions * relevance.size).astype(np.int64)
    chosen = rank[None] < counts[:, None, None]  # (S, h, w): the first n pixels of the order
    if insert:
        images = np.where(chosen[:, None], x[None], background[None])
    else:
        images = np.where(chosen[:, None], background[None], x[None])
    probabilities = model.proba_of_inputs(images.astype(np.float32))[:, target]
    # Trapezoid rule on [0, 1]: the area is the mean probability along the curve.
    area = float(np.sum((probabilities[1:] + probabilities[:-1]) / 2 * np.diff(fractions)))
    return {"fractions": fractions, "probabilities": probabilities, "area": area, "target": target,
            "n_model_evals": len(images)}


def deletion_curve(model, explanation_or_input, relevance=None, target=None, substrate="noise", n_steps=20, seed=0):
    """The target's probability as the most relevant pixels are hidden, in ``n_steps``
    equal steps from none to all. Lower ``area`` = more faithful map.

    ``explanation_or_input``: an Explanation, or a model-ready input (C, h, w) with
    ``relevance`` (h, w). ``substrate``: a name (see
    :func:`~glue_xai.explain.substrate.make_substrate`) or an array like the input.
    Returns ``{"fractions", "probabilities", "area", "target", "n_model_evals"}``.
    """
    return _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, insert=False)


def insertion_curve(model, explanation_or_input, relevance=None, target=None, substrate="noise", n_steps=20, seed=0):
    """The target's probability as the most relevant pixels are shown on the substrate,
    from none to all. Higher ``area`` = more faithful map. Arguments as
    :func:`deletion_curve`."""
    return _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, insert=True)
