"""Models: the :class:`Classifier` wrapper, model cards, architectures and shipped weights,
and models astronomers bring (registered by name, ONNX files, scikit-learn estimators, timm backbones)."""
from glue_xai.models.card import ModelCard
from glue_xai.models.classifier import Classifier
from glue_xai.models.loading import load_model, save_model, shipped_models
from glue_xai.models.onnx import from_onnx
from glue_xai.models.registry import register_model, registered_models, unregister_model
from glue_xai.models.sklearn_image import from_sklearn_image

__all__ = ["Classifier", "ModelCard", "load_model", "save_model", "shipped_models", "from_onnx",
           "from_sklearn_image", "from_timm", "register_model", "registered_models", "unregister_model"]


def __getattr__(name):
    # from_timm on first use: its module imports torch, which glue's start-up must not pay for.
    if name == "from_timm":
        from glue_xai.models.timm_backbone import from_timm

        return from_timm
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
