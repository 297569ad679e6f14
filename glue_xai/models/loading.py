"""Loading models safely: shipped names, state-dict files, and (only if trusted) pickles."""
import os
import zipfile
from pathlib import Path

from glue_xai.models.card import ModelCard

WEIGHTS_DIR = Path(__file__).parent / "weights"

#: Shipped models: name -> file stem in ``weights/`` (``<stem>.pt`` + ``<stem>.json``).
SHIPPED = {"mirabest-fr": "mirabest_fr", "mirabest-fr-0.1": "mirabest_fr_0_1", "mirabest-fr-smooth": "mirabest_fr_smooth",
           "mirabest-sfnet": "mirabest_sfnet", "galaxy-bars": "galaxy_bars", "galaxy-bt-sfnet": "galaxy_bt_sfnet"}


def shipped_models():
    """Names of the shipped image models whose weights are present."""
    return [name for name, stem in SHIPPED.items() if (WEIGHTS_DIR / f"{stem}.pt").exists()]


def shipped_card(name):
    """The model card of shipped model ``name``, read without loading its weights."""
    return ModelCard.load(WEIGHTS_DIR / f"{SHIPPED[name]}.json")


def _looks_like_torchscript(path):
    try:
        with zipfile.ZipFile(path) as zf:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def _check_torch_file(path):
    """Refuse an existing file that torch did not write (empty, text, truncated), naming it."""
    if not path.is_file():
        return
    with open(path, "rb") as stream:
        start = stream.read(4)
    if not start:
        raise ValueError(f"{path} is empty (0 bytes): not a model file")
    # torch.save writes a zip archive (PK..); files from torch before 1.6 are a pickle (0x80).
    if start[:2] != b"PK" and start[:1] != b"\x80":
        raise ValueError(f"{path} is not a PyTorch model file (it starts with {start!r}, not a zip archive "
                         "or a pickle): save models with glue_xai.models.save_model")
    if start[:2] == b"PK" and not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable PyTorch model file (a damaged or truncated zip archive)")


def _model_from_state(state, card):
    import torch

    from glue_xai.models.architectures import build_architecture
    from glue_xai.models.classifier import Classifier

    if not card.architecture:
        raise ValueError(f"model card {card.name!r} names no architecture, so the weights cannot be placed")
    module = build_architecture(card.architecture, **card.architecture_options)
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the state dict holds values that are not tensors")
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[1:2] or [str(err)]
        raise ValueError(f"the weights do not fit architecture {card.architecture!r} with options "
                         f"{card.architecture_options}: {first[0].strip()}") from None
    return Classifier(module.eval(), card)


def load_model(name_or_path, card=None, trust=False, device="auto"):
    """Load a classifier.

    ``device``: where an image model's network runs, ``"auto"`` (a CUDA GPU when torch
    sees one, else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
    (:mod:`glue_xai.models.device`).

    ``name_or_path``: a shipped model's name (see :func:`shipped_models`), a name
    registered with :func:`glue_xai.register_model` or by an installed package's
    ``glue_xai.models`` entry point (see :mod:`glue_xai.models.registry`), or a file:

    * a glue-xai model file: a dict ``{"card": {...}, "state_dict": {...}}`` saved by
      :func:`save_model`;
    * a plain state dict, with ``card`` (a :class:`ModelCard`, a dict, or the path of a
      card JSON) naming the architecture, or a ``<file>.json`` card beside it;
    * an ONNX model (``.onnx``), with its card given the same way
      (:func:`glue_xai.models.onnx.from_onnx`).

    Both are read with ``torch.load(weights_only=True)``: no code in the file runs. A
    TorchScript archive or a pickled model object can run arbitrary code when loaded, so
    it is refused unless you pass ``trust=True`` for a file from a source you trust.
    """
    from glue_xai.models.device import resolve_device

    resolve_device(device)  # a device this machine lacks is refused before anything is read
    model = _load_model(name_or_path, card, trust)
    return model.to(device) if hasattr(model, "to") else model


def _load_model(name_or_path, card, trust):
    import torch

    from glue_xai.models.registry import registered_model, registered_models
    from glue_xai.models.spectral import SHIPPED_SPECTRUM_MODELS, load_spectrum_model

    if isinstance(name_or_path, str) and name_or_path in SHIPPED_SPECTRUM_MODELS:
        return load_spectrum_model(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in registered_models():
        return registered_model(name_or_path)
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        stem = SHIPPED[name_or_path]
        weights, card_path = WEIGHTS_DIR / f"{stem}.pt", WEIGHTS_DIR / f"{stem}.json"
        if not weights.exists():
            raise FileNotFoundError(f"the weights of shipped model {name_or_path!r} are missing from {WEIGHTS_DIR}; "
                                    "reinstall glue-xai or run `glue-xai train`")
        state = torch.load(weights, map_location="cpu", weights_only=True)
        return _with_ood_reference(_model_from_state(state, ModelCard.load(card_path)), weights)

    if not isinstance(name_or_path, (str, os.PathLike)):
        raise TypeError(f"name_or_path must be a shipped model's name or a model file's path, "
                        f"got {type(name_or_path).__name__}")
    if not str(name_or_path).strip():
        raise ValueError(f"no model given (name_or_path is {str(name_or_path)!r}): pass a shipped model's name "
                         f"({', '.join(SHIPPED)}), a registered model's name or a model file's path")
    path = Path(os.fspath(name_or_path))
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a model file: pass the .pt file inside it")
    if path.suffix.lower() == ".onnx" and path.is_file():
        # An ONNX graph holds no Python objects: reading it runs no code, so no trust is needed.
        from glue_xai.models.onnx import from_onnx

        return from_onnx(path, card)
    _check_torch_file(path)
    if not path.exists():
        known = ", ".join([*SHIPPED, *SHIPPED_SPECTRUM_MODELS])
        registered = ", ".join(registered_models()) or "none (see glue_xai.register_model)"
        raise FileNotFoundError(f"no shipped model or file called {str(name_or_path)!r} "
                                f"(shipped models: {known}; registered models: {registered})")
    if _looks_like_torchscript(path):
        if not trust:
            raise ValueError(f"{path.name} is a TorchScript archive, which runs code when loaded; "
                             "pass trust=True only if you trust where the file came from")
        module = torch.jit.load(str(path), map_location="cpu")
        return _classifier_with_card(module, card, path)
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError or RuntimeError for unsafe or damaged content
        # torch names the class a pickle wants to build ("Unsupported global"); anything else
        # (an unknown opcode, a zip without torch's layout) is a damaged or foreign file.
        if "Unsupported global" not in str(err):
            raise ValueError(f"{path} cannot be read as a PyTorch model file: it is damaged or truncated, or "
                             f"torch.save did not write it ({type(err).__name__})") from None
        if not trust:
            raise ValueError(f"{path.name} is not a plain weights file: it holds pickled Python objects, "
                             "which can run code when loaded. Save a state dict instead, or pass "
                             f"trust=True only if you trust where the file came from ({type(err).__name__})") from None
        content = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(content, torch.nn.Module):
        return _classifier_with_card(content, card, path)
    if isinstance(content, dict) and "state_dict" in content:
        try:
            file_card = ModelCard.from_dict(content["card"]) if "card" in content else None
        except (TypeError, ValueError, AttributeError) as error:  # a card missing fields or out of range
            raise ValueError(f"{path}: the model card inside is not usable: {error}") from None
        return _model_from_state(content["state_dict"], _resolve_card(card, path) if card else file_card
                                 or _resolve_card(None, path))
    if isinstance(content, dict):
        return _with_ood_reference(_model_from_state(content, _resolve_card(card, path)), path)
    raise ValueError(f"{path.name} holds a {type(content).__name__}, not a model, a state dict or a glue-xai model file")


def _with_ood_reference(model, weights_path):
    """Attach ``<stem>_ood.npz`` beside the weights, if any: the training-feature statistics
    :func:`glue_xai.assess` compares inputs with (plain arrays, read without pickle)."""
    reference = Path(weights_path).with_name(Path(weights_path).stem + "_ood.npz")
    if reference.exists():
        from glue_xai.models.assess import OODReference

        model.ood_reference = OODReference.load(reference)
    return model


def _resolve_card(card, path):
    if isinstance(card, ModelCard):
        return card
    if isinstance(card, dict):
        return ModelCard.from_dict(card)
    if card is not None:
        return ModelCard.load(card)
    sidecar = path.with_suffix(".json")
    if sidecar.exists():
        return ModelCard.load(sidecar)
    raise ValueError(f"{path.name} holds only weights: pass card=... (a ModelCard, dict or JSON path naming "
                     f"the architecture and classes) or put {sidecar.name} beside it")


def _classifier_with_card(module, card, path):
    from glue_xai.models.classifier import Classifier

    return Classifier(module.eval(), _resolve_card(card, path))


def save_model(classifier, path):
    """Write a classifier's card and weights to one file that :func:`load_model` reads safely."""
    import torch

    if classifier.module is None or getattr(classifier, "_fn", None) is not None:
        raise TypeError("only torch models can be saved as a weights file (an ONNX model is its .onnx file)")
    torch.save({"card": classifier.card.to_dict(), "state_dict": classifier.module.state_dict()}, path)
