"""Sparse Feature Networks: the top-k layer, the exact decomposition, the shipped model and the glue panel."""
import numpy as np
import pytest
import torch

import glue_xai as gx
from glue_xai.methods.features import explain_features, feature_activations, feature_columns
from glue_xai.models import Classifier, ModelCard
from glue_xai.models.sfnet import SFNet, TopK

# Two FRI and two FRII sources of the shared MiraBest FITS cutouts (300x300 at 1.8"/px, Jy/beam).
SOURCES = ["100_119.617+037.787", "100_124.516+054.619", "200_123.432+026.920", "200_150.419+006.818"]


@pytest.fixture(scope="module")
def sfnet():
    return gx.load_model("mirabest-sfnet")


@pytest.fixture(scope="module")
def cutouts(mirabest_root):
    from glue_xai.data.cutouts import read_cutout

    return [read_cutout(next((mirabest_root / "fits").glob(f"{key}_*.fits"))) for key in SOURCES]


def test_topk_keeps_exactly_k_and_passes_gradients_only_through_them():
    z = torch.rand(6, 20, generator=torch.Generator().manual_seed(1)) + 0.01  # all positive, no ties
    z.requires_grad_(True)
    out = TopK(3)(z)
    kept = out.detach() != 0
    assert kept.sum(1).tolist() == [3] * 6
    assert torch.equal(torch.sort(out.detach()[kept].view(6, 3), 1).values, torch.sort(z.detach().topk(3, 1).values, 1).values)
    (out * torch.arange(1.0, 21.0)).sum().backward()
    assert torch.equal(z.grad != 0, kept)
    assert torch.equal(z.grad[kept], torch.arange(1.0, 21.0).expand(6, 20)[kept])


def test_sfnet_features_have_k_nonzeros_and_the_trunk_gets_gradient_only_from_them():
    torch.manual_seed(0)
    net = SFNet(k=4).eval()
    x = torch.rand(3, 1, 150, 150)
    dense = net.dense_features(net.feature_maps(x))
    assert ((dense > 0).sum(1) > 4).all(), "the test needs more than k positive features"
    assert (net.features(x) != 0).sum(1).tolist() == [4, 4, 4]
    # The head's gradient reaches only the weights of each image's active features.
    net.zero_grad()
    net(x[:1])[0, 1].backward()
    active = net.features(x[:1])[0] != 0
    assert torch.equal(net.head.weight.grad[1] != 0, active)


def _decomposition_holds(model, image):
    x, _ = model.prepare(image)
    with torch.inference_mode():
        logits = model.module(torch.from_numpy(x[None]))[0].numpy()
    for target in range(len(logits)):
        fe = explain_features(model, image, target=target)
        assert fe.output == pytest.approx(float(logits[target]), abs=1e-5)
        assert fe.bias + fe.contributions.sum() == pytest.approx(float(logits[target]), abs=1e-5)
    return fe


def test_logits_equal_bias_plus_contributions(sfnet, cutouts):
    for cutout in cutouts:
        fe = _decomposition_holds(sfnet, cutout.image)
        assert 1 <= len(fe.features) <= sfnet.module.k


def test_regression_sfnet_decomposes_too():
    torch.manual_seed(0)
    # The wrapper's card wants two or more outputs: a regressor of two source properties.
    card = ModelCard(name="size", classes=("las_arcsec", "flux_mjy"), input_shape=(1, 64, 64),
                     preprocessing={"background": "none", "scale": "none"})
    model = Classifier(SFNet(n_classes=2, k=2, task="regression", trunk_options={"widths": [8, 16, 16]}).eval(), card)
    fe = _decomposition_holds(model, np.random.default_rng(0).random((64, 64)))
    assert fe.probability is None and len(fe.features) == 2


def test_shipped_sfnet_accuracy_within_3_points_of_the_reference_cnn(sfnet, mirabest_root):
    # The SFNet was built beside glue-xai 0.1's CNN, on that release's split.
    from glue_xai.models.evaluate import legacy_validation_accuracy as validation_accuracy

    ours = validation_accuracy(sfnet, mirabest_root)
    reference = validation_accuracy(gx.load_model("mirabest-fr-0.1"), mirabest_root)
    assert ours["n_images"] == reference["n_images"] == 140
    assert ours["accuracy"] >= reference["accuracy"] - 0.03, (ours, reference)


def test_feature_maps_lie_on_the_input_grid(sfnet, cutouts):
    cutout = cutouts[2]
    fe = explain_features(sfnet, cutout.image, pixel_scale_arcsec=cutout.pixel_scale_arcsec)
    assert fe.maps.shape == (len(fe.features), *cutout.image.shape)
    # The model sees the central 150x150 of a 300x300 cutout at its own pixel scale.
    inside = np.zeros(cutout.image.shape, bool)
    inside[75:225, 75:225] = True
    assert (fe.maps[:, ~inside] == 0).all()
    assert (fe.maps[:, inside].max(axis=1) > 0).all()
    # Average pooling: each map's mean over the field of view is the feature's activation
    # (up to the bilinear up-sampling at the edges).
    np.testing.assert_allclose(fe.maps[:, inside].mean(axis=1), fe.activations, rtol=0.05)
    # A cutout at half the resolution is resampled: the field of view shrinks to 75x75 pixels.
    coarse = cutout.image.reshape(150, 2, 150, 2).mean(axis=(1, 3))
    fe2 = explain_features(sfnet, coarse, pixel_scale_arcsec=3.6)
    assert fe2.maps.shape[1:] == (150, 150)
    assert (fe2.maps[:, :37] == 0).all() and (fe2.maps[:, :, 113:] == 0).all()


def test_feature_columns_hold_every_ever_active_feature(sfnet, cutouts):
    images = np.stack([c.image for c in cutouts])
    columns = feature_columns(sfnet, images)
    activations = feature_activations(sfnet, images)
    ever = np.flatnonzero((activations != 0).any(axis=0))
    assert sorted(columns) == sorted(f"sfnet_feature_{j}" for j in ever)
    for j in ever:
        np.testing.assert_array_equal(columns[f"sfnet_feature_{j}"], activations[:, j])
    for i, image in enumerate(images):
        fe = explain_features(sfnet, image)
        np.testing.assert_allclose(activations[i, fe.features], fe.activations, rtol=1e-5)


def test_glue_panel_shows_one_overlay_per_active_feature(cutouts):
    from glue.core import Data, DataCollection
    from glue_qt.utils import get_qapp

    from glue_xai.qt.feature_panel import FeaturePanel

    get_qapp()
    data = [Data(flux=c.image, coords=c.wcs, label=c.name) for c in cutouts[1:3]]
    table = Data(x=np.arange(3.0), label="table")
    panel = FeaturePanel(DataCollection([*data, table]))
    for image in data:
        panel.state.data = image
        fe = panel.state.explanation
        assert fe is not None, panel.state.message
        assert sorted(panel.overlays.artists) == sorted(fe.features.tolist())
        assert panel.feature_list.count() == len(fe.features)
        for row, feature in enumerate(fe.features):
            panel.feature_list.setCurrentRow(row)
            assert panel.state.feature == feature
            assert panel.overlays.visible_features() == [feature]
    assert panel.model_combo.currentText() == "mirabest-sfnet"
    panel.state.data = table
    assert panel.state.explanation is None and "2-D" in panel.state.message
    assert panel.overlays.artists == {} and panel.feature_list.count() == 0
