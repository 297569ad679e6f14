"""The spectrum viewer for the glue desktop: glue's profile viewer drawing saliency and lines.

Only wiring: the state (:mod:`glue_xai.viewer.spectrum_state`) holds the settings and
the layer artist (:mod:`glue_xai.viewer.spectrum_layer_artist`) draws.
"""
from glue.utils import decorate_all_methods, defer_draw
from glue_qt.viewers.profile import ProfileViewer
from glue_qt.viewers.profile.layer_artist import QThreadedProfileLayerArtist

from glue_xai.qt.spectrum_options import SpectrumLayerStyleEditor, SpectrumOptionsWidget
from glue_xai.viewer.spectrum_layer_artist import LineMarkers, SpectrumLayerArtist, saliency_axes
from glue_xai.viewer.spectrum_state import SpectrumViewerState


class QtSpectrumLayerArtist(SpectrumLayerArtist, QThreadedProfileLayerArtist):
    """The spectrum layer artist with glue-qt's background computation of large profiles."""


@decorate_all_methods(defer_draw)
class SpectrumSaliencyViewer(ProfileViewer):
    """A 1-D profile viewer showing each spectrum's saliency on a twin axis and marking
    the emission lines. Open it on data made with
    :func:`glue_xai.viewer.spectrum_data.spectrum_data` (or ``spectra_data``) after
    :func:`~glue_xai.viewer.spectrum_data.add_saliency`."""

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
