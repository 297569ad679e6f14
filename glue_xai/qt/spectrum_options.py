"""Qt controls of the spectrum viewer: glue's profile widgets plus the saliency settings.

Only wiring: each control is connected with echo to a property of
:class:`~glue_xai.viewer.spectrum_state.SpectrumViewerState` or
:class:`~glue_xai.viewer.spectrum_state.SpectrumLayerState`.
"""
from echo.qt import connect_checkable_button, connect_combo_selection, connect_text
from glue_qt.viewers.profile.layer_style_editor import ProfileLayerStyleEditor
from glue_qt.viewers.profile.options_widget import ProfileOptionsWidget
from qtpy import QtWidgets


class SpectrumOptionsWidget(ProfileOptionsWidget):
    """glue's profile options with a *Spectrum* tab: emission-line marks, saliency scale."""

    def __init__(self, viewer_state, session, parent=None):
        super().__init__(viewer_state, session, parent=parent)
        tab = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(tab)
        self.bool_show_lines = QtWidgets.QCheckBox("mark emission lines")
        self.combosel_saliency_scaling = QtWidgets.QComboBox()
        self.combosel_method = QtWidgets.QComboBox()
        self.label_saliency_status = QtWidgets.QLabel()
        self.label_saliency_status.setWordWrap(True)
        form.addRow(self.bool_show_lines)
        form.addRow("saliency scale", self.combosel_saliency_scaling)
        form.addRow("method", self.combosel_method)
        form.addRow(self.label_saliency_status)
        self.ui.tab_widget.addTab(tab, "Spectrum")
        self._spectrum_connections = [
            connect_checkable_button(viewer_state, "show_lines", self.bool_show_lines),
            connect_combo_selection(viewer_state, "saliency_scaling", self.combosel_saliency_scaling),
            connect_combo_selection(viewer_state, "method", self.combosel_method),
            connect_text(viewer_state, "saliency_status", self.label_saliency_status),
        ]


class SpectrumLayerStyleEditor(ProfileLayerStyleEditor):
    """glue's profile layer style with the saliency curve's switch and component."""

    def __init__(self, layer, parent=None):
        super().__init__(layer, parent=parent)
        box = QtWidgets.QGroupBox("saliency")
        form = QtWidgets.QFormLayout(box)
        self.bool_show_saliency = QtWidgets.QCheckBox("draw the saliency curve")
        self.combosel_saliency_attribute = QtWidgets.QComboBox()
        form.addRow(self.bool_show_saliency)
        form.addRow("component", self.combosel_saliency_attribute)
        self.layout().addWidget(box)
        self._saliency_connections = [
            connect_checkable_button(layer.state, "show_saliency", self.bool_show_saliency),
            connect_combo_selection(layer.state, "saliency_attribute", self.combosel_saliency_attribute),
        ]
