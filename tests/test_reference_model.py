"""The shipped MiraBest FR-I/FR-II model: accuracy, and the same answer on raw FITS."""
import numpy as np
import pytest

import glue_xai as gx
from glue_xai.models.evaluate import (legacy_validation_accuracy, raw_batch_agreement, report_accuracy,
                                      validation_accuracy)

#: A floor under the report-part accuracy docs/trust.rst quotes (a regression guard).
REPORT_ACCURACY_FLOOR = 0.88


def test_card_describes_the_model(reference_model):
    card = reference_model.card
    assert reference_model.classes == ("FRI", "FRII")
    assert card.input_shape == (1, 150, 150) and card.pixel_scale_arcsec == 1.8
    assert card.preprocessing["background"] == "sigma_clip"
    assert any("Miraghaei" in c for c in card.info["citations"])
    assert "non-commercial" in card.info["terms_of_use"]


def test_card_records_the_tune_validation(reference_model, mirabest_root):
    result = validation_accuracy(reference_model, mirabest_root)
    assert result["n_images"] == 106
    # The card reports what the recipe measured, and the weights still give it.
    assert result["accuracy"] == pytest.approx(reference_model.card.info["tune_validation"]["accuracy"], abs=0.015)
    assert 0.5 < reference_model.card.temperature < 2.0


def test_report_part_accuracy(reference_model, mirabest_root):
    """The report part's dataset images: never trained on, never tuned on."""
    result = report_accuracy(reference_model, mirabest_root)
    assert result["n_images"] == 176
    assert result["accuracy"] >= REPORT_ACCURACY_FLOOR, result
    assert min(result["recall"].values()) >= 0.80, result


@pytest.mark.parametrize("name", ["mirabest-fr-0.1", "mirabest-fr-smooth"])
def test_older_models_on_their_own_split(name, mirabest_root):
    result = legacy_validation_accuracy(gx.load_model(name), mirabest_root)
    assert result["n_images"] == 140
    assert result["accuracy"] >= 0.90, result


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
    # Batch 1's tune part only: its report-part sources are never trained on.
    from glue_xai.data.mirabest import load_mirabest_batches
    from glue_xai.data.splits import dev_split

    data = load_mirabest_batches(mirabest_root, [1])
    tune, report = dev_split(mirabest_root).batch_indices(data)
    assert len(report) > 0
    assert card.info["validation_split"]["n_images"] == round(0.2 * (data.labels[tune] == 0).sum()) + \
        round(0.2 * (data.labels[tune] == 1).sum())
    assert 0.0 <= card.info["tune_validation"]["accuracy"] <= 1.0
    assert model.ood_reference is not None  # written beside the weights for gx.assess
