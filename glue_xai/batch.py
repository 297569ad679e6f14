"""Classify and explain every source of a catalogue, in one process or on a Dask cluster.

Each source's cutout is explained with its own seed, :func:`source_seed`, derived from
the run's seed and the source's catalogue row, so the answer for a source does not
depend on which other sources were run, in which order, or on how many workers: a Dask
run equals the plain run bit for bit. Every source is computed with one torch thread
(the same arithmetic wherever it runs), in chunks of a few sources per task.

The result for each source is a dict of catalogue columns (:func:`source_columns`)
and its explanation map on the cutout's pixels.
"""
import contextlib
from dataclasses import dataclass

import numpy as np

__all__ = ["source_seed", "source_columns", "measurement_explanation", "emission_mask", "run_batch", "BatchResult",
           "PREFIX", "MEASURE_METHOD", "MEASURE_OPTIONS"]

#: Every column written by glue-xai starts with this, so they are easy to find and replace.
PREFIX = "xai_"
#: The map the measurement columns (``xai_saliency_extent_arcsec``, ...) are taken from,
#: whatever method a run shows: integrated gradients of the class's logit (pre-softmax
#: score). On 260 FIRST sources it is the map whose salient region tracks the catalogue
#: sizes and whose edge brightening separates FR I from FR II (docs/measure.rst). The
#: logit, because the probability of a confident prediction saturates near 1 and its
#: integrated gradients then credit only where the path crossed the decision. One
#: setting for every run keeps the columns comparable between runs.
MEASURE_METHOD = "integrated_gradients"
#: Options of the measurement's method (the n_steps default spelled out so the key
#: matches a viewer showing the same map, which then comes from the cache).
MEASURE_OPTIONS = {"integrated_gradients": {"n_steps": 32, "output": "logit"}}
EMISSION_SIGMA = 3.0
DEFAULT_CHUNK = 4

_MODELS = {}  # model name -> Classifier, loaded once per process (Dask workers included)


def source_seed(seed, row):
    """The seed explaining catalogue row ``row`` in a run with ``seed`` (a 31-bit int)."""
    state = np.random.SeedSequence([int(seed), int(row)]).generate_state(1, dtype=np.uint32)[0]
    return int(state >> 1)


def prediction_columns(classes, probabilities):
    """``xai_pred_class`` and ``xai_prob_<class>`` for one source's class probabilities."""
    columns = {PREFIX + "pred_class": classes[int(np.argmax(probabilities))]}
    for name, p in zip(classes, probabilities):
        columns[f"{PREFIX}prob_{name.replace(' ', '_')}"] = float(p)
    return columns


def emission_mask(image, seen=None, k_sigma=EMISSION_SIGMA):
    """The source's emission: pixels above the clipped sky median + ``k_sigma`` sky sigmas,
    within ``seen`` (the pixels the model saw)."""
    from glue_xai.models.preprocess import sigma_clipped_background

    image = np.asarray(image, dtype=np.float64)
    seen = np.isfinite(image) if seen is None else (seen & np.isfinite(image))
    median, std = sigma_clipped_background(np.where(seen, image, np.nan))
    return seen & (np.nan_to_num(image, nan=-np.inf) > median + k_sigma * std)


def relevance_shares(relevance, image, seen):
    """(share of the positive relevance on the emission, share of the seen pixels that are emission).

    The second is what a map spreading relevance at random would score: a map looking at
    the source scores well above it.
    """
    emission = emission_mask(image, seen)
    positive = np.where(seen & np.isfinite(relevance), np.maximum(relevance, 0.0), 0.0)
    total = positive.sum()
    inside = float(positive[emission].sum() / total) if total > 0 else np.nan
    return inside, float(emission.sum() / max(seen.sum(), 1))


#: Prefix of the SFNet feature columns (``method="features"``): one per feature active for any source.
SFNET_FEATURE = PREFIX + "sfnet_feature_"


def missing_value(name):
    """What a source lacking column ``name`` holds: 0 for an SFNet feature (a feature outside
    a source's top k has activation exactly 0, which is what the model's head reads), else NaN."""
    return 0.0 if name.startswith(SFNET_FEATURE) else np.nan


def measurement_explanation(explanation, explain_with, sizes_from=MEASURE_METHOD):
    """The explanation the measurement columns are taken from: ``explanation`` itself when
    it is ``sizes_from``'s (or ``sizes_from`` is None: measure the run's own maps, at no
    extra cost), else ``explain_with(sizes_from)`` (the caller explains the same image
    and class with that method and ``options``, :data:`MEASURE_OPTIONS`); ``explanation``
    again for a model without gradients (the ``saliency_method`` column says which was
    measured)."""
    options = MEASURE_OPTIONS.get(sizes_from, {})
    if sizes_from is None or (explanation.method == sizes_from
                              and all(explanation.params.get(k) == v for k, v in options.items())):
        return explanation
    try:
        return explain_with(sizes_from, options)
    except TypeError:  # not a torch module: integrated gradients cannot be computed
        return explanation


def source_columns(explanation, image, wcs=None, measured=None):
    """Catalogue columns for one explained source.

    ``xai_pred_class``, ``xai_prob_<class>``, ``xai_explained_class``,
    ``xai_relevance_in_source`` (share of the positive relevance lying on the source's
    emission, within the model's field of view), ``xai_source_area`` (the share of that
    field which is emission: the chance level of the previous number), and, from
    :func:`glue_xai.explain.measure.measurement_columns`, the salient and flux extents
    (``xai_saliency_extent_arcsec``, ``xai_flux_extent_arcsec``, ...) of ``measured``
    (an explanation of the same image, see :func:`measurement_explanation`; default
    ``explanation``).
    """
    from glue_xai.explain.measure import field_of_view, measurement_columns

    image = np.asarray(image, dtype=np.float64)
    seen = field_of_view(explanation, image.shape)
    inside, area = relevance_shares(np.asarray(explanation.map, dtype=np.float64), image, seen)
    columns = prediction_columns(explanation.classes, explanation.probabilities)
    columns[PREFIX + "explained_class"] = explanation.target_name
    columns[PREFIX + "relevance_in_source"] = inside
    columns[PREFIX + "source_area"] = area
    measured = explanation if measured is None else measured
    columns.update({PREFIX + name: value for name, value in measurement_columns(measured, image, wcs).items()})
    if explanation.method == "features":
        for j, activation in zip(explanation.extras["features"], explanation.extras["activations"]):
            columns[f"{SFNET_FEATURE}{j}"] = float(activation)
    return columns


@contextlib.contextmanager
def _one_torch_thread():
    """Compute with one torch thread, so every process does the same arithmetic in the same order."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _model(name):
    if name not in _MODELS:
        from glue_xai.models import load_model

        _MODELS[name] = load_model(name, trust=False)
    return _MODELS[name]


def _wcs(header):
    from glue_xai.data.cutouts import wcs_from_header

    return wcs_from_header(header)


def explain_chunk(model_name, images, wcs_headers, rows, method, seed, target, options, sizes_from=MEASURE_METHOD):
    """Explain a few sources; returns a list of ``(columns, map)``. Runs on Dask workers too.

    ``wcs_headers`` are header strings (WCS objects travel badly between processes).
    """
    from glue_xai.explain.api import explain

    model = _model(model_name)
    results = []
    with _one_torch_thread():
        for image, header, row in zip(images, wcs_headers, rows):
            wcs = _wcs(header)
            seed_of_source = source_seed(seed, row)
            explanation = explain(model, image, method=method, target=target, seed=seed_of_source,
                                  wcs=wcs, fit="pad", **options)
            measured = measurement_explanation(explanation, lambda other, other_options: explain(
                model, image, method=other, target=target, seed=seed_of_source, wcs=wcs, fit="pad",
                **other_options), sizes_from)
            results.append((source_columns(explanation, image, wcs, measured),
                            explanation.map.astype(np.float32)))
    return results


@dataclass
class BatchResult:
    """Columns (name -> array, one value per source in input order) and maps (n, ny, nx)."""

    columns: dict
    maps: np.ndarray
    rows: np.ndarray
    settings: dict


def merge_columns(per_source):
    """One list of values per column name from a list of per-source column dicts, in
    first-seen column order; a source lacking a column gets :func:`missing_value`."""
    names = dict.fromkeys(name for columns in per_source for name in columns)
    return {name: [columns.get(name, missing_value(name)) for columns in per_source] for name in names}


def _collect(results, rows, settings):
    columns = {name: np.array(values) for name, values in merge_columns([c for c, _ in results]).items()}
    return BatchResult(columns, np.stack([m for _, m in results]), np.asarray(rows), settings)


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
    one core); None measures ``method``'s own maps at no extra cost.
    """
    from glue_xai.explain.api import METHODS

    if sizes_from is not None and sizes_from not in METHODS:
        raise ValueError(f"sizes_from must be one of {METHODS} or None (measure the run's own maps), "
                         f"got {sizes_from!r}")
    options = dict(options or {})
    rows = [int(r) for r in rows]
    n = len(rows)
    if not (len(images) == len(wcs_headers) == n):
        raise ValueError(f"{len(images)} images, {len(wcs_headers)} WCS headers and {n} rows: one each per source")
    chunks = [slice(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]
    args = (method, int(seed), target, options, sizes_from)
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
        return _collect(results, rows, settings)
    return _collect(_run_on_dask(chunks, images, wcs_headers, rows, model, args, workers, scheduler, progress,
                                 cancelled, n), rows, settings)


def _run_on_dask(chunks, images, wcs_headers, rows, model, args, workers, scheduler, progress, cancelled, n):
    from dask.distributed import Client, LocalCluster, as_completed

    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        futures = {client.submit(explain_chunk, model, np.asarray(images[part]), list(wcs_headers[part]),
                                 rows[part], *args, pure=False): i for i, part in enumerate(chunks)}
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
