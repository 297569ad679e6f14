"""Classifiers for the viewer, loaded once and only through the safe loader (Qt-free).

A model is named by a shipped model's name, by a name registered with
:func:`glue_xai.register_model` or an installed package's entry point, or by the path
of a model file.
Files are read with :func:`glue_xai.models.load_model` and ``trust=False``: a file
holding pickled code or a TorchScript archive is refused with a readable message.
"""
import threading
from pathlib import Path

__all__ = ["ModelStore", "model_classes", "model_names", "shipped_model_names"]

# Cards of model files loaded in this session, so a restored viewer can offer the target
# classes and find a multi-band model's bands without reading the file again.
_FILE_CARDS = {}


def shipped_model_names():
    """Names of the shipped models whose weights are installed."""
    from glue_xai.models.loading import shipped_models

    return list(shipped_models())


def model_names():
    """The models the viewer offers by name: the shipped ones, then the registered ones."""
    from glue_xai.models.registry import registered_models

    shipped = shipped_model_names()
    return shipped + [name for name in registered_models() if name not in shipped]


def is_named_model(name):
    """Whether ``name`` is a shipped or registered model's name (not a file's path)."""
    return isinstance(name, str) and name in model_names()


def model_classes(name):
    """The class names of a model, cheaply: a shipped model's card, else the (file's or
    registered) model, loaded once."""
    from glue_xai.viewer.bands import model_card

    return model_card(name).classes


class ModelStore:
    """The models one viewer uses, each loaded once.

    Each viewer has its own store, hence its own model objects: Grad-CAM hooks a layer
    of the network while it runs, and two viewers computing at once must not share one.
    ``get`` may be called from the worker thread and the GUI thread alike.
    """

    def __init__(self):
        self._models = {}
        self._lock = threading.Lock()

    def get(self, name):
        """The classifier called ``name`` (shipped or registered name, or file path); raises
        ValueError or OSError."""
        from glue_xai.models.loading import SHIPPED, load_model

        with self._lock:
            if name not in self._models:
                if not is_named_model(name) and not Path(name).is_file():
                    raise FileNotFoundError(f"model file not found: {name}")
                model = load_model(name, trust=False)
                if name not in SHIPPED:
                    _FILE_CARDS[name] = model.card
                self._models[name] = model
            return self._models[name]
