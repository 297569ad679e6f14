"""The spectrum viewer for the glue desktop: glue's profile viewer drawing saliency and lines.

Only wiring: the state (:mod:`glue_xai.viewer.spectrum_state`) holds the settings and
the layer artist (:mod:`glue_xai.viewer.spectrum_layer_artist`) draws.
"""
from glue.utils import decorate_all_methods, defer_draw
from glue_qt.viewers.profile import ProfileViewer
from glue_qt.viewers.profile.layer_artist import QThreadedProfileLayerArtist

from glue_xai.qt.spectrum_options import SpectrumLayerStyleEditor, SpectrumOptionsWidget
from glue_xai.qt.spectrum_worker import SaliencyRun, saliency_request
from glue_xai.viewer.spectrum_layer_artist import LineMarkers, SpectrumLayerArtist, saliency_axes
from glue_xai.viewer.spectrum_state import SpectrumViewerState


class QtSpectrumLayerArtist(SpectrumLayerArtist, QThreadedProfileLayerArtist):
    """The spectrum layer artist with glue-qt's background computation of large profiles."""


@decorate_all_methods(defer_draw)
class SpectrumSaliencyViewer(ProfileViewer):
    """A 1-D profile viewer showing each spectrum's saliency on a twin axis and marking
    the emission lines. Open it on data made with
    :func:`glue_xai.viewer.spectrum_data.spectrum_data` (or ``spectra_data``) after
    :func:`~glue_xai.viewer.spectrum_data.add_saliency`. Choosing another method in the
    *Spectrum* tab recomputes the saliency of the spectra shown, in a background thread,
    with the model, class and seed that made it."""

    LABEL = "Spectrum with saliency (glue-xai)"
    _state_cls = SpectrumViewerState
    _options_cls = SpectrumOptionsWidget
    _layer_style_widget_cls = SpectrumLayerStyleEditor
    _data_artist_cls = QtSpectrumLayerArtist
    _subset_artist_cls = QtSpectrumLayerArtist

    def __init__(self, session, parent=None, state=None):
        super().__init__(session, parent=parent, state=state)
        self.saliency_axes = saliency_axes(self.axes)
        self.line_markers = LineMarkers(self.axes, self.state.lines)
        self.state.add_callback("x_att", self._update_line_markers)
        self.state.add_callback("show_lines", self._update_line_markers)
        self._update_line_markers()
        self._saliency_runs = {}  # data -> the run computing its saliency now
        self.state.add_callback("method", self._method_changed)

    def _update_axes(self, *args):
        super()._update_axes(*args)
        coords = getattr(self.state.reference_data, "coords", None)
        if self.state.x_att is not None and getattr(coords, "world_axis_units", [""])[0] == "Angstrom" \
                and self.state.x_att is self.state.reference_data.world_component_ids[-1]:
            self.state.x_axislabel = f"{self.state.x_att.label} (Å)"

    def _update_line_markers(self, *args):
        # the lines are at wavelengths: only mark them when the x-axis is wavelength
        on_wavelength = (self.state.x_att is not None and self.state.reference_data is not None
                         and self.state.x_att in self.state.reference_data.world_component_ids)
        self.line_markers.draw(visible=self.state.show_lines and on_wavelength)
        self.axes.figure.canvas.draw_idle()

    # --- the saliency method ------------------------------------------------------------
    def _spectra_shown(self):
        """The data (not subsets) in this viewer holding spectra with a saliency component."""
        from glue_xai.viewer.spectrum_data import FLUX, SALIENCY

        shown = []
        for layer in self.state.layers:
            data = layer.layer
            labels = {c.label for c in getattr(data, "main_components", [])}
            if data is layer.layer.data and {FLUX, SALIENCY} <= labels and data not in shown:
                shown.append(data)
        return shown

    def _method_changed(self, method):
        from glue_xai.viewer.spectrum_data import FLUX, wavelength_of

        for data in self._spectra_shown():
            try:
                settings = saliency_request(data, method)
            except ValueError as reason:
                self.state.saliency_status = str(reason)
                continue
            if settings is None:
                self.state.saliency_status = f"{method} of {data.meta['saliency']['model']}"
                continue
            run = SaliencyRun(data[FLUX], wavelength_of(data), settings)
            self._saliency_runs[data] = run  # a run still going for this data is now stale
            run.done.connect(lambda maps, data=data, run=run: self._saliency_done(data, run, maps))
            run.failed.connect(lambda message, data=data, run=run: self._saliency_failed(data, run, message))
            self.state.saliency_status = f"computing {method} for {data.label}…"
            run.start()

    def _saliency_done(self, data, run, maps):
        from glue_xai.viewer.spectrum_data import store_saliency

        if self._saliency_runs.get(data) is not run:
            return  # superseded by a later choice
        del self._saliency_runs[data]
        store_saliency(data, maps.reshape(data.shape), run.settings)
        self.state.saliency_status = f"{run.settings['method']} of {run.settings['model']}"
        for artist in self.layers:  # glue redraws flux profiles, not our second curve
            if artist.layer is data or getattr(artist.layer, "data", None) is data:
                artist._update_saliency()

    def _saliency_failed(self, data, run, message):
        if self._saliency_runs.get(data) is run:
            del self._saliency_runs[data]
            self.state.saliency_status = f"{run.settings['method']} could not explain {data.label}: {message}"

    @property
    def computing_saliency(self):
        return bool(self._saliency_runs)

    def close(self, warn=True):
        # A running thread must not be destroyed with its viewer; the maps (seconds for
        # LIME at most) are then dropped.
        for run in list(self._saliency_runs.values()):
            run.wait()
        self._saliency_runs.clear()
        return super().close(warn=warn)
