"""Models: the :class:`Classifier` wrapper, model cards, architectures and shipped weights."""
from glue_xai.models.card import ModelCard
from glue_xai.models.classifier import Classifier
from glue_xai.models.loading import load_model, save_model, shipped_models

__all__ = ["Classifier", "ModelCard", "load_model", "save_model", "shipped_models"]
