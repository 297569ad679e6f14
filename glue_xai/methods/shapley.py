"""Shapley values of superpixels: each piece of the source's share of the score.

The players are the superpixels (by default the radio-aware ones of LIME,
:func:`~glue_xai.methods.segmentation.radio_segments`); a coalition shows its players'
pixels and the substrate elsewhere; the value of a coalition is the model's score of the
target class. A superpixel's Shapley value is its marginal contribution averaged over all
orders in which the players can join, so the values always add up to
f(image) - f(everything hidden) (efficiency).

* With at most ``exact_players`` active players the values are exact: every coalition
  is evaluated (2**n model evaluations).
* Otherwise they are estimated by permutation sampling with antithetic pairs (each
  random order is followed by its reverse), with ``budget`` model evaluations. Every
  order's contributions add up exactly to f(image) - f(everything hidden), so the
  estimate does too; ``extras["standard_error"]`` gives each value's standard error
  over the sampled pairs.

A superpixel whose pixels all equal the substrate (on a clipped radio map: a block of
empty sky) changes no coalition's image, so its value is exactly 0; such null players
are left out of the game, which costs nothing in exactness and saves evaluations.
"""
import numpy as np

from glue_xai.methods.lime import superpixel_map, superpixels_of
from glue_xai.methods.scores import blend, check_output, in_batches, scores
from glue_xai.methods.substrate import make_substrate


def _coalition_scores(model, x, hidden, segments, players, coalitions, target, output):
    """Scores of the target for boolean coalitions (N, n_players) over ``players``."""
    out = np.empty(len(coalitions))
    for begin, end in in_batches(len(coalitions), model):
        kept_segments = np.zeros((end - begin, int(segments.max()) + 1), dtype=np.float32)
        kept_segments[:, players] = coalitions[begin:end]
        out[begin:end] = scores(model, blend(x, hidden, kept_segments[:, segments]), output)[:, target]
    return out


def exact_shapley(value, n):
    """Exact Shapley values of an ``n``-player game given ``value`` (2**n,) indexed by the
    coalition's bit pattern (bit j set: player j in)."""
    from math import comb

    phi = np.zeros(n)
    sizes = np.array([bin(mask).count("1") for mask in range(2 ** n)])
    for j in range(n):
        bit = 1 << j
        without = np.array([m for m in range(2 ** n) if not m & bit])
        s = sizes[without]
        weight = np.array([1.0 / (n * comb(n - 1, int(k))) for k in s])
        phi[j] = np.sum(weight * (value[without | bit] - value[without]))
    return phi


def _all_coalitions(n):
    masks = np.arange(2 ** n)
    return ((masks[:, None] >> np.arange(n)) & 1).astype(bool)


def shapley(model, x, target, seed=0, budget=2000, exact_players=10, segmentation="radio", n_segments=64,
            scale=None, substrate="noise", output="probability", segments=None):
    """Shapley values of the superpixels of model-ready input ``x`` (C, h, w) for ``target``.

    ``budget``: model evaluations for the sampled estimate (ignored when exact);
    ``exact_players``: exact values up to this many active superpixels. ``segments`` may
    be given to reuse a segmentation (e.g. to compare with shap on the same superpixels).
    """
    check_output(model, output)
    budget, exact_players = int(budget), int(exact_players)
    if budget < 2:
        raise ValueError(f"budget must be at least 2 model evaluations, got {budget}")
    segments, n_features = superpixels_of(x, segments, segmentation, n_segments, scale, seed)
    hidden = make_substrate(x, substrate, segments=segments, seed=seed)
    changed = np.any(np.asarray(x) != np.asarray(hidden), axis=0)
    players = np.array([j for j in range(n_features) if changed[segments == j].any()], dtype=int)
    n = len(players)
    values = np.zeros(n_features)
    error = np.zeros(n_features)
    ends = _coalition_scores(model, x, hidden, segments, players, np.array([np.ones(n, bool), np.zeros(n, bool)]),
                             target, output)
    evals = 2
    if n == 0:
        estimate = "no superpixel differs from the substrate: every value is 0"
    elif n <= exact_players:
        coalitions = _all_coalitions(n)
        value = _coalition_scores(model, x, hidden, segments, players, coalitions, target, output)
        values[players] = exact_shapley(value, n)
        evals = len(coalitions)
        estimate = "exact"
    else:
        rng = np.random.default_rng(seed)
        n_pairs = max(1, (budget - 2) // (2 * (n - 1)))
        # Every order's coalitions are built first and scored together, in full forward
        # batches (one order's n - 1 coalitions alone would make small, slow batches).
        sequences = []
        for _ in range(n_pairs):
            order = rng.permutation(n)
            sequences += [order, order[::-1]]
        sequences = np.asarray(sequences)
        # Coalitions after each of the first n - 1 joins; the last is the whole image.
        # steps[o, k, sequence[j]] is True for j <= k.
        steps = np.zeros((len(sequences), n - 1, n), dtype=bool)
        joined = np.arange(n - 1)[:, None] >= np.arange(n)[None, :]  # (n - 1, n): position j joined by step k
        np.put_along_axis(steps, np.broadcast_to(sequences[:, None, :], steps.shape), joined[None], axis=2)
        inner = _coalition_scores(model, x, hidden, segments, players, steps.reshape(-1, n), target, output)
        path = np.concatenate([np.full((len(sequences), 1), ends[1]), inner.reshape(len(sequences), n - 1),
                               np.full((len(sequences), 1), ends[0])], axis=1)
        samples = np.empty((len(sequences), n))
        np.put_along_axis(samples, sequences, np.diff(path, axis=1), axis=1)
        evals += len(sequences) * (n - 1)
        pairs = np.asarray(samples).reshape(n_pairs, 2, n).mean(axis=1)  # antithetic pairs are the draws
        values[players] = pairs.mean(axis=0)
        error[players] = pairs.std(axis=0, ddof=1) / np.sqrt(n_pairs) if n_pairs > 1 else np.nan
        estimate = f"permutation sampling, {n_pairs} antithetic pairs of orders"
    return {
        "map": superpixel_map(values, segments, x, hidden), "segments": segments, "weights": values,
        "n_model_evals": evals,
        "params": {"budget": budget, "exact_players": exact_players, "segmentation": segmentation,
                   "n_segments": n_segments, "n_superpixels": n_features, "scale": scale, "substrate": substrate,
                   "output": output},
        "extras": {"standard_error": error, "players": players, "estimate": estimate,
                   "score_all": float(ends[0]), "score_none": float(ends[1])},
    }
