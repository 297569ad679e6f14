"""Which cutouts of a stack a selection holds, and stepping through them (Qt-free).

A selection made anywhere in glue -- rows picked in the table viewer, a region in a
scatter plot or a range in a histogram of the catalogue -- reaches the stack through the
``source_index`` key join made by :func:`~glue_xai.viewer.catalogue_stack.link_stack`.
The functions here turn it into slice numbers, so a viewer showing the stack (the XAI
image viewer, whose slice slider picks the cutout) can go to the next or previous
selected source.
"""
import numpy as np
from glue.core.exceptions import IncompatibleAttribute

from glue_xai.viewer.catalogue_stack import SOURCE_INDEX

__all__ = ["selected_rows", "selected_slices", "step_selection", "current_slice"]


def _state(subset):
    """A subset, a subset group or a subset state -> the subset state."""
    return getattr(subset, "subset_state", subset)


def selected_rows(catalogue, subset):
    """Catalogue row numbers (``source_index``) in ``subset``, sorted."""
    mask = catalogue.get_mask(_state(subset))
    return np.asarray(catalogue[SOURCE_INDEX])[np.asarray(mask, dtype=bool)]


def selected_slices(stack, subset):
    """Slices of ``stack`` whose source is in ``subset``, in slice order.

    A selection defined through the catalogue (rows, scatter, histogram) is evaluated on
    one pixel per slice: the key join gives every pixel of a slice the same answer. A
    region drawn on the stack itself selects a slice when it holds any of its pixels. A
    selection that cannot reach the stack (no key join to its data) selects nothing.
    """
    state = _state(subset)
    try:
        mask = state.to_mask(stack)
    except IncompatibleAttribute:
        try:
            per_slice = stack.get_mask(state, view=(slice(None), 0, 0))
        except IncompatibleAttribute:
            return np.array([], dtype=int)
        return np.flatnonzero(np.asarray(per_slice, dtype=bool))
    return np.flatnonzero(np.asarray(mask, dtype=bool).reshape(len(mask), -1).any(axis=1))


def current_slice(viewer_state):
    """The slice an image viewer shows along the first (cutout) axis of a stack."""
    return int(viewer_state.slices[0])


def step_selection(viewer_state, stack, subset, step=1, slices=None):
    """Show the next (``step=1``) or previous (``-1``) selected cutout in an image viewer of ``stack``.

    Wraps around at the ends. Returns the new slice, or None when the selection holds
    no cutout (the viewer is left where it was). ``slices``: the subset's
    :func:`selected_slices`, when the caller has them already.
    """
    slices = selected_slices(stack, subset) if slices is None else slices
    if len(slices) == 0:
        return None
    here = current_slice(viewer_state)
    if step > 0:
        after = slices[slices > here]
        target = after[0] if len(after) else slices[0]
    else:
        before = slices[slices < here]
        target = before[-1] if len(before) else slices[-1]
    viewer_state.slices = (int(target),) + tuple(viewer_state.slices[1:])
    return int(target)
