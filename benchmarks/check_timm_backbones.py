"""glue-xai's timm path against real timm, where timm imports (not on the test machine).

``tests/test_timm_backbone.py`` uses a stand-in for timm's interface, because timm needs a
torchvision built for the installed torch. This script checks the same path with timm
itself, for three backbone families: ``from_timm`` gives timm's own probabilities, every
gradient method and LIME run, a saved model reloads by its card with identical maps, and
Grad-CAM's layer and the out-of-distribution features are the ones expected.

    python -m venv --system-site-packages /tmp/timm-venv
    /tmp/timm-venv/bin/pip install torch==2.14.1 torchvision==0.29.1 timm safetensors
    /tmp/timm-venv/bin/python benchmarks/check_timm_backbones.py
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np

BACKBONES = ("resnet18", "convnext_nano", "efficientnet_b0")
METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime")


def check(name, folder, seed=0):
    import timm
    import torch

    import glue_xai as gx
    from glue_xai.models import ModelCard, from_timm, save_model

    torch.manual_seed(seed)
    net = timm.create_model(name, pretrained=False, in_chans=3, num_classes=2).eval()
    weights = folder / f"{name}.safetensors"
    from safetensors.torch import save_file

    save_file(net.state_dict(), str(weights))
    card = ModelCard(name=name, classes=("smooth", "featured"), input_shape=(3, 64, 64), pixel_scale_arcsec=0.262,
                     info={"bands": ["g", "r", "z"]})
    model = from_timm(name, weights, card)
    image = np.random.default_rng(seed).normal(0, 1, (3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(net(torch.from_numpy(image[None])), 1).numpy()
    layer = model.module.gradcam_layer()
    save_model(model, folder / f"{name}.pt")
    again = gx.load_model(folder / f"{name}.pt")
    worst = 0.0
    for method in METHODS:
        a = gx.explain(model, image, method=method, seed=seed).model_map
        b = gx.explain(again, image, method=method, seed=seed).model_map
        assert np.isfinite(a).all() and np.abs(a).max() > 0, f"{name}: empty {method} map"
        worst = max(worst, float(np.abs(a - b).max()))
    return {"probability_difference": float(np.abs(model.predict_proba(image[None]) - expected).max()),
            "gradcam_layer": next(n for n, m in model.module.net.named_modules() if m is layer),
            "features": tuple(model.module.features(torch.from_numpy(image[None])).shape),
            "largest_map_difference_after_reload": worst}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES))
    args = parser.parse_args(argv)
    import timm
    import torch

    torch.set_num_threads(1)
    print(f"timm {timm.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as folder:
        for name in args.backbones:
            print(name, check(name, Path(folder)))


if __name__ == "__main__":
    main()
