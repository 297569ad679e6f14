"""timm backbones, the networks most current galaxy-morphology classifiers are built on
(ResNets, ConvNeXts, EfficientNets, ...), as the glue-xai architecture ``"timm"``.

The network is built by ``timm.create_model(name, pretrained=False, ...)``: nothing is
downloaded (glue-xai never fetches weights at run time) and nothing is unpickled; the
weights come from a local file the user names, read as tensors only
(``torch.load(weights_only=True)`` or safetensors). A model saved with
:func:`~glue_xai.models.save_model` then loads by its card like any shipped model.

timm is an optional extra (``pip install "glue-xai[timm]"``). It imports torchvision, so
it needs a torchvision built for the installed torch; where that import fails, building
a ``"timm"`` network raises an ImportError (also a ValueError) that says so.
"""
from pathlib import Path

import torch
from torch import nn

from glue_xai.models.architectures import reads_features, register_architecture

ARCHITECTURE = "timm"


class MissingPackage(ImportError, ValueError):
    """An optional package a model needs cannot be imported. An ImportError, as Python
    code expects; also a ValueError, the kind of error the viewer and the loaders show as
    a message about the model rather than a failure of glue-xai."""


def import_timm():
    """The timm module, or a :class:`MissingPackage` naming what is missing and how to install it."""
    try:
        import timm
    except Exception as error:  # torchvision built for another torch fails with more than ImportError
        raise MissingPackage(
            f"timm backbones need the timm package, which could not be imported ({type(error).__name__}: "
            f"{error}). Install it with `pip install \"glue-xai[timm]\"`; timm also needs a torchvision built "
            f"for the installed torch {torch.__version__}") from error
    return timm


class TimmBackbone(nn.Module):
    """``timm.create_model(model_name, pretrained=False, in_chans=in_channels,
    num_classes=n_classes, **timm_options)``, with what glue-xai's methods ask of a
    network: ``features`` (the pooled features before the classifier, for the
    out-of-distribution check) and ``gradcam_layer`` (the last stage timm lists in its
    ``feature_info``, the finest map that still sees the whole network)."""

    def __init__(self, model_name, in_channels=3, n_classes=2, **timm_options):
        super().__init__()
        if "pretrained" in timm_options or "checkpoint_path" in timm_options:
            raise ValueError("timm weights come from a local file through glue_xai.models.from_timm, not from "
                             "timm's 'pretrained' or 'checkpoint_path' options (which download or unpickle)")
        self.model_name = str(model_name)
        self.net = import_timm().create_model(self.model_name, pretrained=False, in_chans=int(in_channels),
                                              num_classes=int(n_classes), **timm_options)

    @reads_features
    def forward(self, x):
        # timm's forward is forward_head(forward_features(x)): the head reads exactly the
        # pooled features (its dropout is idle when evaluating).
        return self.net(x)

    def features(self, x):
        return self.net.forward_head(self.net.forward_features(x), pre_logits=True)

    def gradcam_layer(self):
        stages = getattr(self.net, "feature_info", None)
        if stages:
            return self.net.get_submodule(stages[-1]["module"])
        convs = [m for m in self.net.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError(f"timm model {self.model_name!r} lists no feature stages and has no convolution: "
                             "Grad-CAM needs layer=...")
        return convs[-1]


register_architecture(ARCHITECTURE, TimmBackbone)


def read_weights(path):
    """A state dict from a local ``.safetensors`` file or a torch file holding only tensors
    (a bare state dict, or one under ``"state_dict"``/``"model"`` as training scripts
    save them). Keys written by ``nn.DataParallel`` lose their ``module.`` prefix."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file {path}")
    if path.suffix.lower() == ".safetensors":
        try:
            from safetensors.torch import load_file
        except ImportError as error:
            raise MissingPackage(f"{path.name} is a safetensors file: install safetensors to read it") from error
        state = load_file(str(path), device="cpu")
    else:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:
            if "Unsupported global" in str(error):
                raise ValueError(f"{path.name} holds pickled Python objects besides the weights (a training "
                                 "checkpoint with its arguments?), which can run code when loaded: save "
                                 "model.state_dict() alone, or convert it to safetensors") from None
            raise ValueError(f"{path} cannot be read as a weights file ({type(error).__name__})") from None
        for key in ("state_dict", "model", "state_dict_ema"):
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path.name} holds no state dict (a mapping of names to tensors)")
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def from_timm(model_name, weights, card, **timm_options):
    """A timm network with local weights as a :class:`~glue_xai.models.Classifier`.

    ``model_name``: timm's name (``"resnet18"``, ``"convnext_nano"``, ...). ``weights``: a
    local file of the trained network's state dict (see :func:`read_weights`). ``card``: a
    :class:`~glue_xai.models.ModelCard`, dict or card JSON giving classes (or outputs),
    bands, pixel scale, input shape and preprocessing; its architecture is set to
    ``"timm"`` with these options, so :func:`~glue_xai.models.save_model` writes a file
    that :func:`~glue_xai.load_model` rebuilds without unpickling anything.
    """
    from dataclasses import replace

    from glue_xai.models.classifier import Classifier
    from glue_xai.models.loading import _resolve_card

    if card is None:
        raise TypeError("a timm model needs a card (a ModelCard, dict or card JSON) giving its classes, bands and "
                        "input shape")
    card = _resolve_card(card, None)
    options = {"model_name": str(model_name), "in_channels": card.n_channels, "n_classes": len(card.classes),
               **timm_options}
    card = replace(card, architecture=ARCHITECTURE, architecture_options=options)
    module = TimmBackbone(**options)
    state = read_weights(weights)
    try:
        module.net.load_state_dict(state)
    except RuntimeError as error:
        first = str(error).strip().splitlines()[1:2] or [str(error)]
        raise ValueError(f"the weights in {Path(weights).name} do not fit timm's {model_name!r} with "
                         f"{card.n_channels} band(s) and {len(card.classes)} output(s): {first[0].strip()}") from None
    return Classifier(module.eval(), card)
