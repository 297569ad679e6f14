"""RISE: relevance from many random masks (Petsiuk, Das & Saenko 2018).

Each of ``n_masks`` masks is a coarse ``grid`` x ``grid`` pattern of kept (probability
``keep_probability``) and hidden cells, upsampled bilinearly to a cell size of
ceil(field / grid) stretched over one cell more than the field, and cropped at a random shift, so
its edges fall anywhere. The model scores every masked copy; a pixel's relevance is the
mean score of the copies that kept it:

    S(pixel) = sum_i score_i * M_i(pixel) / (n_masks * keep_probability)

which is the published definition (``debiased=False``, hidden pixels show the substrate,
which for a clipped radio map is exactly the paper's zero). It is a positive map whose
floor is the mean score: every pixel, source or empty sky, gets about that much. The
default ``debiased=True`` subtracts the mean score first (the covariance of score and
mask), so a pixel's relevance says how much keeping it raises the score above average,
with the sign of that effect, and like LIME's maps it is painted only where hiding
changes the image (on a clipped radio map, not on the empty sky, where the estimate is
pure sampling noise).
"""
import numpy as np

from glue_xai.methods.scores import blend, check_output, in_batches, scores
from glue_xai.methods.substrate import make_substrate


def rise_masks(n_masks, shape, grid=8, keep_probability=0.5, seed=0):
    """(n_masks, h, w) float32 masks in [0, 1] as RISE draws them (see the module's docstring)."""
    from skimage.transform import resize

    h, w = shape
    n_masks, grid = int(n_masks), int(grid)
    if n_masks < 1 or grid < 1:
        raise ValueError(f"n_masks and grid must be at least 1, got {n_masks} and {grid}")
    if not 0.0 < float(keep_probability) < 1.0:
        raise ValueError(f"keep_probability must be between 0 and 1, got {keep_probability}")
    rng = np.random.default_rng(seed)
    cell_h, cell_w = int(np.ceil(h / grid)), int(np.ceil(w / grid))
    coarse = (rng.random((n_masks, grid, grid)) < keep_probability).astype(np.float64)
    shifts = rng.integers(0, [cell_h, cell_w], size=(n_masks, 2))
    up_h, up_w = (grid + 1) * cell_h, (grid + 1) * cell_w
    # As the paper's code: each grid stretched bilinearly over one cell more than the
    # field, then a field-sized window at a random shift within one cell. Bilinear
    # resizing is separable, so the stretch is (up_h, grid) @ grid @ (grid, up_w) with
    # the 1-d interpolation matrices that skimage's resize gives for the identity; the
    # window's rows and columns are taken from those, so all masks come from a few
    # batched matrix products instead of one resize per mask (same numbers to 1e-16).
    rows = resize(np.eye(grid), (up_h, grid), order=1, mode="reflect", anti_aliasing=False)
    cols = resize(np.eye(grid), (up_w, grid), order=1, mode="reflect", anti_aliasing=False)
    masks = np.empty((n_masks, h, w), dtype=np.float32)
    for begin in range(0, n_masks, 256):
        dy, dx = shifts[begin:begin + 256, 0], shifts[begin:begin + 256, 1]
        window_rows = rows[dy[:, None] + np.arange(h)]  # (k, h, grid)
        window_cols = cols[dx[:, None] + np.arange(w)]  # (k, w, grid)
        masks[begin:begin + 256] = window_rows @ coarse[begin:begin + 256] @ window_cols.transpose(0, 2, 1)
    return masks


def rise(model, x, target, seed=0, n_masks=2000, grid=8, keep_probability=0.5, debiased=True, substrate="noise",
         output="probability", masks=None):
    """RISE map of model-ready input ``x`` (C, h, w) for class ``target``.

    ``masks`` (n, h, w) may be given to reuse a mask set (e.g. to compare with another
    RISE implementation on the same masks); ``output``: ``probability`` (any model) or
    ``logit`` (torch models).
    """
    check_output(model, output)
    _, h, w = x.shape
    if masks is None:
        masks = rise_masks(n_masks, (h, w), grid, keep_probability, seed)
    masks = np.asarray(masks, dtype=np.float32)
    if masks.ndim != 3 or masks.shape[1:] != (h, w):
        raise ValueError(f"masks must be (n, {h}, {w}), got {masks.shape}")
    hidden = make_substrate(x, substrate, seed=seed)
    target_scores = np.empty(len(masks))
    for begin, end in in_batches(len(masks), model):
        target_scores[begin:end] = scores(model, blend(x, hidden, masks[begin:end]), output)[:, target]
    weights = target_scores - target_scores.mean() if debiased else target_scores
    relevance = np.zeros((h, w))
    for begin, end in in_batches(len(masks), model):  # float64 sums without a float64 copy of every mask
        relevance += np.tensordot(weights[begin:end], masks[begin:end].astype(np.float64), axes=1)
    relevance /= len(masks) * float(keep_probability)
    if debiased:
        changed = np.any(np.asarray(x) != np.asarray(hidden), axis=0)
        relevance = np.where(changed, relevance, 0.0)
    return {"map": relevance, "n_model_evals": len(masks),
            "params": {"n_masks": len(masks), "grid": grid, "keep_probability": keep_probability,
                       "debiased": debiased, "substrate": substrate, "output": output},
            "extras": {"mean_score": float(target_scores.mean())}}
