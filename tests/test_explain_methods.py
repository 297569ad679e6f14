"""Every method must find the evidence a hand-made model really uses."""
import numpy as np
import pytest

import glue_xai as gx
from glue_xai.methods import METHODS
from glue_xai.methods.api import MODEL_SPECIFIC_METHODS

from helpers import patch_classifier, scene_with_decoys

PATCH = (slice(10, 22), slice(40, 52))
# elime has its own tests (test_elime.py); SFNet features need an SFNet (test_sfnet.py).
IMAGE_METHODS = [m for m in METHODS if m != "elime" and m not in MODEL_SPECIFIC_METHODS]
FAST = {"lime": {"n_samples": 300, "n_segments": 40}, "smoothgrad": {"n_samples": 10},
        "integrated_gradients": {"n_steps": 16}}


@pytest.fixture(scope="module")
def model():
    return patch_classifier(patch=PATCH)


@pytest.fixture(scope="module")
def image():
    return scene_with_decoys(patch=PATCH)


def inside_patch():
    mask = np.zeros((64, 64), bool)
    mask[PATCH] = True
    return mask


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_known_patch_is_ranked_first(model, image, method):
    e = gx.explain(model, image, method=method, target="source", seed=0, **FAST.get(method, {}))
    relevance = e.map if method != "saliency" else np.abs(e.map)
    top = relevance >= np.quantile(relevance, 0.98)
    share = (top & inside_patch()).sum() / top.sum()
    assert share > 0.8, f"{method}: only {share:.0%} of the top 2% pixels lie in the patch"
    # The brightest decoy (peak 3x the patch's source) must carry far less relevance.
    decoy = np.zeros_like(inside_patch())
    decoy[40:51, 45:56] = True
    assert relevance[inside_patch()].mean() > 5 * abs(relevance[decoy].mean())


def test_lime_ranks_patch_superpixel_first(model, image):
    e = gx.explain(model, image, method="lime", target="source", seed=3, n_samples=400, segmentation="grid",
                   n_segments=64)
    # The evidence each superpixel really carries: its flux inside the patch.
    evidence = np.bincount(e.segments.ravel(), weights=(image * inside_patch()).ravel())
    with_evidence = np.flatnonzero(evidence)
    ranked = np.argsort(e.weights)[::-1][:len(with_evidence)]
    # Same superpixels on top, in the same order as their true evidence.
    assert list(ranked) == list(with_evidence[np.argsort(evidence[with_evidence])[::-1]])
    no_evidence = evidence == 0
    assert np.abs(e.weights[no_evidence]).max() < 0.15 * e.weights.max()
    assert e.extras["surrogate_r2"] > 0.5


@pytest.mark.parametrize("method", IMAGE_METHODS)
def test_same_seed_gives_identical_map(model, image, method):
    first = gx.explain(model, image, method=method, seed=7, **FAST.get(method, {}))
    again = gx.explain(model, image, method=method, seed=7, **FAST.get(method, {}))
    assert np.array_equal(first.map, again.map)
    assert first.params["seed"] == 7


@pytest.mark.parametrize("method", ["lime", "smoothgrad"])
def test_another_seed_changes_random_methods(model, image, method):
    # The hand-made model's logit is linear in the input, so its gradient (SmoothGrad's
    # default, the logit) is the same for every noisy copy; its probability is not.
    options = {**FAST.get(method, {}), **({"output": "probability"} if method == "smoothgrad" else {})}
    a = gx.explain(model, image, method=method, seed=1, **options)
    b = gx.explain(model, image, method=method, seed=2, **options)
    assert not np.array_equal(a.map, b.map)


def test_integrated_gradients_is_complete(model, image):
    e = gx.explain(model, image, method="integrated_gradients", target="source", n_steps=32)
    assert abs(e.extras["completeness_gap"]) < 1e-3


def test_explanation_carries_prediction_and_settings(model, image):
    e = gx.explain(model, image, method="smoothgrad", seed=4, n_samples=5, noise_level=0.2)
    probs = model.predict_proba(image)[0]
    assert e.target == int(np.argmax(probs))
    assert e.target_name == model.classes[e.target]
    assert e.probability == pytest.approx(probs[e.target])
    assert e.params["noise_level"] == 0.2 and e.params["n_samples"] == 5
    assert e.n_model_evals == 6
    assert e.map.shape == image.shape


def test_map_lands_on_input_pixels_of_larger_image(model, image):
    big = np.zeros((100, 120))
    big[18:82, 28:92] = image  # the model's 64x64 field of view, centred
    e_big = gx.explain(model, big, method="saliency", target="source")
    e_small = gx.explain(model, image, method="saliency", target="source")
    assert e_big.map.shape == (100, 120)
    np.testing.assert_allclose(e_big.map[18:82, 28:92], e_small.map, rtol=1e-5, atol=1e-9)
    assert np.all(e_big.map[:18] == 0)
    assert np.all(e_big.segments is None)
