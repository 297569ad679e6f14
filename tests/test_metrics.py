"""Explanation-quality metrics, checked on synthetic radio sources and a hand-made model
that truly looks at one component only: the flux of the hotspots."""
import numpy as np
import pytest
import torch
from torch import nn

import glue_xai as gx
from glue_xai.data.synthetic import make_radio_source
from glue_xai.methods import metrics
from glue_xai.models.card import ModelCard
from glue_xai.models.classifier import Classifier

CARD = ModelCard(name="hotspot-detector", classes=("other", "hotspot"), input_shape=(1, 150, 150),
                 pixel_scale_arcsec=1.8, preprocessing={"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"})
PIXEL_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam")
SUPERPIXEL_METHODS = ("lime", "elime")
FAST = {"lime": {"n_samples": 300}, "elime": {}, "smoothgrad": {"n_samples": 10},
        "integrated_gradients": {"n_steps": 16}}


class HotspotDetector(nn.Module):
    """logit(hotspot) = gain * (thresholded smoothed flux summed over the hotspot mask) - 6.

    Channel 0 of the 5x5 box filter fires on bright compact emission (bias = -threshold);
    channels 1-3 see the smoothed image but the readout ignores them, so the decision
    depends on the hotspots alone while the network has the width of a real one (a
    randomised one-channel network is often dead everywhere, leaving no map to compare).
    """

    def __init__(self, mask, threshold=0.2):
        super().__init__()
        h, w = mask.shape
        self.smooth = nn.Conv2d(1, 4, 5, padding=2)
        self.readout = nn.Linear(4 * h * w, 2)
        with torch.no_grad():
            self.smooth.weight.fill_(1 / 25)
            self.smooth.bias.zero_()
            self.smooth.bias[0] = -threshold
            self.readout.weight.zero_()
            self.readout.bias.zero_()
            self.readout.weight[1, :h * w] = torch.from_numpy(mask.ravel().astype(np.float32))

    def calibrate(self, x):
        """Scale the readout so that the whole image gives logit +6 and no hotspot -6."""
        with torch.no_grad():
            flux = float(self.readout(torch.flatten(torch.relu(self.smooth(torch.from_numpy(x[None]))), 1))[0, 1])
            self.readout.weight[1] *= 12.0 / flux
            self.readout.bias[1] = -6.0

    def forward(self, x):
        return self.readout(torch.flatten(torch.relu(self.smooth(x)), 1))


def hotspot_case(seed):
    source = make_radio_source("FRII", seed=seed)
    mask = source.masks["hotspots"]
    network = HotspotDetector(mask)
    model = Classifier(network, CARD)
    x, _ = model.prepare(source.image)
    network.calibrate(x)
    return source.image, mask, model


@pytest.fixture(scope="module")
def cases():
    return [hotspot_case(seed) for seed in (1, 2)]


@pytest.fixture(scope="module")
def explanations(cases):
    return [{m: gx.explain(model, image, method=m, target="hotspot", **FAST.get(m, {}))
             for m in PIXEL_METHODS + SUPERPIXEL_METHODS} for image, mask, model in cases]


def test_model_depends_on_hotspots_only(cases):
    image, mask, model = cases[0]
    x, _ = model.prepare(image)
    assert model.proba_of_inputs(x[None])[0, 1] > 0.99
    assert model.proba_of_inputs((x * ~mask)[None])[0, 1] < 0.01
    assert model.proba_of_inputs((x * mask)[None])[0, 1] > 0.99


@pytest.mark.parametrize("method", PIXEL_METHODS + SUPERPIXEL_METHODS)
def test_every_method_localises_the_hotspots_far_better_than_a_random_map(cases, explanations, method):
    rng = np.random.default_rng(0)
    for (image, mask, model), by_method in zip(cases, explanations):
        e = by_method[method]
        random_map = rng.random(mask.shape)
        chance = mask.mean()  # a random map's expected mass inside the mask
        assert metrics.relevance_mass_inside(random_map, mask) < 2 * chance
        assert not metrics.pointing_game(random_map, mask)
        assert metrics.relevance_mass_inside(e, mask) > 10 * chance
        if method in PIXEL_METHODS:
            assert metrics.pointing_game(e, mask)
        else:
            # Superpixels are larger than a hotspot: the top superpixel must touch one.
            top = int(np.argmax(e.weights))
            assert mask[e.segments == top].any()


@pytest.mark.parametrize("method", ("saliency", "smoothgrad", "integrated_gradients"))
def test_randomisation_drives_gradient_maps_towards_zero_correlation(cases, explanations, method):
    image, mask, model = cases[0]
    e = explanations[0][method]
    result = metrics.randomisation_test(model, e)
    assert result["control"] == pytest.approx(1.0)
    assert result["layers"] == ["readout", "smooth"]
    assert abs(result["correlations"][-1]) < 0.3
    # The original model is untouched by the test.
    assert np.array_equal(gx.explain(model, image, method=method, target="hotspot", **FAST.get(method, {})).map, e.map)


def test_spearman_control_values():
    a = np.random.default_rng(0).random((20, 20))
    assert metrics.spearman(a, a) == pytest.approx(1.0)
    assert metrics.spearman(a, -a) == pytest.approx(-1.0)
    assert metrics.spearman(a, -a, absolute=True) == pytest.approx(1.0)
    assert np.isnan(metrics.spearman(a, np.zeros_like(a)))


def test_deletion_and_insertion_reward_a_faithful_map(cases, explanations):
    image, mask, model = cases[0]
    e = explanations[0]["saliency"]
    random_map = np.random.default_rng(1).random(e.model_map.shape)
    x = e.model_input
    deletion = metrics.deletion_curve(model, e, n_steps=10)
    deletion_random = metrics.deletion_curve(model, x, random_map, target=1, n_steps=10)
    insertion = metrics.insertion_curve(model, e, n_steps=10)
    insertion_random = metrics.insertion_curve(model, x, random_map, target=1, n_steps=10)
    assert deletion["n_model_evals"] == 11 and len(deletion["probabilities"]) == 11
    assert deletion["probabilities"][0] == pytest.approx(e.probability)
    assert deletion["probabilities"][-1] < 0.01 and insertion["probabilities"][0] < 0.01
    assert insertion["probabilities"][-1] == pytest.approx(e.probability)
    assert deletion["area"] < 0.1 < deletion_random["area"] - 0.2
    assert insertion["area"] > 0.9 > insertion_random["area"] + 0.2
    # The curve runs over the pixels unlike the empty-sky substrate, a few % of the cutout.
    assert deletion["n_pixels"] == int((x[0] != 0).sum()) < 0.05 * x[0].size
    whole = metrics.deletion_curve(model, e, n_steps=10, support="all")
    assert whole["n_pixels"] == x[0].size and whole["area"] <= deletion["area"]


def test_relevance_order_breaks_ties_by_seed_not_raster():
    flat = np.zeros((10, 10))
    first = metrics.relevance_order(flat, seed=0)[:10]
    assert not np.array_equal(np.sort(first), np.arange(10))
    assert np.array_equal(first, metrics.relevance_order(flat, seed=0)[:10])


def test_stability_of_deterministic_and_seeded_methods(cases, explanations):
    image, mask, model = cases[0]
    assert metrics.stability(model, explanations[0]["saliency"], seeds=(0, 1))["mean_jaccard"] == 1.0
    result = metrics.stability(model, explanations[0]["lime"], seeds=(0, 1, 2), top_k=0.1)
    assert result["level"] == "superpixel"
    assert 0.0 <= result["mean_jaccard"] <= 1.0 and result["pairwise"].shape == (3, 3)
    assert result["n_model_evals"] == 2 * 300  # seed 0 is the explanation's own run


def test_top_k_agreement_extremes():
    a = np.arange(100.0).reshape(10, 10)
    assert metrics.top_k_agreement([a, a], top_k=10)[0] == 1.0
    assert metrics.top_k_agreement([a, -a], top_k=10)[0] == 0.0
    assert metrics.jaccard({1, 2}, {2, 3}) == pytest.approx(1 / 3)


def test_quality_summary_and_plot(cases, explanations):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from glue_xai.methods.quality_plot import plot_quality_curves

    image, mask, model = cases[0]
    summary = metrics.quality_summary(model, explanations[0]["lime"], seeds=(0, 1), n_steps=10)
    assert summary["deletion"]["area"] < summary["insertion"]["area"]
    assert summary["stability"]["seeds"] == [0, 1]
    assert summary["n_model_evals"] == 2 * 11 + 300
    fig, ax = plt.subplots()
    plot_quality_curves(ax, summary)
    assert len(ax.get_lines()) == 2 and "area" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)


def test_bad_inputs_raise(cases, explanations, tmp_path):
    image, mask, model = cases[0]
    e = explanations[0]["saliency"]
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, e.model_input)  # no relevance map
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, e.model_input, np.zeros((3, 3)))
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, e, n_steps=1)
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, e, support="source")
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, np.zeros_like(e.model_input), e.model_map, target=1, substrate="zero")
    with pytest.raises(ValueError):
        metrics.pointing_game(e, np.ones((7, 7), bool))
    with pytest.raises(ValueError):
        metrics.relevance_mass_inside(e, np.zeros_like(mask))
    with pytest.raises(ValueError):
        metrics.stability(model, e, seeds=(0, 0))
    with pytest.raises(ValueError):
        metrics.top_k_agreement([e.map, e.map], top_k=0)
    e.to_fits(tmp_path / "e.fits")
    with pytest.raises(ValueError):
        metrics.deletion_curve(model, gx.Explanation.from_fits(tmp_path / "e.fits"))
