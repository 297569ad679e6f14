"""The "SFNet features" panel in glue: an image with one overlay per active feature, selectable.

Opened from glue's Plugins menu. Only wiring: the choices and the explanation live in
:class:`~glue_xai.viewer.feature_state.FeaturePanelState`, the drawing in
:class:`~glue_xai.viewer.feature_overlay.FeatureOverlays`.
"""
from echo.qt import connect_combo_selection
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy import QtCore, QtWidgets

from glue_xai.viewer.feature_overlay import FeatureOverlays, contribution_lines, decomposition_caption
from glue_xai.viewer.feature_state import FeaturePanelState, image_of

LABEL = "SFNet features (glue-xai)"


class FeaturePanel(QtWidgets.QWidget):
    """Image, feature overlay and the list of contributions; clicking a row shows that feature."""

    def __init__(self, data_collection, parent=None, models=None):
        super().__init__(parent)
        self.setWindowTitle(LABEL)
        self.state = FeaturePanelState(data_collection, models=models)

        self.data_combo, self.model_combo = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.feature_list = QtWidgets.QListWidget()
        self.caption = QtWidgets.QLabel()
        self.caption.setWordWrap(True)
        self.figure = Figure(figsize=(5, 5))
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.add_axes([0.02, 0.02, 0.96, 0.96])
        self.axes.set_axis_off()
        self.overlays = FeatureOverlays(self.axes)

        form = QtWidgets.QFormLayout()
        form.addRow("Image", self.data_combo)
        form.addRow("Model", self.model_combo)
        side = QtWidgets.QVBoxLayout()
        side.addLayout(form)
        side.addWidget(QtWidgets.QLabel("Active features (contribution to the logit):"))
        side.addWidget(self.feature_list)
        side.addWidget(self.caption)
        layout = QtWidgets.QHBoxLayout(self)
        layout.addWidget(self.canvas, stretch=3)
        layout.addLayout(side, stretch=2)

        # The connections are kept: echo disconnects a combo whose handler is collected.
        self._connections = [connect_combo_selection(self.state, "data", self.data_combo),
                             connect_combo_selection(self.state, "model_name", self.model_combo)]
        self.feature_list.currentRowChanged.connect(self._row_chosen)
        self.state.add_callback("explanation", self._redraw)
        self.state.add_callback("feature", self._show_feature)
        self.state.add_callback("opacity", self._show_feature)
        self._redraw()

    def _redraw(self, *args):
        explanation = self.state.explanation
        self.overlays.clear()
        self.feature_list.blockSignals(True)
        self.feature_list.clear()
        if explanation is None:
            self.caption.setText(self.state.message)
        else:
            image, _ = image_of(self.state.data)
            self.overlays.draw(image, explanation, self.state.feature, self.state.opacity)
            self.feature_list.addItems(contribution_lines(explanation))
            self.caption.setText(decomposition_caption(explanation))
        self.feature_list.blockSignals(False)
        self._show_feature()

    def _row_chosen(self, row):
        if self.state.explanation is not None and row >= 0:
            self.state.feature = int(self.state.explanation.features[row])

    def _show_feature(self, *args):
        explanation = self.state.explanation
        if explanation is not None and self.state.feature is not None:
            self.feature_list.blockSignals(True)
            self.feature_list.setCurrentRow(explanation.features.tolist().index(self.state.feature))
            self.feature_list.blockSignals(False)
        self.overlays.select(self.state.feature, self.state.opacity)
        self.canvas.draw_idle()


def open_feature_panel(session, data_collection):
    """glue menubar plugin: open a panel on the session's data (kept alive by the application)."""
    panel = FeaturePanel(data_collection, parent=session.application if session else None)
    panel.setWindowFlags(panel.windowFlags() | QtCore.Qt.Window)  # its own window, though parented to glue's
    panel.show()
    return panel


def register_feature_panel():
    """Add the panel to glue's Plugins menu once."""
    from glue_qt.config import menubar_plugin

    if all(function is not open_feature_panel for _, function in menubar_plugin.members):
        menubar_plugin.add("SFNet features...", open_feature_panel)
