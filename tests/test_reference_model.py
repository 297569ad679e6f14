"""The shipped MiraBest FR-I/FR-II model: accuracy, and the same answer on raw FITS."""
import numpy as np
import pytest

import glue_xai as gx
from glue_xai.models.evaluate import raw_batch_agreement, validation_accuracy


def test_card_describes_the_model(reference_model):
    card = reference_model.card
    assert reference_model.classes == ("FRI", "FRII")
    assert card.input_shape == (1, 150, 150) and card.pixel_scale_arcsec == 1.8
    assert card.preprocessing["background"] == "sigma_clip"
    assert any("Miraghaei" in c for c in card.info["citations"])
    assert "non-commercial" in card.info["terms_of_use"]


@pytest.mark.parametrize("name", ["mirabest-fr", "mirabest-fr-smooth"])
def test_validation_accuracy(name, mirabest_root):
    reference_model = gx.load_model(name)
    result = validation_accuracy(reference_model, mirabest_root)
    assert result["n_images"] == 140
    assert result["accuracy"] >= 0.90, result
    assert min(result["recall"].values()) >= 0.85, result
    # The card reports what the recipe measured, and the weights still give it.
    assert result["accuracy"] == pytest.approx(reference_model.card.info["validation_accuracy"], abs=0.015)


@pytest.mark.parametrize("name", ["mirabest-fr", "mirabest-fr-smooth"])
def test_raw_fits_and_dataset_image_agree(name, mirabest_root):
    result = raw_batch_agreement(gx.load_model(name), mirabest_root)
    assert result["n_sources"] == 200
    assert result["agreement"] >= 0.95, result
    assert result["median_probability_difference"] < 0.02, result


def test_fits_pixel_scale_is_respected(reference_model, mirabest_root):
    from glue_xai.data.cutouts import read_cutout

    path = sorted((mirabest_root / "fits").glob("200_*.fits"))[0]
    cutout = read_cutout(path)
    same = reference_model.predict_proba(cutout.image, pixel_scale_arcsec=1.8)
    # Pretending the pixels are twice as large shrinks the source for the model.
    other = reference_model.predict_proba(cutout.image, pixel_scale_arcsec=3.6)
    assert not np.allclose(same, other)
    e = gx.explain(reference_model, cutout.image, method="gradcam", wcs=cutout.wcs)
    assert e.params["pixel_scale_arcsec"] == pytest.approx(1.8, rel=1e-3)
    assert e.map.shape == (300, 300) and np.all(e.map[:70] == 0)


def test_training_recipe_smoke(tmp_path, mirabest_root):
    from glue_xai.models.train import train

    card = train(tmp_path, epochs=1, batches=[1], root=mirabest_root, log=lambda *_: None)
    model = gx.load_model(tmp_path / "mirabest_fr.pt", card=tmp_path / "mirabest_fr.json")
    assert model.classes == ("FRI", "FRII")
    assert card.info["validation_split"]["n_images"] == 18
    assert 0.0 <= card.info["validation_accuracy"] <= 1.0
