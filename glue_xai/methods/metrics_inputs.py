"""What every quality metric starts from: the model's input, a relevance map on the
model's grid and the class explained, taken from an :class:`Explanation` or raw arrays."""
import numpy as np


def is_explanation(obj):
    """True for an Explanation (duck-typed, so FITS-read and in-memory ones both count)."""
    return hasattr(obj, "model_map") and hasattr(obj, "method") and hasattr(obj, "params")


def resolve(model, explanation_or_input, relevance=None, target=None):
    """``(x (C, h, w) float32, relevance (h, w) float64, target index)`` on the model's grid.

    With an Explanation, its ``model_input``, ``model_map`` and ``target`` are used
    (``relevance``/``target`` override them). With a raw model-ready input ``x``
    ((h, w) or (C, h, w)) a ``relevance`` map of shape (h, w) is required; the target
    defaults to the model's predicted class (one extra model evaluation).
    """
    if is_explanation(explanation_or_input):
        e = explanation_or_input
        if e.model_input is None:
            raise ValueError("this explanation carries no model input (e.g. it was read from FITS): "
                             "pass the model-ready input and its relevance map instead")
        x = np.asarray(e.model_input, dtype=np.float32)
        relevance = e.model_map if relevance is None else relevance
        target = e.target if target is None else target
    else:
        x = np.asarray(explanation_or_input, dtype=np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise ValueError(f"the model input must be (h, w) or (C, h, w), got shape {x.shape}")
        if relevance is None:
            raise ValueError("a relevance map is needed with a raw input: pass relevance=...")
    relevance = np.asarray(relevance, dtype=np.float64)
    if relevance.shape != x.shape[1:]:
        raise ValueError(f"the relevance map has shape {relevance.shape} but the model input is {x.shape[1:]}")
    if not np.isfinite(relevance).all():
        raise ValueError("the relevance map has non-finite values")
    if not np.isfinite(x).all():
        raise ValueError("the model input has non-finite values")
    if target is None:
        target = int(np.argmax(model.proba_of_inputs(x[None])[0]))
    elif hasattr(model, "class_index"):
        target = model.class_index(target)
    return x, relevance, int(target)


def method_settings(explanation, method=None, options=None):
    """``(method, options)`` to recompute an explanation: its own method and settings
    (those the method accepts), overridden by ``method``/``options``."""
    from glue_xai.methods.api import method_options

    if method is None:
        if not is_explanation(explanation):
            raise ValueError("with a raw input, say which method to recompute: method=...")
        method = explanation.method
    accepted = method_options(method)
    settings = {}
    if is_explanation(explanation) and explanation.method == method:
        settings = {k: v for k, v in explanation.params.items()
                    if k in accepted and k not in ("seed", "segments", "masks")}
    settings.update(options or {})
    settings.pop("seed", None)  # the metric decides the seed of each run
    unknown = sorted(set(settings) - set(accepted))
    if unknown:
        raise ValueError(f"method {method!r} has no option(s) {unknown}")
    return method, settings
