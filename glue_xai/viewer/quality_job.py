"""Measuring how faithful and stable a shown explanation is, as a background job (Qt-free).

Quality costs model evaluations (deletion and insertion curves, and one explanation per
extra seed for stability), so the viewer computes it only when asked, in its worker
thread, with the same cancel flag and progress as an explanation.
"""
from glue_xai.viewer.explanation_job import ExplanationJob, _CancellableModel

__all__ = ["QualityJob"]

#: Seeds whose explanations are compared for stability (the explanation's own seed first).
N_STABILITY_SEEDS = 3
CURVE_STEPS = 20


class QualityJob(ExplanationJob):
    """Deletion/insertion curves and seed stability of ``explanation``, made with ``settings``."""

    def __init__(self, region, settings, explanation, owner=None, progress=None):
        super().__init__(region, settings, owner=owner, progress=progress)
        self.explanation = explanation

    @property
    def seeds(self):
        # From the shown map's own seed: on a catalogue stack each source has its own
        # (settings_for_cutout), which the viewer's seed setting is not.
        seed = int(self.explanation.params["seed"])
        return tuple(seed + i for i in range(N_STABILITY_SEEDS))

    def expected_images(self):
        return 2 * (CURVE_STEPS + 1) + (N_STABILITY_SEEDS - 1) * self.settings.expected_images()

    def run(self, model_store):
        # Imported here, in the worker: the metrics pull in scipy.stats (about 0.5 s), which
        # glue's start-up should not pay for.
        from glue_xai.methods.metrics import quality_summary

        self.checkpoint()
        model = _CancellableModel(model_store.get(self.settings.model_name), self)
        summary = quality_summary(model, self.explanation, seeds=self.seeds, n_steps=CURVE_STEPS,
                                  seed=self.seeds[0])
        self.checkpoint()
        return summary
