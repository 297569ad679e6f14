"""Multi-band models: which band mattered, and the bands fed from glue components by name."""
import numpy as np
import pytest
from glue.core import Data
from glue.core.roi import RectangularROI

import glue_xai as gx
from glue_xai.data.galaxies import simulate_galaxies
from test_viewer_image import WAIT_MS, draw, open_viewer, wait_for_overlay


@pytest.fixture(scope="module")
def galaxy():
    images, truth = simulate_galaxies(4, seed=11)[:2]
    k = int(np.flatnonzero(np.asarray(truth["barred"]))[0])
    return images[k]


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "integrated_gradients"])
def test_gradient_maps_say_which_band_mattered(galaxy, method):
    model = gx.load_model("galaxy-bars")
    e = gx.explain(model, galaxy, method=method, seed=0)
    assert e.extras["band_names"] == ["g", "r", "z"]
    shares = np.array(e.extras["band_relevance"])
    assert shares.shape == (3,) and np.all(shares >= 0) and shares.sum() == pytest.approx(1.0)
    maps = e.extras["band_maps"]
    assert maps.shape == (3, 64, 64)
    # The combined map is the bands' sum (signed maps), so the per-band maps are its parts.
    np.testing.assert_allclose(maps.sum(axis=0), e.model_map, rtol=1e-5, atol=1e-6 * np.abs(e.model_map).max())  # float32 sums
    magnitude = np.abs(maps).reshape(3, -1).sum(axis=1)
    np.testing.assert_allclose(shares, magnitude / magnitude.sum())


def test_one_band_models_report_no_bands(reference_model, mirabest_root):
    from glue_xai.data.cutouts import read_cutout

    cutout = read_cutout(sorted((mirabest_root / "fits").glob("*.fits"))[0])
    e = gx.explain(reference_model, cutout.image, method="saliency", wcs=cutout.wcs)
    assert "band_relevance" not in e.extras


def test_the_viewer_feeds_the_bands_from_components_named_after_them(app, qtbot, galaxy):
    data = Data(label="galaxy", g=galaxy[0], r=galaxy[1], z=galaxy[2])
    viewer = open_viewer(app, data, model="galaxy-bars", method="saliency", seed=0)
    draw(app, data, RectangularROI(-0.5, 63.5, -0.5, 63.5))
    artist = wait_for_overlay(qtbot, viewer)
    e = artist.explanation
    assert e.model_input.shape == (3, 64, 64)
    direct = gx.explain(gx.load_model("galaxy-bars"), galaxy, method="saliency", seed=0, fit="pad")
    np.testing.assert_allclose(e.model_map, direct.model_map, rtol=1e-5, atol=1e-9)
    assert "bands: g" in artist.legend_text()
    # One band's part of the map on request (the layer's Band setting).
    artist.state.band = "r"
    r_part = e.placement.to_input(e.extras["band_maps"][1], fill=0.0)
    np.testing.assert_allclose(artist.shown_map(), r_part)
    np.testing.assert_allclose(artist.overlay_array(), artist.region.place(r_part))
    assert "(showing r)" in artist.legend_text()
    artist.state.band = "u"
    np.testing.assert_allclose(artist.shown_map(), e.map)
    assert "no band 'u'" in artist.legend_text()


def test_missing_bands_are_named_and_the_bands_setting_maps_them(app, qtbot, galaxy):
    data = Data(label="galaxy", g_img=galaxy[0], r_img=galaxy[1], z_img=galaxy[2])
    viewer = open_viewer(app, data, model="galaxy-bars", method="saliency", seed=0)
    draw(app, data, RectangularROI(-0.5, 63.5, -0.5, 63.5))
    qtbot.waitUntil(lambda: "no component" in viewer.message, timeout=WAIT_MS)
    assert "'g', 'r', 'z'" in viewer.message and "Bands setting" in viewer.message
    viewer.options.text_bands.setText("G_img, r_img, z_img")  # typed in the options panel
    viewer.options.text_bands.editingFinished.emit()
    assert viewer.state.bands == "G_img, r_img, z_img"
    artist = wait_for_overlay(qtbot, viewer)
    assert artist.explanation.model_input.shape == (3, 64, 64)
