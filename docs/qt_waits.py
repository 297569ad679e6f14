"""Waiting for a headless glue window, shared by the docs' screenshot scripts."""
import time


def wait(condition, timeout=600, what="the viewer"):
    """Run Qt's event loop until ``condition()`` holds (the viewer's worker reports back
    through it), then once more so the last result is drawn; TimeoutError after ``timeout`` s."""
    from qtpy import QtWidgets

    start = time.perf_counter()
    while not condition():
        QtWidgets.QApplication.processEvents()
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{what} did not finish in {timeout} s")
        time.sleep(0.01)
    QtWidgets.QApplication.processEvents()


def settle(seconds=1.0):
    """Run Qt's event loop for ``seconds``: a resized glue image viewer keeps its old
    picture for 0.5 s (mpl-scatter-density's resize debounce), so grab after that."""
    from qtpy import QtWidgets

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QtWidgets.QApplication.processEvents()
        time.sleep(0.05)
