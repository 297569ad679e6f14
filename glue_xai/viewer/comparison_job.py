"""Every method on the shown region, as a background job (Qt-free).

The comparison runs in the viewer's worker thread like an explanation: it stops within
one batch of model evaluations when cancelled, reports progress, and shares the viewer's
explanation cache both ways. Maps the viewer already computed for this region (same
model, class, seed and options) are reused instead of explained again, and every map the
comparison makes is offered back to the cache, so switching the viewer to that method
afterwards shows it at once.
"""
from dataclasses import replace

from glue_xai.viewer.explanation_job import ExplanationJob, _CancellableModel, assess_region

__all__ = ["ComparisonJob", "comparison_settings"]


def comparison_settings(viewer_state, settings, methods):
    """``{method: ExplanationSettings}``: the viewer's settings as if each method were
    chosen (so the cache keys are the ones the single-method view would use), with the
    seed of ``settings`` (on a catalogue stack each source has its own)."""
    from glue_xai.viewer.explanation_job import settings_from_state

    result = {}
    for method in methods:
        own = settings_from_state(viewer_state, method=method)
        result[method] = replace(own, seed=settings.seed)
    return result


class ComparisonJob(ExplanationJob):
    """Compare ``methods`` on ``region``; ``by_method`` maps each method to its settings and
    ``cached`` to explanations already made (by the same keys)."""

    def __init__(self, region, by_method, cached=None, owner=None, progress=None, randomisation=True):
        first = next(iter(by_method.values()))
        super().__init__(region, first, owner=owner, progress=progress)
        self.by_method = dict(by_method)
        self.cached = dict(cached or {})
        self.randomisation = randomisation

    @property
    def key(self):
        return ("compare", self.region.key, tuple(s.key for s in self.by_method.values()), self.randomisation)

    def method_key(self, method):
        """The cache key of ``method``'s single-method explanation of this region."""
        return (self.region.key, self.by_method[method].key)

    def expected_images(self):
        # Each method's own run, again on the randomised network, and its deletion curve.
        per_method = sum(s.expected_images() for s in self.by_method.values())
        return max(1, (2 if self.randomisation else 1) * per_method + 21 * len(self.by_method))

    def run(self, model_store):
        from glue_xai.methods.compare import compare_methods

        self.checkpoint()
        model = _CancellableModel(model_store.get(self.settings.model_name), self)
        comparison = compare_methods(
            model, self.region.pixels, methods=list(self.by_method), target=self.settings.target,
            seed=self.settings.seed, wcs=self.region.wcs, fit="pad", randomisation=self.randomisation,
            options={m: dict(s.options) for m, s in self.by_method.items()}, explanations=self.cached,
            cancelled=lambda: self.cancelled)
        self.checkpoint()
        for method, explanation in comparison.explanations.items():
            if method not in self.cached and "assessment" not in explanation.extras:
                # As a single-method job would have it, for when the cache serves it there.
                explanation.extras["assessment"] = assess_region(model, self.region, explanation)
        if self.progress is not None:
            self.progress(1.0)
        return comparison
