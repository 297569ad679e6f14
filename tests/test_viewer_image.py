"""The XAI Image Viewer in a headless glue application, on real FIRST cutouts.

Each test draws a region (or selects cutouts), waits for the overlay computed in the
viewer's worker thread, and checks it against ``glue_xai.explain`` run directly on
the same pixels.
"""
import numpy as np
import pytest
from glue.core import Data
from glue.core.roi import CircularROI, RectangularROI
from glue.core.subset import RoiSubsetState

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.methods import Explanation

FRI_FILE = "fits/100_016.236+000.073_0.2797_0058.67.fits"
FRII_FILE = "fits/200_003.845+000.156_0.4401_0024.05.fits"
WAIT_MS = 60000


@pytest.fixture
def fri(mirabest_root):
    return read_cutout(mirabest_root / FRI_FILE)


def open_viewer(app, data, **settings):
    from glue_xai.qt.image_viewer import XAIImageViewer

    gx.setup()
    if data not in app.data_collection:
        app.data_collection.append(data)
    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    for name, value in settings.items():
        setattr(viewer.state, name, value)
    return viewer


def draw(app, data, roi, label="region"):
    """A region drawn on the image's pixels, as glue's selection tools make it."""
    state = RoiSubsetState(data.pixel_component_ids[-1], data.pixel_component_ids[-2], roi)
    return app.data_collection.new_subset_group(label, state)


def explanation_layer(viewer):
    (artist,) = viewer.explanation_layers()
    return artist


def wait_for_overlay(qtbot, viewer):
    artist = explanation_layer(viewer)
    qtbot.waitUntil(lambda: artist.explanation is not None and not viewer.busy, timeout=WAIT_MS)
    return artist


def inside_roi(roi, shape):
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    return roi.contains(xx, yy)


def expected_overlay(model, image, wcs, roi, method, **options):
    """``explain`` on the pixels under the region's bounding box, placed back on the image."""
    rows, cols = np.nonzero(inside_roi(roi, image.shape))
    y0, y1, x0, x1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    direct = gx.explain(model, image[y0:y1, x0:x1], method=method, fit="pad", wcs=wcs[y0:y1, x0:x1], **options)
    overlay = np.full(image.shape, np.nan)
    overlay[y0:y1, x0:x1] = direct.map
    return overlay, direct


def assert_same_map(actual, expected):
    """Equal up to float32 rounding: the worker thread's torch may use another thread count,
    which changes the order of float32 sums (relative differences ~1e-5)."""
    peak = np.nanmax(np.abs(expected))
    assert peak > 0
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * peak, equal_nan=True)


def test_viewer_is_registered_with_glue():
    from glue.config import qt_client

    from glue_xai.qt.image_viewer import XAIImageViewer

    gx.setup()
    assert XAIImageViewer in qt_client.members
    assert XAIImageViewer.LABEL == "XAI Image Viewer"


def test_rectangle_overlay_is_saliency_of_the_pixels_under_it(app, qtbot, fri, reference_model):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    roi = RectangularROI(100, 200, 90, 210)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    expected, direct = expected_overlay(reference_model, fri.image, fri.wcs, roi, "saliency")
    assert_same_map(artist.overlay_array(), expected)
    assert np.nanmax(expected) > 0
    assert artist.explanation.target_name == direct.target_name
    assert f"p = {direct.probability:.2f}" in artist.legend_text()
    assert artist.mpl_artists, "nothing was drawn"


def test_circle_overlay_is_lime_of_the_pixels_under_it(app, qtbot, fri, reference_model):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="lime", lime_samples=100, seed=3, target="FRI")
    roi = CircularROI(150.0, 150.0, 45.0)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    expected, direct = expected_overlay(reference_model, fri.image, fri.wcs, roi, "lime", seed=3, target="FRI",
                                        n_samples=100)
    assert_same_map(artist.overlay_array(), expected)
    np.testing.assert_array_equal(artist.explanation.segments, direct.segments)
    assert artist.explanation.target_name == "FRI"
    assert artist.legend_text().startswith("region: FRI  p = ")


def test_stack_explains_the_current_cutout_and_caches_each_slice(app, qtbot, mirabest_root, reference_model):
    cutouts = [read_cutout(mirabest_root / name) for name in (FRI_FILE, FRII_FILE)]
    cube = np.stack([c.image for c in cutouts])
    data = Data(label="stack", cutouts=cube)
    viewer = open_viewer(app, data, method="gradcam")
    draw(app, data, RectangularROI(140, 160, 140, 160))
    first = wait_for_overlay(qtbot, viewer).explanation
    direct = [gx.explain(reference_model, image, method="gradcam", fit="pad") for image in cube]
    assert_same_map(first.map, direct[0].map)

    viewer.state.slices = (1, 0, 0)
    artist = explanation_layer(viewer)
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.region.slice_index == (1,)
                    and not viewer.busy, timeout=WAIT_MS)
    assert_same_map(artist.explanation.map, direct[1].map)

    # Going back is served by the cache: the very same result, with no job queued.
    viewer.state.slices = (0, 0, 0)
    qtbot.waitUntil(lambda: artist.region.slice_index == (0,), timeout=WAIT_MS)
    assert artist.explanation is first
    assert not viewer.busy


def test_integrated_gradients_of_the_probability_chosen_in_the_options(app, qtbot, fri, reference_model):
    # The "Differentiate" row: the logit by default (the map the catalogue's size columns
    # measure), the probability on request.
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="integrated_gradients")
    options = viewer.options_widget()
    assert options.widget_gradient_output.isVisibleTo(options)  # shown for gradient methods
    assert viewer.state.gradient_output == "logit"
    options.widget_gradient_output.setCurrentIndex(options.widget_gradient_output.findText("probability"))
    assert viewer.state.gradient_output == "probability"
    roi = RectangularROI(74.5, 224.5, 74.5, 224.5)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    expected, direct = expected_overlay(reference_model, fri.image, fri.wcs, roi, "integrated_gradients",
                                        output="probability")
    assert_same_map(artist.overlay_array(), expected)
    assert artist.explanation.params["output"] == "probability"
    assert "of the logit" not in artist.legend_text()
    logit, _ = expected_overlay(reference_model, fri.image, fri.wcs, roi, "integrated_gradients")
    assert not np.allclose(np.nan_to_num(logit), np.nan_to_num(expected))
    viewer.state.method = "gradcam"
    assert not options.widget_gradient_output.isVisibleTo(options)


def test_new_pixel_values_are_explained_afresh_not_served_from_the_cache(app, qtbot, fri, reference_model):
    # Values edited in place keep the data, the slice and the region: the cache key's
    # pixel digest and the viewer's data-changed handler must both notice.
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    roi = RectangularROI(74.5, 224.5, 74.5, 224.5)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    before = artist.explanation
    flipped = fri.image[::-1, ::-1].copy()
    data.update_components({data.id["image"]: flipped})
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.explanation is not before
                    and not viewer.busy, timeout=WAIT_MS)
    expected, _ = expected_overlay(reference_model, flipped, fri.wcs, roi, "saliency")
    assert_same_map(artist.overlay_array(), expected)
    assert not np.allclose(artist.explanation.map, before.map)
    # Putting the old values back is served by the cache: the first result, no job.
    data.update_components({data.id["image"]: fri.image})
    qtbot.waitUntil(lambda: artist.explanation is before, timeout=WAIT_MS)
    assert not viewer.busy


def test_a_setting_the_method_does_not_use_leaves_the_running_job_alone(app, qtbot, fri):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="lime", lime_samples=3000)
    draw(app, data, RectangularROI(70, 230, 70, 230))
    artist = explanation_layer(viewer)
    qtbot.waitUntil(lambda: artist in viewer._jobs, timeout=WAIT_MS)
    running = viewer._jobs[artist]
    viewer.state.ig_steps = 9  # integrated gradients' setting: LIME's job is still the one wanted
    qtbot.wait(200)  # past the request delay
    assert not running.cancelled and viewer._jobs.get(artist) in (running, None)
    qtbot.waitUntil(lambda: artist.explanation is not None and not viewer.busy, timeout=WAIT_MS)
    assert artist.job_key == running.key
    shown = artist.explanation
    viewer.state.noise_level = 0.2  # SmoothGrad's: the shown map stays, nothing is recomputed
    qtbot.wait(200)
    assert artist.explanation is shown and not viewer.busy


def test_moving_the_region_drops_the_stale_result(app, qtbot, fri, reference_model):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="lime", lime_samples=3000)
    group = draw(app, data, RectangularROI(70, 230, 70, 230))
    artist = explanation_layer(viewer)
    qtbot.waitUntil(lambda: viewer.status.progress.value() > 0, timeout=WAIT_MS)
    first_job = viewer._jobs[artist]
    viewer.state.lime_samples = 100
    moved = RectangularROI(110, 190, 100, 200)
    group.subset_state = RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0], moved)
    artist = wait_for_overlay(qtbot, viewer)
    assert first_job.cancelled
    expected, _ = expected_overlay(reference_model, fri.image, fri.wcs, moved, "lime", n_samples=100)
    assert_same_map(artist.overlay_array(), expected)


def test_cancel_button_stops_the_computation(app, qtbot, fri):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="lime", lime_samples=20000)
    draw(app, data, RectangularROI(70, 230, 70, 230))
    artist = explanation_layer(viewer)
    qtbot.waitUntil(lambda: viewer.status.progress.value() > 0, timeout=WAIT_MS)
    assert not viewer.status.button_cancel.isHidden()
    job = viewer._jobs[artist]
    viewer.status.button_cancel.click()
    qtbot.waitUntil(lambda: not viewer.worker.busy, timeout=WAIT_MS)
    assert job.cancelled and artist.explanation is None
    assert "cancelled" in viewer.message
    assert viewer.status.progress.isHidden()


def test_closing_mid_computation_leaves_no_thread_running(app, qtbot, fri):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="lime", lime_samples=20000)
    draw(app, data, RectangularROI(70, 230, 70, 230))
    qtbot.waitUntil(lambda: viewer.status.progress.value() > 0, timeout=WAIT_MS)
    thread = viewer.worker.thread
    assert thread.isRunning()
    viewer.close(warn=False)
    assert not thread.isRunning() and thread.isFinished()


def test_a_failure_is_a_message_in_the_viewer(app, qtbot, fri):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    draw(app, data, RectangularROI(149.6, 150.4, 149.6, 150.4))  # one pixel: nothing to classify
    qtbot.waitUntil(lambda: "constant" in viewer.message, timeout=WAIT_MS)
    assert explanation_layer(viewer).explanation is None
    assert not viewer.busy


def test_a_refused_model_file_is_reported_in_the_viewer(app, qtbot, fri, tmp_path):
    import torch

    path = tmp_path / "pickled_model.pt"
    torch.save(torch.nn.Linear(3, 2), path)  # a pickled module: the safe loader refuses it
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data)
    assert viewer.load_model_file(path) is False
    assert "pickled_model.pt" in viewer.message and "pickled" in viewer.message
    assert viewer.state.model == "mirabest-fr"


def test_a_model_file_saved_safely_is_loaded_and_used(app, qtbot, fri, tmp_path, reference_model):
    from glue_xai.models import save_model

    path = tmp_path / "my_model.pt"
    save_model(reference_model, path)
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="gradcam")
    assert viewer.load_model_file(path)
    assert viewer.state.model == str(path.resolve())
    roi = RectangularROI(100, 200, 90, 210)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    expected, _ = expected_overlay(reference_model, fri.image, fri.wcs, roi, "gradcam")
    assert_same_map(artist.overlay_array(), expected)


def test_export_writes_the_map_with_the_image_wcs_and_a_png(app, qtbot, fri, tmp_path):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    draw(app, data, RectangularROI(100, 200, 90, 210))
    artist = wait_for_overlay(qtbot, viewer)
    fits_path, png_path = viewer.export_explanation(tmp_path / "explanation.fits")
    written = Explanation.from_fits(fits_path)
    np.testing.assert_allclose(written.map, artist.explanation.map, rtol=1e-6)
    y0, y1, x0, x1 = artist.region.box
    sky = fri.wcs.pixel_to_world(x0 + 10, y0 + 20)
    np.testing.assert_allclose(written.wcs.world_to_pixel(sky), (10, 20), atol=1e-6)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_session_round_trip_keeps_every_setting_and_recomputes(app, qtbot, fri, tmp_path):
    from glue_qt.app import GlueApplication

    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer_settings = dict(method="lime", target="FRII", lime_samples=120, segmentation="felzenszwalb",
                           n_segments=40, segment_scale=80.0, smoothgrad_samples=7, noise_level=0.3, ig_steps=9,
                           gradient_output="logit", seed=11)
    viewer = open_viewer(app, data, **viewer_settings)
    draw(app, data, CircularROI(150.0, 150.0, 40.0))
    artist = wait_for_overlay(qtbot, viewer)
    layer_settings = dict(opacity=0.4, show_heatmap=False, signed_cmap="PuOr_r", magnitude_cmap="viridis",
                          show_contours=True, contour_percentiles="80, 95", show_boundaries=False, top_k=2,
                          show_legend=False)
    for name, value in layer_settings.items():
        setattr(artist.state, name, value)
    original = artist.overlay_array()
    session = tmp_path / "session.glu"
    app.save_session(str(session), include_data=True)

    restored_app = GlueApplication.restore_session(str(session), show=False)
    try:
        (restored,) = restored_app.viewers[0]
        for name, value in viewer_settings.items():
            assert getattr(restored.state, name) == value, name
        restored_artist = explanation_layer(restored)
        for name, value in layer_settings.items():
            assert getattr(restored_artist.state, name) == value, name
        qtbot.waitUntil(lambda: restored_artist.explanation is not None and not restored.busy, timeout=WAIT_MS)
        assert_same_map(restored_artist.overlay_array(), original)
    finally:
        for restored_viewer in list(restored_app.viewers[0]):
            restored_viewer.close(warn=False)
        restored_app.close()


def test_option_panels_drive_the_state_and_recompute(app, qtbot, fri):
    from glue_xai.qt.image_options import ExplanationStyleEditor

    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="gradcam")
    draw(app, data, RectangularROI(100, 200, 90, 210))
    artist = wait_for_overlay(qtbot, viewer)
    options = viewer.options
    assert options.ui.tab_widget.tabText(0) == "Explanation"

    options.combosel_method.setCurrentIndex(options.combosel_method.findText("LIME"))
    assert viewer.state.method == "lime"
    assert not options.widget_lime_samples.isHidden() and options.widget_noise_level.isHidden()
    options.widget_lime_samples.setValue(100)
    assert viewer.state.lime_samples == 100
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.explanation.method == "lime"
                    and not viewer.busy, timeout=WAIT_MS)
    targets = [options.combosel_target.itemText(i) for i in range(options.combosel_target.count())]
    assert targets == ["predicted class", "FRI", "FRII"]

    # Recompute ignores the cache: a new result object, the same numbers (same seed).
    before = artist.explanation
    options.button_recompute.click()
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.explanation is not before
                    and not viewer.busy, timeout=WAIT_MS)
    assert_same_map(artist.explanation.map, before.map)

    editor = ExplanationStyleEditor(artist)
    editor.value_opacity.setValue(30)
    assert artist.state.opacity == pytest.approx(0.3)
    editor.bool_show_contours.setChecked(True)
    editor.text_contour_percentiles.setText("50, 90")
    editor.text_contour_percentiles.editingFinished.emit()
    assert artist.state.show_contours and artist.state.contour_levels() == [50.0, 90.0]
    drawn_alpha = max(a.get_array()[..., 3].max() for a in artist.mpl_artists if hasattr(a, "get_array")
                      and getattr(a.get_array(), "ndim", 0) == 3 and a.get_array().dtype != np.uint8)
    assert drawn_alpha == pytest.approx(0.3)


def test_salient_extent_is_drawn_as_a_line_across_the_region(app, qtbot, fri):
    from glue_xai.methods.measure import extent_line, salient_extent

    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="integrated_gradients")
    draw(app, data, RectangularROI(74.5, 224.5, 74.5, 224.5))
    artist = wait_for_overlay(qtbot, viewer)
    n_before = len(artist.mpl_artists)
    artist.state.show_extent = True
    result = salient_extent(artist.explanation.map, wcs=artist.region.wcs)
    (xa, ya), (xb, yb) = extent_line(result)
    lines = [a for a in artist.mpl_artists if hasattr(a, "get_xdata")]
    assert len(artist.mpl_artists) == n_before + 2
    y0, _, x0, _ = artist.region.box
    np.testing.assert_allclose(lines[-1].get_xdata(), [x0 + xa, x0 + xb])
    np.testing.assert_allclose(lines[-1].get_ydata(), [y0 + ya, y0 + yb])
    assert result["extent_arcsec"] > 5


def test_extent_line_wanted_before_the_request_is_measured_in_the_worker(app, qtbot, fri):
    from glue_xai.viewer.explanation_job import measure_salient_extent

    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="integrated_gradients")
    subset = draw(app, data, RectangularROI(74.5, 224.5, 74.5, 224.5))
    artist = wait_for_overlay(qtbot, viewer)
    assert "salient_extent" not in artist.explanation.extras  # not measured when the line is off
    artist.state.show_extent = True
    subset.subset_state = RoiSubsetState(data.pixel_component_ids[-1], data.pixel_component_ids[-2],
                                         RectangularROI(70.5, 230.5, 70.5, 230.5))
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.region.box[0] == 71 and not viewer.busy,
                    timeout=WAIT_MS)
    measured = artist.explanation.extras["salient_extent"]  # came with the explanation from the worker
    assert measured["extent_arcsec"] == measure_salient_extent(artist.explanation, artist.region.wcs)["extent_arcsec"]


def test_legend_says_no_source_on_empty_sky(app, qtbot, fri):
    """Beam-correlated noise at FIRST's rms: the legend says so instead of a confident class."""
    from scipy import ndimage

    noise = ndimage.gaussian_filter(np.random.default_rng(3).standard_normal((300, 300)), 1.27)
    empty = Data(label="empty sky", image=1.5e-4 * noise / noise.std(), coords=fri.wcs)
    viewer = open_viewer(app, empty, method="saliency")
    draw(app, empty, RectangularROI(74.5, 224.5, 74.5, 224.5))
    artist = wait_for_overlay(qtbot, viewer)
    assert not artist.explanation.extras["assessment"].has_source
    assert "no source" in artist.legend_text() and "model would say" in artist.legend_text()


@pytest.mark.parametrize("method", ["occlusion", "rise", "shapley"])
def test_the_perturbation_methods_run_in_the_viewer(app, qtbot, fri, reference_model, method):
    from glue_xai.viewer.image_state import available_methods

    assert method in available_methods()
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    # Eight superpixels: Shapley values are then exact (256 coalitions), which keeps this quick.
    viewer = open_viewer(app, data, method=method, seed=2, n_segments=8)
    roi = RectangularROI(100, 200, 90, 210)
    draw(app, data, roi)
    artist = wait_for_overlay(qtbot, viewer)
    assert artist.explanation.method == method and method in artist.legend_text()
    if method == "rise":
        # 2000 masks at the defaults: computing them again here would double the test's
        # time; RISE's equality with explain is tested on its own (test_explain_methods).
        assert artist.explanation.params["n_masks"] == 2000 and artist.explanation.params["seed"] == 2
        assert np.isfinite(artist.overlay_array()).any()
        return
    # The viewer hands shapley its superpixel settings (shared with LIME), the others their defaults.
    options = viewer.state.method_settings()
    if method == "shapley":
        assert options["n_segments"] == 8
    expected, direct = expected_overlay(reference_model, fri.image, fri.wcs, roi, method, seed=2, **options)
    assert_same_map(artist.overlay_array(), expected)
