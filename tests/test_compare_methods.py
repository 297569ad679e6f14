"""Every method side by side: the numbers under each map, the agreement matrix, and the
FITS and PNG exports, on a hand-made model whose evidence is known (one patch)."""
import numpy as np
import pytest
import torch

from glue_xai.methods.compare import compare_methods, emission_mask
from glue_xai.methods.compare_plot import plot_comparison, source_box
from glue_xai.models import Classifier, ModelCard

from helpers import patch_classifier, scene_with_decoys

PATCH = (slice(10, 22), slice(40, 52))
FAST = {"occlusion": {"patch": 4, "stride": 2}, "rise": {"n_masks": 300}, "lime": {"n_samples": 300},
        "shapley": {"budget": 256}}
METHODS = ("saliency", "integrated_gradients", "gradcam", "occlusion", "rise", "lime")


@pytest.fixture(scope="module")
def comparison():
    return compare_methods(patch_classifier(), scene_with_decoys(), methods=METHODS, target="source", seed=0,
                           options=FAST)


def test_every_method_finds_the_deciding_patch_and_is_measured(comparison):
    inside = np.zeros((64, 64), bool)
    inside[PATCH] = True
    assert comparison.methods == list(METHODS) and not comparison.failed
    assert comparison.target_name == "source"
    for method in METHODS:
        e = comparison.explanations[method]
        assert inside[np.unravel_index(np.argmax(e.model_map), e.model_map.shape)], method
        q = comparison.quality[method]
        # The emission holds the patch's source and three brighter decoys the model ignores:
        # a map that follows the model puts most of its relevance on the one in the patch,
        # and that is inside the emission.
        assert q["on_source_share"] > 0.5, (method, q)
        assert 0 <= q["deletion_area"] <= 1 and q["seconds"] > 0
        # Saliency of this linear model is one constant over its support: no ranks to compare.
        assert np.isnan(q["randomisation"]) if method == "saliency" else 0 <= q["randomisation"] <= 1
    # Re-initialised, the network still sees only the patch, and a brighter pixel still adds
    # more: the ranks of these maps do not change, and the randomisation check says so
    # (a correlation near 1 is a failed sanity check).
    for method in ("integrated_gradients", "occlusion"):
        assert comparison.quality[method]["randomisation"] > 0.9, method


def test_emission_mask_covers_the_sources_and_not_the_sky():
    model = patch_classifier()
    image = scene_with_decoys()
    x, placement = model.prepare(image)
    mask = emission_mask(model, image, placement)
    assert mask[16, 46] and mask[45, 15] and mask[50, 50] and mask[20, 8]
    yy, xx = np.mgrid[0:64, 0:64]
    far = np.ones((64, 64), bool)
    for cy, cx in [(16, 46), (45, 15), (50, 50), (20, 8)]:
        far &= np.hypot(yy - cy, xx - cx) > 12
    # 3-sigma noise peaks are rare and only grown by the beam: the empty sky stays out.
    assert mask[far].mean() < 0.02


def test_agreement_is_a_symmetricrank_correlation_with_unit_diagonal(comparison):
    a = comparison.agreement
    assert a.shape == (len(METHODS), len(METHODS))
    np.testing.assert_allclose(a, a.T)
    np.testing.assert_allclose(np.diag(a), 1.0)
    finite = a[np.isfinite(a)]
    assert np.all((finite >= -1 - 1e-12) & (finite <= 1 + 1e-12))
    # Integrated gradients and Grad-CAM of this model (a 1x1 convolution of the masked
    # image) are both the image times a constant inside the patch: the same order.
    i, j = METHODS.index("integrated_gradients"), METHODS.index("gradcam")
    assert a[i, j] > 0.999
    # Saliency is one constant over the patch: nothing to rank where only it and integrated
    # gradients speak, so no number rather than a made-up one.
    assert np.isnan(a[METHODS.index("saliency"), i])
    assert a[i, METHODS.index("occlusion")] > 0.5


def test_fits_export_has_one_extension_per_method_with_its_numbers(comparison, tmp_path):
    from astropy.io import fits
    from astropy.table import Table

    path = tmp_path / "compare.fits"
    comparison.to_fits(path)
    with fits.open(path) as hdul:
        names = [h.name for h in hdul]
        assert names == ["PRIMARY", *[m.upper() for m in METHODS], "AGREEMENT"]
        assert hdul[0].header["TARGET"] == "source"
        for method in METHODS:
            hdu = hdul[method.upper()]
            np.testing.assert_allclose(hdu.data, comparison.explanations[method].map, rtol=1e-6, atol=1e-30)
            q = comparison.quality[method]
            assert hdu.header["ONSOURCE"] == pytest.approx(q["on_source_share"])
            assert hdu.header["DELAREA"] == pytest.approx(q["deletion_area"])
            assert (hdu.header["RANDRHO"] == "nan" if np.isnan(q["randomisation"])
                    else hdu.header["RANDRHO"] == pytest.approx(q["randomisation"]))
        table = Table.read(hdul["AGREEMENT"])
    assert list(table["method"]) == list(METHODS)
    np.testing.assert_allclose(np.array([table[m] for m in METHODS]).T, comparison.agreement, equal_nan=True)


def test_png_export_draws_every_map_and_the_matrix(comparison, tmp_path):
    figure = plot_comparison(comparison)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == len(METHODS) + 1
    titles = [ax.get_title() for ax in visible]
    assert "Grad-CAM" in titles and "agreement (Spearman ρ on the source)" in titles
    path = tmp_path / "compare.png"
    figure.savefig(path, dpi=60)
    assert path.stat().st_size > 10_000
    y0, y1, x0, x1 = source_box(comparison)
    assert y0 <= 16 < y1 and x0 <= 46 < x1  # the explained source is inside the panels' box


def test_methods_a_model_cannot_run_are_listed_with_the_reason():
    patch = patch_classifier()
    network = patch.module

    def black_box(x):  # numpy in, probabilities out: no gradients to take
        with torch.no_grad():
            return torch.softmax(network(torch.as_tensor(x, dtype=torch.float32)), 1).numpy()

    card = ModelCard(name="black-box", classes=("empty", "source"), input_shape=(1, 64, 64),
                     preprocessing={"background": "none", "scale": "none"})
    model = Classifier(black_box, card)
    result = compare_methods(model, scene_with_decoys(), methods=("saliency", "gradcam", "occlusion"),
                             target="source", options=FAST)
    assert result.methods == ["occlusion"]
    assert set(result.failed) == {"saliency", "gradcam"}
    assert all("gradient" in why or "torch" in why for why in result.failed.values()), result.failed
    assert np.isnan(result.quality["occlusion"]["randomisation"])  # no network to randomise
    figure = plot_comparison(result)
    assert "not shown: saliency" in figure._suptitle.get_text()


def test_progress_is_reported_and_cancelling_stops_between_methods():
    model = patch_classifier()
    seen = []
    compare_methods(model, scene_with_decoys(), methods=("saliency", "gradcam"), target="source",
                    randomisation=False, progress=lambda done, total, method: seen.append((done, total, method)))
    assert seen == [(1, 2, "saliency"), (2, 2, "gradcam")]
    with pytest.raises(InterruptedError, match="after 1 of 2"):
        compare_methods(model, scene_with_decoys(), methods=("saliency", "gradcam"), target="source",
                        randomisation=False, cancelled=lambda: len(seen) > 2,
                        progress=lambda *a: seen.append(a))
    with pytest.raises(ValueError, match="at least one method"):
        compare_methods(model, scene_with_decoys(), methods=())


def test_pixels_both_maps_leave_at_zero_do_not_make_agreement():
    from glue_xai.methods.compare import rank_correlation

    rng = np.random.default_rng(0)
    region = np.ones((20, 20), bool)
    a, b = np.zeros((20, 20)), np.zeros((20, 20))
    a[5:10, 5:10] = rng.random((5, 5))
    b[5:10, 5:10] = rng.random((5, 5))
    # Independent values on a shared support: with the 375 shared zeros counted the rank
    # correlation would be about 0.9; without them it is near 0.
    assert abs(rank_correlation(a, b, region)) < 0.5


def test_a_failed_perturbation_check_is_explained_under_the_figure(comparison):
    import copy

    from glue_xai.methods.compare_plot import PERTURBATION_NOTE, RANDOMISATION_MAX

    figure = plot_comparison(comparison)
    perturbation_failed = any(m in ("lime", "elime", "occlusion", "rise", "shapley")
                              and comparison.quality[m]["randomisation"] > RANDOMISATION_MAX
                              for m in comparison.methods)
    assert (PERTURBATION_NOTE in figure._suptitle.get_text()) == perturbation_failed
    gradient_fails = copy.deepcopy(comparison)  # a gradient method failing is not explained away
    for m in gradient_fails.methods:
        gradient_fails.quality[m]["randomisation"] = 0.9 if m == "saliency" else 0.1
    assert PERTURBATION_NOTE not in plot_comparison(gradient_fails)._suptitle.get_text()
    occlusion_fails = copy.deepcopy(gradient_fails)
    occlusion_fails.quality["occlusion"]["randomisation"] = 0.9
    assert PERTURBATION_NOTE in plot_comparison(occlusion_fails)._suptitle.get_text()

