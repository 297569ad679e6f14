"""A multi-band model's bands as glue's colour image, with the explanation drawn over it.

Three glue datasets g, r, z on one WCS (three FITS files dragged into the viewer) feed a
3-band model; the viewer shows them in glue's *One color per layer* mode, the overlay is
drawn where the map's relevance is, and a saved session brings all of it back.
"""
from contextlib import contextmanager

import numpy as np
import pytest
from astropy.wcs import WCS
from glue.core import Data
from glue.core.roi import RectangularROI
from glue.plugins.wcs_autolinking.wcs_autolinking import wcs_autolink
from glue_qt.app import GlueApplication

import glue_xai as gx
from glue_xai.data.galaxies import PIXEL_SCALE_ARCSEC, simulate_galaxies
from glue_xai.viewer.colour_display import COLOUR_MODE, ONE_BAND_MODE, band_colours, band_display_limits
from test_viewer_image import WAIT_MS, draw, open_viewer

# Resizing a glue image viewer keeps its old picture for 0.5 s (mpl-scatter-density's
# resize debounce): renders compared here wait longer than that first.
SETTLE_MS = 700


@pytest.fixture(scope="module")
def galaxy():
    images, truth = simulate_galaxies(4, seed=11)[:2]
    return images[int(np.flatnonzero(np.asarray(truth["barred"]))[0])]


def sky_wcs(size=64):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cdelt = [-PIXEL_SCALE_ARCSEC / 3600, PIXEL_SCALE_ARCSEC / 3600]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    return wcs


def three_band_viewer(app, galaxy):
    """g, r, z as three datasets on one WCS (each FITS file's PRIMARY), linked as glue's WCS
    autolinking links them, all three in one XAI viewer explaining with galaxy-bars."""
    bands = [Data(label=band, coords=sky_wcs(), PRIMARY=galaxy[k]) for k, band in enumerate("grz")]
    for data in bands:
        app.data_collection.append(data)
    app.data_collection.add_link(wcs_autolink(app.data_collection))
    viewer = open_viewer(app, bands[0], model="galaxy-bars", method="saliency", seed=0)
    for data in bands[1:]:
        viewer.add_data(data)
    return viewer, bands


def wait_for_map(qtbot, viewer):
    shown = [a for a in viewer.explanation_layers() if a.layer.data is viewer.state.reference_data]
    (artist,) = shown
    qtbot.waitUntil(lambda: artist.explanation is not None and not viewer.busy and not viewer._pending,
                    timeout=WAIT_MS)
    return artist


@contextmanager
def restored_viewer(app, path):
    """``app``'s session saved to ``path`` and restored: its one viewer, closed afterwards."""
    app.save_session(str(path))
    restored = GlueApplication.restore_session(str(path), show=False)
    try:
        (again,) = restored.viewers[0]
        yield again
    finally:
        for opened in list(restored.viewers[0]):
            opened.close(warn=False)
        restored.close()


def render(viewer, qtbot):
    qtbot.wait(SETTLE_MS)
    viewer.figure.canvas.draw()
    return np.asarray(viewer.figure.canvas.buffer_rgba())[..., :3].astype(float)


def screen_pixel(viewer, x, y):
    """The rendered (row, column) of data pixel (x, y)."""
    px, py = viewer.axes.transData.transform((x, y))
    height = viewer.figure.canvas.get_width_height()[1]
    return int(round(height - py)), int(round(px))


def test_band_colours_run_from_blue_to_red_by_wavelength():
    assert band_colours(["g", "r", "z"]) == {"g": "#0000ff", "r": "#00ff00", "z": "#ff0000"}
    # A model taking its bands red first still shows z red: known filters go by wavelength.
    assert band_colours(["z", "r", "g"]) == {"g": "#0000ff", "r": "#00ff00", "z": "#ff0000"}
    # Unknown names keep the card's order, bluest first.
    assert band_colours(["blue", "red"]) == {"blue": "#0000ff", "red": "#ff0000"}


def test_band_limits_run_from_the_sky_to_the_bright_end():
    rng = np.random.default_rng(0)
    sky = rng.normal(0.01, 0.004, size=(64, 64))
    sky[30:34, 30:34] += 1.0
    v_min, v_max = band_display_limits(sky)
    assert v_min == pytest.approx(0.01, abs=0.001)
    assert 0.02 < v_max <= 1.02
    # A stack of cutouts: the typical cutout's bright end, not the brightest galaxy's.
    stack = np.stack([sky, sky, sky * 10])
    assert band_display_limits(stack)[1] == pytest.approx(v_max)
    assert band_display_limits(np.zeros((8, 8))) is None
    assert band_display_limits(np.full((8, 8), np.nan)) is None


def test_three_datasets_in_colour_with_the_overlay_where_the_relevance_is(app, qtbot, galaxy, tmp_path):
    viewer, (g, r, z) = three_band_viewer(app, galaxy)
    draw(app, g, RectangularROI(-0.5, 63.5, -0.5, 63.5))
    assert viewer.show_bands_in_colour()
    assert viewer.state.color_mode == COLOUR_MODE and viewer.shown_band() == "colour"
    layers = {layer.layer.label: layer for layer in viewer._image_layers()}
    assert {band: (layer.color, layer.visible, layer.stretch) for band, layer in layers.items()} == {
        "g": ("#0000ff", True, "arcsinh"), "r": ("#00ff00", True, "arcsinh"), "z": ("#ff0000", True, "arcsinh")}
    assert viewer.options.combo_show_bands.currentText() == "g, r, z in colour"

    artist = wait_for_map(qtbot, viewer)
    # The three datasets are the model's bands: the same map as explaining the (3, H, W) image.
    e = artist.explanation
    np.testing.assert_allclose(e.model_input.shape, (3, 64, 64))
    direct = gx.explain(gx.load_model("galaxy-bars"), galaxy, method="saliency", seed=0, fit="pad")
    np.testing.assert_allclose(e.model_map, direct.model_map, rtol=1e-5, atol=1e-9)
    # The r and z datasets' layers of the same region stay quiet: the region is explained once.
    assert viewer.message == ""
    # Over the colour image the map is drawn as contours.
    assert artist.state.show_contours and not artist.state.show_heatmap

    relevance = artist.overlay_array()
    peak_y, peak_x = np.unravel_index(np.nanargmax(np.abs(relevance)), relevance.shape)
    artist.state.visible, artist.state.show_legend = False, False
    plain = render(viewer, qtbot)
    artist.state.visible = True
    contours = render(viewer, qtbot)
    # Every pixel the contours change lies by a contoured data pixel (|relevance| at or above
    # the lowest level, give or take one pixel for the line's width), and there are lines
    # within two pixels of the map's peak. The region's outline (along the image's edges,
    # the region being the whole image) is left out.
    changed = np.abs(contours - plain).max(axis=2) > 40
    level = np.percentile(np.abs(relevance[relevance != 0]), min(artist.state.contour_levels()))
    near = np.zeros_like(relevance, dtype=bool)
    strong = np.abs(relevance) >= level
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            near |= np.roll(np.roll(strong, dy, axis=0), dx, axis=1)
    height = viewer.figure.canvas.get_width_height()[1]
    rows, cols = np.nonzero(changed)
    xy = viewer.axes.transData.inverted().transform(np.column_stack([cols, height - rows]))
    ix, iy = np.round(xy[:, 0]).astype(int), np.round(xy[:, 1]).astype(int)
    inside = (ix >= 3) & (ix < 61) & (iy >= 3) & (iy < 61)
    assert inside.sum() > 500
    assert near[iy[inside], ix[inside]].mean() > 0.98
    assert np.hypot(ix[inside] - peak_x, iy[inside] - peak_y).min() <= 2
    # As a heat map, the overlay changes the colour image most at the map's peak.
    artist.state.show_heatmap, artist.state.show_contours = True, False
    heat = render(viewer, qtbot)
    row, col = screen_pixel(viewer, peak_x, peak_y)
    at_peak = np.abs(heat[row, col] - plain[row, col]).max()
    quiet_y, quiet_x = np.unravel_index(np.nanargmin(np.abs(relevance)), relevance.shape)
    row, col = screen_pixel(viewer, quiet_x, quiet_y)
    at_quiet = np.abs(heat[row, col] - plain[row, col]).max()
    assert at_peak > 30 and at_quiet < at_peak / 4
    artist.state.show_heatmap, artist.state.show_contours, artist.state.show_legend = False, True, True

    # The session keeps the colour display and the explanation layer; the map comes back.
    with restored_viewer(app, tmp_path / "colour.glu") as again:
        assert again.state.color_mode == COLOUR_MODE and again.shown_band() == "colour"
        def look(layer):
            return layer.color, layer.visible, layer.v_min, layer.v_max, layer.stretch, dict(layer.stretch_parameters)

        assert {layer.layer.label: look(layer) for layer in again._image_layers()} == {
            band: look(layer) for band, layer in layers.items()}
        back = wait_for_map(qtbot, again)
        assert back.state.show_contours and not back.state.show_heatmap
        np.testing.assert_allclose(back.overlay_array(), relevance, equal_nan=True)
        # Back to one band in the restored viewer: r alone, in grey, under a heat map.
        combo = again.options.combo_show_bands
        combo.setCurrentIndex(combo.findData("r"))
        combo.activated.emit(combo.currentIndex())
        assert again.state.color_mode == ONE_BAND_MODE and again.shown_band() == "r"
        assert [layer.layer.label for layer in again._image_layers() if layer.visible] == ["r"]
        assert back.state.show_heatmap and not back.state.show_contours
        np.testing.assert_allclose(back.overlay_array(), relevance, equal_nan=True)


def test_one_dataset_of_band_components_in_colour_and_back(app, qtbot, galaxy, tmp_path):
    """A multi-extension file (or merged data): one dataset, a layer of it per band."""
    data = Data(label="galaxy", g=galaxy[0], r=galaxy[1], z=galaxy[2])
    viewer = open_viewer(app, data, model="galaxy-bars", method="saliency", seed=0)
    draw(app, data, RectangularROI(-0.5, 63.5, -0.5, 63.5))
    assert viewer.show_bands_in_colour()
    assert [(layer.attribute.label, layer.color) for layer in viewer._image_layers()] == [
        ("g", "#0000ff"), ("r", "#00ff00"), ("z", "#ff0000")]
    artist = wait_for_map(qtbot, viewer)
    relevance = artist.overlay_array()
    artist.state.visible = False
    colour = render(viewer, qtbot)
    assert viewer.show_one_band("z") and viewer.shown_band() == "z"
    assert [(layer.attribute.label, layer.visible) for layer in viewer._image_layers()] == [
        ("g", False), ("r", False), ("z", True)]
    grey = render(viewer, qtbot)
    # Over the galaxy's pixels: grey in one band, coloured (a channel apart) in the composite.
    centres = [screen_pixel(viewer, x, y) for y in range(4, 60, 4) for x in range(4, 60, 4)]
    grey_spread = [np.ptp(grey[row, col]) for row, col in centres]
    colour_spread = [np.ptp(colour[row, col]) for row, col in centres]
    assert max(grey_spread) < 2 and max(colour_spread) > 20
    artist.state.visible = True
    assert not viewer.show_one_band("u") and "no band 'u'" in viewer.message
    assert viewer.show_bands_in_colour() and viewer.shown_band() == "colour"
    assert len(viewer._image_layers()) == 3  # the spare layers are reused, not multiplied
    np.testing.assert_allclose(artist.overlay_array(), relevance, equal_nan=True)

    with restored_viewer(app, tmp_path / "components.glu") as again:
        assert again.state.color_mode == COLOUR_MODE and again.shown_band() == "colour"
        assert [(layer.attribute.label, layer.color, layer.visible) for layer in again._image_layers()] == [
            (layer.attribute.label, layer.color, layer.visible) for layer in viewer._image_layers()]
        back = wait_for_map(qtbot, again)
        np.testing.assert_allclose(back.overlay_array(), relevance, equal_nan=True)


def test_a_one_band_model_has_no_colour_display(app, reference_model, mirabest_root):
    from glue_xai.data.cutouts import read_cutout

    cutout = read_cutout(sorted((mirabest_root / "fits").glob("*.fits"))[0])
    viewer = open_viewer(app, Data(label="radio", flux=cutout.image), model="mirabest-fr")
    assert not viewer.show_bands_in_colour()
    assert "takes one band" in viewer.message
    assert viewer.state.color_mode == ONE_BAND_MODE
    assert not viewer.options.combo_show_bands.isVisibleTo(viewer.options)


def test_choosing_a_one_band_model_leaves_the_colour_display(app, qtbot, galaxy):
    """galaxy-bars in colour, then a one-band model chosen: one band in grey, the heat map back."""
    data = Data(label="galaxy", g=galaxy[0], r=galaxy[1], z=galaxy[2])
    viewer = open_viewer(app, data, model="galaxy-bars", method="saliency", seed=0)
    draw(app, data, RectangularROI(-0.5, 63.5, -0.5, 63.5))
    assert viewer.show_bands_in_colour()
    artist = wait_for_map(qtbot, viewer)
    assert artist.state.show_contours and not artist.state.show_heatmap
    viewer.state.model = "mirabest-fr"
    assert viewer.state.color_mode == ONE_BAND_MODE
    assert artist.state.show_heatmap and not artist.state.show_contours
    assert not viewer.options.combo_show_bands.isVisibleTo(viewer.options)
    viewer.state.model = "galaxy-bars"  # back: the user chooses colour again if wanted
    assert viewer.state.color_mode == ONE_BAND_MODE and viewer.show_bands_in_colour()
