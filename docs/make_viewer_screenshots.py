"""Render the XAI Image Viewer headless, once per method on a real FR-I and FR-II source.

Writes ``docs/images/viewer_<method>_<FRI|FRII>.png``: the whole viewer window (toolbar,
image, overlay, legend, status line) as a person would see it. Run from the checkout:

    python docs/make_viewer_screenshots.py [--mirabest ../shared/data/mirabest]

Each screenshot draws the same region: a 150 x 150 pixel box on the cutout's centre,
which is exactly the classifier's field of view (150 pixels at 1.8 arcsec), so the
overlay explains the same decision as classifying the whole cutout. Methods run with
their default settings.
"""
import argparse
import os
import time
from pathlib import Path


os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
# Standard-morphology sources the shipped model gets right with high probability
# (p = 0.91 and 0.98); both are in the report part of the dev split, never trained on.
SOURCES = {"FRI": "fits/100_120.907+010.845_0.1423_0082.92.fits",
           "FRII": "fits/200_121.019+015.560_0.2682_0049.15.fits"}
BOX = (74.5, 224.5, 74.5, 224.5)  # xmin, xmax, ymin, ymax in pixels: 150 x 150 pixel centres
VIEW = (55, 245)  # zoom: pixel range shown on both axes


def radio_display(viewer, data, peak_fraction=0.5):
    """The viewer's own radio display (glue_xai.viewer.radio_display) with another white
    point: sky + 2 sigma black, ``peak_fraction`` of the peak white, square-root stretch."""
    from glue_xai.viewer.radio_display import apply_radio_display

    state = viewer.layers[0].state
    apply_radio_display(state, data.get_data(state.attribute), peak_fraction)


def screenshot(app, data, method, path, show_extent=False, settings=None):
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from qtpy import QtWidgets

    from glue_xai.qt.image_viewer import XAIImageViewer

    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    viewer.viewer_size = (760, 700)
    viewer.show()
    radio_display(viewer, data)
    viewer.state.method = method
    for name, value in (settings or {}).items():  # e.g. {"gradient_output": "logit"}
        setattr(viewer.state, name, value)
    roi = RectangularROI(*BOX)
    group = app.data_collection.new_subset_group(
        "source box", RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0], roi))
    viewer.state.x_min, viewer.state.x_max = VIEW
    viewer.state.y_min, viewer.state.y_max = VIEW
    artist = viewer.explanation_layers()[0]
    artist.state.show_extent = show_extent  # the measured salient extent as a labelled line
    start = time.perf_counter()
    while artist.explanation is None or viewer.busy:
        QtWidgets.QApplication.processEvents()
        if viewer.message or time.perf_counter() - start > 300:
            raise RuntimeError(f"{method}: no explanation ({viewer.message or 'timed out'})")
        time.sleep(0.01)
    QtWidgets.QApplication.processEvents()
    viewer.figure.canvas.draw()
    viewer.grab().save(str(path))
    summary = f"{path.name}: {artist.legend_text().replace(chr(10), ' | ')}"
    viewer.close(warn=False)
    app.data_collection.remove_subset_group(group)
    return summary


def each_source(description):
    """Parse ``--mirabest``/``--out``, start glue, and yield ``(app, fr_class, file name,
    data, out folder)`` for each of :data:`SOURCES`; glue is closed afterwards."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--mirabest", default=None, help="MiraBest folder (default: GLUE_XAI_MIRABEST or ../shared)")
    parser.add_argument("--out", default=str(HERE / "images"))
    args = parser.parse_args()

    from glue.core import Data
    from glue_qt.app import GlueApplication

    import glue_xai
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.data.mirabest import mirabest_root

    glue_xai.setup()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    app = GlueApplication()
    for fr_class, name in SOURCES.items():
        cutout = read_cutout(mirabest_root(args.mirabest) / name)
        data = Data(label=f"{fr_class} {cutout.name}", image=cutout.image, coords=cutout.wcs)
        app.data_collection.append(data)
        yield app, fr_class, name, data, out
    app.close()


def main():
    from glue_xai.methods.api import MODEL_SPECIFIC_METHODS
    from glue_xai.viewer.image_state import available_methods

    # SFNet features need the SFNet model: docs/make_sfnet_figures.py shows them.
    methods = [m for m in available_methods() if m not in MODEL_SPECIFIC_METHODS]
    for app, fr_class, _, data, out in each_source(__doc__.splitlines()[0]):
        for method in methods:
            print(screenshot(app, data, method, out / f"viewer_{method}_{fr_class}.png"))


if __name__ == "__main__":
    main()
