"""Render what a person sees in a small glue window and after restoring sessions.

Writes to ``docs/images/``:

* ``viewer_800x600.png``: the XAI Image Viewer at 800 x 600 on a FIRST FR I cutout, as a
  new viewer shows it (radio display, SmoothGrad over a circle on the source);
* ``glue_window_small.png``: the whole glue window asked for 800 x 600 (glue's own panels
  make it at least 800 pixels tall) with the XAI viewer's Explanation options;
* ``session_restored_missing_model.png``: tests/data/xai_model_file_0.1.0.glu restored
  after its model file was deleted;
* ``session_restored_defaults.png``: tests/data/xai_viewer_0.1.0.glu with an unknown method
  and "abc" for the LIME samples written into it, restored.

Run from the checkout: ``python docs/make_small_window_screenshots.py``
"""
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
SESSIONS = HERE.parent / "tests" / "data"
DEMO_FILE = "100_166.713+014.203_0.0451_0199.52.fits"


def settle(viewers, timeout=120):
    from qtpy import QtWidgets

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        QtWidgets.QApplication.processEvents()
        if not any(v.busy or v._pending for v in viewers):
            break
        time.sleep(0.02)
    for _ in range(10):
        QtWidgets.QApplication.processEvents()
        time.sleep(0.02)


def new_viewer_shots(out):
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
    viewer.state.method = "smoothgrad"
    app.data_collection.new_subset_group("source", RoiSubsetState(
        data.pixel_component_ids[1], data.pixel_component_ids[0], CircularROI(74.5, 74.5, 35.0)))
    app.resize(800, 600)
    app.show()
    settle([viewer])
    app.grab().save(str(out / "glue_window_small.png"))
    print(f"glue_window_small.png: window {app.width()} x {app.height()}, Explanation options "
          f"{viewer.options.width()} x {viewer.options.height()}")
    viewer.viewer_size = (800, 600)
    settle([viewer])
    viewer.grab().save(str(out / "viewer_800x600.png"))
    print(f"viewer_800x600.png: {viewer.width()} x {viewer.height()}")
    viewer.close(warn=False)
    app.close()


def restored_shot(session, path):
    from glue_qt.app import GlueApplication

    app = GlueApplication.restore_session(str(session), show=False)
    (viewer,) = app.viewers[0]
    viewer.viewer_size = (800, 600)
    viewer.show()
    settle([viewer])
    viewer.grab().save(str(path))
    print(f"{path.name}: {viewer.message!r}")
    viewer.close(warn=False)
    app.close()


def main():
    import glue_xai

    glue_xai.setup()
    out = HERE / "images"
    new_viewer_shots(out)
    restored_shot(SESSIONS / "xai_model_file_0.1.0.glu", out / "session_restored_missing_model.png")
    session = json.loads((SESSIONS / "xai_viewer_0.1.0.glu").read_text())
    session["XAIImageViewer"]["state"]["values"].update(method="st__shap", lime_samples="st__abc")
    with tempfile.TemporaryDirectory() as folder:
        edited = Path(folder) / "edited.glu"
        edited.write_text(json.dumps(session))
        restored_shot(edited, out / "session_restored_defaults.png")


if __name__ == "__main__":
    main()
