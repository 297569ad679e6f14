"""The "Cutout stack from a catalogue" dialog: pick the catalogue, the images, the RA/Dec
columns and the cutout size; the stack is built by
:func:`glue_xai.viewer.catalogue_stack.catalogue_stack` and added to glue."""
from pathlib import Path

from qtpy import QtWidgets

from glue_xai.viewer.catalogue_stack import (add_to_collection, catalogue_stack, catalogue_table,
                                             default_field_of_view_arcsec, is_catalogue_stack)

__all__ = ["CatalogueStackDialog"]


class CatalogueStackDialog(QtWidgets.QDialog):
    """Builds a cutout stack joined to a catalogue that is in glue (or read from a file)."""

    def __init__(self, data_collection, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Cutout stack from a catalogue")
        self.data_collection = data_collection
        self.built = None
        form = QtWidgets.QFormLayout(self)

        self.catalogue = QtWidgets.QComboBox()
        for data in data_collection:
            if data.ndim == 1 and not is_catalogue_stack(data):
                self.catalogue.addItem(data.label, data)
        button_file = QtWidgets.QPushButton("File...")
        button_file.clicked.connect(self._choose_catalogue_file)
        form.addRow("Catalogue", _row(self.catalogue, button_file))

        self.kind = QtWidgets.QComboBox()
        self.kind.addItems(["a folder of cutouts, one per source", "survey images to cut sources from"])
        form.addRow("Images are", self.kind)
        self.images = QtWidgets.QLineEdit()
        button_images = QtWidgets.QPushButton("Browse...")
        button_images.clicked.connect(self._choose_images)
        form.addRow("Images", _row(self.images, button_images))

        self.ra, self.dec = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        form.addRow("RA column", self.ra)
        form.addRow("Dec column", self.dec)
        self.size = QtWidgets.QDoubleSpinBox()
        self.size.setRange(1.0, 36000.0)
        self.size.setSuffix(" arcsec")
        self.size.setValue(default_field_of_view_arcsec())  # the shipped FIRST model's: 270 arcsec
        form.addRow("Cutout size", self.size)
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        form.addRow(self.message)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.Ok | QtWidgets.QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.build)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.catalogue.currentIndexChanged.connect(self._fill_columns)
        self._fill_columns()

    # --- choosing ---------------------------------------------------------------------------
    def _choose_catalogue_file(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Catalogue", "",
                                                        "Catalogues (*.fits *.csv *.ecsv *.vot *.xml)")
        if path:
            self.set_catalogue_file(path)

    def set_catalogue_file(self, path):
        """Use the catalogue in ``path`` (its file column is read relative to its folder)."""
        self.catalogue.addItem(Path(path).name, str(path))
        self.catalogue.setCurrentIndex(self.catalogue.count() - 1)

    def _choose_images(self):
        if self.kind.currentIndex() == 0:
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of FITS cutouts")
        else:
            paths, _ = QtWidgets.QFileDialog.getOpenFileNames(self, "Survey images", "", "FITS (*.fits *.fit)")
            path = ";".join(paths)
        if path:
            self.images.setText(path)

    def _fill_columns(self, *args):
        """Offer the catalogue's columns, the usual RA/Dec names chosen when found."""
        from glue_xai.data.catalogue import find_sky_columns

        source = self.catalogue.currentData()
        try:
            table = catalogue_table(source) if source is not None else None
        except ValueError as error:
            self.message.setText(str(error))
            return
        names = list(table.colnames) if table is not None else []
        for combo in (self.ra, self.dec):
            combo.clear()
            combo.addItems(names)
        try:
            ra, dec = find_sky_columns(table)
        except (ValueError, TypeError, AttributeError):
            return  # the user picks them
        self.ra.setCurrentText(ra)
        self.dec.setCurrentText(dec)

    # --- building ---------------------------------------------------------------------------
    def build(self):
        """Build the stack, add it to glue and close; a problem is shown in the dialog instead."""
        from glue_xai.data.cutouts import read_cutout

        source = self.catalogue.currentData()
        images = [p for p in self.images.text().split(";") if p.strip()]
        if source is None or not images:
            self.message.setText("Choose a catalogue and the images first.")
            return
        survey = None
        try:
            if self.kind.currentIndex() == 0:
                built = catalogue_stack(source, cutouts=images[0], ra=self.ra.currentText(),
                                        dec=self.dec.currentText(), size_arcsec=self.size.value())
            else:
                survey = [read_cutout(p) for p in images]
                built = catalogue_stack(source, survey=survey, ra=self.ra.currentText(), dec=self.dec.currentText(),
                                        size_arcsec=self.size.value())
        except ValueError as error:
            self.message.setText(str(error))
            return
        add_to_collection(self.data_collection, built, survey=survey)
        self.built = built
        self.accept()


def _row(*widgets):
    box = QtWidgets.QWidget()
    layout = QtWidgets.QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is widgets[0] else 0)
    return box
