"""Many sources' explanations at once.

:func:`explain_many` explains a list of cutouts; each source keeps its own seed, so its
answer is the same whichever sources share its batch.
"""
__all__ = ["explain_many"]


def explain_many(model, images, wcs_list, seeds, method, target, options, sizes_from):
    """One ``(explanation, measured)`` per image (an Exception in place of the pair when that
    source failed): see :func:`glue_xai.survey.compute.explain_one`."""
    from glue_xai.survey.compute import explain_one

    out = []
    for image, wcs, seed in zip(images, wcs_list, seeds):
        try:
            out.append(explain_one(model, image, wcs, seed, method, target, options, sizes_from))
        except (ValueError, RuntimeError) as error:
            out.append((error, None))
    return out
