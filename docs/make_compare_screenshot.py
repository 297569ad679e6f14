"""Render the XAI viewer's Compare methods window on one of the demo's FR I sources, headless.

Writes ``docs/images/compare_window.png``: the window as a person sees it after pressing
Compare methods (every method, randomisation check included) with a circle drawn on the
source. Run from the checkout: ``python docs/make_compare_screenshot.py``
"""
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from qt_waits import wait  # noqa: E402  (waiting for the headless window)
DEMO_FILE = "100_166.713+014.203_0.0451_0199.52.fits"


def main():
    from glue.core.data_factories import load_data
    from glue.core.roi import CircularROI
    from glue.core.subset import RoiSubsetState
    from glue_qt.app import GlueApplication

    from glue_xai.data.demo import demo_folder
    from glue_xai.qt.image_viewer import XAIImageViewer

    app = GlueApplication()
    data = load_data(str(demo_folder() / DEMO_FILE))
    app.data_collection.append(data)
    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    app.data_collection.new_subset_group("source", RoiSubsetState(
        data.pixel_component_ids[1], data.pixel_component_ids[0], CircularROI(74.5, 74.5, 35.0)))
    app.show()
    wait(lambda: not viewer.busy and not viewer._pending and viewer.explanation_layers()[0].explanation is not None,
         timeout=1800)
    viewer.options.quality.button_compare.click()
    window = viewer.comparison_window
    wait(lambda: window.comparison is not None, timeout=1800)
    window.resize(1150, 650)
    for _ in range(20):
        from qtpy import QtWidgets

        QtWidgets.QApplication.processEvents()
        time.sleep(0.05)
    window.grab().save(str(HERE / "images" / "compare_window.png"))
    print({m: {k: round(v, 2) for k, v in q.items()} for m, q in window.comparison.quality.items()})


if __name__ == "__main__":
    main()
