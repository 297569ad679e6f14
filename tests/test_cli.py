"""The README's main command, headless: glue on the demo data, rendered to a PNG."""
import os
import subprocess
import sys

import numpy as np


def test_demo_screenshot_shows_explanations(tmp_path):
    png = tmp_path / "demo.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GLUE_TESTING": "True"}
    result = subprocess.run([sys.executable, "-m", "glue_xai.cli", "demo", "--screenshot", str(png),
                             "--method", "gradcam"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "could not explain" not in result.stdout, result.stdout
    from matplotlib.image import imread

    pixels = imread(png)
    assert pixels.shape[0] >= 800 and pixels.shape[1] >= 1200
    # The Grad-CAM overlays' orange (inferno heat map) lies on both sources: in each of the
    # two image viewers, below glue's toolbars (whose few icons are orange too).
    r, g, b = (pixels[..., c] for c in range(3))
    orange = (r > 0.6) & (r - b > 0.35) & (g > 0.25) & (g < 0.85)
    images = orange[200:700]
    middle = pixels.shape[1] * 0.6  # the two viewers sit side by side right of glue's panels
    left, right = images[:, int(0.2 * pixels.shape[1]):int(middle)], images[:, int(middle):]
    # A grey image has none. The retrained model's Grad-CAM of the FR I (right) sits on its compact
    # core: a few dozen bright pixels there (23 at the last look), hundreds on the FR II's hotspots.
    assert left.sum() > 15 and right.sum() > 15, (left.sum(), right.sum())


def test_cli_reports_bad_input_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "glue_xai.cli", "evaluate", "--root", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "no MiraBest batches" in result.stderr and "Traceback" not in result.stderr


def test_demo_without_a_display_says_what_to_do():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "glue_xai.cli", "demo"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 2
    assert "--screenshot" in result.stderr and "Traceback" not in result.stderr
