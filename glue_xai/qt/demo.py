"""The glue session behind ``glue-xai demo``: real FIRST radio galaxies, explained.

It loads the shipped demo set (40 FIRST cutouts and their catalogue), opens an FR-II
and an FR-I cutout in XAI Image Viewers with a circular region drawn on each source,
and the catalogue in a table viewer.
"""
import time


#: Share of the window's height given to the images; the table gets the strip below.
IMAGE_HEIGHT_FRACTION = 0.72

#: Largest angular sizes that show each class well inside the 270" field of view.
SHOWCASE_LAS_ARCSEC = {"FRII": 120.0, "FRI": 80.0}


def _demo_source(table, fr_class):
    """Row of the confidently classified source of a class whose size is closest to the showcase size."""
    rows = [i for i, row in enumerate(table) if row["fr_class"] == fr_class and row["confidence"] == "confident"]
    if not rows:
        raise ValueError(f"the demo catalogue has no confident {fr_class} source")
    return min(rows, key=lambda i: abs(float(table[i]["las_arcsec"]) - SHOWCASE_LAS_ARCSEC[fr_class]))


def build_demo(app, method="saliency", model="mirabest-fr"):
    """Fill ``app`` with the demo data and viewers; returns the XAI viewers.

    The default is SmoothGrad of the smooth-gradient model: of the shipped models and
    methods, the map a newcomer can read at a glance (a blob on the source, see
    docs/model.rst).
    """
    from glue.core.roi import CircularROI
    from glue.core.subset import RoiSubsetState
    from glue.core.data_factories import load_data
    from glue_qt.viewers.table import TableViewer

    from glue_xai.data.catalogue import read_catalogue
    from glue_xai.data.demo import demo_catalogue_path, demo_folder
    from glue_xai.qt.image_viewer import XAIImageViewer

    table = read_catalogue(demo_catalogue_path())  # the table only: the two images are read below
    catalogue = load_data(str(demo_catalogue_path()))
    catalogue.label = "FIRST demo catalogue"
    app.data_collection.append(catalogue)
    viewers = []
    for fr_class in ("FRII", "FRI"):
        row = table[_demo_source(table, fr_class)]
        image = load_data(str(demo_folder() / row["fits_file"]))
        image.label = f"{row['source_id']} ({fr_class})"
        app.data_collection.append(image)
        viewer = app.new_data_viewer(XAIImageViewer, data=image)
        viewer.state.model = model
        viewer.state.method = method
        ny, nx = image.shape
        radius = max(12.0, min(0.5 * float(row["las_arcsec"]) / 1.8 + 8, 0.45 * min(nx, ny)))
        roi = CircularROI(xc=(nx - 1) / 2, yc=(ny - 1) / 2, radius=radius)
        state = RoiSubsetState(image.pixel_component_ids[1], image.pixel_component_ids[0], roi)
        app.data_collection.new_subset_group(label=f"{row['source_id']} source", subset_state=state)
        viewers.append(viewer)
    app.new_data_viewer(TableViewer, data=catalogue)
    arrange_demo(app)
    return viewers


def arrange_demo(app):
    """Images first: the XAI viewers side by side over most of the window, the catalogue
    table in a strip across the bottom (glue's tiling gave the wide table a third)."""
    from glue_qt.viewers.table import TableViewer

    area = app.current_tab
    width, height = area.width(), area.height()
    viewers = list(app.viewers[0])
    images = [v for v in viewers if not isinstance(v, TableViewer)]
    tables = [v for v in viewers if isinstance(v, TableViewer)]
    top = int(height * IMAGE_HEIGHT_FRACTION) if tables else height
    for i, viewer in enumerate(images):
        left, right = width * i // len(images), width * (i + 1) // len(images)
        viewer.position = (left, 0)
        viewer.viewer_size = (right - left, top)
    for table in tables:
        table.position = (0, top)
        table.viewer_size = (width, height - top)


def wait_until_explained(app, viewers, timeout=120):
    """Let the event loop run until no viewer is computing (or ``timeout`` seconds pass)."""
    from qtpy.QtWidgets import QApplication

    deadline = time.time() + timeout
    time.sleep(0.1)
    QApplication.processEvents()
    while time.time() < deadline:
        QApplication.processEvents()
        if not any(v.busy or v._pending for v in viewers):
            break
        time.sleep(0.02)
    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.05)


def run_demo(screenshot=None, method="saliency", model="mirabest-fr"):
    """Open glue on the demo; with ``screenshot``, render it to that PNG and exit instead."""
    return run_session(lambda app: build_demo(app, method=method, model=model), screenshot)


def run_session(build, screenshot=None):
    """Open glue with the viewers ``build(app)`` makes (and returns); with ``screenshot``,
    render the window to that PNG once they are explained, and return their messages."""
    import os

    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        os.environ.setdefault("GLUE_TESTING", "True")
    from glue_qt.app import GlueApplication

    import glue_xai

    glue_xai.setup()
    app = GlueApplication()
    viewers = build(app)
    if not screenshot:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, lambda: arrange_demo(app))  # once the window has its screen size
        app.start(maximized=True)
        return None
    app.resize(1600, 1000)
    app.show()
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    arrange_demo(app)
    wait_until_explained(app, viewers)
    if not app.grab().save(str(screenshot)):
        app.close()
        raise OSError(f"could not write the screenshot {screenshot}")
    messages = [v.message for v in viewers if v.message]
    app.close()
    return messages
