"""Hand-made models whose decisions are known exactly, for tests of meaning."""
import numpy as np
import torch
from torch import nn

from glue_xai.models import Classifier, ModelCard


class PatchModel(nn.Module):
    """Decides from one rectangular patch only: logit(class 1) = gain * summed flux in the patch.

    The patch is masked *before* the convolution, so every method (Grad-CAM included)
    can only find evidence there.
    """

    def __init__(self, size=64, patch=(slice(10, 22), slice(40, 52)), gain=0.05):
        super().__init__()
        mask = torch.zeros(1, 1, size, size)
        mask[0, 0, patch[0], patch[1]] = 1.0
        self.register_buffer("mask", mask)
        self.conv = nn.Conv2d(1, 1, kernel_size=1, bias=False)
        nn.init.constant_(self.conv.weight, 1.0)
        self.gain = gain

    def forward(self, x):
        evidence = self.conv(x * self.mask).sum(dim=(1, 2, 3)) * self.gain
        return torch.stack([-evidence, evidence], dim=1)

    def gradcam_layer(self):
        return self.conv


def patch_classifier(size=64, patch=(slice(10, 22), slice(40, 52)), batch_size=128):
    card = ModelCard(name="patch-test", classes=("empty", "source"), input_shape=(1, size, size),
                     preprocessing={"background": "none", "scale": "none"})
    return Classifier(PatchModel(size, patch), card, batch_size=batch_size)


def scene_with_decoys(size=64, patch=(slice(10, 22), slice(40, 52)), seed=0):
    """Noise, a moderate source inside the patch, and brighter decoy sources outside it."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    image = 0.05 * rng.standard_normal((size, size))
    cy, cx = (patch[0].start + patch[0].stop) / 2, (patch[1].start + patch[1].stop) / 2
    image += 1.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 3.0 ** 2))
    for dy, dx in [(45, 15), (50, 50), (20, 8)]:
        image += 3.0 * np.exp(-((yy - dy) ** 2 + (xx - dx) ** 2) / (2 * 3.0 ** 2))
    return image


def load_benchmark(name):
    """A script of benchmarks/ (not a package) imported as a module, for tests of its helpers."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
