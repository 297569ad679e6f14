"""Occlusion: hide a patch of the image, see how much the model's score of the class drops.

The most direct experiment an observer can do on a classifier: cover a piece of sky with
empty sky and watch the prediction. A patch of ``patch`` x ``patch`` pixels slides over
the model's input with step ``stride``; every pixel's relevance is the mean drop of the
target's score over the patches covering it (Zeiler & Fergus 2014; the same arithmetic
as captum's ``Occlusion`` with its baseline set to the substrate). Pixels no patch covers
(when the stride does not tile the field) get 0, and so, by default, do pixels that
equal the substrate (hiding them alone changes nothing; see ``only_changed``).

For radio maps the patch shows the substrate, the image's own empty sky: after the
wrapper's clipping that is exactly 0, so patches over empty sky change nothing and the
map is exactly 0 there.
"""
import numpy as np

from glue_xai.methods.scores import blend, check_output, in_batches, scores
from glue_xai.methods.substrate import make_substrate


def patch_positions(size, patch, stride):
    """Start indices of the patches along one axis of ``size`` pixels (the last that fits)."""
    return np.arange(0, size - patch + 1, stride)


def _pixels(value, name, pixel_scale_arcsec, arcsec):
    if arcsec:
        if not pixel_scale_arcsec:
            raise ValueError(f"{name}_arcsec needs a model with a pixel scale (its card has none)")
        value = float(value) / float(pixel_scale_arcsec)
    value = int(round(float(value)))
    if value < 1:
        raise ValueError(f"{name} must be at least one pixel, got {value}")
    return value


def paint_patches(values, starts, patch, shape):
    """A map on ``shape`` where each pixel is the mean of ``values`` over the patches
    (top-left corners ``starts``, side ``patch``) that cover it, 0 where none does."""
    total, count = np.zeros(shape), np.zeros(shape)
    for (r, q), value in zip(starts, values):
        total[r:r + patch, q:q + patch] += value
        count[r:r + patch, q:q + patch] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def occlusion(model, x, target, seed=0, patch=10, stride=5, patch_arcsec=None, stride_arcsec=None,
              substrate="noise", output="probability", only_changed=True):
    """Occlusion map of model-ready input ``x`` (C, h, w) for class ``target``.

    ``patch`` and ``stride`` in the model's pixels (defaults 10 and 5: 18" and 9" on the
    FIRST model, about three beams, and a stride that tiles its 150-pixel field exactly),
    or ``patch_arcsec`` / ``stride_arcsec`` on the sky (they win when given).
    ``output``: the score that drops, ``probability`` (any model) or ``logit`` (torch).
    ``only_changed``: paint relevance only on pixels that differ from the substrate, as
    LIME does (a patch straddling a lobe's edge otherwise spreads the lobe's drop over the
    empty sky beside it); False gives the plain patch average (captum's ``Occlusion``).
    """
    check_output(model, output)
    c, h, w = x.shape
    scale = getattr(getattr(model, "card", None), "pixel_scale_arcsec", None)
    patch = _pixels(patch_arcsec if patch_arcsec is not None else patch, "patch", scale, patch_arcsec is not None)
    stride = _pixels(stride_arcsec if stride_arcsec is not None else stride, "stride", scale,
                     stride_arcsec is not None)
    if patch > min(h, w):
        raise ValueError(f"the patch ({patch} pixels) is larger than the model's field ({h} x {w})")
    hidden = make_substrate(x, substrate, seed=seed)
    rows, cols = patch_positions(h, patch, stride), patch_positions(w, patch, stride)
    starts = [(r, q) for r in rows for q in cols]
    full = scores(model, x[None], output)[0, target]
    drops = np.empty(len(starts))
    for begin, end in in_batches(len(starts), model):
        keep = np.ones((end - begin, h, w), dtype=np.float32)
        for k, (r, q) in enumerate(starts[begin:end]):
            keep[k, r:r + patch, q:q + patch] = 0.0
        drops[begin:end] = full - scores(model, blend(x, hidden, keep), output)[:, target]
    relevance = paint_patches(drops, starts, patch, (h, w))
    if only_changed:
        relevance = np.where(np.any(x != hidden, axis=0), relevance, 0.0)
    return {"map": relevance, "n_model_evals": len(starts) + 1,
            "params": {"patch": patch, "stride": stride, "substrate": substrate, "output": output,
                       "only_changed": only_changed},
            "extras": {"n_patches": len(starts), "score": float(full)}}
