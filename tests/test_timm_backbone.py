"""timm backbones (glue_xai.models.timm_backbone).

timm cannot be imported on the test machine (it imports torchvision, and PyPI's
torchvision does not import beside the CPU torch used here), so these tests put a small
stand-in ``timm`` module in ``sys.modules``. It has the parts of timm's interface that
glue-xai calls, with timm's names and signatures (timm 1.0: ``create_model(name,
pretrained, in_chans, num_classes)``, ``forward_features``, ``forward_head(x,
pre_logits)``, ``feature_info`` entries naming their module). What is tested is
glue-xai's side: building by card, safe weights, Grad-CAM's layer, the features, the
errors. The path without timm is tested too.
"""
import argparse
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

import glue_xai as gx
from glue_xai.models import ModelCard, from_timm, save_model

SIZE = 32


class StandInNet(nn.Module):
    """A stem, two stages and a pooled linear classifier, as a timm CNN is laid out."""

    def __init__(self, in_chans=3, num_classes=2):
        super().__init__()
        self.stem = nn.Conv2d(in_chans, 4, 1)
        self.stages = nn.Sequential(nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()),
                                    nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()))
        self.fc = nn.Linear(4, num_classes)
        self.feature_info = [{"num_chs": 4, "reduction": 1, "module": "stem"},
                             {"num_chs": 4, "reduction": 1, "module": "stages.0"},
                             {"num_chs": 4, "reduction": 1, "module": "stages.1"}]

    def forward_features(self, x):
        return self.stages(self.stem(x))

    def forward_head(self, x, pre_logits=False):
        x = x.mean(dim=(2, 3))
        return x if pre_logits else self.fc(x)

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


@pytest.fixture
def stand_in_timm(monkeypatch):
    created = []

    def create_model(model_name, pretrained=False, in_chans=3, num_classes=1000, **kwargs):
        assert model_name == "stand_in_net" and not pretrained and not kwargs
        created.append(in_chans)
        return StandInNet(in_chans, num_classes)

    module = types.ModuleType("timm")
    module.create_model = create_model
    monkeypatch.setitem(sys.modules, "timm", module)
    return created


def card(bands=("g", "r", "z")):
    return ModelCard(name="stand-in", classes=("smooth", "featured"), input_shape=(len(bands), SIZE, SIZE),
                     pixel_scale_arcsec=0.262, info={"bands": list(bands)})


def band_selecting_net():
    """Class "featured" rises with the light of band r (index 1) and with nothing else:
    the stem passes band r only, the stages pass it on unchanged."""
    torch.manual_seed(0)
    net = StandInNet(3, 2)
    with torch.no_grad():
        net.stem.weight.zero_()
        net.stem.bias.zero_()
        net.stem.weight[:, 1] = 1.0
        for stage in net.stages:
            conv = stage[0]
            conv.weight.zero_()
            conv.bias.zero_()
            for c in range(4):
                conv.weight[c, c, 1, 1] = 1.0
        net.fc.weight.copy_(torch.tensor([[-1.0] * 4, [1.0] * 4]))
        net.fc.bias.zero_()
    return net


def galaxy_with_two_patches():
    """A bright patch in band g (top left) and a fainter one in band r (bottom right)."""
    image = np.random.default_rng(0).normal(0, 0.01, (3, SIZE, SIZE)).astype(np.float32)
    image[0, 4:10, 4:10] += 5.0
    image[1, 22:28, 22:28] += 1.0
    return image


def test_timm_model_explained_on_its_band_and_patch(tmp_path, stand_in_timm):
    weights = tmp_path / "net.pth"
    torch.save(band_selecting_net().state_dict(), weights)
    model = from_timm("stand_in_net", weights, card())
    assert stand_in_timm == [3]
    assert model.card.architecture == "timm"
    assert model.card.architecture_options == {"model_name": "stand_in_net", "in_channels": 3, "n_classes": 2}
    image = galaxy_with_two_patches()
    assert model.predict_proba(image[None])[0].argmax() == 1

    patch = np.zeros((SIZE, SIZE), bool)
    patch[22:28, 22:28] = True
    for method in ("saliency", "integrated_gradients", "gradcam"):
        e = gx.explain(model, image, method=method, target="featured")
        relevance = np.abs(e.model_map)
        # The network is linear in band r's light, so its plain gradient is flat; the
        # attributions that weigh the gradient by the light find the patch.
        if method != "saliency":
            assert patch[np.unravel_index(np.argmax(relevance), relevance.shape)], method
        if method != "gradcam":  # which band mattered: r, the only band the network reads
            assert np.argmax(e.extras["band_relevance"]) == 1, method
            assert e.extras["band_relevance"][1] > 0.99, method
    # Grad-CAM hooks the last stage timm lists in feature_info.
    assert model.module.gradcam_layer() is model.module.net.stages[1]
    # The out-of-distribution features are the pooled features before the classifier: here
    # band r's light after the stages' ReLUs, in each of the four channels.
    features = model.module.features(torch.from_numpy(image[None]))
    assert features.shape == (1, 4)
    assert torch.allclose(features, torch.full((1, 4), float(np.clip(image[1], 0, None).mean())), atol=1e-5)


def test_saved_timm_model_reloads_with_the_same_maps(tmp_path, stand_in_timm):
    torch.manual_seed(1)
    net = StandInNet(3, 2)
    # A training script's checkpoint: weights under "state_dict", saved from nn.DataParallel.
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}}, tmp_path / "ckpt.pth")
    model = from_timm("stand_in_net", tmp_path / "ckpt.pth", card())
    image = galaxy_with_two_patches()
    expected = torch.softmax(net.eval()(torch.from_numpy(image[None])), 1).detach().numpy()
    np.testing.assert_allclose(model.predict_proba(image[None]), expected, atol=1e-6)

    save_model(model, tmp_path / "saved.pt")
    again = gx.load_model(tmp_path / "saved.pt")  # rebuilt from its card: architecture "timm"
    np.testing.assert_allclose(again.predict_proba(image[None]), expected, atol=1e-6)
    for method in ("saliency", "gradcam", "lime"):
        a = gx.explain(model, image, method=method, seed=0).model_map
        b = gx.explain(again, image, method=method, seed=0).model_map
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_pickled_checkpoint_refused(tmp_path, stand_in_timm):
    net = StandInNet(3, 2)
    path = tmp_path / "train_checkpoint.pth"
    torch.save({"state_dict": net.state_dict(), "args": argparse.Namespace(lr=0.1)}, path)
    with pytest.raises(ValueError, match="pickled Python objects"):
        from_timm("stand_in_net", path, card())


def test_weights_for_another_network_named(tmp_path, stand_in_timm):
    torch.save(StandInNet(1, 2).state_dict(), tmp_path / "one_band.pth")
    with pytest.raises(ValueError, match="do not fit timm's 'stand_in_net' with 3 band"):
        from_timm("stand_in_net", tmp_path / "one_band.pth", card())


def test_download_options_refused(stand_in_timm):
    from glue_xai.models.timm_backbone import TimmBackbone

    with pytest.raises(ValueError, match="local file"):
        TimmBackbone("stand_in_net", pretrained=True)


def test_without_timm_the_error_says_how_to_install(tmp_path, monkeypatch, stand_in_timm):
    torch.save(StandInNet(3, 2).state_dict(), tmp_path / "net.pth")
    save_model(from_timm("stand_in_net", tmp_path / "net.pth", card()), tmp_path / "saved.pt")
    monkeypatch.setitem(sys.modules, "timm", None)  # as when timm (or its torchvision) cannot import
    with pytest.raises(ImportError, match=r"glue-xai\[timm\]"):
        gx.load_model(tmp_path / "saved.pt")
    with pytest.raises(ImportError, match="torchvision built for the installed torch"):
        from_timm("stand_in_net", tmp_path / "net.pth", card())
    # The viewer's model store turns it into the ValueError its callers show as a message.
    from glue_xai.viewer.model_store import ModelStore

    with pytest.raises(ValueError, match=r"glue-xai\[timm\]"):
        ModelStore().get(str(tmp_path / "saved.pt"))
