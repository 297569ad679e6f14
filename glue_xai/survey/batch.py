"""Explain cutouts already in memory (a stack of arrays), in this process or on Dask.

For catalogues too big for memory, :func:`glue_xai.survey.run.run_survey` reads the
cutouts where they are computed and writes the results as it goes.
"""
from dataclasses import dataclass

import numpy as np

from glue_xai.survey.columns import MEASURE_METHOD, merge_columns
from glue_xai.survey.compute import explain_sources, model_once

__all__ = ["run_batch", "BatchResult", "explain_chunk", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 4


@dataclass
class BatchResult:
    """Columns (name -> array, one value per source in input order, ``xai_status`` among them)
    and maps (n, ny, nx; NaN for a source that failed)."""

    columns: dict
    maps: np.ndarray
    rows: np.ndarray
    settings: dict


def explain_chunk(model_name, images, wcs_headers, rows, method, seed, target, options, sizes_from=MEASURE_METHOD,
                  shape=None):
    """Explain a few sources; returns a list of ``(columns, map)``. Runs on Dask workers too.

    ``wcs_headers`` are header strings (WCS objects travel badly between processes).
    """
    return explain_sources(model_once(model_name), images, wcs_headers, rows, method, seed, target, options,
                           sizes_from, shape)


def _common_shape(images):
    """The shape most cutouts have: the one every cutout of a stack must have."""
    shapes = [np.shape(image) for image in images]
    return max(set(shapes), key=shapes.count) if shapes else None


def _collect(results, rows, settings, shape):
    columns = {name: np.array(values) for name, values in merge_columns([c for c, _ in results]).items()}
    blank = np.full(shape if shape is not None and len(shape) == 2 else (0, 0), np.nan, dtype=np.float32)
    maps = np.stack([blank if m is None else m for _, m in results]) if results else np.zeros((0,) + blank.shape)
    return BatchResult(columns, maps, np.asarray(rows), settings)


def run_batch(images, wcs_headers, rows, model="mirabest-fr", method="saliency", seed=0, target=None,
              options=None, workers=None, scheduler=None, chunk_size=DEFAULT_CHUNK, progress=None, cancelled=None,
              sizes_from=MEASURE_METHOD):
    """Explain every image; returns a :class:`BatchResult`.

    ``images`` (n, ny, nx), ``wcs_headers`` one WCS header string per image ('' for
    none), ``rows`` each image's catalogue row (it seeds the source). ``model`` is a
    shipped model's name or a model file. ``workers=N`` starts a local Dask cluster of N
    single-threaded worker processes; ``scheduler`` is the address of a running one;
    neither runs in this process. ``progress(done, total)`` is called as sources finish;
    ``cancelled()`` returning True stops the run (raises ``KeyboardInterrupt``).
    ``sizes_from``: the method whose map the size columns measure (default integrated
    gradients, computed besides ``method``'s when they differ, about 0.1 s a source on
    one core); None measures ``method``'s own maps at no extra cost. A source whose cutout
    cannot be explained gets an ``xai_status`` saying why and NaN elsewhere.
    """
    from glue_xai.methods.api import METHODS
    from glue_xai.survey.engines import check_where

    if sizes_from is not None and sizes_from not in METHODS:
        raise ValueError(f"sizes_from must be one of {METHODS} or None (measure the run's own maps), "
                         f"got {sizes_from!r}")
    check_where(workers, scheduler)
    options = dict(options or {})
    rows = [int(r) for r in rows]
    n = len(rows)
    if not (len(images) == len(wcs_headers) == n):
        raise ValueError(f"{len(images)} images, {len(wcs_headers)} WCS headers and {n} rows: one each per source")
    shape = _common_shape(images)
    chunks = [slice(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]
    args = (method, int(seed), target, options, sizes_from, shape)
    settings = {"model": model, "method": method, "seed": int(seed), "target": target, "sizes_from": sizes_from,
                **options}
    if workers is None and scheduler is None:
        results = []
        for part in chunks:
            if cancelled is not None and cancelled():
                raise KeyboardInterrupt("cancelled")
            results += explain_chunk(model, images[part], wcs_headers[part], rows[part], *args)
            if progress is not None:
                progress(len(results), n)
        return _collect(results, rows, settings, shape)
    return _collect(_run_on_dask(chunks, images, wcs_headers, rows, model, args, workers, scheduler, progress,
                                 cancelled, n), rows, settings, shape)


def _run_on_dask(chunks, images, wcs_headers, rows, model, args, workers, scheduler, progress, cancelled, n):
    from dask.distributed import as_completed

    from glue_xai.survey.engines import dask_client

    with dask_client(workers, scheduler) as client:
        futures = {client.submit(explain_chunk, model, [np.asarray(image) for image in images[part]],
                                 list(wcs_headers[part]), rows[part], *args, pure=False): i
                   for i, part in enumerate(chunks)}
        done, by_chunk = 0, {}
        for future in as_completed(futures):
            if cancelled is not None and cancelled():
                client.cancel(list(futures))
                raise KeyboardInterrupt("cancelled")
            by_chunk[futures[future]] = future.result()
            done += len(by_chunk[futures[future]])
            if progress is not None:
                progress(done, n)
    return [result for i in range(len(chunks)) for result in by_chunk[i]]

