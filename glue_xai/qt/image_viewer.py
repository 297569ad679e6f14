"""The XAI Image Viewer: glue's image viewer plus an explanation layer for each subset.

This file only wires things together: the state (what to explain) and the layer
artists (how it is drawn) live Qt-free in :mod:`glue_xai.viewer`; computation runs in
:class:`~glue_xai.qt.worker.ExplanationWorker`'s thread. The viewer decides when an
explanation is needed (a subset drawn or moved, a new slice, new settings), takes it
from the cache or queues a job, drops results that went stale, and shows progress,
a Cancel button and any failure as a message under the image.
"""
from pathlib import Path

from glue.config import viewer_tool
from glue.core.data_region import RegionData
from glue.viewers.common.tool import Tool
from glue.viewers.image.state import ImageLayerState
from glue_qt.viewers.image.data_viewer import ImageViewer
from qtpy import QtCore, QtWidgets

from glue_xai.qt.band_display import BandDisplayActions
from glue_xai.qt.compare_actions import ComparisonActions
from glue_xai.qt.image_options import ExplanationStyleEditor, XAIImageOptionsWidget
from glue_xai.qt.worker import ExplanationWorker
from glue_xai.viewer.catalogue_columns import settings_for_cutout
from glue_xai.viewer.comparison_job import ComparisonJob
from glue_xai.viewer.explanation_job import ExplanationCache, ExplanationJob, settings_from_state
from glue_xai.viewer.image_layer import XAIExplanationLayerArtist
from glue_xai.viewer.image_region import NothingToExplain, NotOnThisData, region_of_subset
from glue_xai.viewer.image_state import XAIImageViewerState, missing_model_file
from glue_xai.viewer.model_store import ModelStore
from glue_xai.viewer.quality_job import QualityJob
from glue_xai.viewer.radio_display import apply_radio_display

__all__ = ["XAIImageViewer", "ExportExplanationTool"]

#: Finished explanations shared by all XAI viewers of the session (an LRU).
EXPLANATION_CACHE = ExplanationCache(max_size=64)

# Coalesce bursts of changes (a region being dragged, several settings restored at
# once) into one request, without a delay a person would notice.
REQUEST_DELAY_MS = 40


@viewer_tool
class ExportExplanationTool(Tool):
    """Toolbar action: the shown explanation as a FITS map (with the input's WCS) and a PNG of the view."""

    icon = "glue_filesave"
    tool_id = "xai:export"
    action_text = "Export explanation"
    tool_tip = "Export explanation: write the map as FITS (with the image's WCS) and a PNG of the view"

    def activate(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.viewer, "Export explanation", "explanation.fits",
                                                        "FITS image (*.fits)")
        if path:
            self.viewer.export_explanation(path)


class _StatusBar(QtWidgets.QWidget):
    """Under the image: a message, a progress bar and a Cancel button."""

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(160)
        self.button_cancel = QtWidgets.QPushButton("Cancel")
        layout.addWidget(self.message, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.button_cancel)
        # A status line that never changes height: a change would resize the canvas,
        # and every resize is a full redraw of the image on the GUI thread.
        for widget in (self.progress, self.button_cancel):
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        self.set_lines(2)
        self.show_busy(False)

    def set_lines(self, lines):
        """Room for ``lines`` lines of message (a fixed height: see above)."""
        self.setFixedHeight(lines * self.message.fontMetrics().lineSpacing() + 10)

    def set_message(self, text):
        """Show ``text`` (the whole of it in the tooltip, should it not fit in two lines)."""
        self.message.setText(text)
        self.message.setToolTip(text)

    def show_busy(self, busy):
        self.progress.setVisible(busy)
        self.button_cancel.setVisible(busy)
        if not busy:
            self.progress.setValue(0)


class XAIImageViewer(BandDisplayActions, ComparisonActions, ImageViewer):
    """glue's image viewer showing, for each subset, why the classifier decided."""

    LABEL = "XAI Image Viewer"
    _state_cls = XAIImageViewerState
    _options_cls = XAIImageOptionsWidget
    _layer_style_widget_cls = {**ImageViewer._layer_style_widget_cls,
                               XAIExplanationLayerArtist: ExplanationStyleEditor}
    tools = ["xai:export"]

    def __init__(self, session, parent=None, state=None):
        super().__init__(session, parent=parent, state=state)
        self._add_status_bar()
        self.model_store = ModelStore()
        self.cache = EXPLANATION_CACHE
        self.worker = ExplanationWorker(self.model_store)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self.worker.progress.connect(self._on_progress)
        self._jobs = {}  # layer artist -> its current (not stale) job
        self._quality_jobs = {}  # layer artist -> the quality measurement running for it
        self._pending = set()  # layer artists waiting for the request timer
        self.restore_notes = []  # what a restored session could not use, until a setting changes
        self._request_timer = QtCore.QTimer(self)
        self._request_timer.setSingleShot(True)
        self._request_timer.setInterval(REQUEST_DELAY_MS)
        self._request_timer.timeout.connect(self._send_pending)

        self.options.button_recompute.clicked.connect(self.recompute)
        self.options.quality.button_measure.clicked.connect(self.measure_quality)
        self.options.quality.button_compare.clicked.connect(lambda *args: self.compare_methods())
        self.options.button_load_model.clicked.connect(self._choose_model_file)
        for name in XAIImageViewerState.EXPLANATION_SETTINGS + ("slices", "reference_data", "x_att", "y_att"):
            self.state.add_callback(name, self._request_all)
        for name in XAIImageViewerState.EXPLANATION_SETTINGS:
            self.state.add_callback(name, self._forget_restore_notes)
        self._connect_band_display()

    def _add_status_bar(self):
        # glue's matplotlib tools expect central_widget to be the canvas widget, so the
        # canvas is moved into a container rather than replaced.
        canvas = self.takeCentralWidget()
        container = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(container)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(canvas, 1)
        self.status = _StatusBar()
        self.status.button_cancel.clicked.connect(self.cancel)
        layout.addWidget(self.status)
        self.setCentralWidget(container)

    # --- layers ---------------------------------------------------------------------------
    def get_subset_layer_artist(self, layer=None, layer_state=None):
        if isinstance(layer.data, RegionData) or layer.ndim < 2:
            return super().get_subset_layer_artist(layer=layer, layer_state=layer_state)
        artist = self.get_layer_artist(XAIExplanationLayerArtist, layer=layer, layer_state=layer_state)
        if layer_state is None:  # a new layer, not one restored with its own style
            self.style_overlay_for_display(artist.state)
        return artist

    def explanation_layers(self):
        """The explanation layer artists of this viewer."""
        return [artist for artist in self.layers if isinstance(artist, XAIExplanationLayerArtist)]

    def add_data(self, data):
        added = super().add_data(data)
        # A radio map's first impression: the source, not a black frame (sessions keep
        # their own saved display, as they do not pass through here).
        if added and data in self._layer_artist_container and data.main_components:
            for artist in self._layer_artist_container[data]:
                if isinstance(artist.state, ImageLayerState):
                    apply_radio_display(artist.state, data.get_data(artist.state.attribute))
        if added and data is not self.state.reference_data:
            self._request_all()  # it may hold a band the explanations were waiting for
        return added

    def add_subset(self, subset):
        added = super().add_subset(subset)
        self._request_layers_of(subset)
        return added

    def _update_subset(self, message):
        super()._update_subset(message)
        if message.attribute != "style":
            self._request_layers_of(message.subset)

    def _update_data_numerical(self, message):
        super()._update_data_numerical(message)
        # New pixel values: the explanations of this data are out of date. (Cache keys
        # carry a digest of the pixels, so the new values are explained afresh.)
        for artist in self.explanation_layers():
            if artist.layer.data is message.data:
                self._request(artist)

    def _request_layers_of(self, subset):
        if subset in self._layer_artist_container:
            for artist in self._layer_artist_container[subset]:
                if isinstance(artist, XAIExplanationLayerArtist):
                    self._request(artist)

    # --- when to explain ------------------------------------------------------------------
    def _request_all(self, *args):
        for artist in self.explanation_layers():
            self._request(artist)

    def _request(self, artist):
        """Explain ``artist``'s subset soon. A job running for it is judged when the request
        is sent (:meth:`_start`): it goes on if it computes what is asked for anyway."""
        self._drop_job(artist, self._quality_jobs)
        self.options.quality.show_message("Not measured yet.")
        self._pending.add(artist)
        self._request_timer.start()

    def _send_pending(self):
        pending, self._pending = self._pending, set()
        for artist in pending:
            if artist in self.layers:
                self._start(artist)
        self._show_status()

    @staticmethod
    def _drop_job(artist, jobs):
        """Cancel and forget ``artist``'s job in ``jobs`` (the explanation or quality jobs)."""
        stale = jobs.pop(artist, None)
        if stale is not None:
            stale.cancel()

    def _start(self, artist, use_cache=True):
        """Show ``artist``'s explanation from the cache, or queue a job computing it. A job
        still running for another key is stale and cancelled; one for the same key (e.g.
        after a change of a setting the method does not use) is left to finish."""
        try:
            components = self._band_components(self.state.reference_data)
            if components and artist.layer.data in {c.parent for c in components} - {self.state.reference_data}:
                raise NotOnThisData("explained on the aligned image, whose band it is")
            region = region_of_subset(self.state, artist.layer, components=components)
            settings = settings_for_cutout(settings_from_state(self.state), artist.layer.data, region)
        except NothingToExplain as reason:
            self._drop_job(artist, self._jobs)
            artist.clear_explanation()
            artist.message = "" if isinstance(reason, NotOnThisData) else str(reason)
            return
        artist.message = ""
        # The extent line's measurement is done in the worker when the line is wanted; one
        # switched on later is measured once on the GUI thread by the layer artist.
        job = ExplanationJob(region, settings, owner=artist, measure_extent=artist.state.show_extent)
        running = self._jobs.get(artist)
        if use_cache and running is not None and running.key == job.key:
            return
        self._drop_job(artist, self._jobs)
        if use_cache and artist.explanation is not None and artist.job_key == job.key:
            return  # already shown: nothing to compute or redraw
        cached = self.cache.get(job.key) if use_cache else None
        if cached is not None:
            artist.show_explanation(region, cached, job.key)
            return
        if artist.job_key is not None and artist.job_key != job.key:
            artist.clear_explanation()
        self._jobs[artist] = job
        self.worker.submit(job)

    def _band_components(self, data):
        """The components feeding a multi-band model's bands (None for a one-band model):
        ``data``'s own, or those shown for the viewer's other datasets named after a band;
        raises NothingToExplain saying which bands are missing."""
        from glue_xai.viewer.bands import band_components, model_card

        if not self.state.model or data is None:
            return None
        try:
            card = model_card(self.state.model)
        except (OSError, ValueError):  # a missing or broken model file: the status line says so
            return None
        try:
            shown = [(layer.layer, layer.attribute) for layer in self.state.layers
                     if isinstance(layer, ImageLayerState)]
            return band_components(data, card, self.state.bands, shown)
        except ValueError as reason:
            raise NothingToExplain(str(reason)) from None

    def recompute(self):
        """Compute every explanation again, ignoring the cache (the Recompute button)."""
        for artist in self.explanation_layers():
            self._drop_job(artist, self._quality_jobs)  # it measured the map being replaced
            self._start(artist, use_cache=False)
        self._show_status()

    def cancel(self):
        """Stop every running or queued explanation (the Cancel button)."""
        for artist, job in list(self._jobs.items()):
            job.cancel()
            artist.message = "cancelled"
        self._jobs.clear()
        for job in self._quality_jobs.values():
            job.cancel()
        self._quality_jobs.clear()
        self.cancel_comparison()
        self._show_status()

    def measure_quality(self):
        """Measure the faithfulness and stability of the first shown explanation, in the worker."""
        shown = [a for a in self.explanation_layers() if a.explanation is not None and a not in self._jobs]
        if not shown:
            self.options.quality.show_message("Draw a region and wait for its explanation first.")
            return
        artist = shown[0]
        try:
            settings = settings_from_state(self.state)
        except NothingToExplain as reason:
            self.options.quality.show_message(str(reason))
            return
        stale = self._quality_jobs.pop(artist, None)
        if stale is not None:
            stale.cancel()
        job = QualityJob(artist.region, settings, artist.explanation, owner=artist)
        self._quality_jobs[artist] = job
        self.options.quality.show_message(f"Measuring {artist.layer.label}…")
        self.worker.submit(job)
        self._show_status()

    @property
    def busy(self):
        """Whether an explanation or a quality measurement is being computed for this viewer."""
        return bool(self._jobs) or bool(self._quality_jobs) or self._comparison_job is not None

    # --- results from the worker ----------------------------------------------------------
    def _current(self, job):
        """The artist ``job`` belongs to, or None when the job went stale."""
        artist = job.owner
        return artist if self._jobs.get(artist) is job else None

    def _quality_job_done(self, job):
        """Forget ``job``; True when it was the current measurement of its layer."""
        if self._quality_jobs.get(job.owner) is job:
            del self._quality_jobs[job.owner]
            return True
        return False

    def _on_finished(self, job, explanation):
        if isinstance(job, ComparisonJob):
            self._comparison_finished(job, explanation)
            self._show_status()
            return
        if isinstance(job, QualityJob):
            if self._quality_job_done(job):
                self.options.quality.show_summary(explanation, title=job.owner.layer.label)
            self._show_status()
            return
        self.cache.put(job.key, explanation)
        artist = self._current(job)
        if artist is not None:
            del self._jobs[artist]
            artist.show_explanation(job.region, explanation, job.key)
        self._show_status()

    def _on_failed(self, job, message):
        if isinstance(job, ComparisonJob):
            self._comparison_failed(job, message)
            self._show_status()
            return
        if isinstance(job, QualityJob):
            if self._quality_job_done(job):
                self.options.quality.show_message(f"Quality could not be measured: {message}")
            self._show_status()
            return
        artist = self._current(job)
        if artist is not None:
            del self._jobs[artist]
            artist.clear_explanation()
            artist.message = f"{job.settings.method} could not explain {artist.layer.label}: {message}"
        self._show_status()

    def _on_cancelled(self, job):
        if isinstance(job, QualityJob) and self._quality_job_done(job):
            self.options.quality.show_message("Cancelled.")
        self._show_status()

    def _on_progress(self, job, fraction):
        if isinstance(job, ComparisonJob):
            self._comparison_progress(job, fraction)
            return
        if self._current(job) is not None or self._quality_jobs.get(job.owner) is job:
            self.status.progress.setValue(int(round(100 * fraction)))

    def _show_status(self):
        messages = []
        missing = missing_model_file(self.state.model)
        if missing:
            messages.append(f"model file not found: {missing}")
        if self.restore_notes:
            messages.append("Restored with defaults: " + "; ".join(self.restore_notes))
        messages += [f"{artist.layer.label}: {artist.message}" for artist in self.explanation_layers()
                     if getattr(artist, "message", "") and not (missing and missing in artist.message)]
        # Two lines as a rule; twice that while a restored session's notes are shown (a
        # resize redraws the image, which this does once on restore and once when they go).
        self.status.set_lines(4 if missing or self.restore_notes else 2)
        self.status.set_message("\n".join(messages))
        self.status.show_busy(self.busy)

    @property
    def message(self):
        """The text shown under the image (errors and reasons for not explaining)."""
        return self.status.message.text()

    # --- models from files ------------------------------------------------------------------
    def _choose_model_file(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load a model file", "",
                                                        "Model files (*.pt *.pth *.onnx);;All files (*)")
        if path:
            self.load_model_file(path)

    def load_model_file(self, path):
        """Load a model file with the safe loader and explain with it; a refused file is reported."""
        path = str(Path(path).resolve())
        try:
            self.model_store.get(path)
        except Exception as error:  # the loader's message says why (pickled code, wrong architecture...)
            self.status.set_message(f"Could not load model {Path(path).name}: {error}")
            return False
        self.state.model_file = path
        self.state.model = path
        return True

    # --- export ---------------------------------------------------------------------------
    def export_explanation(self, fits_path, layer=None):
        """Write the shown explanation as FITS (with the input's WCS) and a PNG of the view beside it.

        ``layer`` is an explanation layer artist (default: the selected one, else the
        first with an explanation). Returns the two paths, or None when nothing is shown.
        """
        artists = [layer] if layer is not None else (
            [self.selected_layer] if isinstance(self.selected_layer, XAIExplanationLayerArtist) else []
        ) + self.explanation_layers()
        shown = [artist for artist in artists if artist.explanation is not None]
        if not shown:
            self.status.set_message("Nothing to export: no explanation is shown yet")
            return None
        fits_path = Path(fits_path)
        png_path = fits_path.with_suffix(".png")
        shown[0].explanation.to_fits(fits_path, overwrite=True)
        self.figure.savefig(png_path, dpi=150)
        self.status.set_message(f"Exported {fits_path.name} and {png_path.name}")
        return fits_path, png_path

    # --- sessions and closing ---------------------------------------------------------------
    @classmethod
    def __setgluestate__(cls, rec, context):
        viewer = super().__setgluestate__(rec, context)
        viewer.restore_notes = viewer.state.restore_notes + [
            note for artist in viewer.explanation_layers() for note in artist.state.restore_notes]
        # Overlays are never saved: recompute them (or take them from the cache).
        viewer._request_all()
        viewer._show_status()
        return viewer

    def _forget_restore_notes(self, *args):
        if self.restore_notes:
            self.restore_notes = []
            self._show_status()

    def closeEvent(self, event):
        self._request_timer.stop()
        self.cancel()
        self.worker.shutdown()
        # Results queued before the thread stopped must not reach a closed viewer.
        self.worker.blockSignals(True)
        super().closeEvent(event)
