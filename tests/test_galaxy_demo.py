"""``glue-xai demo --galaxies``: simulated g, r, z galaxies explained by the 3-band models in glue."""
import numpy as np

from test_viewer_image import WAIT_MS


def test_the_galaxy_demo_explains_a_barred_galaxy_and_its_bulge_fraction(app, qtbot):
    import glue_xai as gx
    from glue_xai.qt.galaxy_demo import DEMO_SEED, build_galaxy_demo
    from glue_xai.data.galaxies import simulate_galaxies

    bars, bulge = build_galaxy_demo(app, n=6)
    for viewer in (bars, bulge):
        qtbot.waitUntil(lambda: not viewer.busy and not viewer._pending
                        and viewer.explanation_layers()[0].explanation is not None, timeout=WAIT_MS)
    shown = bars.explanation_layers()[0]
    e = shown.explanation
    assert e.model_input.shape == (3, 64, 64)  # the g, r, z components, as the model's bands
    images, truth = simulate_galaxies(6, seed=DEMO_SEED)
    k = int(np.flatnonzero(np.asarray(truth["barred"]))[0])
    direct = gx.explain(gx.load_model("galaxy-bars"), images[k], method=e.method, seed=0, fit="pad")
    np.testing.assert_allclose(e.model_map, direct.model_map, rtol=1e-5, atol=1e-9)
    assert "barred" in shown.legend_text() and "bands: g" in shown.legend_text()
    ratio = bulge.explanation_layers()[0]
    assert ratio.explanation.regression
    # It opens on a galaxy with a bulge, and its answer is that galaxy's bulge fraction.
    b = bulge.state.slices[0]
    assert truth["bulge_to_total"][b] >= 0.2
    assert abs(ratio.explanation.probability - truth["bulge_to_total"][b]) < 0.1
    assert ratio.legend_text().startswith("galaxy: bulge_to_total = ")
    # A regression SFNet explains its value as a bias plus its features' contributions.
    extras = ratio.explanation.extras
    assert abs(extras["bias"] + sum(extras["contributions"]) - ratio.explanation.probability) < 1e-4
    # Both open on the g, r, z colour image (glue's one colour per layer), the maps as contours.
    from glue_xai.viewer.colour_display import COLOUR_MODE, ONE_BAND_MODE

    for viewer in (bars, bulge):
        assert viewer.state.color_mode == COLOUR_MODE and viewer.shown_band() == "colour"
        assert [(layer.attribute.label, layer.color) for layer in viewer._image_layers()] == [
            ("g", "#0000ff"), ("r", "#00ff00"), ("z", "#ff0000")]
        assert viewer.explanation_layers()[0].state.show_contours
    # One band on request, the same map drawn over it as a heat map.
    shown_map = shown.overlay_array()
    assert bars.show_one_band() and bars.shown_band() == "r" and bars.state.color_mode == ONE_BAND_MODE
    assert shown.state.show_heatmap and not bars.busy
    np.testing.assert_allclose(shown.overlay_array(), shown_map)
