"""The catalogue columns of one explained source, and the seed it is explained with.

Each source's cutout is explained with its own seed, :func:`source_seed`, derived from
the run's seed and the source's catalogue row, so the answer for a source does not
depend on which other sources were run, in which order, or on how many workers.
"""

import numpy as np

__all__ = ["source_seed", "source_columns", "measurement_explanation", "emission_mask", "merge_columns",
           "missing_value", "prediction_columns", "is_computed", "status_counts", "PREFIX", "MEASURE_METHOD",
           "MEASURE_OPTIONS", "STATUS", "OK", "FLAGS"]

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
#: The column saying whether a source's numbers could be computed: ``ok``, or why not
#: (``unreadable: <reason>``, ``empty: ...``, ...); its other columns are then masked.
STATUS = PREFIX + "status"
OK = "ok"
#: Statuses of sources that were computed but deserve a look (their numbers are kept).
FLAGS = ("no_source", "out_of_distribution")


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


def missing_value(name, example=None):
    """What a source lacking column ``name`` holds: 0 for an SFNet feature (a feature outside
    a source's top k has activation exactly 0, which is what the model's head reads), empty
    text for a text column and False for a flag (``example`` is another source's value),
    else NaN."""
    if name.startswith(SFNET_FEATURE):
        return 0.0
    if isinstance(example, str):
        return ""
    if isinstance(example, (bool, np.bool_)):
        return False
    return np.nan


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
    :func:`glue_xai.methods.measure.measurement_columns`, the salient and flux extents
    (``xai_saliency_extent_arcsec``, ``xai_flux_extent_arcsec``, ...) of ``measured``
    (an explanation of the same image, see :func:`measurement_explanation`; default
    ``explanation``).
    """
    from glue_xai.methods.measure import field_of_view, measurement_columns

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


def merge_columns(per_source):
    """One list of values per column name from a list of per-source column dicts, in
    first-seen column order; a source lacking a column gets :func:`missing_value`."""
    examples = {}
    for columns in per_source:
        for name, value in columns.items():
            examples.setdefault(name, value)
    return {name: [columns.get(name, missing_value(name, example)) for columns in per_source]
            for name, example in examples.items()}




def is_computed(status):
    """Whether a source with ``xai_status`` ``status`` has numbers (ok or only flagged)."""
    return status == OK or str(status).split(":")[0] in FLAGS


def status_counts(statuses):
    """``(ok, flagged, failed)`` counts of ``xai_status`` values (flagged: see :data:`FLAGS`)."""
    statuses = [str(s) for s in statuses]
    ok = sum(s == OK for s in statuses)
    flagged = sum(s.split(":")[0] in FLAGS for s in statuses)
    return ok, flagged, len(statuses) - ok - flagged
