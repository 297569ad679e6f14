"""The "Classify and explain catalogue" dialog: model, method, all sources or a selection,
optionally a t-SNE of the model's features; computed in a background thread with a
progress bar and a Cancel button, then written into the catalogue as ``xai_*`` columns.

The settings come from an XAI image viewer showing the stack when there is one (its
model, method options and seed), and the viewer's explanation cache is shared, so the
explanations computed here are the ones the viewer shows for the same seed.
"""
from dataclasses import replace

from qtpy import QtCore, QtWidgets

from glue_xai.viewer.catalogue_columns import embed_stack, explain_stack, write_columns
from glue_xai.viewer.catalogue_selection import selected_slices
from glue_xai.viewer.catalogue_stack import catalogue_of, is_catalogue_stack
from glue_xai.viewer.explanation_job import Cancelled, ExplanationSettings, settings_from_state

__all__ = ["ExplainCatalogueDialog", "CatalogueRun"]

ALL_SOURCES = "all sources"


class CatalogueRun(QtCore.QThread):
    """Explains (and embeds) the cutouts of a stack off the GUI thread.

    Signals: ``progress(done, total)``, ``done(list of (rows, columns))``, ``failed(message)``,
    ``cancelled()``. Nothing is written to glue here: glue data changes on the GUI thread.
    """

    progress = QtCore.Signal(int, int)
    done = QtCore.Signal(object)
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()

    def __init__(self, stack, settings, slices, embedding=None, model_store=None, cache=None, parent=None):
        super().__init__(parent)
        from glue_xai.viewer.model_store import ModelStore

        self.stack, self.settings, self.slices, self.embedding = stack, settings, slices, embedding
        self.model_store = model_store or ModelStore()
        self.cache = cache
        self._job = None
        self._stop = False

    def cancel(self):
        """Stop at the next model evaluation; nothing is written."""
        self._stop = True
        if self._job is not None:
            self._job.cancel()

    def _on_job(self, job):
        self._job = job
        if self._stop:
            job.cancel()

    def run(self):
        try:
            results = [explain_stack(self.stack, self.settings, slices=self.slices, model_store=self.model_store,
                                     cache=self.cache, progress=self.progress.emit, on_job=self._on_job)]
            if self.embedding and not self._stop:
                model = self.model_store.get(self.settings.model_name)
                results.append(embed_stack(self.stack, model, method=self.embedding, seed=self.settings.seed,
                                           slices=self.slices))
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception as error:  # shown in the dialog, never a crash of glue
            self.failed.emit(str(error) or type(error).__name__)
            return
        if self._stop:
            self.cancelled.emit()
        else:
            self.done.emit(results)


def _xai_viewers_of(session, stack):
    from glue_xai.qt.image_viewer import XAIImageViewer

    application = getattr(session, "application", None)
    viewers = [v for tab in getattr(application, "viewers", []) for v in tab] if application else []
    return [v for v in viewers if isinstance(v, XAIImageViewer) and v.state.reference_data is stack]


class ExplainCatalogueDialog(QtWidgets.QDialog):
    """Pick a cutout stack and what to compute; Run, watch the progress, Cancel if needed."""

    def __init__(self, session, data_collection, parent=None):
        super().__init__(parent)
        from glue_xai.viewer.image_state import available_methods
        from glue_xai.viewer.model_store import model_names

        self.setWindowTitle("Classify and explain a catalogue")
        self.session, self.data_collection = session, data_collection
        self.run_thread = None
        self.written = []
        form = QtWidgets.QFormLayout(self)
        self.stack = QtWidgets.QComboBox()
        for data in data_collection:
            if is_catalogue_stack(data) and catalogue_of(data, data_collection) is not None:
                self.stack.addItem(data.label, data)
        form.addRow("Cutouts", self.stack)
        self.model = QtWidgets.QComboBox()
        self.model.addItems(model_names())
        form.addRow("Model", self.model)
        self.method = QtWidgets.QComboBox()
        self.method.addItems(available_methods())
        form.addRow("Method", self.method)
        self.seed = QtWidgets.QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        form.addRow("Seed", self.seed)
        self.sources = QtWidgets.QComboBox()
        self.sources.addItem(ALL_SOURCES, None)
        for group in data_collection.subset_groups:
            self.sources.addItem(f"selection: {group.label}", group)
        form.addRow("Sources", self.sources)
        self.embedding = QtWidgets.QCheckBox("also a t-SNE map of the model's features (xai_tsne_x, xai_tsne_y)")
        form.addRow(self.embedding)
        self.progress = QtWidgets.QProgressBar()
        self.message = QtWidgets.QLabel("")
        self.message.setWordWrap(True)
        form.addRow(self.progress)
        form.addRow(self.message)
        self.buttons = QtWidgets.QDialogButtonBox()
        self.button_run = self.buttons.addButton("Run", QtWidgets.QDialogButtonBox.AcceptRole)
        self.button_cancel = self.buttons.addButton(QtWidgets.QDialogButtonBox.Cancel)
        self.button_run.clicked.connect(self.start)
        self.button_cancel.clicked.connect(self.cancel)
        form.addRow(self.buttons)
        self.stack.currentIndexChanged.connect(self._settings_from_viewer)
        self._settings_from_viewer()

    def _viewer(self):
        viewers = _xai_viewers_of(self.session, self.stack.currentData())
        return viewers[0] if viewers else None

    def _settings_from_viewer(self, *args):
        viewer = self._viewer()
        if viewer is not None:
            self.model.setCurrentText(viewer.state.model)
            self.method.setCurrentText(viewer.state.method)
            self.seed.setValue(int(viewer.state.seed))

    def settings(self):
        """The explanation settings: the viewer's for its method, else the method's defaults."""
        viewer = self._viewer()
        if viewer is not None and viewer.state.method == self.method.currentText():
            return replace(settings_from_state(viewer.state), seed=self.seed.value(),
                           model_name=self.model.currentText())
        return ExplanationSettings(model_name=self.model.currentText(), method=self.method.currentText(),
                                   target=None, seed=self.seed.value(), options=())

    def start(self):
        """Run in the background; the columns are written when it finishes."""
        stack = self.stack.currentData()
        if stack is None:
            self.message.setText("No cutout stack: make one with 'Cutout stack from a catalogue' first.")
            return
        group = self.sources.currentData()
        slices = None if group is None else selected_slices(stack, group)
        if slices is not None and len(slices) == 0:
            self.message.setText(f"The selection {group.label!r} holds no source with a cutout.")
            return
        from glue_xai.qt.image_viewer import EXPLANATION_CACHE

        viewer = self._viewer()
        self.run_thread = CatalogueRun(stack, self.settings(), slices,
                                       embedding="tsne" if self.embedding.isChecked() else None,
                                       model_store=viewer.model_store if viewer is not None else None,
                                       cache=EXPLANATION_CACHE, parent=self)
        self.run_thread.progress.connect(self._on_progress)
        self.run_thread.done.connect(self._on_done)
        self.run_thread.failed.connect(lambda message: self._finish(f"Failed: {message}"))
        self.run_thread.cancelled.connect(lambda: self._finish("Cancelled: no column was written."))
        self.button_run.setEnabled(False)
        self.message.setText("Explaining...")
        self.run_thread.start()

    def cancel(self):
        """Cancel the run, or close the dialog when nothing runs."""
        if self.run_thread is not None and self.run_thread.isRunning():
            self.run_thread.cancel()
        else:
            self.reject()

    @property
    def running(self):
        return self.run_thread is not None and self.run_thread.isRunning()

    def _on_progress(self, done, total):
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_done(self, results):
        catalogue = catalogue_of(self.stack.currentData(), self.data_collection)
        self.written = [name for rows, columns in results for name in write_columns(catalogue, columns, rows=rows)]
        self._finish(f"Wrote {len(self.written)} columns into {catalogue.label} for "
                     f"{len(results[0][0])} sources.")

    def _finish(self, message):
        self.message.setText(message)
        self.button_run.setEnabled(True)

    def closeEvent(self, event):
        if self.running:
            self.run_thread.cancel()
            self.run_thread.wait(30000)
        super().closeEvent(event)
