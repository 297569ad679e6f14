"""Option panels of the XAI image viewer: what to explain (viewer) and how it looks (layer).

Widgets are built in code and tied to the state's echo properties, so the state is
the single source of truth and a restored session shows its settings here unchanged.
"""
from echo.qt.connect import (connect_checkable_button, connect_combo_selection, connect_text,
                             connect_value)
from glue_qt.viewers.image.options_widget import ImageOptionsWidget
from qtpy import QtCore, QtWidgets

from glue_xai.qt.quality_panel import QualityPanel
from glue_xai.viewer.image_state import NUMBER_SETTINGS

__all__ = ["XAIImageOptionsWidget", "ExplanationStyleEditor"]

# Which settings rows each method uses; the others are hidden.
METHOD_ROWS = {
    "lime": ("lime_samples", "segmentation", "n_segments", "segment_scale"),
    "elime": ("segmentation", "n_segments", "segment_scale"),
    "saliency": ("gradient_output",),
    "smoothgrad": ("smoothgrad_samples", "noise_level", "gradient_output"),
    "integrated_gradients": ("ig_steps", "gradient_output"),
    "features": ("sfnet_feature",),
}
ALL_METHOD_ROWS = ("lime_samples", "segmentation", "n_segments", "segment_scale", "smoothgrad_samples",
                   "noise_level", "ig_steps", "gradient_output", "sfnet_feature")


def _spin(minimum, maximum, step=1):
    box = QtWidgets.QSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setKeyboardTracking(False)  # one change when typing "1000", not four
    return box


def _double_spin(minimum, maximum, step, decimals):
    box = QtWidgets.QDoubleSpinBox()
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setKeyboardTracking(False)
    return box


def _scrolling(content):
    """``content`` in a vertical scroll area: in a small glue window (a session restored at
    800 x 600) the settings scroll instead of being squeezed on top of each other, and the
    panel no longer forces the window to be taller than the screen."""
    area = QtWidgets.QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QtWidgets.QFrame.NoFrame)
    area.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarAlwaysOff)
    return area


class XAIImageOptionsWidget(ImageOptionsWidget):
    """glue's image options plus an "Explanation" tab, shown first.

    ``button_load_model``, ``button_recompute`` and ``quality.button_measure`` are wired
    by the viewer, which owns loading model files and the computation.
    """

    def __init__(self, viewer_state, session, parent=None):
        super().__init__(viewer_state, session, parent=parent)
        self._xai_connections = []
        content = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(content)
        self._rows = {}

        self.combosel_model = QtWidgets.QComboBox()
        self.button_load_model = QtWidgets.QPushButton("Load from file…")
        self.button_load_model.setToolTip("Load a model file (weights and model card) with the safe loader")
        model_row = QtWidgets.QHBoxLayout()
        model_row.addWidget(self.combosel_model, 1)
        model_row.addWidget(self.button_load_model)
        form.addRow("Model", model_row)

        self.combosel_method = QtWidgets.QComboBox()
        self.combosel_target = QtWidgets.QComboBox()
        form.addRow("Method", self.combosel_method)
        form.addRow("Explain class", self.combosel_target)
        self.text_bands = QtWidgets.QLineEdit()
        self.text_bands.setPlaceholderText("multi-band models: the card's band names")
        self.text_bands.setToolTip("For a model taking several bands: the components of the data holding them, "
                                   "in the model's order, e.g. 'g_img, r_img, z_img'. Empty: components named "
                                   "after the model card's bands")
        form.addRow("Bands", self.text_bands)
        # Filled and wired by the viewer (BandDisplayActions), which knows the model's bands.
        self.combo_show_bands = QtWidgets.QComboBox()
        self.combo_show_bands.setToolTip("Multi-band models: show the bands as one colour image (glue's 'One "
                                         "color per layer' mode: bluest band blue, reddest red) or one band "
                                         "alone; the explanation is drawn over either")
        self.label_show_bands = QtWidgets.QLabel("Show")
        form.addRow(self.label_show_bands, self.combo_show_bands)

        ranges = NUMBER_SETTINGS
        widgets = {
            "lime_samples": ("Samples", _spin(*ranges["lime_samples"][1:], 100)),
            "segmentation": ("Superpixels", QtWidgets.QComboBox()),
            "n_segments": ("Number of superpixels", _spin(*ranges["n_segments"][1:], 8)),
            "segment_scale": ("Scale (0 = default)", _double_spin(*ranges["segment_scale"][1:], 0.05, 3)),
            "smoothgrad_samples": ("Noisy copies", _spin(*ranges["smoothgrad_samples"][1:], 5)),
            "noise_level": ("Noise (× data range)", _double_spin(*ranges["noise_level"][1:], 0.01, 3)),
            "ig_steps": ("Steps", _spin(*ranges["ig_steps"][1:], 8)),
            "gradient_output": ("Differentiate", QtWidgets.QComboBox()),
            "sfnet_feature": ("Feature (0 = all)", _spin(*ranges["sfnet_feature"][1:], 1)),
        }
        for name, (label, widget) in widgets.items():
            label_widget = QtWidgets.QLabel(label)
            form.addRow(label_widget, widget)
            self._rows[name] = (label_widget, widget)
            setattr(self, f"widget_{name}", widget)
        self.spin_seed = _spin(*ranges["seed"][1:])
        form.addRow("Seed", self.spin_seed)

        self.button_recompute = QtWidgets.QPushButton("Recompute")
        self.button_recompute.setToolTip("Compute the explanations again, ignoring the cache")
        form.addRow(self.button_recompute)
        self.quality = QualityPanel()
        form.addRow(self.quality)

        connect = self._xai_connections.append
        for name in ("model", "method", "target"):
            connect(connect_combo_selection(viewer_state, name, getattr(self, f"combosel_{name}")))
        connect(connect_combo_selection(viewer_state, "segmentation", self.widget_segmentation))
        connect(connect_combo_selection(viewer_state, "gradient_output", self.widget_gradient_output))
        self.widget_gradient_output.setToolTip("the class's probability, or its logit (pre-softmax score): a "
                                               "confident prediction's probability saturates, its logit does not")
        for name in ("lime_samples", "n_segments", "segment_scale", "smoothgrad_samples", "noise_level", "ig_steps",
                     "sfnet_feature"):
            connect(connect_value(viewer_state, name, getattr(self, f"widget_{name}")))
        connect(connect_value(viewer_state, "seed", self.spin_seed))
        connect(connect_text(viewer_state, "bands", self.text_bands))

        self.scroll_explanation = _scrolling(content)
        self.ui.tab_widget.insertTab(0, self.scroll_explanation, "Explanation")
        self.ui.tab_widget.setCurrentIndex(0)
        viewer_state.add_callback("method", self._show_method_rows)
        self._show_method_rows(viewer_state.method)

    def _show_method_rows(self, method):
        used = METHOD_ROWS.get(method, ())
        for name in ALL_METHOD_ROWS:
            for widget in self._rows[name]:
                widget.setVisible(name in used)


class ExplanationStyleEditor(QtWidgets.QWidget):
    """The look of one explanation layer: heat map, contours, superpixels, legend."""

    def __init__(self, layer, parent=None):
        super().__init__(parent=parent)
        state = layer.state
        content = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(content)
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = _scrolling(content)
        outer.addWidget(self.scroll)

        self.bool_show_heatmap = QtWidgets.QCheckBox("Heat map")
        self.value_opacity = QtWidgets.QSlider(QtCore.Qt.Horizontal)
        self.value_opacity.setRange(0, 100)
        self.combosel_signed_cmap = QtWidgets.QComboBox()
        self.combosel_magnitude_cmap = QtWidgets.QComboBox()
        self.bool_show_contours = QtWidgets.QCheckBox("Contours at percentiles of |relevance|")
        self.text_contour_percentiles = QtWidgets.QLineEdit()
        self.bool_show_boundaries = QtWidgets.QCheckBox("Superpixel boundaries (LIME)")
        self.value_top_k = _spin(0, 50)
        self.bool_show_extent = QtWidgets.QCheckBox("Salient extent and angle (line)")
        self.bool_show_legend = QtWidgets.QCheckBox("Legend (class, probability, method)")
        self.text_band = QtWidgets.QLineEdit()
        self.text_band.setPlaceholderText("all bands")
        self.text_band.setToolTip("Multi-band models: draw one band's part of the map (e.g. 'r'); empty: all bands")

        form.addRow(self.bool_show_heatmap)
        form.addRow("Opacity", self.value_opacity)
        form.addRow("Signed maps", self.combosel_signed_cmap)
        form.addRow("Magnitude maps", self.combosel_magnitude_cmap)
        form.addRow(self.bool_show_contours)
        form.addRow("Percentiles", self.text_contour_percentiles)
        form.addRow(self.bool_show_boundaries)
        form.addRow("Outline top-k ±", self.value_top_k)
        form.addRow(self.bool_show_extent)
        form.addRow(self.bool_show_legend)
        form.addRow("Band", self.text_band)

        self._connections = [
            connect_checkable_button(state, "show_heatmap", self.bool_show_heatmap),
            connect_value(state, "opacity", self.value_opacity, value_range=(0, 1)),
            connect_combo_selection(state, "signed_cmap", self.combosel_signed_cmap),
            connect_combo_selection(state, "magnitude_cmap", self.combosel_magnitude_cmap),
            connect_checkable_button(state, "show_contours", self.bool_show_contours),
            connect_text(state, "contour_percentiles", self.text_contour_percentiles),
            connect_checkable_button(state, "show_boundaries", self.bool_show_boundaries),
            connect_value(state, "top_k", self.value_top_k),
            connect_checkable_button(state, "show_extent", self.bool_show_extent),
            connect_checkable_button(state, "show_legend", self.bool_show_legend),
            connect_text(state, "band", self.text_band),
        ]
