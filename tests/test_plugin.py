"""glue finds the plugin, setup() is idempotent and glue's start-up stays light."""
import subprocess
import sys
from importlib.metadata import entry_points


def test_entry_point_names_setup():
    plugins = {ep.name: ep.value for ep in entry_points(group="glue.plugins")}
    assert plugins.get("glue_xai") == "glue_xai:setup"


def test_setup_registers_viewer_once_without_heavy_imports():
    code = (
        "import sys, glue_xai\n"
        "from glue.config import qt_client\n"
        "glue_xai.setup(); glue_xai.setup()\n"
        "names = [c.LABEL for c in qt_client.members]\n"
        "assert names.count('XAI Image Viewer') == 1, names\n"
        "heavy = [m for m in ('torch', 'skimage', 'sklearn', 'scipy.ndimage', 'astropy.nddata')\n"
        "         if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "print('ok')\n")
    env = {"QT_QPA_PLATFORM": "offscreen", "GLUE_TESTING": "True", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_public_api():
    import glue_xai as gx
    from glue_xai.methods.explanation import Explanation

    assert callable(gx.explain) and gx.Explanation is Explanation
    assert callable(gx.load_model)
