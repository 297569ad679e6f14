"""What the model says about each source, written back into the catalogue (Qt-free).

* :func:`write_columns` adds columns to a glue catalogue, or updates them in place when
  they exist (``Data.add_component`` with an existing name would add a second column of
  the same name), keeping the values of rows not recomputed.
* :func:`explain_catalogue` classifies and explains the sources of a catalogue stack
  (all, or the slices of a selection) through the XAI viewer's explanation jobs and
  cache, and writes :func:`glue_xai.survey.source_columns` back, with ``xai_status``
  and the trust columns as ``glue-xai explain`` writes them (a source that cannot be
  explained gets a status saying why; the others go on).
* :func:`embedding_columns` writes a 2-D embedding (t-SNE by default) of the model's
  penultimate-layer features as ``xai_tsne_x`` / ``xai_tsne_y``.
"""
from dataclasses import replace

import numpy as np

from glue_xai.survey.columns import (OK, PREFIX, STATUS, measurement_explanation, merge_columns, source_columns,
                                     source_seed)
from glue_xai.survey.compute import HAS_SOURCE, IN_DISTRIBUTION, SourceProblem, check_image, trust_columns
from glue_xai.viewer.catalogue_stack import CUTOUTS, cutout_row, cutout_rows, cutout_wcs, is_catalogue_stack

__all__ = ["write_columns", "explain_catalogue", "explain_stack", "model_features", "embedding", "embedding_columns",
           "embed_stack", "EMBEDDINGS"]


def _blank(values, n):
    """A column of ``n`` missing values of the kind of ``values`` (NaN, or '' for text)."""
    if values.dtype.kind in "USO":
        return np.full(n, "", dtype=object)
    if values.dtype.kind == "b":
        return np.zeros(n, dtype=bool)
    return np.full(n, np.nan)


def write_columns(data, columns, rows=None):
    """Write ``columns`` (name -> values) into glue ``data``; returns the names written.

    ``rows``: which rows the values belong to (default: all rows, in order). An existing
    column of that name is updated in place (same component id, so viewers and subsets
    using it follow); other rows keep their values. A new column starts as missing
    (NaN, or empty text) on the rows not given.
    """
    n = data.shape[0]
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=int)
    existing = {c.label: c for c in data.main_components}
    updates = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if len(values) != len(rows):
            raise ValueError(f"column {name!r} has {len(values)} values for {len(rows)} rows")
        if name in existing:
            full = np.array(data[existing[name]], copy=True)
            if full.dtype.kind in "USO" or values.dtype.kind in "USO":
                full = full.astype(object)
            elif full.dtype.kind != values.dtype.kind:
                full = full.astype(np.result_type(full, values))
            full[rows] = values
            updates[existing[name]] = full
        else:
            full = _blank(values, n)
            full = full.astype(np.result_type(full, values)) if full.dtype != object else full
            full[rows] = values
            data.add_component(full.astype(str) if full.dtype == object else full, name)
    if updates:
        # Text columns go back as text; glue makes them categorical again.
        data.update_components({cid: (v.astype(str) if v.dtype == object else v) for cid, v in updates.items()})
    return list(columns)


def explain_catalogue(catalogue, stack, settings, slices=None, **kwargs):
    """Classify and explain the cutouts of ``stack`` and write the columns into ``catalogue``.

    See :func:`explain_stack` for the arguments; returns the names of the columns written.
    """
    rows, columns = explain_stack(stack, settings, slices=slices, **kwargs)
    return write_columns(catalogue, columns, rows=rows)


def explain_stack(stack, settings, slices=None, model_store=None, cache=None, progress=None, on_job=None):
    """Classify and explain cutouts of ``stack``; returns ``(rows, columns)`` for :func:`write_columns`.

    ``settings``: an :class:`~glue_xai.viewer.explanation_job.ExplanationSettings` (e.g.
    from an XAI viewer's state via ``settings_from_state``); each source is explained with
    its own seed, :func:`glue_xai.survey.source_seed` of ``settings.seed`` and its row, as
    ``glue-xai explain`` does. ``slices``: which cutouts (default all). ``cache``: an
    :class:`~glue_xai.viewer.explanation_job.ExplanationCache` consulted and filled under
    the viewer's keys. ``progress(done, total)`` is called after each source;
    ``on_job(job)`` before each runs, so a caller can keep it to cancel it (a cancelled
    job raises :class:`~glue_xai.viewer.explanation_job.Cancelled`). Touches no glue
    data, so it may run in a worker thread.
    """

    from glue_xai.viewer.explanation_job import ExplanationJob
    from glue_xai.viewer.image_region import ImageRegion
    from glue_xai.viewer.model_store import ModelStore

    model_store = model_store or ModelStore()
    rows_of_slices = cutout_rows(stack)
    slices = np.arange(stack.shape[0]) if slices is None else np.asarray(slices, dtype=int)
    images = stack.get_component(CUTOUTS).data
    results = []
    for done, k in enumerate(slices):
        row = int(rows_of_slices[k])
        image = np.asarray(images[k], dtype=np.float64)
        wcs = cutout_wcs(stack, k)
        region = ImageRegion(data_label=stack.label, data_uuid=str(stack.uuid), slice_index=(int(k),),
                             slice_shape=image.shape, box=(0, image.shape[0], 0, image.shape[1]), pixels=image,
                             inside=np.ones(image.shape, dtype=bool), wcs=wcs, is_stack=True)
        source_settings = replace(settings, seed=source_seed(settings.seed, row))

        def run(job):
            explanation = cache.get(job.key) if cache is not None else None
            if explanation is None:
                if on_job is not None:
                    on_job(job)
                explanation = job.run(model_store)
                if cache is not None:
                    cache.put(job.key, explanation)
            return explanation

        try:
            check_image(image)
            explanation = run(ExplanationJob(region, source_settings))
            # The size columns come from integrated gradients of the logit whatever the method
            # shown (glue_xai.survey.MEASURE_METHOD); through the cache, so a viewer showing
            # that map has it too.
            measured = measurement_explanation(explanation, lambda method, options: run(ExplanationJob(
                region, replace(source_settings, method=method, options=tuple(sorted(options.items()))))))
            columns = {STATUS: OK, **source_columns(explanation, image, wcs, measured)}
            columns.update(trust_columns(model_store.get(settings.model_name), image, explanation))
            if columns[HAS_SOURCE] is False:
                columns[STATUS] = "no_source"
            elif columns[IN_DISTRIBUTION] is False:
                columns[STATUS] = "out_of_distribution"
        except SourceProblem as problem:  # as in glue-xai explain: the source gets a status, the run goes on
            columns = {STATUS: str(problem)}
        except (ValueError, TypeError) as error:
            columns = {STATUS: f"error: {error}"}
        results.append(columns)
        if progress is not None:
            progress(done + 1, len(slices))
    return rows_of_slices[slices], merge_columns(results)


def model_features(model, images, pixel_scales=None, fit="pad"):
    """The model's penultimate-layer features of each image, (n, n_features).

    ``pixel_scales``: arcsec per pixel of each image (None: the model's). Needs a torch
    model with a ``features`` method (the shipped radio galaxy CNN has one).
    """
    import torch

    module = model.module
    if module is None or not hasattr(module, "features"):
        raise ValueError(f"model {model.name!r} has no features() to embed")
    scales = [None] * len(images) if pixel_scales is None else pixel_scales
    x = np.stack([model.prepare(image, pixel_scale_arcsec=scale, fit=fit)[0]
                  for image, scale in zip(images, scales)])
    parts = []
    with torch.inference_mode():
        for start in range(0, len(x), model.batch_size):
            parts.append(module.features(model.tensor(x[start:start + model.batch_size])).cpu().numpy())
    return np.concatenate(parts).reshape(len(x), -1).astype(np.float64)


def tsne_2d(features, seed=0, perplexity=30.0):
    """A seeded 2-D t-SNE of ``features`` (n, d); the perplexity is capped for small n."""
    from sklearn.manifold import TSNE

    perplexity = min(float(perplexity), (len(features) - 1) / 3.0)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


def _pca(features, seed):
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(features)


#: Embeddings by name: function(features (n, f), seed) -> (n, 2). Add others here (e.g. UMAP).
EMBEDDINGS = {"tsne": tsne_2d, "pca": _pca}


def embedding(features, method="tsne", seed=0):
    """A 2-D embedding of standardised features, (n, 2)."""
    if method not in EMBEDDINGS:
        raise ValueError(f"unknown embedding {method!r}; choose one of {sorted(EMBEDDINGS)}")
    features = np.asarray(features, dtype=np.float64)
    if len(features) < 4:
        raise ValueError(f"an embedding needs at least 4 sources, got {len(features)}")
    # Standardised so no single feature's scale decides the distances.
    scaled = (features - features.mean(0)) / np.where(features.std(0) > 0, features.std(0), 1.0)
    return EMBEDDINGS[method](scaled, seed)


def embedding_columns(catalogue, stack, model, method="tsne", seed=0, slices=None):
    """Embed the cutouts' features and write ``xai_<method>_x`` / ``_y`` into the catalogue."""
    rows, columns = embed_stack(stack, model, method=method, seed=seed, slices=slices)
    return write_columns(catalogue, columns, rows=rows)


def embed_stack(stack, model, method="tsne", seed=0, slices=None):
    """``(rows, columns)`` of a 2-D embedding of the cutouts' features (touches no glue data)."""
    slices = np.arange(stack.shape[0]) if slices is None else np.asarray(slices, dtype=int)
    images = np.asarray(stack.get_component(CUTOUTS).data[slices], dtype=np.float64)
    scales = [_scale(stack, k) for k in slices]
    xy = embedding(model_features(model, images, pixel_scales=scales), method=method, seed=seed)
    return cutout_rows(stack)[slices], {f"{PREFIX}{method}_x": xy[:, 0], f"{PREFIX}{method}_y": xy[:, 1]}


def _scale(stack, k):
    from glue_xai.methods.api import pixel_scale_from_wcs

    wcs = cutout_wcs(stack, k)
    return None if wcs is None else pixel_scale_from_wcs(wcs)


def settings_for_cutout(settings, data, region):
    """The settings explaining ``region`` of ``data``: on a catalogue stack each source gets
    its own seed, as in the catalogue columns and ``glue-xai explain``, so the viewer shows
    the same map as the columns describe and the two share the explanation cache."""
    if not region.is_stack or not is_catalogue_stack(data):
        return settings
    return replace(settings, seed=source_seed(settings.seed, cutout_row(data, region.slice_index[0])))
