"""Explanation methods on numpy/torch only (no glue, no Qt).

``explain(model, image, method=...)`` is the entry point; the methods themselves live
in :mod:`~glue_xai.methods.lime`, :mod:`~glue_xai.methods.gradients` and friends.
"""
from glue_xai.methods.api import METHODS, SIGNED_METHODS, explain, method_options
from glue_xai.methods.explanation import Explanation

__all__ = ["explain", "Explanation", "METHODS", "SIGNED_METHODS", "method_options"]
