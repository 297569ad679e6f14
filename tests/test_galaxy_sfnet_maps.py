"""galaxy-bt-sfnet's feature maps sit on the galaxy, not on the sky or the image's edges.

Measured on galaxies of a seed never trained on. Thresholds come from the tune part of
the training set (benchmarks/sfnet_maps_on_galaxies.py --part tune); the model these
maps replaced (4x4 feature grid) put 0.21 of its summed map on the galaxy, about chance.
"""
import numpy as np
import pytest

import glue_xai as gx
from glue_xai.data.galaxies import BANDS, light_region, light_share, render, simulate_galaxies
from glue_xai.methods.features import explain_features

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRESH_SEED = 20240617
N_GALAXIES = 30
#: Tune part: the summed B/T map puts 0.46 of its |map| on the galaxy's light region, each
#: active feature's map 0.48 (chance, the region's share of the image: 0.17); the floor is
#: that less about three standard errors of a 30-galaxy mean (0.03).
ON_GALAXY_FLOOR = 0.40
#: Tune part: the maps' weighted centre lies (+1.3, +0.2) px from the galaxy's; the
#: zero-padded model before it (-1.2, -4.3), with 0.100 of the weight in the bottom 8
#: rows against 0.030 in the top 8 (now 0.040 and 0.040).
CENTRE_TOLERANCE_PIX = 2.0
BOTTOM_EXCESS_MAX = 0.02


def test_light_region_holds_the_asked_share_of_the_light():
    _, truth = simulate_galaxies(3, seed=FRESH_SEED)
    for row in truth:
        clean = render(row, noise_rng=None)[BANDS.index("r")]
        region = light_region(row, fraction=0.8)
        assert 0.8 <= clean[region].sum() / clean.sum() < 0.82
        # The brightest pixels: nothing left outside is brighter than anything inside.
        assert clean[~region].max() <= clean[region].min()
        y, x = np.nonzero(region)
        assert abs(y.mean() - 31.5) < 2 and abs(x.mean() - 31.5) < 2
        assert light_region(row, fraction=0.5).sum() < region.sum()


def test_shipped_sfnet_feature_maps_put_their_weight_on_the_galaxy():
    images, truth = simulate_galaxies(N_GALAXIES, seed=FRESH_SEED)
    model = gx.load_model("galaxy-bt-sfnet", device="cpu")
    summed, features, chance, edge_peaks = [], [], [], 0
    for image, row in zip(images, truth):
        region = light_region(row)
        chance.append(region.mean())
        e = gx.explain(model, image, method="features", target="bulge_to_total")
        summed.append(light_share(e.map, region))
        peak = np.unravel_index(np.abs(e.map).argmax(), e.map.shape)
        edge_peaks += min(*peak, 63 - peak[0], 63 - peak[1]) == 0
        fe = explain_features(model, image, target="bulge_to_total")
        features.append(np.mean([light_share(m, region) for m in fe.maps]))
    assert np.mean(summed) >= ON_GALAXY_FLOOR, np.mean(summed)
    assert np.mean(summed) >= 2 * np.mean(chance), (np.mean(summed), np.mean(chance))
    assert np.mean(features) >= ON_GALAXY_FLOOR, np.mean(features)
    assert edge_peaks <= 0.1 * N_GALAXIES, edge_peaks


def _weighted_centre(weights, pixel_of_index):
    """(x, y) of |weights|' weighted centre, pixel_of_index mapping array indices to pixels."""
    weights = np.abs(weights)
    y, x = np.indices(weights.shape)
    return np.array([(weights * pixel_of_index(x)).sum(), (weights * pixel_of_index(y)).sum()]) / weights.sum()


def test_feature_maps_are_painted_where_the_trunk_computed_them():
    # explain_features up-samples each 16x16 trunk map to the 64x64 image; the painting
    # must not move it (the first 16x16 model's maps 4 px below the galaxy were the
    # network's own doing: the painting moved them 0.006 px on 150 tune galaxies).
    import torch

    from glue_xai.methods.features import sfnet_module

    images, _ = simulate_galaxies(4, seed=FRESH_SEED + 1)
    model = gx.load_model("galaxy-bt-sfnet", device="cpu")
    module = sfnet_module(model)
    for image in images:
        fe = explain_features(model, image, target="bulge_to_total")
        with torch.inference_mode():
            grid = module.feature_maps(model.tensor(image[None]))[0].numpy()
        cell = image.shape[-1] // grid.shape[-1]  # 4 pixels; cell i covers pixels 4i .. 4i+3
        for j, painted in zip(fe.features, fe.maps):
            on_grid = _weighted_centre(grid[j], lambda i: cell * i + (cell - 1) / 2)
            assert np.allclose(_weighted_centre(painted, lambda i: i), on_grid, atol=0.15), j


def test_circular_padding_leaves_the_trunk_no_image_edge_to_fire_on():
    # GalaxyCNN(padding_mode="circular") wraps the sky round: rolling a sky-noise image by
    # one 16x16 cell (4 px) rolls every map by one cell, edges included. With the zero
    # padding the shipped trunk has, the edge rows differ (the stripe a feature can learn).
    import torch

    from glue_xai.models.galaxy_cnn import GalaxyCNN

    torch.manual_seed(0)
    sky = torch.from_numpy(np.random.default_rng(FRESH_SEED).normal(0, 0.01, (1, 3, 64, 64)).astype(np.float32))
    for mode, equivariant in (("circular", True), ("zeros", False)):
        torch.manual_seed(0)
        trunk = GalaxyCNN(pools=2, padding_mode=mode).trunk.eval()
        with torch.inference_mode():
            maps, rolled = trunk(sky), trunk(torch.roll(sky, 4, dims=2))
        assert maps.shape[-2:] == (16, 16)
        assert torch.allclose(torch.roll(maps, 1, dims=2), rolled, atol=1e-5) == equivariant, mode


def test_shipped_sfnet_maps_are_centred_with_no_bottom_stripe():
    images, truth = simulate_galaxies(N_GALAXIES, seed=FRESH_SEED)
    model = gx.load_model("galaxy-bt-sfnet", device="cpu")
    offsets, bottom, top = [], [], []
    for image, row in zip(images, truth):
        centre = np.array([31.5 + row["x_offset_pix"], 31.5 + row["y_offset_pix"]])
        for m in explain_features(model, image, target="bulge_to_total").maps:
            weights = np.abs(m)
            offsets.append(_weighted_centre(weights, lambda i: i) - centre)
            bottom.append(weights[:8].sum() / weights.sum())
            top.append(weights[-8:].sum() / weights.sum())
    dx, dy = np.mean(offsets, axis=0)
    assert abs(dx) < CENTRE_TOLERANCE_PIX and abs(dy) < CENTRE_TOLERANCE_PIX, (dx, dy)
    assert np.mean(bottom) <= np.mean(top) + BOTTOM_EXCESS_MAX, (np.mean(bottom), np.mean(top))
