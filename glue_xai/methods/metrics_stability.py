"""Stability: do different seeds give the same explanation?

Agreement is the mean pairwise Jaccard index of the top-k most relevant pixels, or of
the top-k superpixels when every run used the same superpixels (LIME-family methods:
a pixel-level top-k of a map constant over superpixels would be decided by ties).
"""
from itertools import combinations

import numpy as np

from glue_xai.methods.metrics_inputs import is_explanation, method_settings, resolve


def _top_k_count(top_k, n):
    if top_k <= 0:
        raise ValueError(f"top_k must be positive, got {top_k}")
    k = int(round(top_k * n)) if top_k < 1 else int(top_k)
    if k > n:
        raise ValueError(f"top_k asks for {k} elements but there are only {n}")
    return max(1, k)


def top_k_set(relevance, top_k=0.05, segments=None):
    """Indices of the ``top_k`` most relevant pixels (or superpixels, by mean relevance,
    when ``segments`` is given); a fraction if < 1, else a count. Ties: lower index first."""
    relevance = np.asarray(relevance, dtype=np.float64)
    if segments is not None:
        segments = np.asarray(segments)
        counts = np.bincount(segments.ravel())
        values = np.bincount(segments.ravel(), weights=relevance.ravel()) / np.maximum(counts, 1)
    else:
        values = relevance.ravel()
    k = _top_k_count(top_k, values.size)
    return set(np.argsort(-values, kind="stable")[:k].tolist())


def jaccard(a, b):
    """Jaccard index ``|a ∩ b| / |a ∪ b|`` of two sets (1 for two empty sets)."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def top_k_agreement(maps, top_k=0.05, segments=None):
    """``(mean pairwise Jaccard, pairwise matrix)`` of the top-k sets of several maps."""
    maps = [np.asarray(m) for m in maps]
    if len(maps) < 2:
        raise ValueError("agreement needs at least two maps")
    sets = [top_k_set(m, top_k, segments) for m in maps]
    n = len(sets)
    pairwise = np.eye(n)
    for i, j in combinations(range(n), 2):
        pairwise[i, j] = pairwise[j, i] = jaccard(sets[i], sets[j])
    return float(np.mean([pairwise[i, j] for i, j in combinations(range(n), 2)])), pairwise


def stability(model, explanation_or_input, seeds=(0, 1, 2), top_k=0.05, method=None, relevance=None,
              target=None, options=None, level="auto"):
    """Re-run the explanation with each seed and measure top-k agreement.

    ``level``: "pixel", "superpixel" or "auto" (superpixels when every run returned the
    same segmentation). A run whose seed equals the explanation's own reuses its map.
    Returns ``{"seeds", "mean_jaccard", "pairwise", "level", "top_k", "n_model_evals"}``.
    """
    from glue_xai.methods.api import method_function

    seeds = [int(s) for s in seeds]
    if len(set(seeds)) < 2:
        raise ValueError(f"stability needs at least two different seeds, got {seeds}")
    if level not in ("auto", "pixel", "superpixel"):
        raise ValueError(f"level must be 'auto', 'pixel' or 'superpixel', got {level!r}")
    x, original, target = resolve(model, explanation_or_input, relevance, target)
    method, settings = method_settings(explanation_or_input, method, options)
    own_seed, own_segments = None, None
    if is_explanation(explanation_or_input) and explanation_or_input.method == method and relevance is None:
        own_seed = explanation_or_input.params.get("seed")
        own_segments = explanation_or_input.model_segments
    function = method_function(method)
    maps, segmentations, n_evals = [], [], 0
    for s in seeds:
        if s == own_seed:
            maps.append(original)
            segmentations.append(own_segments)
            continue
        result = function(model, x, target, seed=s, **settings)
        n_evals += int(result["n_model_evals"])
        maps.append(np.asarray(result["map"], dtype=np.float64))
        segmentations.append(result.get("segments"))
    same_segments = all(sg is not None for sg in segmentations) and all(
        np.array_equal(segmentations[0], sg) for sg in segmentations[1:])
    if level == "superpixel" and not same_segments:
        raise ValueError("superpixel-level stability needs the same superpixels in every run")
    use_segments = same_segments and level != "pixel"
    mean, pairwise = top_k_agreement(maps, top_k, segmentations[0] if use_segments else None)
    return {"seeds": seeds, "mean_jaccard": mean, "pairwise": pairwise,
            "level": "superpixel" if use_segments else "pixel", "top_k": top_k, "n_model_evals": n_evals}
