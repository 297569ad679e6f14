"""The Classifier wrapper: any shape, any float dtype, NaNs, and safe model files."""
import numpy as np
import pytest
import torch

import glue_xai as gx
from glue_xai.models import Classifier, ModelCard, load_model, save_model
from glue_xai.models.preprocess import fit_to_model, normalise

from helpers import PatchModel, patch_classifier, scene_with_decoys


@pytest.fixture(scope="module")
def model():
    return patch_classifier(batch_size=7)  # small batches so batching itself is exercised


def test_predict_proba_accepts_every_layout_and_dtype(model):
    image = scene_with_decoys()
    one = model.predict_proba(image)
    assert one.shape == (1, 2)
    np.testing.assert_allclose(one.sum(axis=1), 1.0)
    stack = np.stack([image * k for k in (0.5, 1.0, 2.0)] * 7)  # 21 images: three batches of 7
    for layout in (stack, stack[:, None]):
        for dtype in (np.float16, np.float32, np.float64):
            probs = model.predict_proba(layout.astype(dtype))
            assert probs.shape == (21, 2) and probs.dtype == np.float64
            np.testing.assert_allclose(probs[1], one[0], atol=2e-3 if dtype == np.float16 else 1e-6)
    # More flux in the patch -> more "source": the wrapper did not shuffle the batch.
    assert probs[0, 1] < probs[1, 1] < probs[2, 1]


def test_nans_are_missing_sky_not_errors(model):
    image = scene_with_decoys()
    holed = image.copy()
    holed[:5, :] = np.nan  # a NaN border, far from the patch
    probs = model.predict_proba(holed)
    assert np.isfinite(probs).all()
    # The hand-made model ignores everything outside its patch, so NaNs elsewhere change nothing.
    np.testing.assert_allclose(probs, model.predict_proba(image), atol=1e-6)


def test_batch_error_names_the_bad_image(model):
    stack = np.stack([scene_with_decoys(), np.full((64, 64), np.nan)])
    with pytest.raises(ValueError, match="image 1"):
        model.predict_proba(stack)


def test_callable_models_such_as_sklearn():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    bright = rng.random((40, 8, 8)) + np.arange(40)[:, None, None] % 2
    labels = np.arange(40) % 2
    clf = LogisticRegression().fit(bright.reshape(40, -1), labels)
    card = ModelCard(name="sklearn", classes=("faint", "bright"), input_shape=(1, 8, 8),
                     preprocessing={"background": "none", "scale": "none"})
    wrapped = Classifier(lambda x: clf.predict_proba(x.reshape(len(x), -1)), card)
    # The wrapper hands models float32, as torch models get.
    np.testing.assert_allclose(wrapped.predict_proba(bright), clf.predict_proba(bright.reshape(40, -1)), rtol=1e-5)
    assert wrapped.predict(bright[:2]) == ["faint", "bright"]


def test_geometry_crop_pad_resample_round_trip():
    crop = fit_to_model((300, 300), (150, 150))
    assert crop.box == (75.0, 75.0, 225.0, 225.0) and crop.is_plain_crop
    image = np.arange(300 * 300, dtype=float).reshape(300, 300)
    np.testing.assert_array_equal(crop.sample_input(image), image[75:225, 75:225])
    # Twice the pixel scale of the model: the field of view is half as many input pixels.
    coarse = fit_to_model((300, 300), (150, 150), model_scale=1.8, image_scale=3.6)
    assert coarse.box == (112.5, 112.5, 187.5, 187.5)
    ramp = np.tile(np.arange(300, dtype=float), (300, 1))
    sampled = coarse.sample_input(ramp)
    np.testing.assert_allclose(sampled[0, :3], [112.25, 112.75, 113.25])
    back = coarse.to_input(sampled)
    np.testing.assert_allclose(back[150, 120:180], ramp[150, 120:180], atol=1e-9)
    assert back[0, 0] == 0.0
    with pytest.raises(ValueError, match="fit='pad'"):
        fit_to_model((100, 100), (150, 150))
    padded = fit_to_model((100, 100), (150, 150), fit="pad")
    assert padded.box == (-25.0, -25.0, 125.0, 125.0)
    with pytest.raises(ValueError, match="fit must be one of"):
        fit_to_model((100, 100), (150, 150), fit="stretch")


def test_normalise_follows_mirabest_recipe():
    rng = np.random.default_rng(1)
    sky = 1e-4 * rng.standard_normal((150, 150))
    sky[70:80, 70:80] += 5e-3
    out = normalise(sky, {"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"})
    assert out.max() == 1.0
    assert (out[:50, :50] == 0).mean() > 0.99  # pure sky is set to empty sky
    assert (out[70:80, 70:80] > 0.9).all()
    already = np.round(out * 255) / 255  # a dataset-style image goes through unchanged
    np.testing.assert_allclose(normalise(already, {"background": "sigma_clip", "clip_sigma": 3.0,
                                                   "scale": "max"}), already)


def test_state_dict_file_round_trip(tmp_path, model):
    path = tmp_path / "patch.pt"
    card = model.card
    card.architecture = "patch_test"
    from glue_xai.models.architectures import register_architecture

    register_architecture("patch_test", lambda **kw: PatchModel())
    save_model(model, path)
    loaded = load_model(path)
    image = scene_with_decoys()
    np.testing.assert_allclose(loaded.predict_proba(image), model.predict_proba(image))
    assert loaded.classes == ("empty", "source")


def test_pickled_module_is_refused_without_trust(tmp_path):
    path = tmp_path / "whole_model.pt"
    torch.save(PatchModel(), path)  # a pickled object: loading it can run code
    with pytest.raises(ValueError, match="pickled Python objects.*trust=True"):
        load_model(path)
    card = {"name": "trusted", "classes": ["empty", "source"], "input_shape": [1, 64, 64],
            "preprocessing": {"background": "none", "scale": "none"}}
    trusted = load_model(path, card=card, trust=True)
    assert trusted.predict_proba(scene_with_decoys()).shape == (1, 2)


def test_torchscript_is_refused_without_trust(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.trace(PatchModel(), torch.zeros(1, 1, 64, 64)), path)
    with pytest.raises(ValueError, match="TorchScript.*trust=True"):
        load_model(path)
    card = {"name": "scripted", "classes": ["empty", "source"], "input_shape": [1, 64, 64],
            "preprocessing": {"background": "none", "scale": "none"}}
    assert load_model(path, card=card, trust=True).predict_proba(scene_with_decoys()).shape == (1, 2)


def test_weights_without_card_and_unknown_names(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save(PatchModel().state_dict(), path)
    with pytest.raises(ValueError, match="holds only weights"):
        load_model(path)
    with pytest.raises(FileNotFoundError, match="no shipped model or file"):
        load_model("mirabest-fr3")
    with pytest.raises(ValueError, match="do not fit architecture"):
        load_model(path, card={"name": "x", "classes": ["a", "b"], "input_shape": [1, 150, 150],
                               "architecture": "radio_cnn"})


def test_explanation_fits_round_trip(tmp_path, model):
    from astropy.io import fits
    from astropy.wcs import WCS

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [32.5, 32.5]
    wcs.wcs.cdelt = [-0.0005, 0.0005]
    e = gx.explain(model, scene_with_decoys(), method="lime", seed=2, n_samples=50, n_segments=16, wcs=wcs)
    path = tmp_path / "lime.fits"
    e.to_fits(path)
    back = gx.Explanation.from_fits(path)
    np.testing.assert_allclose(back.map, e.map.astype(np.float32))
    np.testing.assert_array_equal(back.segments, e.segments)
    np.testing.assert_allclose(back.weights, e.weights)
    assert (back.method, back.target_name, back.params["seed"]) == ("lime", e.target_name, 2)
    assert back.params["n_samples"] == 50
    assert back.probability == pytest.approx(e.probability)
    with fits.open(path) as hdul:  # DS9 and glue see the sky position of every pixel
        assert WCS(hdul[0].header).wcs.crval[0] == pytest.approx(150.0)
    assert e.params["pixel_scale_arcsec"] == pytest.approx(1.8)


def test_shipped_models_are_listed_and_load():
    from glue_xai.models import shipped_models

    assert "mirabest-fr" in shipped_models()
    spectra = load_model("agn-spectra")
    assert spectra.classes == ("type 1", "intermediate", "type 2")
