"""Occlusion, RISE and Shapley values: equal to the reference definitions and libraries
on identical inputs, and right about hand-made models whose evidence is known."""
import numpy as np
import pytest
import torch

import glue_xai as gx
from glue_xai.methods.occlusion import occlusion
from glue_xai.methods.rise import rise, rise_masks
from glue_xai.methods.shapley import _all_coalitions, exact_shapley, shapley
from glue_xai.methods.substrate import make_substrate

from helpers import patch_classifier, scene_with_decoys

PATCH = (slice(10, 22), slice(40, 52))


def _input(seed=0):
    model = patch_classifier()
    x, _ = model.prepare(scene_with_decoys(seed=seed))
    return model, x


def test_occlusion_equals_captum_occlusion():
    from captum.attr import Occlusion

    model, x = _input()
    for substrate in ("zero", "noise"):
        ours = occlusion(model, x, target=1, patch=10, stride=3, substrate=substrate, only_changed=False, seed=4)
        hidden = torch.from_numpy(make_substrate(x, substrate, seed=4))[None]
        reference = Occlusion(lambda t: model.torch_proba(t)).attribute(
            torch.from_numpy(x)[None], sliding_window_shapes=(1, 10, 10), strides=(1, 3, 3), baselines=hidden,
            target=1)[0, 0].double().numpy()
        np.testing.assert_allclose(ours["map"], reference, rtol=0, atol=1e-6)
        assert np.abs(reference).max() > 1e-3  # not two maps of zeros
        assert ours["n_model_evals"] == len(range(0, 55, 3)) ** 2 + 1


def test_rise_equals_the_published_definition_on_the_same_masks():
    model, x = _input()
    masks = rise_masks(300, x.shape[1:], grid=6, keep_probability=0.4, seed=2)
    ours = rise(model, x, target=1, masks=masks, keep_probability=0.4, debiased=False, substrate="zero")
    # Petsiuk et al. (2018), eq. 6: S = 1 / (N p) * sum_i f(I . M_i) M_i, one copy at a time.
    reference = np.zeros(x.shape[1:])
    for mask in masks:
        reference += model.predict_proba(x * mask[None])[0, 1] * mask
    reference /= len(masks) * 0.4
    np.testing.assert_allclose(ours["map"], reference, rtol=0, atol=1e-6)


def test_rise_masks_are_smooth_random_and_seeded():
    masks = rise_masks(400, (60, 50), grid=5, keep_probability=0.3, seed=1)
    assert masks.shape == (400, 60, 50) and masks.min() >= 0 and masks.max() <= 1
    assert masks.mean() == pytest.approx(0.3, abs=0.03)
    assert len(np.unique(masks[0])) > 10  # bilinear: soft edges, not a binary grid
    np.testing.assert_array_equal(masks, rise_masks(400, (60, 50), grid=5, keep_probability=0.3, seed=1))
    assert not np.array_equal(masks, rise_masks(400, (60, 50), grid=5, keep_probability=0.3, seed=2))


def _grid_segments(size=64, cell=22):
    n = -(-size // cell)
    return (np.arange(size)[:, None] // cell) * n + np.arange(size)[None, :] // cell


def test_exact_shapley_values_equal_shap_exact_explainer():
    import shap

    model, x = _input()
    segments = _grid_segments()  # 9 superpixels of up to 22 x 22; the game is played on those that change
    ours = shapley(model, x, target=1, segments=segments, substrate="zero", exact_players=16)
    assert ours["extras"]["estimate"] == "exact"
    players = ours["extras"]["players"]

    def value(z):  # z (N, n_players): 1 shows the superpixel, 0 the substrate (zeros)
        keep = np.zeros((len(z), segments.max() + 1), np.float32)
        keep[:, players] = z
        return model.predict_proba(x[None] * keep[:, segments][:, None])[:, 1]

    explainer = shap.explainers.Exact(value, shap.maskers.Independent(np.zeros((1, len(players))), max_samples=1))
    reference = explainer(np.ones((1, len(players)))).values[0]
    np.testing.assert_allclose(ours["weights"][players], reference, rtol=0, atol=1e-6)
    assert np.abs(reference).max() > 1e-3


def test_sampled_shapley_values_add_up_and_agree_with_the_exact_ones():
    model, x = _input()
    segments = _grid_segments()
    exact = shapley(model, x, target=1, segments=segments, substrate="zero", exact_players=16)
    sampled = shapley(model, x, target=1, segments=segments, substrate="zero", exact_players=0, budget=600, seed=3)
    assert sampled["extras"]["estimate"].startswith("permutation sampling")
    extras = sampled["extras"]
    # Efficiency: every sampled order's contributions add up to f(image) - f(all hidden).
    assert sampled["weights"].sum() == pytest.approx(extras["score_all"] - extras["score_none"], abs=1e-9)
    assert exact["weights"].sum() == pytest.approx(extras["score_all"] - extras["score_none"], abs=1e-9)
    error = extras["standard_error"][extras["players"]]
    gap = np.abs(sampled["weights"] - exact["weights"])[extras["players"]]
    assert np.all(gap <= 4 * error + 1e-9), (gap, error)
    assert sampled["n_model_evals"] <= 600


def test_exact_shapley_of_a_known_game():
    # v(S) = |S|^2 on three players: each player's value is 3 (symmetry, efficiency 9).
    coalitions = _all_coalitions(3)
    np.testing.assert_allclose(exact_shapley(coalitions.sum(axis=1).astype(float) ** 2, 3), [3.0, 3.0, 3.0])
    # A dummy player (never changes v) gets 0; the others share v(all).
    value = coalitions[:, 0] * 2.0 + coalitions[:, 1] * 5.0
    np.testing.assert_allclose(exact_shapley(value, 3), [2.0, 5.0, 0.0])


@pytest.mark.parametrize("method", ["occlusion", "rise", "shapley"])
def test_the_deciding_patch_ranks_first_despite_brighter_decoys(method):
    model = patch_classifier()
    image = scene_with_decoys()
    segments = _grid_segments(cell=16)
    segments[PATCH] = segments.max() + 1  # Shapley values rank superpixels: the patch is one of them
    options = {"shapley": {"segments": segments}, "rise": {"n_masks": 500},
               "occlusion": {"patch": 4, "stride": 2}}.get(method, {})
    e = gx.explain(model, image, method=method, target="source", seed=0, **options)
    inside = np.zeros(image.shape, bool)
    inside[PATCH] = True
    assert inside[np.unravel_index(np.argmax(e.map), e.map.shape)]
    positive = np.maximum(e.map, 0)
    # Per pixel, the patch holds far more evidence than the rest (occlusion blurs it by
    # its own patch size, RISE's estimate carries sampling noise everywhere).
    assert positive[inside].mean() > 5 * positive[~inside].mean()
    assert e.params["seed"] == 0 and e.n_model_evals > 10


def test_methods_are_seeded_and_listed():
    from glue_xai.methods.api import METHODS, SIGNED_METHODS

    assert {"occlusion", "rise", "shapley"} <= set(METHODS) & set(SIGNED_METHODS)
    model, x = _input()
    a = rise(model, x, target=1, n_masks=50, seed=7)["map"]
    np.testing.assert_array_equal(a, rise(model, x, target=1, n_masks=50, seed=7)["map"])


def test_bad_settings_name_the_problem():
    model, x = _input()
    with pytest.raises(ValueError, match="patch"):
        occlusion(model, x, target=1, patch=100)
    with pytest.raises(ValueError, match="keep_probability"):
        rise(model, x, target=1, keep_probability=1.5)
    with pytest.raises(ValueError, match="budget"):
        shapley(model, x, target=1, budget=1)
    with pytest.raises(ValueError, match="output"):
        occlusion(model, x, target=1, output="logits")


def test_structure_substrate_keeps_each_pieces_flux_in_place(mirabest_root):
    """Hiding a piece under the 'structure' substrate flattens its emission: per superpixel
    the flux and the emitting pixels are unchanged, the brightest pixel is not, the sky stays 0."""
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.methods.segmentation import segment

    model = gx.load_model("mirabest-fr")
    x, _ = model.prepare(read_cutout(mirabest_root / "fits/200_003.845+000.156_0.4401_0024.05.fits").image,
                         pixel_scale_arcsec=1.8)
    segments = segment(x, "radio")
    flat = make_substrate(x, "structure", segments=segments)
    assert np.array_equal(flat[0] != 0, x[0] != 0)
    flux = np.bincount(segments.ravel(), weights=x[0].ravel())
    assert np.allclose(np.bincount(segments.ravel(), weights=flat[0].ravel()), flux, rtol=1e-5, atol=1e-6)
    assert flat.max() < 0.9 * x.max()  # the peak is smoothed away
    with pytest.raises(ValueError, match="unknown substrate 'flat'"):
        make_substrate(x, "flat")
