"""Models that predict numbers: explained on the value itself, with its unit, by every method."""
import numpy as np
import pytest

import glue_xai as gx
from glue_xai.methods.metrics_faithfulness import deletion_curve
from glue_xai.models import Classifier, ModelCard

from helpers import PatchModel, scene_with_decoys

PATCH = (slice(10, 22), slice(40, 52))
GAIN = 2.0


class PatchFlux(PatchModel):
    """Predicts GAIN x the summed flux in one patch (and, as a second output, minus it)."""

    def __init__(self):
        super().__init__(patch=PATCH, gain=GAIN)

    def forward(self, x):
        return super().forward(x).flip(1)


def regression_model():
    card = ModelCard(name="patch-flux", classes=("patch_flux", "minus_flux"), input_shape=(1, 64, 64),
                     output="values", units={"patch_flux": "mJy"},
                     preprocessing={"background": "none", "scale": "none"})
    return Classifier(PatchFlux(), card)


def test_predict_gives_the_values_and_explain_the_first_output_with_its_unit():
    model = regression_model()
    image = scene_with_decoys()
    truth = GAIN * image[PATCH].sum()
    values = model.predict(image)
    np.testing.assert_allclose(values[0], [truth, -truth], rtol=1e-5)
    e = gx.explain(model, image, method="saliency")
    assert e.regression and e.target_name == "patch_flux" and e.unit == "mJy"
    assert e.probability == pytest.approx(truth, rel=1e-5)  # the value, not a probability
    assert e.value_text == f"patch_flux = {truth:.3g} mJy"
    assert e.predicted_name == "patch_flux"
    assert gx.explain(model, image, method="saliency", target="minus_flux").value_text.endswith(f"{-truth:.3g}")


@pytest.mark.parametrize("method,options", [("saliency", {}), ("integrated_gradients", {}), ("gradcam", {}),
                                            ("occlusion", {"patch": 4, "stride": 2}), ("lime", {"n_samples": 300}),
                                            ("rise", {"n_masks": 400})])
def test_every_method_finds_the_patch_that_sets_the_value(method, options):
    model = regression_model()
    image = scene_with_decoys()
    e = gx.explain(model, image, method=method, seed=0, **options)
    inside = np.zeros(image.shape, bool)
    inside[PATCH] = True
    assert inside[np.unravel_index(np.argmax(e.map), e.map.shape)], method
    # Per pixel, the patch holds far more evidence than the rest (RISE's estimate carries
    # sampling noise everywhere, occlusion blurs by its patch).
    positive = np.maximum(e.map, 0)
    assert positive[inside].mean() > 5 * positive[~inside].mean(), method


def test_integrated_gradients_add_up_to_the_change_in_the_value():
    model = regression_model()
    image = scene_with_decoys()
    e = gx.explain(model, image, method="integrated_gradients", baseline="zero")
    # Completeness: the attributions sum to f(x) - f(baseline), here in mJy.
    assert e.model_map.sum() == pytest.approx(e.probability - 0.0, rel=1e-3)


def test_faithfulness_is_measured_on_the_value_itself():
    model = regression_model()
    image = scene_with_decoys()
    e = gx.explain(model, image, method="saliency")
    curve = deletion_curve(model, e, n_steps=10)
    assert curve["probabilities"][0] == pytest.approx(e.probability, rel=1e-5)
    # Hiding the most relevant pixels first (the patch) takes the value down at once.
    assert curve["probabilities"][2] < 0.2 * curve["probabilities"][0]


def test_fits_round_trip_keeps_value_and_unit(tmp_path):
    model = regression_model()
    e = gx.explain(model, scene_with_decoys(), method="saliency")
    with pytest.warns(UserWarning, match="no WCS"):
        e.to_fits(tmp_path / "e.fits")
    back = gx.Explanation.from_fits(tmp_path / "e.fits")
    assert back.regression and back.unit == "mJy" and back.value_text == e.value_text


def test_bad_regression_cards_name_the_problem():
    with pytest.raises(ValueError, match="units name outputs the model does not have"):
        ModelCard(name="x", classes=("b_over_t",), input_shape=(1, 8, 8), output="values", units={"bt": ""})
    with pytest.raises(ValueError, match="at least two classes"):
        ModelCard(name="x", classes=("only",), input_shape=(1, 8, 8))
    card = ModelCard(name="x", classes=("b_over_t",), input_shape=(1, 8, 8), output="values")
    assert card.is_regression and ModelCard.from_dict(card.to_dict()).is_regression
