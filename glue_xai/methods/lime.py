"""LIME for images: superpixels switched on and off, and a weighted linear surrogate.

Same model as Ribeiro et al. (2016): samples are binary masks over superpixels (the
first one keeps everything), weighted by an exponential kernel on their cosine distance
to the unperturbed image, and a ridge regression of the model's probabilities on the
masks says how much each superpixel pushes each class. Here the masks are drawn in one
call, perturbed images are built batch by batch straight into the model's input tensor,
and the ridge problem is solved in closed form for every class at once.
"""
import numpy as np

from glue_xai.methods.segmentation import segment
from glue_xai.methods.substrate import make_substrate


def kernel_weights(masks, kernel_width=0.25):
    """LIME's sample weights: sqrt(exp(-d^2 / width^2)), d = cosine distance to all-on."""
    masks = np.asarray(masks, dtype=np.float64)
    norms = np.sqrt((masks ** 2).sum(axis=1))
    on = np.sqrt(masks.shape[1])
    cosine = np.divide(masks.sum(axis=1), norms * on, out=np.zeros(len(masks)), where=norms > 0)
    distance = 1.0 - cosine
    return np.sqrt(np.exp(-(distance ** 2) / kernel_width ** 2))


def weighted_ridge(features, targets, sample_weight, alpha=1.0):
    """Closed-form ridge regression with an unpenalised intercept, for many targets at once.

    ``features`` (N, K), ``targets`` (N,) or (N, T), ``sample_weight`` (N,).
    Returns ``(coef (K, T), intercept (T,), weighted R^2 (T,))`` (squeezed for 1-D targets).
    """
    X = np.asarray(features, dtype=np.float64)
    Y = np.asarray(targets, dtype=np.float64)
    squeeze = Y.ndim == 1
    Y = Y[:, None] if squeeze else Y
    w = np.asarray(sample_weight, dtype=np.float64)
    wsum = w.sum()
    x_mean = w @ X / wsum
    y_mean = w @ Y / wsum
    Xc, Yc = X - x_mean, Y - y_mean
    gram = (Xc * w[:, None]).T @ Xc + alpha * np.eye(X.shape[1])
    coef = np.linalg.solve(gram, (Xc * w[:, None]).T @ Yc)
    intercept = y_mean - x_mean @ coef
    residual = Y - (X @ coef + intercept)
    ss_res = w @ residual ** 2
    ss_tot = w @ Yc ** 2
    r2 = 1.0 - np.divide(ss_res, ss_tot, out=np.zeros_like(ss_res), where=ss_tot > 0)
    if squeeze:
        return coef[:, 0], intercept[0], r2[0]
    return coef, intercept, r2


def sample_masks(n_samples, n_segments, rng):
    """Random on/off masks (N, K); row 0 keeps every superpixel, as in LIME."""
    masks = rng.integers(0, 2, size=(n_samples, n_segments), dtype=np.uint8)
    masks[0] = 1
    return masks


def perturbed_probabilities(model, x, segments, masks, substrate):
    """Model probabilities for each mask: kept superpixels show ``x``, hidden ones ``substrate``.

    Built one forward batch at a time, so memory stays at one batch of images.
    """
    import torch

    x_t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    sub_t = torch.from_numpy(np.ascontiguousarray(substrate, dtype=np.float32))
    seg_t = torch.from_numpy(segments.astype(np.int64))
    masks_t = torch.from_numpy(masks.astype(np.float32))
    out = []
    for start in range(0, len(masks), model.batch_size):
        pixel_on = masks_t[start:start + model.batch_size][:, seg_t][:, None]  # (B, 1, h, w)
        batch = sub_t + pixel_on * (x_t - sub_t)
        out.append(model.proba_of_inputs(batch.numpy()))
    return np.concatenate(out)


def superpixels_of(x, segments=None, segmentation="radio", n_segments=64, scale=None, seed=0):
    """The superpixels of model input ``x``: ``segments`` checked if given, else computed.

    Returns ``(segments as int32 (h, w), number of superpixels)``.
    """
    if segments is None:
        segments = segment(x, segmentation, n_segments=n_segments, scale=scale, seed=seed)
    segments = np.asarray(segments, dtype=np.int32)
    if segments.shape != x.shape[1:]:
        raise ValueError(f"segments have shape {segments.shape}, expected {x.shape[1:]}")
    return segments, int(segments.max()) + 1


def superpixel_map(weights, segments, x, hidden):
    """Each superpixel's weight painted on its pixels, except pixels that equal the
    substrate: hiding them changes nothing, so they carry no relevance. On a clipped
    radio map that is the empty sky (exact zeros), which otherwise would be painted in
    large tiles by the weight of the few noise peaks in its superpixel."""
    changed = np.any(np.asarray(x) != np.asarray(hidden), axis=0)
    return np.where(changed, np.asarray(weights)[segments], 0.0)


def lime(model, x, target, seed=0, n_samples=1000, segmentation="radio", n_segments=64, scale=None,
         substrate="noise", kernel_width=0.25, alpha=1.0, segments=None, masks=None):
    """LIME on a model-ready input ``x`` (C, h, w); returns a dict for the dispatcher.

    ``segments`` and ``masks`` may be given to reuse a segmentation or a sample design
    (e.g. to compare with another LIME implementation on identical inputs).
    """
    n_samples = int(n_samples)
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2, got {n_samples}")
    rng = np.random.default_rng(seed)
    segments, n_features = superpixels_of(x, segments, segmentation, n_segments, scale, seed)
    if masks is None:
        masks = sample_masks(n_samples, n_features, rng)
    masks = np.asarray(masks)
    hidden = make_substrate(x, substrate, segments=segments, seed=seed)
    probs = perturbed_probabilities(model, x, segments, masks, hidden)
    weights = kernel_weights(masks, kernel_width)
    coef, intercept, r2 = weighted_ridge(masks, probs, weights, alpha=alpha)
    return {
        "map": superpixel_map(coef[:, target], segments, x, hidden),
        "segments": segments,
        "weights": coef[:, target],
        "n_model_evals": len(masks),
        "params": {"n_samples": len(masks), "segmentation": segmentation, "n_segments": n_segments,
                   "n_superpixels": n_features, "scale": scale, "substrate": substrate,
                   "kernel_width": kernel_width, "alpha": alpha},
        "extras": {"surrogate_r2": float(r2[target]), "intercept": float(intercept[target]),
                   "all_class_weights": coef, "masks": masks, "probabilities": probs},
    }
