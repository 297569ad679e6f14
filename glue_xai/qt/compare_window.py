"""The "Compare methods" window: every method's map of the shown region side by side."""
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy import QtCore, QtWidgets

from glue_xai.methods.compare_plot import plot_comparison

__all__ = ["ComparisonWindow"]


class ComparisonWindow(QtWidgets.QWidget):
    """The figure of :func:`~glue_xai.methods.compare_plot.plot_comparison`, a line of
    status, and buttons to cancel and to save the comparison as PNG or FITS."""

    def __init__(self, parent=None):
        super().__init__(parent, QtCore.Qt.WindowType.Window)
        self.setWindowTitle("glue-xai: compare methods")
        self.comparison = None
        self.label = ""
        layout = QtWidgets.QVBoxLayout(self)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 100)
        self.figure = Figure(figsize=(12, 6), dpi=80)
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(640, 360)
        buttons = QtWidgets.QHBoxLayout()
        self.button_cancel = QtWidgets.QPushButton("Cancel")
        self.button_png = QtWidgets.QPushButton("Save PNG…")
        self.button_fits = QtWidgets.QPushButton("Save FITS…")
        self.button_fits.setToolTip("One image extension per method, with its numbers in the header, "
                                    "and the agreement matrix as a table")
        for button in (self.button_cancel, self.button_png, self.button_fits):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.canvas, stretch=1)
        layout.addLayout(buttons)
        self.button_png.clicked.connect(self._ask_png)
        self.button_fits.clicked.connect(self._ask_fits)
        self.resize(1100, 640)
        self._set_saveable(False)

    def _set_saveable(self, saveable):
        self.button_png.setEnabled(saveable)
        self.button_fits.setEnabled(saveable)

    def show_running(self, label, n_methods):
        self.comparison, self.label = None, label
        self.status.setText(f"Comparing {n_methods} methods on {label} (each map is also made on a "
                            "randomised network for the sanity check; this takes a while)…")
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.button_cancel.setEnabled(True)
        self._set_saveable(False)

    def show_progress(self, fraction):
        self.progress.setValue(int(round(100 * fraction)))

    def show_message(self, message):
        self.status.setText(message)
        self.progress.setVisible(False)
        self.button_cancel.setEnabled(False)

    def show_comparison(self, comparison, label):
        self.comparison, self.label = comparison, label
        self.figure.clear()
        plot_comparison(comparison, figure=self.figure, title=f"{label}: every method explains "
                                                                f"{comparison.target_name}")
        self.canvas.draw_idle()
        self.show_message(f"{len(comparison.methods)} methods on {label}"
                          + (f"; not shown: {', '.join(comparison.failed)}" if comparison.failed else ""))
        self._set_saveable(True)

    def save_png(self, path, dpi=120):
        self.figure.savefig(path, dpi=dpi)

    def save_fits(self, path):
        self.comparison.to_fits(path, overwrite=True)

    def _ask(self, caption, pattern, save):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, caption, "", pattern)
        if not path:
            return
        try:
            save(path)
        except OSError as error:  # a read-only folder, a full disk: say so, keep the window
            self.status.setText(f"could not save {path}: {error.strerror or error}")
        else:
            self.status.setText(f"saved {path}")

    def _ask_png(self):
        self._ask("Save the comparison as PNG", "PNG image (*.png)", self.save_png)

    def _ask_fits(self):
        self._ask("Save the comparison as FITS", "FITS file (*.fits)", self.save_fits)
