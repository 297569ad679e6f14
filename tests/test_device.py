"""Where the network runs (``device=``): errors that name the problem, and no code path
that feeds the network without going through the model's own device."""
import numpy as np
import pytest
import torch

import glue_xai as gx
from glue_xai.models import Classifier
from glue_xai.models.device import resolve_device
from tests.helpers import PatchModel, patch_classifier, scene_with_decoys


def test_auto_takes_a_gpu_only_when_there_is_one():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device(None).type == expected
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: 'cuda' is valid here")
def test_asking_for_a_missing_gpu_says_so():
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        gx.load_model("mirabest-fr", device="cuda:0")


@pytest.mark.parametrize("device", ["tpu", "gpu", "meta", 3.5])
def test_an_unknown_device_is_refused_by_name(device):
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device(device)


def test_the_shipped_model_on_the_cpu_gives_the_same_answers(reference_model):
    image = np.random.default_rng(0).normal(0, 1, (150, 150))
    on_cpu = gx.load_model("mirabest-fr", device="cpu")
    assert on_cpu.device.type == "cpu" and "device=cpu" in repr(on_cpu)
    np.testing.assert_array_equal(on_cpu.predict_proba(image), reference_model.predict_proba(image))


class DoubleDevice(Classifier):
    """Stands in for a device the network's weights live on: the module is float64 and
    only :meth:`tensor` makes float64 inputs, so any code path that hands the network a
    tensor of its own (as a CPU-only path would) fails with a dtype error."""

    def tensor(self, x):
        return super().tensor(x).double()


def double_device_model():
    model = patch_classifier()
    return DoubleDevice(PatchModel().double(), model.card, batch_size=32, device="cpu")


FAST = {"lime": {"n_samples": 64}, "elime": {"generations": 3, "population": 8},
        "smoothgrad": {"n_samples": 4}, "integrated_gradients": {"n_steps": 4}, "rise": {"n_masks": 64},
        "shapley": {"budget": 64}, "occlusion": {}}


@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime",
                                    "occlusion", "rise", "shapley"])
def test_every_method_feeds_the_network_through_its_device(method):
    model = double_device_model()
    image = scene_with_decoys()
    explanation = gx.explain(model, image, method=method, target="source", seed=0, **FAST.get(method, {}))
    reference = gx.explain(patch_classifier(), image, method=method, target="source", seed=0,
                           **FAST.get(method, {}))
    # Same answer as the float32 CPU model, to float32 rounding.
    assert np.isfinite(explanation.map).all()
    scale = np.abs(reference.map).max()
    np.testing.assert_allclose(explanation.map, reference.map, atol=1e-4 * scale + 1e-12)


def test_the_survey_core_feeds_the_network_through_its_device():
    from glue_xai.survey.compute import explain_sources

    from astropy.wcs import WCS

    model = double_device_model()
    images = [scene_with_decoys(seed=s) for s in range(3)]
    wcs = WCS(naxis=2)
    wcs.wcs.ctype, wcs.wcs.cdelt, wcs.wcs.crpix = ["RA---TAN", "DEC--TAN"], [-1.8 / 3600, 1.8 / 3600], [32, 32]
    for method in ("saliency", "integrated_gradients"):
        results = explain_sources(model, images, [wcs] * 3, [0, 1, 2], method, 0, "source", {}, sizes_from=None)
        assert [columns["xai_status"] for columns, _ in results] == ["ok"] * 3
        reference = explain_sources(patch_classifier(), images, [wcs] * 3, [0, 1, 2], method, 0, "source", {},
                                    sizes_from=None)
        for (_, got), (_, expected) in zip(results, reference):
            np.testing.assert_allclose(got, expected, atol=1e-4 * np.abs(expected).max())


def test_glue_xai_explain_refuses_a_missing_gpu_before_computing(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    from glue_xai.cli import main

    catalogue = tmp_path / "cat.csv"
    catalogue.write_text("ra,dec\n10.0,20.0\n")
    code = main(["explain", "--catalogue", str(catalogue), "--out", str(tmp_path / "out.fits"), "--cutouts", str(tmp_path),
                 "--device", "cuda"])
    assert code != 0
    assert "sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "out.fits").exists()
