"""Models astronomers bring, known by name: registered in Python or by an installed package.

A name registered with :func:`register_model`, or an entry point of the group
``glue_xai.models`` in an installed package, is accepted by :func:`glue_xai.load_model`
and offered by the viewer beside the shipped models. A session file names the model,
so it comes back wherever the same name is registered. A package declares its models
(each entry point loads to a :class:`~glue_xai.models.Classifier` or to a function of no
arguments returning one)::

    [project.entry-points."glue_xai.models"]
    lofar-fr = "my_package.models:lofar_fr"

Listing the names reads only the packages' metadata: a model is built when it is used.
"""
import importlib.metadata

MODELS_GROUP = "glue_xai.models"

# name -> Classifier or a function of no arguments returning one.
_REGISTERED = {}
# name -> entry point, read once per process (see ``refresh``).
_ENTRY_POINTS = None


def register_model(name, model):
    """Make ``model`` known as ``name`` to :func:`glue_xai.load_model` and the viewer.

    ``model``: a :class:`~glue_xai.models.Classifier`, or a function of no arguments
    returning one (called each time the model is loaded, so registering is cheap).
    Registering a name again replaces the model; a shipped model's name is refused.
    """
    from glue_xai.models.classifier import Classifier
    from glue_xai.models.loading import SHIPPED
    from glue_xai.models.spectral import SHIPPED_SPECTRUM_MODELS

    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a model's name must be a non-empty string, got {name!r}")
    if name in SHIPPED or name in SHIPPED_SPECTRUM_MODELS:
        raise ValueError(f"{name!r} is a shipped model's name: register yours under another name")
    if not isinstance(model, Classifier):
        if _is_torch_module(model):
            raise TypeError(f"register a Classifier, not a bare torch module: "
                            f"register_model({name!r}, Classifier(module, card))")
        if not callable(model):
            raise TypeError(f"model must be a Classifier or a function of no arguments returning one, "
                            f"got {type(model).__name__}")
    _REGISTERED[name] = model


def unregister_model(name):
    """Forget a model registered with :func:`register_model` (an unknown name is ignored)."""
    _REGISTERED.pop(name, None)


def registered_models(refresh=False):
    """Names of the registered models: :func:`register_model`'s, then installed packages'.

    ``refresh=True`` reads the installed packages' entry points again (after installing
    one in a running session)."""
    names = list(_REGISTERED)
    names += [name for name in _entry_points(refresh) if name not in _REGISTERED]
    return names


def is_registered(name):
    return isinstance(name, str) and name in registered_models()


def registered_model(name):
    """The :class:`~glue_xai.models.Classifier` registered as ``name``."""
    from glue_xai.models.classifier import Classifier

    if name in _REGISTERED:
        source, model = f"the model registered as {name!r}", _REGISTERED[name]
    elif name in _entry_points():
        entry = _entry_points()[name]
        source = f"entry point {name!r} ({entry.value}) of package {_package(entry)}"
        try:
            model = entry.load()
        except Exception as error:
            raise ValueError(f"{source} could not be imported: {type(error).__name__}: {error}") from error
    else:
        raise ValueError(f"no registered model called {name!r}; registered: {registered_models() or 'none'}")
    if not isinstance(model, Classifier):
        try:
            model = model()
        except Exception as error:
            raise ValueError(f"{source} failed to build its model: {type(error).__name__}: {error}") from error
    if not isinstance(model, Classifier):
        raise TypeError(f"{source} gave a {type(model).__name__}, not a glue_xai Classifier")
    return model


def _entry_points(refresh=False):
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None or refresh:
        from glue_xai.models.loading import SHIPPED

        found = {}
        for entry in importlib.metadata.entry_points(group=MODELS_GROUP):
            if entry.name not in SHIPPED and entry.name not in found:  # a shipped name keeps its model
                found[entry.name] = entry
        _ENTRY_POINTS = found
    return _ENTRY_POINTS


def _package(entry):
    dist = getattr(entry, "dist", None)
    return repr(dist.name) if dist is not None else "(unknown)"


def _is_torch_module(model):
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return isinstance(model, torch.nn.Module)
