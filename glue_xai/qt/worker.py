"""The viewer's background thread: explanation jobs run here, never on the GUI thread.

One QThread per viewer runs jobs one after the other (the machine may have only two
cores: two explanations at once would each take twice as long). Results come back to
the GUI thread through queued signals. Torch and numpy release the GIL while they
compute, so the GUI stays responsive meanwhile.
"""
import os

from qtpy import QtCore

from glue_xai.viewer.explanation_job import Cancelled

__all__ = ["ExplanationWorker"]


class _JobRunner(QtCore.QObject):
    """Lives in the worker thread; runs each job it is sent."""

    finished = QtCore.Signal(object, object)
    failed = QtCore.Signal(object, str)
    cancelled = QtCore.Signal(object)
    progress = QtCore.Signal(object, float)

    def __init__(self, model_store):
        super().__init__()
        self.model_store = model_store
        self._threads_set = False

    def _leave_a_core_for_the_gui(self):
        """Compute with one core fewer than the machine has (at least one).

        OpenMP's thread count is per thread, so this changes only the worker's torch.
        With both cores of a 2-core machine, torch's threads and the GUI thread (and
        any other process) fight: measured on a loaded 2-core machine, saliency took
        1.0 s with two threads and 0.02 s with one.
        """
        if not self._threads_set:
            import torch

            torch.set_num_threads(max(1, (os.cpu_count() or 2) - 1))
            self._threads_set = True

    @QtCore.Slot(object)
    def run(self, job):
        self._leave_a_core_for_the_gui()
        if job.cancelled:  # went stale while it waited in the queue
            self.cancelled.emit(job)
            return
        job.progress = lambda fraction: self.progress.emit(job, fraction)
        try:
            explanation = job.run(self.model_store)
        except Cancelled:
            self.cancelled.emit(job)
        except Exception as error:  # any failure becomes a message in the viewer, never a crash
            self.failed.emit(job, str(error) or type(error).__name__)
        else:
            self.finished.emit(job, explanation)


class ExplanationWorker(QtCore.QObject):
    """Runs :class:`~glue_xai.viewer.explanation_job.ExplanationJob` objects in a thread.

    Signals (delivered in the GUI thread): ``finished(job, explanation)``,
    ``failed(job, message)``, ``cancelled(job)``, ``progress(job, fraction)``.
    """

    finished = QtCore.Signal(object, object)
    failed = QtCore.Signal(object, str)
    cancelled = QtCore.Signal(object)
    progress = QtCore.Signal(object, float)
    _submit = QtCore.Signal(object)

    def __init__(self, model_store, parent=None):
        super().__init__(parent)
        self.thread = QtCore.QThread()
        self.thread.setObjectName("glue-xai explanations")
        self._runner = _JobRunner(model_store)
        self._runner.moveToThread(self.thread)
        self._submit.connect(self._runner.run, QtCore.Qt.QueuedConnection)
        self._runner.finished.connect(self.finished, QtCore.Qt.QueuedConnection)
        self._runner.failed.connect(self.failed, QtCore.Qt.QueuedConnection)
        self._runner.cancelled.connect(self.cancelled, QtCore.Qt.QueuedConnection)
        self._runner.progress.connect(self.progress, QtCore.Qt.QueuedConnection)
        self._jobs = set()
        self._runner.finished.connect(self._forget)
        self._runner.failed.connect(self._forget)
        self._runner.cancelled.connect(self._forget)

    def submit(self, job):
        """Queue ``job``; it starts when the jobs before it have finished or stopped."""
        if not self.thread.isRunning():
            self.thread.start()
        self._jobs.add(job)
        self._submit.emit(job)

    def _forget(self, job, *args):
        self._jobs.discard(job)

    @property
    def busy(self):
        """Whether a job is queued or running."""
        return bool(self._jobs)

    def cancel_all(self):
        for job in list(self._jobs):
            job.cancel()

    def shutdown(self, timeout_ms=30000):
        """Cancel every job and stop the thread, waiting for the running job to reach a checkpoint."""
        self.cancel_all()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait(timeout_ms)
        return not self.thread.isRunning()
