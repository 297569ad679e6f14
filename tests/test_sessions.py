"""Saved sessions always come back: from an earlier release, with a model file that has gone,
and with values this installation cannot use (replaced by defaults, with a note saying so)."""
import json
from pathlib import Path

import numpy as np
import pytest
from glue.core import Data
from glue.core.roi import CircularROI
from glue.core.subset import RoiSubsetState
from glue_qt.app import GlueApplication

import glue_xai as gx
from glue_xai.viewer.image_state import PREDICTED, VIEWER_LIME_SAMPLES

DATA = Path(__file__).parent / "data"
RELEASE_VIEWER = DATA / "xai_viewer_0.1.0.glu"
RELEASE_MODEL_FILE = DATA / "xai_model_file_0.1.0.glu"
# What tests/data/make_release_sessions.py set in the 0.1.0 viewer session.
RELEASE_SETTINGS = dict(method="lime", target="FRII", lime_samples=120, segmentation="felzenszwalb", n_segments=40,
                        segment_scale=80.0, smoothgrad_samples=7, noise_level=0.3, ig_steps=9,
                        gradient_output="logit", seed=11)
WAIT_MS = 60000


@pytest.fixture
def restore(qapp):
    """Restore a .glu file (or JSON text) headless; the viewers and apps are closed afterwards."""
    apps = []

    def restore_session(path):
        gx.setup()
        app = GlueApplication.restore_session(str(path), show=False)
        apps.append(app)
        (viewer,) = app.viewers[0]
        return app, viewer

    yield restore_session
    for app in apps:
        for viewer in list(app.viewers[0]):
            viewer.close(warn=False)
        app.close()


def edited_session(tmp_path, **values):
    """The 0.1.0 viewer session with some of the XAI viewer's saved values replaced."""
    session = json.loads(RELEASE_VIEWER.read_text())
    saved = session["XAIImageViewer"]["state"]["values"]
    for name, value in values.items():
        saved[name] = f"st__{value}" if isinstance(value, str) else value
    path = tmp_path / "edited.glu"
    path.write_text(json.dumps(session))
    return path


def wait_for_explanation(qtbot, viewer):
    (artist,) = viewer.explanation_layers()
    qtbot.waitUntil(lambda: artist.explanation is not None and not viewer.busy, timeout=WAIT_MS)
    return artist.explanation


def test_a_release_session_restores_every_setting_and_explains(restore, qtbot):
    app, viewer = restore(RELEASE_VIEWER)
    for name, value in RELEASE_SETTINGS.items():
        assert getattr(viewer.state, name) == value, name
    assert viewer.restore_notes == [] and viewer.message == ""
    explanation = wait_for_explanation(qtbot, viewer)
    assert (explanation.method, explanation.target_name) == ("lime", "FRII")
    assert explanation.params["n_samples"] == 120 and explanation.params["seed"] == 11
    assert explanation.params["segmentation"] == "felzenszwalb"
    assert np.isfinite(explanation.map).all() and np.abs(explanation.map).max() > 0


def test_a_session_whose_model_file_has_gone_shows_the_image_and_says_so(restore, qtbot):
    # Saved by 0.1.0 with the class "compact" of a model file deleted since: 0.1.0 itself
    # could not restore it ("value compact is not in valid choices").
    app, viewer = restore(RELEASE_MODEL_FILE)
    missing = "/tmp/tmpq0drq3bi/compact_or_extended.pt"
    assert not Path(missing).exists()
    assert viewer.state.model == missing and viewer.state.target == PREDICTED
    assert f"model file not found: {missing}" in viewer.message
    assert "class 'compact'" in viewer.message and "predicted class" in viewer.message
    # The data, the region and the image are all back.
    (image,) = [layer for layer in viewer.layers if layer.layer is viewer.state.reference_data]
    assert image.visible and image.layer.shape == (150, 150)
    assert [s.label for s in app.data_collection.subset_groups] == ["source"]
    (artist,) = viewer.explanation_layers()
    qtbot.waitUntil(lambda: not viewer.busy and not viewer._pending and bool(artist.message), timeout=WAIT_MS)
    assert artist.explanation is None and f"model file not found: {missing}" in artist.message
    # Picking a shipped model explains again, and the notes about the restore go.
    viewer.state.model = "mirabest-fr"
    assert wait_for_explanation(qtbot, viewer).model_name == "mirabest-fr"
    assert "not found" not in viewer.message and "Restored" not in viewer.message


def test_a_session_saved_now_survives_its_model_file_being_deleted(app, qtbot, tmp_path, mirabest_root):
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.models import save_model
    from glue_xai.qt.image_viewer import XAIImageViewer

    gx.setup()
    model = gx.load_model("mirabest-fr")
    model.card.classes = ("compact", "extended")
    model_path = tmp_path / "my_model.pt"
    save_model(model, model_path)
    cutout = read_cutout(mirabest_root / "fits/100_016.236+000.073_0.2797_0058.67.fits")
    data = Data(label="FR-I", image=cutout.image, coords=cutout.wcs)
    app.data_collection.append(data)
    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    assert viewer.load_model_file(model_path)
    viewer.state.target = "extended"
    app.data_collection.new_subset_group("source", RoiSubsetState(data.pixel_component_ids[1],
                                                                  data.pixel_component_ids[0],
                                                                  CircularROI(150.0, 150.0, 40.0)))
    session = tmp_path / "session.glu"
    app.save_session(str(session), include_data=True)
    model_path.unlink()

    restored_app = GlueApplication.restore_session(str(session), show=False)
    try:
        (restored,) = restored_app.viewers[0]
        assert f"model file not found: {model_path.resolve()}" in restored.message
        assert "class 'extended'" in restored.message
        np.testing.assert_array_equal(restored.state.reference_data["image"], cutout.image)
    finally:
        for restored_viewer in list(restored_app.viewers[0]):
            restored_viewer.close(warn=False)
        restored_app.close()


@pytest.mark.parametrize("name, saved, default, reason", [
    ("method", "shap", "saliency", "is not known here"),
    ("lime_samples", "abc", VIEWER_LIME_SAMPLES, "is not a number"),
    ("model", "no-such-model", "mirabest-fr", "is not known here"),
    ("seed", -1, 0, "is outside 0..2147483647"),
    ("n_segments", 2.5, 64, "is not a whole number"),
])
def test_an_unusable_value_falls_back_to_its_default_with_a_note(restore, tmp_path, name, saved, default, reason):
    app, viewer = restore(edited_session(tmp_path, **{name: saved}))
    assert getattr(viewer.state, name) == default
    assert f"{saved!r} {reason}, using {default!r}" in viewer.message
    assert viewer.message.startswith("Restored with defaults:")
    # Everything else in the session is kept.
    kept = {key: value for key, value in RELEASE_SETTINGS.items() if key != name}
    if name == "method":  # the class is the model's, independent of the method
        assert viewer.state.target == "FRII"
    for key, value in kept.items():
        if name == "model" and key == "target":
            continue
        assert getattr(viewer.state, key) == value, key


def test_several_unusable_values_at_once_still_explain_with_the_defaults(restore, qtbot, tmp_path):
    path = edited_session(tmp_path, method="shap", lime_samples="abc", model="no-such-model")
    session = json.loads(path.read_text())
    session["XAIExplanationLayerState"]["values"]["signed_cmap"] = "st__rainbow"
    session["XAIExplanationLayerState"]["values"]["opacity"] = "st__half"
    path.write_text(json.dumps(session))
    app, viewer = restore(path)
    (artist,) = viewer.explanation_layers()
    assert (viewer.state.method, viewer.state.model, viewer.state.lime_samples) == \
        ("saliency", "mirabest-fr", VIEWER_LIME_SAMPLES)
    assert (artist.state.signed_cmap, artist.state.opacity) == ("RdBu_r", 0.6)
    for note in ("method 'shap'", "LIME samples 'abc'", "model 'no-such-model'", "signed colour map 'rainbow'",
                 "opacity 'half'"):
        assert note in viewer.message, note
    explanation = wait_for_explanation(qtbot, viewer)
    assert (explanation.method, explanation.model_name, explanation.target_name) == \
        ("saliency", "mirabest-fr", "FRII")
