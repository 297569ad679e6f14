"""Our closed-form LIME surrogate must equal the `lime` package's on identical inputs."""
import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

from glue_xai.methods.lime import kernel_weights, lime, sample_masks, weighted_ridge

from helpers import patch_classifier, scene_with_decoys

lime_base = pytest.importorskip("lime.lime_base", reason="the lime package is a test dependency")


def test_kernel_weights_equal_lime_image_kernel():
    rng = np.random.default_rng(0)
    masks = sample_masks(500, 30, rng)
    distances = pairwise_distances(masks, masks[:1], metric="cosine").ravel()
    expected = np.sqrt(np.exp(-(distances ** 2) / 0.25 ** 2))  # LimeImageExplainer's kernel
    np.testing.assert_allclose(kernel_weights(masks, 0.25), expected, rtol=0, atol=1e-12)


def test_surrogate_coefficients_equal_lime_package():
    model = patch_classifier()
    image = scene_with_decoys()
    x, _ = model.prepare(image)
    segments = (np.arange(64)[:, None] // 8) * 8 + np.arange(64)[None, :] // 8
    masks = sample_masks(600, 64, np.random.default_rng(5))
    ours = lime(model, x, target=1, segments=segments, masks=masks)

    distances = pairwise_distances(masks, masks[:1], metric="cosine").ravel()
    explainer = lime_base.LimeBase(lambda d: np.sqrt(np.exp(-(d ** 2) / 0.25 ** 2)), random_state=0)
    for target in (0, 1):
        intercept, local_exp, score, _ = explainer.explain_instance_with_data(
            masks, ours["extras"]["probabilities"], distances, target, num_features=64, feature_selection="none")
        reference = np.zeros(64)
        for feature, coef in local_exp:
            reference[feature] = coef
        coef, our_intercept, r2 = weighted_ridge(masks, ours["extras"]["probabilities"][:, target],
                                                 kernel_weights(masks))
        np.testing.assert_allclose(coef, reference, rtol=0, atol=1e-6)
        assert our_intercept == pytest.approx(intercept, abs=1e-6)
        assert r2 == pytest.approx(score, abs=1e-6)
    np.testing.assert_allclose(ours["weights"], ours["extras"]["all_class_weights"][:, 1])
    assert abs(reference).max() > 0.05  # the comparison is not between two vectors of zeros
