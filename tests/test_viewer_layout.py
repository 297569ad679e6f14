"""What a person sees first: legible option panels in a small window, radio maps shown as
radio astronomers show them, and a demo whose images dominate."""
import numpy as np
from glue.core import Data
from qtpy import QtWidgets

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout

FRI_FILE = "fits/100_016.236+000.073_0.2797_0058.67.fits"


def open_viewer(app, data):
    from glue_xai.qt.image_viewer import XAIImageViewer

    gx.setup()
    app.data_collection.append(data)
    return app.new_data_viewer(XAIImageViewer, data=data)


def settle(times=5):
    for _ in range(times):
        QtWidgets.QApplication.processEvents()


def visible_rows(form):
    """Geometries of the visible widgets of a form layout, in its widget's coordinates."""
    rects = []
    for i in range(form.count()):
        widget = form.itemAt(i).widget()
        if widget is None and form.itemAt(i).layout() is not None:
            widget = form.itemAt(i).layout().itemAt(0).widget()
        if widget is not None and widget.isVisible():
            rects.append((widget, widget.geometry()))
    return rects


def assert_no_overlap(rects):
    for i, (a, ra) in enumerate(rects):
        assert ra.height() >= a.minimumSizeHint().height() - 1, type(a).__name__
        for b, rb in rects[i + 1:]:
            assert not ra.intersects(rb), (type(a).__name__, ra, type(b).__name__, rb)


def test_option_panels_scroll_rather_than_squeeze_in_a_small_window(app, mirabest_root):
    cutout = read_cutout(mirabest_root / FRI_FILE)
    viewer = open_viewer(app, Data(label="FR-I", image=cutout.image, coords=cutout.wcs))
    viewer.state.method = "lime"  # the method with the most settings rows
    options = viewer.options
    # glue's window asked for 800 x 600 (it grows to glue's own minimum height, 800).
    app.resize(800, 600)
    app.show()
    settle(20)
    assert app.width() == 800 and options.height() < 350
    scroll = options.scroll_explanation
    content = scroll.widget()
    assert scroll.verticalScrollBar().maximum() > 0  # the rest is a scroll away
    rows = visible_rows(content.layout())
    assert len(rows) >= 10
    assert_no_overlap(rows)
    # Nothing of the Explanation tab makes glue's window taller than glue's own image viewer does.
    from glue_qt.viewers.image import ImageViewer

    plain = app.new_data_viewer(ImageViewer, data=viewer.state.reference_data)
    assert options.minimumSizeHint().height() <= plain.options.minimumSizeHint().height()
    plain.close(warn=False)


def test_layer_style_editor_scrolls_too(app, mirabest_root):
    from glue.core.roi import CircularROI
    from glue.core.subset import RoiSubsetState

    from glue_xai.qt.image_options import ExplanationStyleEditor

    cutout = read_cutout(mirabest_root / FRI_FILE)
    data = Data(label="FR-I", image=cutout.image, coords=cutout.wcs)
    viewer = open_viewer(app, data)
    app.data_collection.new_subset_group("source", RoiSubsetState(data.pixel_component_ids[1],
                                                                  data.pixel_component_ids[0],
                                                                  CircularROI(150.0, 150.0, 30.0)))
    (artist,) = viewer.explanation_layers()
    editor = ExplanationStyleEditor(artist)
    assert editor.minimumSizeHint().height() < 120
    editor.resize(300, 150)
    editor.show()  # a window of its own here, so it is shown at this size
    settle()
    assert editor.scroll.verticalScrollBar().maximum() > 0
    assert_no_overlap(visible_rows(editor.scroll.widget().layout()))
    editor.close()


def canvas_brightness(viewer, xy_pixels):
    """Grey level (0-1) of the drawn canvas at image pixels ``xy_pixels``."""
    canvas = viewer.figure.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())[..., :3].mean(axis=-1) / 255.0
    display = viewer.axes.transData.transform(np.asarray(xy_pixels, dtype=float))
    cols = np.round(display[:, 0]).astype(int)
    rows = np.round(rgba.shape[0] - display[:, 1]).astype(int)
    return rgba[rows, cols]


def test_a_new_viewer_shows_the_radio_source_bright_on_a_dark_sky(app, mirabest_root):
    cutout = read_cutout(mirabest_root / FRI_FILE)
    image = cutout.image
    viewer = open_viewer(app, Data(label="FR-I", image=image, coords=cutout.wcs))
    state = viewer.layers[0].state
    sky = np.nanmedian(image)
    sigma = 1.4826 * np.nanmedian(np.abs(image - sky))
    assert state.stretch == "sqrt"
    assert state.v_min == sky + 2 * sigma and state.v_max == 0.5 * np.nanmax(image)
    viewer.state.x_min, viewer.state.x_max = 0, 299
    viewer.state.y_min, viewer.state.y_max = 0, 299
    settle()
    source = np.column_stack(np.nonzero(image > np.nanpercentile(image, 99.8))[::-1])  # brightest pixels
    typical_sky = np.column_stack(np.nonzero(np.abs(image - sky) < sigma)[::-1])[::50]

    def contrast():
        """How much brighter the source is drawn than the sky (grey levels, 0-1)."""
        return np.median(canvas_brightness(viewer, source)) - np.median(canvas_brightness(viewer, typical_sky))

    radio = contrast()
    sky_level = np.median(canvas_brightness(viewer, typical_sky))
    assert sky_level < 0.25  # glue's darkest grey: the noise does not show
    # glue's own min/max linear limits draw the same source much closer to the sky.
    state.stretch, state.percentile = "linear", "Custom"
    state.v_min, state.v_max = np.nanmin(image), np.nanmax(image)
    settle()
    linear = contrast()
    print(f"source - sky contrast: radio display {radio:.2f}, min/max linear {linear:.2f}")
    assert radio > 0.4 and radio > 2 * linear


def test_a_restored_session_keeps_its_own_display(qapp):
    from pathlib import Path

    from glue_qt.app import GlueApplication

    gx.setup()
    restored = GlueApplication.restore_session(str(Path(__file__).parent / "data" / "xai_viewer_0.1.0.glu"),
                                               show=False)
    try:
        (viewer,) = restored.viewers[0]
        state = viewer.layers[0].state if viewer.layers[0].layer is viewer.state.reference_data \
            else viewer.layers[1].state
        assert state.stretch == "linear"  # as saved by 0.1.0, not the new default
        assert np.isclose(state.v_min, -0.000663228, rtol=1e-5) and np.isclose(state.v_max, 0.0222423, rtol=1e-5)
    finally:
        for viewer in list(restored.viewers[0]):
            viewer.close(warn=False)
        restored.close()


def test_the_demo_gives_the_images_most_of_the_window(app):
    from glue_qt.viewers.table import TableViewer

    from glue_xai.qt.demo import arrange_demo, build_demo

    app.resize(1600, 1000)
    app.show()
    settle()
    build_demo(app, method="saliency", model="mirabest-fr")
    arrange_demo(app)
    settle()
    area = app.current_tab
    total = area.width() * area.height()
    sizes = {v: v.viewer_size[0] * v.viewer_size[1] for v in app.viewers[0]}
    (table,) = [v for v in sizes if isinstance(v, TableViewer)]
    images = [v for v in sizes if not isinstance(v, TableViewer)]
    assert len(images) == 2
    assert all(sizes[v] > 1.2 * sizes[table] for v in images)
    assert sum(sizes[v] for v in images) > 0.65 * total
    # Side by side over the table, none overlapping.
    (x0, y0), (x1, y1), (xt, yt) = images[0].position, images[1].position, table.position
    assert y0 == y1 == 0 and x1 >= x0 + images[0].viewer_size[0] and yt >= images[0].viewer_size[1]
