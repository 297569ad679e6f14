"""The XAI viewer's "Compare methods": every method on the shown region, in the worker.

A mix-in of :class:`~glue_xai.qt.image_viewer.XAIImageViewer`, kept apart so the viewer
file stays about explaining one method. The viewer routes its worker's results for a
:class:`~glue_xai.viewer.comparison_job.ComparisonJob` here.
"""
from glue_xai.methods.compare import COMPARED
from glue_xai.viewer.catalogue_columns import settings_for_cutout
from glue_xai.viewer.comparison_job import ComparisonJob, comparison_settings
from glue_xai.viewer.explanation_job import settings_from_state
from glue_xai.viewer.image_region import NothingToExplain
from glue_xai.viewer.image_state import available_methods

__all__ = ["ComparisonActions"]


class ComparisonActions:
    """Start, show, cancel and cache a comparison of every method (needs ``self.worker``,
    ``self.cache``, ``self.options.quality`` and ``explanation_layers()``)."""

    _comparison_job = None
    _comparison_window = None

    @property
    def comparison_window(self):
        """The window the comparison is shown in (made on first use)."""
        if self._comparison_window is None:
            from glue_xai.qt.compare_window import ComparisonWindow

            self._comparison_window = ComparisonWindow(self)
            self._comparison_window.button_cancel.clicked.connect(self.cancel_comparison)
        return self._comparison_window

    def compare_methods(self, methods=None, randomisation=True):
        """Compare ``methods`` (default: every image method this installation has) on the
        first shown explanation's region, with the viewer's settings, in the worker."""
        shown = [a for a in self.explanation_layers() if a.explanation is not None and a not in self._jobs]
        if not shown:
            self.options.quality.show_message("Draw a region and wait for its explanation first, "
                                              "then compare methods on it.")
            return None
        artist = shown[0]
        try:
            settings = settings_for_cutout(settings_from_state(self.state), artist.layer.data, artist.region)
        except NothingToExplain as reason:
            self.options.quality.show_message(str(reason))
            return None
        installed = available_methods()
        methods = [m for m in (methods or COMPARED) if m in installed]
        by_method = comparison_settings(self.state, settings, methods)
        region = artist.region
        cached = {m: self.cache.get((region.key, s.key)) for m, s in by_method.items()}
        job = ComparisonJob(region, by_method, cached={m: e for m, e in cached.items() if e is not None},
                            owner=artist, randomisation=randomisation)
        self.cancel_comparison()
        window = self.comparison_window
        window.show()
        done = self.cache.get(job.key)
        if done is not None:
            window.show_comparison(done, artist.layer.label)
            return job
        self._comparison_job = job
        window.show_running(artist.layer.label, len(methods))
        self.worker.submit(job)
        self._show_status()
        return job

    def cancel_comparison(self):
        job, self._comparison_job = self._comparison_job, None
        if job is not None:
            job.cancel()
            self.comparison_window.show_message("Cancelled.")
            self._show_status()

    # --- results from the worker (the viewer calls these for ComparisonJob) ---------------
    def _comparison_finished(self, job, comparison):
        self.cache.put(job.key, comparison)
        for method, explanation in comparison.explanations.items():
            if self.cache.get(job.method_key(method)) is None:
                self.cache.put(job.method_key(method), explanation)
        if job is self._comparison_job:
            self._comparison_job = None
            self.comparison_window.show_comparison(comparison, job.owner.layer.label)

    def _comparison_failed(self, job, message):
        if job is self._comparison_job:
            self._comparison_job = None
            self.comparison_window.show_message(f"The methods could not be compared: {message}")

    def _comparison_progress(self, job, fraction):
        if job is self._comparison_job:
            self.comparison_window.show_progress(fraction)
