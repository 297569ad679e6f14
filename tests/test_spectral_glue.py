"""Spectra in glue: the spectrum viewer draws explain_spectrum's map, and catalogue
selections pick spectra. Headless (tests/conftest.py sets QT_QPA_PLATFORM=offscreen)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
pytest.importorskip("glue_qt")

from glue_xai.data.spectra import synthetic_agn_spectra  # noqa: E402
from glue_xai.methods.spectral import explain_spectrum  # noqa: E402
from glue_xai.models.spectral import load_spectrum_model  # noqa: E402
from glue_xai.viewer.spectrum_data import (WavelengthCoordinates, add_saliency, link_catalogue,  # noqa: E402
                                           spectra_catalogue, spectra_data, spectrum_data)


@pytest.fixture(scope="module")
def model(agn_model):
    return agn_model


@pytest.fixture(scope="module")
def spectra():
    return synthetic_agn_spectra(4, seed=21)


def layer_artist_of(viewer, layer):
    return next(a for a in viewer.layers if a.layer is layer)


def test_wavelength_coordinates_round_trip(spectra):
    coords = WavelengthCoordinates(spectra.wavelength, n_dim=2)
    pixels = np.array([-2.0, 0.0, 10.5, len(spectra.wavelength) - 1.0, len(spectra.wavelength) + 3.0])
    world, source = coords.pixel_to_world_values(pixels, np.zeros(5))
    np.testing.assert_allclose(world[1:4], [spectra.wavelength[0], np.mean(spectra.wavelength[10:12]),
                                            spectra.wavelength[-1]])
    back, _ = coords.world_to_pixel_values(world, source)
    np.testing.assert_allclose(back, pixels, atol=1e-9)


def test_viewer_draws_the_saliency_of_a_spectrum(app, model, spectra):
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    flux = spectra.flux[0]
    data = spectrum_data(flux, spectra.wavelength, label="agn 0")
    app.data_collection.append(data)
    explanation = add_saliency(data, model, method="saliency")[0]
    expected = explain_spectrum(model, flux, "saliency", wavelength=spectra.wavelength)
    viewer = app.new_data_viewer(SpectrumSaliencyViewer, data=data)
    artist = layer_artist_of(viewer, data)
    assert artist.state.attribute.label == "flux" and artist.state.saliency_attribute.label == "saliency"
    x, saliency = artist.saliency_artist.get_data()
    np.testing.assert_allclose(x, spectra.wavelength)
    np.testing.assert_allclose(saliency, expected.map / np.abs(expected.map).max(), rtol=1e-14, atol=0)
    viewer.state.saliency_scaling = "common"
    x, saliency = artist.saliency_artist.get_data()
    np.testing.assert_array_equal(saliency, expected.map)
    np.testing.assert_array_equal(explanation.map, expected.map)
    np.testing.assert_array_equal(artist.plot_artist.get_ydata(), flux)
    assert artist.saliency_artist.get_visible()
    assert viewer.state.x_axislabel == "Wavelength (Å)"
    # the emission lines are marked, and hiding the saliency hides the curve
    names = {t.get_text() for t in viewer.axes.texts}
    assert {"Hα", "Hβ", "[O III]", "[N II]", "[S II]"} <= names
    artist.state.show_saliency = False
    assert not artist.saliency_artist.get_visible()
    # the Qt controls drive the same state
    viewer.options_widget().bool_show_lines.setChecked(False)
    assert viewer.state.show_lines is False and viewer.line_markers.artists == []
    editor = viewer._layer_style_widget_cls(artist)
    editor.bool_show_saliency.setChecked(True)
    assert artist.state.show_saliency and artist.saliency_artist.get_visible()
    viewer.close(warn=False)


def test_selecting_sources_in_the_catalogue_shows_their_saliency(app, model, spectra):
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    stack = spectra_data(spectra.flux, spectra.wavelength)
    maps = add_saliency(stack, model, method="saliency")
    catalogue = spectra_catalogue(spectra.flux, spectra.wavelength, model=model, seed=0,
                                  true_types=spectra.class_names)
    app.data_collection.extend([stack, catalogue])
    link_catalogue(catalogue, stack)
    assert {"tsne_x", "tsne_y", "predicted_type", "p_type_1"} <= {c.label for c in catalogue.main_components}
    assert np.isfinite(catalogue["tsne_x"]).all()
    viewer = app.new_data_viewer(SpectrumSaliencyViewer, data=stack)
    viewer.state.saliency_scaling = "common"
    chosen = 5
    app.data_collection.new_subset_group(label="one source", subset_state=catalogue.id["source_index"] == chosen)
    subset = stack.subsets[0]
    artist = layer_artist_of(viewer, subset)
    _, saliency = artist.saliency_artist.get_data()
    np.testing.assert_allclose(saliency, maps[chosen].map, rtol=1e-12, atol=0)
    np.testing.assert_allclose(artist.plot_artist.get_ydata(), spectra.flux[chosen], rtol=1e-12)
    # the whole stack shows the mean saliency
    _, mean_saliency = layer_artist_of(viewer, stack).saliency_artist.get_data()
    np.testing.assert_allclose(mean_saliency, np.mean([m.map for m in maps], axis=0), rtol=1e-9, atol=1e-15)
    viewer.close(warn=False)


def test_demo_session(app):
    from glue_xai.qt.spectrum_demo import build_spectrum_demo

    viewer, scatter = build_spectrum_demo(app, n_per_type=3)
    spectra, catalogue = app.data_collection
    assert len(app.data_collection.subset_groups) == 3 and scatter.state.x_att is catalogue.id["tsne_x"]
    drawn = [a for a in viewer.layers if a.layer in spectra.subsets]
    assert len(drawn) == 3 and all(a.saliency_artist.get_visible() for a in drawn)
    # each selected source is one row of the stack: its curve is its own saliency, scaled
    for artist in drawn:
        row = int(np.flatnonzero(artist.layer.to_mask()[:, 0])[0])
        own = spectra["saliency"][row]
        np.testing.assert_allclose(artist.saliency_artist.get_ydata(), own / np.abs(own).max(), rtol=1e-12)


def test_session_round_trip(app, tmp_path):
    from glue_qt.app import GlueApplication

    from glue_xai.qt.spectrum_demo import build_spectrum_demo
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    build_spectrum_demo(app, n_per_type=2)
    before = app.data_collection[0]["saliency"].copy()
    app.save_session(str(tmp_path / "spectra.glu"))
    restored = GlueApplication.restore_session(str(tmp_path / "spectra.glu"))
    try:
        spectra = restored.data_collection[0]
        assert isinstance(spectra.coords, WavelengthCoordinates)
        np.testing.assert_array_equal(spectra["saliency"], before)
        viewer = next(v for v in restored.viewers[0] if isinstance(v, SpectrumSaliencyViewer))
        drawn = [a for a in viewer.layers if a.layer in spectra.subsets]
        # the catalogue selections still pick their spectra after the round trip
        assert len(drawn) == 3 and all(a.enabled and len(a.saliency_artist.get_ydata()) == len(before[0])
                                       for a in drawn)
        # what made the saliency survives too, so the method choice can redo it
        assert spectra.meta["saliency"]["method"] == viewer.state.method == "saliency"
        assert spectra.meta["saliency"]["model"] == "agn-spectra"
    finally:
        restored.close()


def test_registered_with_glue():
    from glue.config import qt_client

    import glue_xai
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    glue_xai.setup()
    assert SpectrumSaliencyViewer in qt_client.members


def test_choosing_another_method_recomputes_the_saliency_shown(app, model, spectra, qtbot):
    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    stack = spectra_data(spectra.flux, spectra.wavelength)
    add_saliency(stack, model, method="saliency", seed=3)
    app.data_collection.append(stack)
    viewer = app.new_data_viewer(SpectrumSaliencyViewer, data=stack)
    viewer.state.saliency_scaling = "common"
    assert viewer.state.method == "saliency" and not viewer.computing_saliency  # opening recomputes nothing
    assert viewer.state.saliency_status == "saliency of agn-spectra"
    # The Qt combo drives the state; the maps come from the worker thread.
    options = viewer.options_widget()
    options.combosel_method.setCurrentIndex(options.combosel_method.findText("integrated_gradients"))
    assert viewer.state.method == "integrated_gradients"
    qtbot.waitUntil(lambda: not viewer.computing_saliency, timeout=60000)
    expected = [explain_spectrum(model, f, "integrated_gradients", seed=3, wavelength=spectra.wavelength).map
                for f in spectra.flux]
    np.testing.assert_allclose(stack["saliency"], expected, rtol=1e-12, atol=0)
    assert stack.meta["saliency"]["method"] == "integrated_gradients" and stack.meta["saliency"]["seed"] == 3
    _, drawn = layer_artist_of(viewer, stack).saliency_artist.get_data()
    np.testing.assert_allclose(drawn, np.mean(expected, axis=0), rtol=1e-9, atol=1e-15)
    assert options.label_saliency_status.text() == "integrated_gradients of agn-spectra"
    # A model the viewer cannot load is reported under the controls, not raised.
    stack.meta["saliency"]["model"] = "/nowhere/my-model"
    viewer.state.method = "smoothgrad"
    qtbot.waitUntil(lambda: not viewer.computing_saliency, timeout=60000)
    assert "could not explain" in viewer.state.saliency_status and "no spectrum model" in viewer.state.saliency_status
    np.testing.assert_allclose(stack["saliency"], expected, rtol=1e-12, atol=0)  # nothing lost
    viewer.close(warn=False)
