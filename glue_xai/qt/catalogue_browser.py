"""Previous / Next through the sources of a selection, in an image viewer of a cutout stack.

A small window beside the XAI image viewer: pick a selection (made in the table, a
scatter plot or a histogram of the catalogue) and step through its sources; the viewer's
slice slider moves to each source's cutout and its explanation follows.
"""
import numpy as np
from qtpy import QtWidgets

from glue_xai.viewer.catalogue_selection import current_slice, selected_slices, step_selection
from glue_xai.viewer.catalogue_stack import catalogue_of, cutout_row

__all__ = ["SelectionBrowser"]


class SelectionBrowser(QtWidgets.QDialog):
    """Steps ``viewer`` (an image viewer whose reference data is a catalogue stack) through a selection."""

    def __init__(self, viewer, data_collection, parent=None):
        super().__init__(parent)
        self.viewer, self.data_collection = viewer, data_collection
        self.setWindowTitle(f"Browse selected sources: {viewer.state.reference_data.label}")
        layout = QtWidgets.QVBoxLayout(self)
        self.selection = QtWidgets.QComboBox()
        for group in data_collection.subset_groups:
            self.selection.addItem(group.label, group)
        layout.addWidget(self.selection)
        buttons = QtWidgets.QHBoxLayout()
        self.button_previous = QtWidgets.QPushButton("< Previous")
        self.button_next = QtWidgets.QPushButton("Next >")
        buttons.addWidget(self.button_previous)
        buttons.addWidget(self.button_next)
        layout.addLayout(buttons)
        self.where = QtWidgets.QLabel("")
        layout.addWidget(self.where)
        self.button_previous.clicked.connect(lambda: self.step(-1))
        self.button_next.clicked.connect(lambda: self.step(+1))

    @property
    def stack(self):
        return self.viewer.state.reference_data

    def step(self, direction):
        """Go to the next (+1) or previous (-1) selected source; returns the slice shown (or None)."""
        group = self.selection.currentData()
        if group is None:
            self.where.setText("No selection yet: select sources in the catalogue first.")
            return None
        slices = selected_slices(self.stack, group)  # the selection's mask, computed once per click
        target = step_selection(self.viewer.state, self.stack, group, direction, slices=slices)
        if target is None:
            self.where.setText(f"{group.label!r} holds no source with a cutout.")
            return None
        self.where.setText(self.describe(group, slices))
        return target

    def describe(self, group, slices=None):
        """'source 2 of 5: <name> (row r)' for the slice shown."""
        slices = selected_slices(self.stack, group) if slices is None else slices
        here = current_slice(self.viewer.state)
        row = cutout_row(self.stack, here)
        text = f"source {int(np.searchsorted(slices, here)) + 1} of {len(slices)}: row {row}"
        catalogue = catalogue_of(self.stack, self.data_collection)
        names = [c for c in (catalogue.main_components if catalogue is not None else [])
                 if catalogue.get_kind(c) == "categorical"]
        if names:
            text += f", {catalogue[names[0]][row]}"
        return text
