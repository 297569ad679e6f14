"""Explanations built into a Sparse Feature Network: its active features and where they fire.

An SFNet (:mod:`glue_xai.models.sfnet`) computes ``output = bias + sum_j weight[j] *
feature[j]`` over the (at most k) features active for the image, so its explanation is
exact, not estimated: which features, how much each adds to the explained output, and
each feature's map (the trunk's activation of that channel before pooling) on the
image's own pixel grid.

    from glue_xai.methods.features import explain_features
    fe = explain_features(gx.load_model("mirabest-sfnet"), cutout)
    fe.features, fe.contributions, fe.maps      # (n,), (n,), (n, H, W)
"""
from dataclasses import dataclass

import numpy as np


# eq=False: compared by identity (arrays have no single truth value; echo compares old and new).
@dataclass(frozen=True, eq=False)
class FeatureExplanation:
    """The active features of one image and what each contributes.

    ``features``: indices of the active features, strongest contribution to ``target``
    first; ``activations`` their values after the top-k; ``contributions`` weight x
    activation for the target output; ``maps`` (n, H, W) each feature's pre-pooling
    activation, up-sampled and placed on the input image's grid (0 outside the model's
    field of view). ``output = bias + contributions.sum()`` is the target's logit (or
    regressed value); ``probability`` is None for a regression model.
    """

    features: np.ndarray
    activations: np.ndarray
    contributions: np.ndarray
    maps: np.ndarray
    bias: float
    output: float
    target: int
    target_name: str
    probability: object

    def map_of(self, feature):
        """The input-grid map of feature index ``feature`` (one of ``features``)."""
        where = np.flatnonzero(self.features == feature)
        if where.size == 0:
            raise KeyError(f"feature {feature} is not active for this image; active: {self.features.tolist()}")
        return self.maps[where[0]]


def sfnet_module(model):
    """The SFNet inside a Classifier, or a TypeError saying why there is none."""
    module = getattr(model, "module", None)
    if module is None or not all(hasattr(module, a) for a in ("feature_maps", "dense_features", "topk", "head")):
        raise TypeError(f"model {getattr(model, 'name', model)!r} is not a Sparse Feature Network "
                        "(architecture 'sfnet'): feature explanations need one")
    return module


def _forward(model, module, x):
    """One pass of an SFNet on one model-grid input (C, h, w): the trunk's feature maps
    (1, F, h', w'), the sparse features (F,) and the head's outputs, on the CPU."""
    import torch

    with torch.inference_mode():
        maps = module.feature_maps(model.tensor(x[None]))
        sparse = module.topk(module.dense_features(maps))[0]
        outputs = module.head(sparse[None])[0]
    return maps.cpu(), sparse.cpu(), outputs.cpu()


def _ranked(module, sparse, target):
    """The active features, strongest contribution (weight x activation) first, and those
    contributions; ties keep feature order."""
    import torch

    active = torch.nonzero(sparse).flatten()
    contributions = module.head.weight[target].detach().cpu()[active] * sparse[active]
    order = torch.argsort(-contributions, stable=True)
    return active[order], contributions[order]


def explain_features(model, image, target=None, *, pixel_scale_arcsec=None, fit="crop", allow_constant=False):
    """The active features of ``model`` (an SFNet Classifier) on ``image``, in its own pixels.

    ``target``: class name or index (default: the predicted class); for a regression SFNet
    (``task="regression"``) the card's ``classes`` name its outputs and the default is the first.
    A blank (constant) image is refused unless ``allow_constant``, as by :func:`glue_xai.explain`.
    """
    import torch
    import torch.nn.functional as F

    module = sfnet_module(model)
    from glue_xai.models.preprocess import check_not_blank

    x, placement = model.prepare(image, pixel_scale_arcsec=pixel_scale_arcsec, fit=fit)
    if not allow_constant:
        check_not_blank(image)
    maps, sparse, outputs = _forward(model, module, x)
    # Bilinear up-sampling to the model grid: the trunk's cells are blocks of input pixels.
    model_maps = F.interpolate(maps, size=x.shape[1:], mode="bilinear", align_corners=False)[0]
    classification = getattr(module, "task", "classification") == "classification"
    if target is None:
        target = int(outputs.argmax()) if classification else 0
    else:
        target = model.class_index(target)
    active, contributions = _ranked(module, sparse, target)
    active = active.numpy()
    return FeatureExplanation(
        features=active, activations=sparse.numpy()[active].astype(np.float64),
        contributions=contributions.numpy().astype(np.float64),
        maps=np.stack([placement.to_input(model_maps[j].numpy()) for j in active]) if len(active)
        else np.zeros((0, *placement.input_size)),
        bias=float(module.head.bias.detach()[target]), output=float(outputs[target]), target=int(target),
        target_name=model.classes[target],
        probability=float(torch.softmax(outputs, 0)[target]) if classification else None)


def feature_activations(model, images, pixel_scale_arcsec=None, fit="crop"):
    """The sparse features (N, F) of a stack of images in their own pixels, batched."""
    import torch

    module = sfnet_module(model)
    x = model.prepare_many(images, pixel_scale_arcsec, fit)
    parts = []
    with torch.inference_mode():
        for start in range(0, len(x), model.batch_size):
            parts.append(module.features(model.tensor(x[start:start + model.batch_size])).cpu().numpy())
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros((0, module.head.in_features))


def feature_columns(model, images, pixel_scale_arcsec=None, fit="crop"):
    """Catalogue columns ``sfnet_feature_<i>``: one per feature active for any of ``images``.

    Zero where a feature is not among an image's k strongest, so the column is exactly
    what the model's head reads; plot it against redshift, size or class.
    """
    activations = feature_activations(model, images, pixel_scale_arcsec, fit)
    return {f"sfnet_feature_{j}": activations[:, j] for j in np.flatnonzero((activations != 0).any(axis=0))}


def features(model, x, target, seed=0, feature=0):
    """The SFNet's own explanation as an ``explain`` method (``method="features"``).

    The head reads each active feature's *mean* over the trunk's grid, so
    ``weight_j * activation_j(pixel)`` spreads feature j's contribution over the image and
    the map's mean over the field of view is (up to resampling) the sum of the
    contributions. ``feature=0`` shows all active features together; ``feature=r`` only the
    r-th strongest contribution. ``seed`` is accepted for the common call shape; the
    method is exact and deterministic.
    """
    import torch
    import torch.nn.functional as F

    module = sfnet_module(model)
    feature = int(feature)
    if feature < 0 or feature > module.k:
        raise ValueError(f"feature must be 0 (all) or a rank from 1 to k={module.k}, got {feature}")
    maps, sparse, _ = _forward(model, module, x)
    active, contributions = _ranked(module, sparse, target)
    with torch.inference_mode():
        weighted = module.head.weight[target].cpu()[active][:, None, None] * maps[0, active]
        upsampled = F.interpolate(weighted[None], size=x.shape[1:], mode="bilinear", align_corners=False)[0]
    if feature > len(active):
        raise ValueError(f"only {len(active)} features are active for this image; asked for rank {feature}")
    shown = upsampled.sum(0) if feature == 0 else upsampled[feature - 1]
    return {"map": shown.numpy().astype(np.float64), "n_model_evals": 1,
            "params": {"feature": feature},
            "extras": {"features": active.numpy(), "contributions": contributions.numpy().astype(np.float64),
                       "activations": sparse[active].numpy().astype(np.float64),
                       "bias": float(module.head.bias.detach()[target])}}

