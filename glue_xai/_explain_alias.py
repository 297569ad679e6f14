"""``gx.explain`` the function, and the old import paths ``glue_xai.explain.<module>``.

Until 0.3 the methods lived in a package ``glue_xai.explain``, which the function
``gx.explain`` shadowed: ``import glue_xai.explain.metrics as m`` failed, because Python
looks ``explain`` up as an attribute of ``glue_xai`` and found the function. The methods
now live in :mod:`glue_xai.methods`. For one release the old paths still work and warn:

* ``glue_xai.explain`` is the :class:`ExplainFunction` below: it calls like the function
  and, like a package, hands out its old submodules (``glue_xai.explain.metrics``);
* :class:`OldPathFinder` answers ``import glue_xai.explain.<module>`` with the module of
  :mod:`glue_xai.methods`, so both spellings give the *same* module object.
"""
import functools
import importlib
import importlib.abc
import importlib.util
import sys
import warnings

OLD = "glue_xai.explain"
NEW = "glue_xai.methods"
#: The release that drops the old paths.
REMOVED_IN = "0.4"


def _warn(old, new):
    warnings.warn(f"{old} is deprecated and will be removed in glue-xai {REMOVED_IN}: import {new} instead "
                  f"(the methods package was renamed so that it no longer collides with gx.explain)",
                  DeprecationWarning, stacklevel=3)


class ExplainFunction:
    """``gx.explain``: :func:`glue_xai.methods.api.explain`, which also answers the old
    package's attribute lookups (``glue_xai.explain.metrics``) with a deprecation warning."""

    #: Marks this object as a package for the import system, so that the old submodule
    #: paths can be imported below it (:class:`OldPathFinder` finds them).
    __path__ = []
    __spec__ = None

    def __init__(self, function):
        functools.update_wrapper(self, function)
        self.__name__ = OLD  # the import system joins this with a submodule's name

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            module = importlib.import_module(f"{NEW}.{name}")
        except ModuleNotFoundError:
            raise AttributeError(f"gx.explain is a function; it has no attribute {name!r}") from None
        _warn(f"{OLD}.{name}", f"{NEW}.{name}")
        return module

    def __repr__(self):
        return f"<function glue_xai.explain {self.__wrapped__.__doc__.splitlines()[0]!r}>"

    def __reduce__(self):
        # Pickled (e.g. shipped to a Dask worker) as a reference, not as a copy.
        return (_explain_function, ())


def _explain_function():
    return sys.modules["glue_xai"].explain


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.own_spec = module.__spec__
        return module

    def exec_module(self, module):
        # The import system stamped the old name's spec on the shared module: give the
        # module its own back, so that it stays what glue_xai.methods.<module> says it is.
        module.__spec__ = self.own_spec


class OldPathFinder(importlib.abc.MetaPathFinder):
    """Imports ``glue_xai.explain.<module>`` as ``glue_xai.methods.<module>``, warning once."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(OLD + "."):
            return None
        new = NEW + fullname[len(OLD):]
        if importlib.util.find_spec(new) is None:
            return None
        _warn(fullname, new)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(new))


def install(function):
    """Put the old paths in place; returns the ``gx.explain`` object."""
    if not any(isinstance(f, OldPathFinder) for f in sys.meta_path):
        sys.meta_path.append(OldPathFinder())
    explain = ExplainFunction(function)
    sys.modules[OLD] = explain
    return explain
