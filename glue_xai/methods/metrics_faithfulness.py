"""Faithfulness: does the model's output fall when the pixels the map calls relevant are
hidden (deletion), and rise when only they are shown (insertion)?

Pixels are hidden by a substrate (default: noise like the image's own background, which
after MiraBest's preprocessing is empty sky). Every point of a curve is one image, and
all of them go through the model in batched forward passes.

By default the curve runs over the pixels that differ from the substrate only: in a
preprocessed radio cutout 97-99% of the pixels are already empty sky, hiding them
changes nothing, and on the whole image every curve would fall within its first step.
"""
import numpy as np

from glue_xai.methods.metrics_inputs import resolve
from glue_xai.methods.substrate import make_substrate


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


SUPPORTS = ("changed", "all")


def _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, insert, support):
    n_steps = int(n_steps)
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}")
    if support not in SUPPORTS:
        raise ValueError(f"support must be one of {SUPPORTS}, got {support!r}")
    x, relevance, target = resolve(model, explanation_or_input, relevance, target)
    background = _substrate_array(x, substrate, seed)
    region = np.any(x != background, axis=0) if support == "changed" else np.ones(relevance.shape, bool)
    n_pixels = int(region.sum())
    if n_pixels == 0:
        raise ValueError("the input equals the substrate everywhere: there is nothing to delete or insert")
    # Pixels outside the region rank last: hiding them is a no-op anyway.
    rank = np.full(relevance.size, relevance.size, dtype=np.int64)
    inside = np.flatnonzero(region.ravel())
    rank[inside[relevance_order(relevance.ravel()[inside], seed)]] = np.arange(n_pixels)
    rank = rank.reshape(relevance.shape)
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    counts = np.round(fractions * n_pixels).astype(np.int64)
    chosen = rank[None] < counts[:, None, None]  # (S, h, w): the first n pixels of the order
    if insert:
        images = np.where(chosen[:, None], x[None], background[None])
    else:
        images = np.where(chosen[:, None], background[None], x[None])
    probabilities = model.proba_of_inputs(images.astype(np.float32))[:, target]
    # Trapezoid rule on [0, 1]: the area is the mean probability along the curve.
    area = float(np.sum((probabilities[1:] + probabilities[:-1]) / 2 * np.diff(fractions)))
    return {"fractions": fractions, "probabilities": probabilities, "area": area, "target": target,
            "n_pixels": n_pixels, "support": support, "n_model_evals": len(images)}


def deletion_curve(model, explanation_or_input, relevance=None, target=None, substrate="noise", n_steps=20, seed=0,
                   support="changed"):
    """The target's probability as the most relevant pixels are hidden, in ``n_steps``
    equal steps from none to all. Lower ``area`` = more faithful map.

    ``explanation_or_input``: an Explanation, or a model-ready input (C, h, w) with
    ``relevance`` (h, w). ``substrate``: a name (see
    :func:`~glue_xai.methods.substrate.make_substrate`) or an array like the input.
    ``support``: "changed" (the pixels that differ from the substrate) or "all".
    ``seed``: of the noise substrate and of the order among equally relevant pixels.
    Returns ``{"fractions", "probabilities", "area", "target", "n_pixels", "support",
    "n_model_evals"}``.
    """
    return _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, False, support)


def insertion_curve(model, explanation_or_input, relevance=None, target=None, substrate="noise", n_steps=20, seed=0,
                    support="changed"):
    """The target's probability as the most relevant pixels are shown on the substrate,
    from none to all. Higher ``area`` = more faithful map. Arguments as
    :func:`deletion_curve`."""
    return _curve(model, explanation_or_input, relevance, target, substrate, n_steps, seed, True, support)
