"""The methods package is glue_xai.methods; gx.explain is the function, and the old
paths glue_xai.explain.<module> keep working for one release, with a warning (issue 14)."""
import importlib
import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest

import glue_xai as gx
import glue_xai.methods.metrics as metrics


def test_old_dotted_import_gives_the_same_module_with_a_warning():
    # This exact statement raised ImportError while the package was glue_xai.explain.
    sys.modules.pop("glue_xai.explain.metrics", None)
    with pytest.warns(DeprecationWarning, match=r"glue_xai\.explain\.metrics .*glue_xai\.methods\.metrics"):
        import glue_xai.explain.metrics as old
    assert old is metrics
    # The shared module keeps its own name and spec, so it reloads as glue_xai.methods.metrics.
    assert old.__spec__.name == "glue_xai.methods.metrics"
    importlib.reload(old)


def test_old_from_imports_and_attribute_access_warn():
    with pytest.warns(DeprecationWarning):
        from glue_xai.explain.segmentation import radio_segments
    from glue_xai.methods.segmentation import radio_segments as new
    assert radio_segments is new
    with pytest.warns(DeprecationWarning):
        assert gx.explain.gradients is importlib.import_module("glue_xai.methods.gradients")


def test_a_fresh_interpreter_imports_the_old_path():
    # No module cached by the test session: the import system alone must resolve it.
    code = ("import warnings; warnings.simplefilter('error')\n"
            "try:\n    import glue_xai.explain.metrics as m\nexcept DeprecationWarning as w:\n    print('warned', w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("warned glue_xai.explain.metrics is deprecated")


def test_unknown_names_fail_clearly():
    with pytest.raises(ModuleNotFoundError, match="glue_xai.explain.no_such_method"):
        importlib.import_module("glue_xai.explain.no_such_method")
    with pytest.raises(AttributeError, match="function"):
        gx.explain.no_such_method


def test_gx_explain_is_still_the_function():
    sig = inspect.signature(gx.explain)
    assert list(sig.parameters)[:3] == ["model", "image", "method"]
    assert pickle.loads(pickle.dumps(gx.explain)) is gx.explain
    from glue_xai.methods.api import explain

    assert gx.explain.__wrapped__ is explain
    yy, xx = np.mgrid[:150, :150]
    image = np.exp(-((yy - 75.0) ** 2 + (xx - 60.0) ** 2) / 20.0) + 1e-3 * np.random.default_rng(0).normal(size=(150, 150))
    model = gx.load_model("mirabest-fr")
    a = gx.explain(model, image, method="saliency", seed=0)
    b = explain(model, image, method="saliency", seed=0)
    np.testing.assert_array_equal(a.map, b.map)
    assert np.unravel_index(np.abs(a.map).argmax(), a.map.shape)[1] < 75  # on the blob's side
