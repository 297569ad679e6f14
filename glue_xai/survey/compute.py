"""Explain a handful of sources in one process: the work of one partition (or one Dask task).

A source whose cutout cannot be used gets a status saying why (``wrong shape: ...``,
``empty: ...``, ``error: ...``) and no other numbers; the other sources go on. Every
source is computed with one torch thread (the same arithmetic wherever it runs) and its
own seed (:func:`~glue_xai.survey.columns.source_seed`), so its answer does not depend on
the other sources computed beside it.
"""
import contextlib

import numpy as np

from glue_xai.survey.columns import OK, PREFIX, STATUS, measurement_explanation, source_columns, source_seed

__all__ = ["SourceProblem", "check_image", "explain_sources", "explain_one", "model_once", "one_torch_thread"]

_MODELS = {}  # model name -> Classifier, loaded once per process (Dask workers included)


class SourceProblem(Exception):
    """A source that cannot be explained; ``str(error)`` is its status (``kind: reason``)."""


@contextlib.contextmanager
def one_torch_thread():
    """Compute with one torch thread, so every process does the same arithmetic in the same order."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def model_once(name, device="auto"):
    """The model called ``name`` (a shipped name or a file), loaded once per process and
    device (``"auto"``: this worker's GPU if it has one)."""
    if (name, device) not in _MODELS:
        from glue_xai.models import load_model

        _MODELS[name, device] = load_model(name, trust=False, device=device)
    return _MODELS[name, device]


def check_image(image, shape=None):
    """The cutout as a float array, or :class:`SourceProblem` when it cannot be explained."""
    try:
        image = np.asarray(image, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise SourceProblem(f"unreadable: the pixels are not numbers ({error})") from None
    if image.ndim != 2 or (shape is not None and image.shape != tuple(shape)):
        expected = f", expected {tuple(shape)}" if shape is not None else ""
        raise SourceProblem(f"wrong shape: {image.shape}{expected}")
    finite = np.isfinite(image)
    if not finite.any():
        raise SourceProblem("empty: no finite pixels (all NaN or infinite)")
    values = image[finite]
    if values.min() == values.max():
        raise SourceProblem(f"empty: every pixel equals {values[0]:g}")
    return image


def _wcs(header):
    """A WCS from its header text ('' or None: no WCS); a WCS is used as it is."""
    from glue_xai.data.cutouts import wcs_from_header

    if header is None or isinstance(header, str):
        return wcs_from_header(header) if header else None
    return header


def explain_sources(model, images, wcs_headers, rows, method, seed, target, options, sizes_from, shape=None):
    """Explain the sources; returns one ``(columns, map)`` per source, in order.

    ``model``: a Classifier. ``wcs_headers``: each source's WCS, as header text or a WCS.
    ``columns`` always holds ``xai_status``; ``map`` is the
    explanation on the cutout's pixels (float32), or None for a source that failed.
    ``shape``: the cutout shape every source must have (None: any 2-D shape).
    """
    from glue_xai.survey.batched import explain_many

    results = [None] * len(rows)
    usable, checked = [], []
    for k, image in enumerate(images):
        try:
            checked.append(check_image(image, shape))
            usable.append(k)
        except SourceProblem as problem:
            results[k] = ({STATUS: str(problem)}, None)
    from glue_xai.models.preprocess import remember_backgrounds

    # The preparation measures every cutout's sky before the network runs; the emission
    # mask, the flux extent and the detection ask for the same skies afterwards.
    with one_torch_thread(), remember_backgrounds():
        wcs_list = [_wcs(wcs_headers[k]) for k in usable]
        seeds = [source_seed(seed, rows[k]) for k in usable]
        explained = explain_many(model, checked, wcs_list, seeds, method, target, options, sizes_from)
        for k, image, wcs, (explanation, measured) in zip(usable, checked, wcs_list, explained):
            if isinstance(explanation, Exception):
                results[k] = ({STATUS: f"error: {explanation}"}, None)
                continue
            try:
                columns = {STATUS: OK, **source_columns(explanation, image, wcs, measured)}
                columns.update(trust_columns(model, image, explanation))
            except Exception as error:  # a measurement gone wrong costs this source only
                results[k] = ({STATUS: f"error: {type(error).__name__}: {error}"}, None)
                continue
            if columns.get(HAS_SOURCE) is False:
                columns[STATUS] = "no_source"
            elif columns.get(IN_DISTRIBUTION) is False:
                columns[STATUS] = "out_of_distribution"
            results[k] = (columns, explanation.map.astype(np.float32))
    return results


HAS_SOURCE, IN_DISTRIBUTION, OOD_SCORE = PREFIX + "has_source", PREFIX + "in_distribution", PREFIX + "ood_score"


def trust_columns(model, image, explanation):
    """``xai_has_source``, ``xai_in_distribution`` and ``xai_ood_score`` of one cutout, from
    :func:`glue_xai.models.assess.assess` (whether there is a source to classify, and whether
    it looks like the model's training data): the explanation's own assessment when the
    viewer's job made one, else one reusing the explanation's model input and probabilities."""
    from glue_xai.models.assess import assess_explanation

    found = explanation.extras.get("assessment") or assess_explanation(model, image, explanation)
    return {HAS_SOURCE: bool(found.has_source), IN_DISTRIBUTION: bool(found.in_distribution),
            OOD_SCORE: float(found.ood_score)}


def explain_one(model, image, wcs, seed, method, target, options, sizes_from):
    """``(explanation, measured)`` of one source through :func:`glue_xai.explain` (any method)."""
    from glue_xai.methods.api import explain

    explanation = explain(model, image, method=method, target=target, seed=seed, wcs=wcs, fit="pad", **options)
    measured = measurement_explanation(explanation, lambda other, other_options: explain(
        model, image, method=other, target=target, seed=seed, wcs=wcs, fit="pad", **other_options), sizes_from)
    return explanation, measured
