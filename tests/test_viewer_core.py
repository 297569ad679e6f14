"""The XAI image viewer's Qt-free core: regions, jobs, cancellation, cache, state, drawing helpers."""
import sys

import numpy as np
import pytest
from glue.core import Data, DataCollection
from glue.core.roi import CircularROI, PolygonalROI, RectangularROI
from glue.core.subset import RoiSubsetState
from glue.viewers.image.state import ImageLayerState

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.viewer.explanation_job import Cancelled, ExplanationCache, ExplanationJob, settings_from_state
from glue_xai.viewer.image_layer import heatmap_rgba, robust_peak, top_superpixels
from glue_xai.viewer.image_region import NothingToExplain, region_of_subset
from glue_xai.viewer.image_state import (PREDICTED, XAIExplanationLayerState, XAIImageViewerState,
                                         available_methods)
from glue_xai.viewer.model_store import ModelStore

FRI_FILE = "fits/100_016.236+000.073_0.2797_0058.67.fits"


@pytest.fixture
def cutout(mirabest_root):
    return read_cutout(mirabest_root / FRI_FILE)


@pytest.fixture
def image_state(cutout):
    """A viewer state showing one real FIRST cutout, without any Qt."""
    data = Data(label="cutout", image=cutout.image, coords=cutout.wcs)
    collection = DataCollection([data])
    state = XAIImageViewerState()
    state.data_collection = collection
    state.layers.append(ImageLayerState(layer=data, viewer_state=state))
    return state, data, collection


def _subset(collection, data, roi, label="region"):
    group = collection.new_subset_group(label, RoiSubsetState(data.pixel_component_ids[1],
                                                              data.pixel_component_ids[0], roi))
    return group.subsets[0]


def test_region_is_the_bounding_box_of_the_subset(image_state, cutout):
    state, data, collection = image_state
    subset = _subset(collection, data, CircularROI(150.0, 140.0, 20.0))
    region = region_of_subset(state, subset)
    yy, xx = np.mgrid[:300, :300]
    inside = (xx - 150.0) ** 2 + (yy - 140.0) ** 2 < 20.0 ** 2
    rows, cols = np.nonzero(inside)
    assert region.box == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
    y0, y1, x0, x1 = region.box
    np.testing.assert_array_equal(region.pixels, cutout.image[y0:y1, x0:x1])
    np.testing.assert_array_equal(region.inside, inside[y0:y1, x0:x1])
    # The box's WCS puts the box's first pixel where the full image has pixel (x0, y0).
    sky = cutout.wcs.pixel_to_world(x0, y0)
    np.testing.assert_allclose(region.wcs.world_to_pixel(sky), (0, 0), atol=1e-6)
    placed = region.place(np.ones(region.pixels.shape))
    assert np.isnan(placed[:y0]).all() and (placed[y0:y1, x0:x1] == 1).all()


def test_a_polygon_region_is_explained_through_its_bounding_box(image_state):
    state, data, collection = image_state
    roi = PolygonalROI(vx=[120.0, 180.0, 170.0, 125.0], vy=[110.0, 130.0, 190.0, 175.0])
    region = region_of_subset(state, _subset(collection, data, roi))
    yy, xx = np.mgrid[:300, :300]
    rows, cols = np.nonzero(roi.contains(xx, yy))
    assert region.box == (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1)
    assert 0 < region.inside.mean() < 1  # a polygon does not fill its box


def test_a_region_off_the_image_is_reported_not_explained(image_state):
    state, data, collection = image_state
    subset = _subset(collection, data, RectangularROI(400, 500, 400, 500))
    with pytest.raises(NothingToExplain, match="holds no pixels"):
        region_of_subset(state, subset)


def test_job_gives_what_explain_gives_on_the_same_pixels(image_state, reference_model):
    state, data, collection = image_state
    state.method = "gradcam"
    region = region_of_subset(state, _subset(collection, data, RectangularROI(100, 200, 90, 210)))
    fractions = []
    job = ExplanationJob(region, settings_from_state(state), progress=fractions.append)
    result = job.run(_StoreOf(reference_model))
    direct = gx.explain(reference_model, region.pixels, method="gradcam", fit="pad", wcs=region.wcs)
    np.testing.assert_allclose(result.map, direct.map)
    assert result.probability == pytest.approx(direct.probability)
    assert fractions and fractions[-1] == 1.0


class _StoreOf:
    """A model store holding one already loaded model."""

    def __init__(self, model):
        self.model = model

    def get(self, name):
        return self.model


def test_cancel_stops_a_job_between_model_batches(image_state, reference_model):
    state, data, collection = image_state
    state.method = "lime"
    state.lime_samples = 5000
    region = region_of_subset(state, _subset(collection, data, RectangularROI(70, 230, 70, 230)))
    seen = []

    def cancel_after_first_batch(fraction):
        seen.append(fraction)
        if fraction > 0.01:
            job.cancel()

    job = ExplanationJob(region, settings_from_state(state), progress=cancel_after_first_batch)
    with pytest.raises(Cancelled):
        job.run(_StoreOf(reference_model))
    # Stopped after the first batch of perturbed images, far from the 5000 asked for.
    assert max(seen) < 0.1


def test_a_cancelled_job_does_not_start(image_state, reference_model):
    state, data, collection = image_state
    region = region_of_subset(state, _subset(collection, data, RectangularROI(100, 200, 90, 210)))
    job = ExplanationJob(region, settings_from_state(state))
    job.cancel()
    with pytest.raises(Cancelled):
        job.run(_StoreOf(reference_model))


def test_cache_forgets_the_least_recently_used():
    cache = ExplanationCache(max_size=2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3


def test_settings_pass_each_method_only_its_own_options():
    state = XAIImageViewerState()
    state.lime_samples, state.smoothgrad_samples, state.n_segments, state.segment_scale = 300, 12, 40, 0.0
    state.method = "lime"
    assert state.method_settings() == {"n_samples": 300, "segmentation": "radio", "n_segments": 40, "scale": None}
    state.method = "smoothgrad"
    assert state.method_settings() == {"n_samples": 12, "noise_level": 0.5, "output": "logit"}
    state.method, state.gradient_output = "integrated_gradients", "logit"
    assert state.method_settings() == {"n_steps": 32, "output": "logit"}
    state.method = "gradcam"  # keeps its own default output (the logit): the viewer passes none
    assert state.method_settings() == {}
    state.target = "FRI"
    assert settings_from_state(state).target == "FRI"
    state.target = PREDICTED
    assert settings_from_state(state).target is None


def test_target_choices_follow_the_model():
    state = XAIImageViewerState()
    assert state.model == "mirabest-fr"
    assert XAIImageViewerState.target.get_choices(state) == [PREDICTED, "FRI", "FRII"]


def test_evolved_lime_is_offered_only_when_it_imports(monkeypatch):
    monkeypatch.setitem(sys.modules, "glue_xai.methods.elime", None)  # makes the import fail
    assert "elime" not in available_methods()
    assert {"lime", "saliency", "smoothgrad", "integrated_gradients", "gradcam"} <= set(available_methods())


def test_contour_percentiles_are_read_leniently(image_state):
    state, data, collection = image_state
    subset = _subset(collection, data, RectangularROI(100, 200, 90, 210))
    layer_state = XAIExplanationLayerState(layer=subset, viewer_state=state)
    layer_state.contour_percentiles = "99, 90; x, 150, 50"
    assert layer_state.contour_levels() == [50.0, 90.0, 99.0]


def test_heatmap_is_symmetric_for_signed_maps_and_transparent_at_zero():
    from matplotlib import colormaps

    relevance = np.array([[-2.0, 0.0, 2.0, np.nan]])
    rgba = heatmap_rgba(relevance, signed=True, cmap_name="RdBu_r", opacity=0.8)
    np.testing.assert_allclose(rgba[0, 0, :3], colormaps["RdBu_r"](0.0)[:3])
    np.testing.assert_allclose(rgba[0, 2, :3], colormaps["RdBu_r"](1.0)[:3])
    np.testing.assert_allclose(rgba[0, :, 3], [0.8, 0.0, 0.8, 0.0])
    magnitude = heatmap_rgba(np.array([[0.0, 1.0, 4.0, 4.0]]), signed=False, cmap_name="inferno", opacity=1.0)
    np.testing.assert_allclose(magnitude[0, :, 3], [0.0, 0.5, 1.0, 1.0])


def test_colour_scale_is_not_set_by_a_few_extreme_pixels():
    relevance = np.r_[np.full(999, 0.25), 100.0]
    assert robust_peak(relevance) == pytest.approx(0.25)
    rgba = heatmap_rgba(relevance[None], signed=False, cmap_name="inferno", opacity=1.0)
    assert (rgba[0, :, 3] == 1.0).all()  # the bulk is fully visible, the outlier saturates


def test_top_superpixels_by_sign():
    positive, negative = top_superpixels([0.3, -0.5, 0.1, -0.05, 0.9, 0.0], k=2)
    assert positive == [4, 0] and negative == [1, 3]
    assert top_superpixels([0.2, 0.1], k=3) == ([0, 1], [])


def test_model_store_refuses_a_pickled_model_file(tmp_path):
    import torch

    path = tmp_path / "whole_model.pt"
    torch.save(torch.nn.Linear(2, 2), path)
    with pytest.raises(ValueError, match="pickled"):
        ModelStore().get(str(path))


def test_outlines_are_drawn_inside_each_outlined_area():
    from matplotlib.colors import to_rgba

    from glue_xai.viewer.image_layer import NEGATIVE_OUTLINE, POSITIVE_OUTLINE, outline_rgba

    inside = np.pad(np.ones((4, 6), dtype=bool), 1)  # a rectangle filling its box, grown by one pixel
    segments = np.pad(np.repeat([[0, 0, 0, 1, 1, 1]], 4, axis=0), 1, constant_values=-1)  # two superpixels
    rgba = outline_rgba(inside, segments, region_colour="red", boundaries=False, positive=[1], negative=[0])
    assert rgba.shape == (12, 16, 4)  # 2 samples per pixel
    red = np.array(to_rgba("red")) * 255
    np.testing.assert_allclose(rgba[2:4, 2:14].reshape(-1, 4), np.tile(red, (24, 1)))  # lower edge, 1 pixel wide
    assert (rgba[:2, :, 3] == 0).all() and (rgba[:, :2, 3] == 0).all()  # nothing outside the region
    # Where the two superpixels meet: the negative one's outline on its side, the positive one's on its side.
    np.testing.assert_allclose(rgba[6, 7], np.array(to_rgba(NEGATIVE_OUTLINE)) * 255, atol=0.5)
    np.testing.assert_allclose(rgba[6, 8], np.array(to_rgba(POSITIVE_OUTLINE)) * 255, atol=0.5)
    assert rgba[6, 5, 3] == 0  # inside superpixel 0, away from every edge
