"""The SFNet's own explanation as an explain() method and as overlays in the XAI viewer."""
import numpy as np
import pytest
from glue.core import Data
from glue.core.roi import RectangularROI

import glue_xai as gx
from glue_xai.methods.features import explain_features
from test_viewer_image import WAIT_MS, draw, fri, open_viewer, wait_for_overlay  # noqa: F401


@pytest.fixture(scope="module")
def sfnet():
    return gx.load_model("mirabest-sfnet")


def test_features_map_decomposes_the_logit(sfnet, fri):  # noqa: F811
    e = gx.explain(sfnet, fri.image, method="features", target="FRII")
    contributions = e.extras["contributions"]
    assert len(contributions) == sfnet.module.k
    # The head reads each feature's mean over the grid: the map's mean is the sum of contributions.
    assert e.model_map.mean() == pytest.approx(contributions.sum(), rel=0.02, abs=1e-3)
    direct = explain_features(sfnet, fri.image, target="FRII")
    np.testing.assert_array_equal(e.extras["features"], direct.features)
    np.testing.assert_allclose(contributions, direct.contributions, rtol=1e-5)


def test_one_feature_at_a_time(sfnet, fri):  # noqa: F811
    direct = explain_features(sfnet, fri.image, target="FRI")
    for rank in (1, 2):
        e = gx.explain(sfnet, fri.image, method="features", target="FRI", feature=rank)
        j = direct.features[rank - 1]
        weight = float(sfnet.module.head.weight.detach()[direct.target, j])
        np.testing.assert_allclose(e.map, weight * direct.maps[rank - 1], rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="rank from 1 to k=4"):
        gx.explain(sfnet, fri.image, method="features", feature=9)


def test_features_need_an_sfnet(reference_model, fri):  # noqa: F811
    with pytest.raises(TypeError, match="not a Sparse Feature Network"):
        gx.explain(reference_model, fri.image, method="features")


def test_viewer_shows_the_sfnet_features_with_their_contributions(app, qtbot, fri, sfnet):  # noqa: F811
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, model="mirabest-sfnet", method="features")
    draw(app, data, RectangularROI(74.5, 224.5, 74.5, 224.5))
    artist = wait_for_overlay(qtbot, viewer)
    e = artist.explanation
    assert e.method == "features" and e.params["feature"] == 0
    legend = artist.legend_text()
    for j, c in zip(e.extras["features"], e.extras["contributions"]):
        assert f"f{j} {c:+.2f}" in legend
    # Four entries to a line (the bias last), so a k = 8 model's list stays inside the viewer.
    feature_lines = legend.splitlines()[2:]
    assert len(feature_lines) == 2 and all(len(line.split(", ")) <= 4 for line in feature_lines)
    assert feature_lines[-1].endswith(f"bias {e.extras['bias']:+.2f}")

    viewer.state.sfnet_feature = 2  # the second strongest feature alone
    qtbot.waitUntil(lambda: artist.explanation is not None and artist.explanation.params["feature"] == 2
                    and not viewer.busy, timeout=WAIT_MS)
    direct = gx.explain(sfnet, fri.image[75:225, 75:225], method="features", feature=2, fit="pad",
                        wcs=fri.wcs[75:225, 75:225])
    np.testing.assert_allclose(artist.explanation.map, direct.map, rtol=1e-4, atol=1e-6)
    assert f">f{direct.extras['features'][1]}" in artist.legend_text()
