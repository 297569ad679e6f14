"""glue-xai: see why a classifier decided, inside glue.

Public Python API (kept stable, see docs/api)::

    import glue_xai as gx
    model = gx.load_model("mirabest-fr")
    probs = model.predict_proba(images)
    e = gx.explain(model, image, method="lime", seed=0)

Importing this package is cheap: torch, scikit-image and Qt are imported only when a
model is loaded, an explanation computed or the viewer opened, so glue's start-up
(which calls :func:`setup` through the ``glue.plugins`` entry point) stays fast.
"""

__version__ = "0.1.0"

__all__ = ["setup", "load_model", "save_model", "register_model", "explain", "assess", "compare_methods", "Explanation",
           "__version__"]

_SETUP_DONE = False


def setup():
    """Register glue-xai's viewers and menu actions with glue (idempotent)."""
    global _SETUP_DONE
    if _SETUP_DONE:
        return
    from glue_xai.qt.register import register_with_glue

    register_with_glue()
    _SETUP_DONE = True


def load_model(name_or_path, **kwargs):
    """Load a shipped model by name or a model file; see :func:`glue_xai.models.load_model`."""
    from glue_xai.models import load_model as _load_model

    return _load_model(name_or_path, **kwargs)


def save_model(model, path):
    """Write a torch classifier's card and weights to one file that :func:`load_model`
    reads safely (``weights_only``); see :func:`glue_xai.models.save_model`."""
    from glue_xai.models import save_model as _save_model

    return _save_model(model, path)


def register_model(name, model):
    """Make your own model loadable by name and offered in the viewer; see
    :func:`glue_xai.models.registry.register_model`."""
    from glue_xai.models.registry import register_model as _register_model

    _register_model(name, model)


def assess(model, image, wcs=None, **kwargs):
    """Is there a source, and is it like the training data? See :func:`glue_xai.models.assess.assess`."""
    from glue_xai.models.assess import assess as _assess

    return _assess(model, image, wcs=wcs, **kwargs)


def compare_methods(model, image, **kwargs):
    """Every method on one source with its quality numbers and their agreement; see
    :func:`glue_xai.methods.compare.compare_methods` (``.to_fits(path)``, and
    :func:`glue_xai.methods.compare_plot.plot_comparison` for the PNG)."""
    from glue_xai.methods.compare import compare_methods as _compare

    return _compare(model, image, **kwargs)


# The methods live in glue_xai.methods (numpy only, no torch until a method runs).
# ``gx.explain`` is the function; until 0.4 it also answers the old package paths
# ``glue_xai.explain.<module>`` with a deprecation warning (see _explain_alias).
from glue_xai.methods.api import explain as _explain  # noqa: E402
from glue_xai.methods.explanation import Explanation  # noqa: E402
from glue_xai._explain_alias import install as _install_old_paths  # noqa: E402

explain = _install_old_paths(_explain)
