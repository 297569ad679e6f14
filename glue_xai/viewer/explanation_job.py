"""One explanation to compute, able to stop early, and the cache of finished ones (Qt-free).

A job runs in a worker thread. It stops cooperatively: the model it calls is wrapped so
that every forward pass first checks the job's cancel flag, so a job made stale by a
moved region or a new slice stops within one batch of model evaluations instead of
running to the end. The same wrapper counts the images evaluated, which is the job's
progress.
"""
import threading
from collections import OrderedDict
from dataclasses import dataclass

from glue_xai.methods.api import explain
from glue_xai.viewer.image_region import NothingToExplain

__all__ = ["Cancelled", "ExplanationSettings", "ExplanationJob", "ExplanationCache", "settings_from_state"]


class Cancelled(Exception):
    """The job was cancelled before it finished."""


@dataclass(frozen=True)
class ExplanationSettings:
    """Everything besides the pixels that decides an explanation."""

    model_name: str
    method: str
    target: object
    seed: int
    options: tuple

    @property
    def key(self):
        return (self.model_name, self.method, self.target, self.seed, self.options)

    def expected_images(self):
        """Roughly how many images the model will evaluate (for the progress bar)."""
        options = dict(self.options)
        if self.method in ("lime", "elime", "smoothgrad"):
            return int(options.get("n_samples", 1000)) + 1
        if self.method == "integrated_gradients":
            return int(options.get("n_steps", 32)) + 3
        if self.method == "rise":
            return int(options.get("n_masks", 2000)) + 1
        if self.method == "shapley":
            return int(options.get("budget", 2000)) + 2
        if self.method == "occlusion":  # patch positions on a 150-pixel grid at the default stride
            return (150 // int(options.get("stride", 5))) ** 2 + 1
        return 2


def settings_from_state(viewer_state, method=None):
    """The :class:`ExplanationSettings` of an XAI image viewer's state (with ``method``
    instead of the chosen one, when given)."""
    if not viewer_state.model:
        raise NothingToExplain("no model is chosen (are the shipped weights installed?)")
    method = method or viewer_state.method
    options = tuple(sorted(viewer_state.method_settings(method).items()))
    return ExplanationSettings(model_name=viewer_state.model, method=method,
                               target=viewer_state.explained_class, seed=int(viewer_state.seed), options=options)


class _CancellableModel:
    """A classifier that checks a cancel flag before each forward pass and counts images.

    It forwards everything else to the wrapped classifier, so ``explain`` cannot tell
    the difference.
    """

    def __init__(self, model, job):
        self._model = model
        self._job = job

    def __getattr__(self, name):
        return getattr(self._model, name)

    def proba_of_inputs(self, x):
        self._job.checkpoint(len(x))
        return self._model.proba_of_inputs(x)

    def torch_proba(self, x):
        self._job.checkpoint(len(x))
        return self._model.torch_proba(x)


class ExplanationJob:
    """Explain ``region`` with ``settings``; ``owner`` is whatever asked (e.g. a layer artist).

    ``progress`` (optional) is called from the worker thread with a fraction in [0, 1].
    """

    def __init__(self, region, settings, owner=None, progress=None, measure_extent=False):
        self.region = region
        self.measure_extent = measure_extent
        self.settings = settings
        self.owner = owner
        self.progress = progress
        self._cancel = threading.Event()
        self._images_done = 0

    @property
    def key(self):
        return (self.region.key, self.settings.key)

    def cancel(self):
        self._cancel.set()

    @property
    def cancelled(self):
        return self._cancel.is_set()

    def expected_images(self):
        """Roughly how many images this job evaluates (for the progress bar)."""
        return self.settings.expected_images()

    def checkpoint(self, n_images=0):
        """Stop here if cancelled; otherwise count ``n_images`` towards progress."""
        if self._cancel.is_set():
            raise Cancelled()
        self._images_done += n_images
        if self.progress is not None:
            self.progress(min(1.0, self._images_done / self.expected_images()))

    def run(self, model_store):
        """Compute the explanation (in the calling thread); raises :class:`Cancelled` when stopped."""
        self.checkpoint()
        model = _CancellableModel(model_store.get(self.settings.model_name), self)
        self.checkpoint()
        region = self.region
        explanation = explain(model, region.pixels, method=self.settings.method, target=self.settings.target,
                              seed=self.settings.seed, wcs=region.wcs,  # explain reads the pixel scale from it
                              fit="pad", **dict(self.settings.options))
        # The cancel flag may have been raised after the last forward pass.
        self.checkpoint()
        # Is there a source, and is it like the training data? (one forward pass; the
        # legend shows "no source" instead of a confident class on empty sky)
        explanation.extras["assessment"] = assess_region(model, region, explanation)
        if self.measure_extent:  # off the GUI thread (20-70 ms), for the viewer's extent line
            explanation.extras["salient_extent"] = measure_salient_extent(explanation, region.wcs)
        if self.progress is not None:
            self.progress(1.0)
        return explanation


def assess_region(model, region, explanation):
    """:func:`glue_xai.assess` of the region's pixels (reusing the explanation's model input
    and probabilities), or None for a model it cannot judge."""
    from glue_xai.models.assess import assess_explanation

    try:
        return assess_explanation(model, region.pixels, explanation)
    except (TypeError, ValueError):  # e.g. a model without a torch module: no verdict, no error
        return None


def measure_salient_extent(explanation, wcs=None):
    """The salient extent of the explanation's map, measured as the catalogue's
    ``saliency_*`` columns are (:func:`glue_xai.methods.measure.explanation_extent`), or
    None when nothing in it is salient enough to measure."""
    from glue_xai.methods.measure import explanation_extent

    try:
        return explanation_extent(explanation, wcs)
    except ValueError:
        return None


class ExplanationCache:
    """The most recently used explanations, by job key, so going back is instant."""

    def __init__(self, max_size=64):
        self.max_size = int(max_size)
        self._items = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key, explanation):
        with self._lock:
            self._items[key] = explanation
            self._items.move_to_end(key)
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)

    def __contains__(self, key):
        return key in self._items
