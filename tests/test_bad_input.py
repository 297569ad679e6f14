"""Bad input gets a clear error naming the problem, never a crash."""
import numpy as np
import pytest
import torch

import glue_xai as gx
from glue_xai.models import Classifier, ModelCard

from helpers import patch_classifier, scene_with_decoys


@pytest.fixture(scope="module")
def model():
    return patch_classifier()


def test_all_nan_image(model):
    with pytest.raises(ValueError, match="no finite pixels"):
        gx.explain(model, np.full((64, 64), np.nan), method="saliency")


def test_constant_image(model):
    with pytest.raises(ValueError, match="constant"):
        gx.explain(model, np.full((64, 64), 3.0), method="lime")


def test_wrong_number_of_channels(model):
    with pytest.raises(ValueError, match="3 channel.*takes 1"):
        gx.explain(model, np.random.default_rng(0).random((3, 64, 64)), method="saliency")


def test_image_smaller_than_field_of_view(model):
    small = scene_with_decoys()[:40, :40]
    with pytest.raises(ValueError, match="field of view.*fit='pad'"):
        gx.explain(model, small, method="saliency")
    padded = gx.explain(model, small, method="saliency", fit="pad")
    assert padded.map.shape == (40, 40)


def test_unknown_method(model):
    with pytest.raises(ValueError, match="unknown method 'shap'"):
        gx.explain(model, scene_with_decoys(), method="shap")


def test_unknown_option(model):
    with pytest.raises(TypeError, match="no option.*n_samples"):
        gx.explain(model, scene_with_decoys(), method="saliency", n_samples=10)


def test_unknown_class_name(model):
    with pytest.raises(ValueError, match="unknown class 'FRIII'"):
        gx.explain(model, scene_with_decoys(), method="saliency", target="FRIII")


def test_non_numeric_image(model):
    with pytest.raises(TypeError, match="numeric"):
        gx.explain(model, np.array([["a", "b"], ["c", "d"]]), method="saliency")


def test_non_finite_model_output():
    class Broken(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 2), float("nan"))

    card = ModelCard(name="broken", classes=("a", "b"), input_shape=(1, 16, 16),
                     preprocessing={"background": "none", "scale": "none"})
    broken = Classifier(Broken(), card)
    with pytest.raises(ValueError, match="non-finite"):
        broken.predict_proba(np.random.default_rng(0).random((16, 16)))
    with pytest.raises(ValueError, match="non-finite"):
        gx.explain(broken, np.random.default_rng(0).random((16, 16)), method="lime", n_samples=10)


def test_gradient_method_needs_torch_model():
    card = ModelCard(name="callable", classes=("a", "b"), input_shape=(1, 16, 16),
                     preprocessing={"background": "none", "scale": "none"})
    plain = Classifier(lambda x: np.tile([0.3, 0.7], (len(x), 1)), card)
    image = np.random.default_rng(0).random((16, 16))
    with pytest.raises(TypeError, match="not a torch module"):
        gx.explain(plain, image, method="saliency")
    e = gx.explain(plain, image, method="lime", n_samples=20, n_segments=4)  # LIME needs no gradients
    assert e.probability == pytest.approx(0.7)


def test_bad_setting_values(model):
    image = scene_with_decoys()
    with pytest.raises(ValueError, match="n_samples"):
        gx.explain(model, image, method="smoothgrad", n_samples=0)
    with pytest.raises(ValueError, match="unknown segmentation"):
        gx.explain(model, image, method="lime", segmentation="quickshift")
    with pytest.raises(ValueError, match="unknown baseline"):
        gx.explain(model, image, method="integrated_gradients", baseline="sky")
    with pytest.raises(TypeError, match="seed must be an integer"):
        gx.explain(model, image, method="lime", seed=0.5)


def test_wrong_array_rank(model):
    with pytest.raises(ValueError, match=r"\(H, W\) or \(C, H, W\)"):
        gx.explain(model, np.zeros((2, 1, 64, 64)), method="saliency")


def test_blank_image_can_be_scored_but_not_explained(model):
    blank = np.zeros((64, 64))  # MiraBest itself holds six blank images
    probs = model.predict_proba(blank)
    np.testing.assert_allclose(probs, [[0.5, 0.5]])  # no flux in the patch: no evidence either way
    with pytest.raises(ValueError, match="constant"):
        gx.explain(model, blank, method="saliency")
