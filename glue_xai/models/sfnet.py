"""Sparse Feature Networks: classifiers (or regressors) whose every output is a sum of a few features.

A CNN trunk maps the image to feature maps; global pooling turns each map into one
number (a *feature*); ReLU and a top-k layer keep only the k strongest features of each
image; one linear layer reads them. So for every image

    output[c] = bias[c] + sum over the k active features j of weight[c, j] * feature[j]

and each term, with the trunk's map of channel j, is an explanation built into the model
(see :func:`glue_xai.methods.features.explain_features`).

Registered as architecture ``"sfnet"``, so the project's training recipe and
:func:`glue_xai.models.load_model` build it from a model card. The shipped model:

    train_sfnet("glue_xai/models/weights", k=4, epochs=150)
"""
import numpy as np
import torch
from torch import nn

from glue_xai.models.architectures import build_architecture, reads_features, register_architecture


class TopK(nn.Module):
    """Keep the ``k`` largest values of each row of a (N, F) tensor; set the rest to zero.

    The mask is a constant for autograd, so gradients reach only the kept values: a
    feature that is not among an image's k strongest is not trained by that image.
    Rows with fewer than k positive values (after the ReLU) keep fewer than k non-zeros.
    """

    def __init__(self, k):
        super().__init__()
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        self.k = int(k)

    def forward(self, z):
        k = min(self.k, z.shape[1])
        mask = torch.zeros_like(z).scatter_(1, z.topk(k, dim=1).indices, 1.0)
        return z * mask

    def extra_repr(self):
        return f"k={self.k}"


class SFNet(nn.Module):
    """CNN trunk -> global pooling -> ReLU -> top-k -> one linear layer.

    ``trunk``: the name of a registered architecture whose module has a ``trunk`` (the
    convolutional part, kept) and a linear ``head`` (discarded), e.g. ``"radio_cnn"``,
    built with ``trunk_options``; or a ``torch.nn.Module`` mapping (N, C, H, W) images
    to (N, F, h, w) feature maps (such a model cannot be saved by name, only used).
    ``pooling``: ``"avg"`` (each feature is its map's mean, so a contribution is spread
    evenly over the map) or ``"max"``. ``task``: ``"classification"`` (the outputs are
    logits of ``n_classes`` classes) or ``"regression"`` (``n_classes`` real outputs).
    """

    def __init__(self, in_channels=1, n_classes=2, k=4, trunk="radio_cnn", trunk_options=None, pooling="avg",
                 task="classification"):
        super().__init__()
        if task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
        if pooling not in ("avg", "max"):
            raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}")
        if isinstance(trunk, nn.Module):
            self.trunk = trunk
        else:
            self.trunk = build_architecture(trunk, in_channels=in_channels, n_classes=n_classes,
                                            **dict(trunk_options or {})).trunk
        self.task = task
        self.pool = nn.AdaptiveAvgPool2d(1) if pooling == "avg" else nn.AdaptiveMaxPool2d(1)
        self.topk = TopK(k)
        self.head = nn.Linear(_n_feature_maps(self.trunk, in_channels), n_classes)

    @property
    def k(self):
        return self.topk.k

    @property
    def n_features(self):
        return self.head.in_features

    def feature_maps(self, x):
        """The trunk's (N, F, h, w) maps, before pooling: where in the image each feature fires."""
        return self.trunk(x)

    def dense_features(self, maps):
        """Pooled, rectified features of every channel of (N, F, h, w) maps, before the top-k (N, F)."""
        return torch.relu(torch.flatten(self.pool(maps), 1))

    def features(self, x):
        """The sparse features the head reads (N, F): at most k non-zero per image."""
        return self.topk(self.dense_features(self.feature_maps(x)))

    @reads_features
    def forward(self, x):
        return self.head(self.features(x))

    def gradcam_layer(self):
        return self.trunk[-1] if isinstance(self.trunk, nn.Sequential) else self.trunk


def _n_feature_maps(trunk, in_channels):
    """Channels out of ``trunk``, found by one small forward pass (any CNN trunk works)."""
    was_training = trunk.training
    trunk.eval()
    with torch.no_grad():
        n = trunk(torch.zeros(1, in_channels, 64, 64)).shape[1]
    trunk.train(was_training)
    return n


register_architecture("sfnet", SFNet)


def sparsity_summary(model, images):
    """How an SFNet Classifier uses its features over ``images`` (in their own pixels)."""
    from glue_xai.methods.features import feature_activations

    active = feature_activations(model, images) != 0
    uses = active.sum(axis=0)
    return {"n_features": int(active.shape[1]), "k": model.module.k, "n_images": int(len(active)),
            "features_ever_active": int((uses > 0).sum()), "ever_active": np.flatnonzero(uses).tolist(),
            "images_per_feature": {str(j): int(uses[j]) for j in np.flatnonzero(uses)},
            "mean_active_per_image": float(active.sum(axis=1).mean())}


def train_sfnet(out_dir, k=4, trunk_options=None, epochs=150, name="mirabest-sfnet", stem="mirabest_sfnet",
                reference="mirabest-fr", **train_options):
    """Train an SFNet with the project's recipe (same validation split as the reference CNN).

    ``trunk_options`` go to the RadioCNN trunk (e.g. ``{"double_last": 2}``). The card
    also records the reference model's accuracy on that split, measured the same way,
    and how many features the MiraBest images ever use.
    """
    from glue_xai.models.train import train

    options = {"k": k, **({"trunk_options": dict(trunk_options)} if trunk_options else {})}
    train(out_dir, epochs=epochs, architecture="sfnet", architecture_options=options, name=name, stem=stem,
          **train_options)
    return annotate_card(out_dir, stem, reference)


def annotate_card(out_dir, stem="mirabest_sfnet", reference="mirabest-fr", root=None):
    """Add the reference comparison and the feature use to a trained SFNet's card."""
    from pathlib import Path

    from glue_xai.data.mirabest import load_mirabest_batches
    from glue_xai.models.evaluate import legacy_validation_accuracy as validation_accuracy
    from glue_xai.models.loading import load_model

    card_path = Path(out_dir) / f"{stem}.json"
    model = load_model(Path(out_dir) / f"{stem}.pt", card=card_path)
    data = load_mirabest_batches(root)  # once, for all three numbers
    card = model.card
    card.info["evaluation"] = {"validation": validation_accuracy(model, data=data)}
    card.info["reference_model"] = {"name": reference,
                                    "validation": validation_accuracy(load_model(reference), data=data)}
    card.info["feature_use"] = sparsity_summary(model, data.images)
    card.save(card_path)
    return card
