"""The XAI Image Viewer drawing the measured salient extent (docs/measure.rst).

Writes ``docs/images/viewer_extent_line_<FRI|FRII>.png``: integrated gradients of the
shipped model's logit (the map the catalogue's size columns measure) on the same two
real FIRST sources as ``make_viewer_screenshots.py``, with
the explanation layer's *Salient extent and angle* line on. Prints each source's
catalogue LAS beside the measured extent. Run from the checkout:

    python docs/make_measure_figures.py [--mirabest ../shared/data/mirabest]

The scatter plots and the example panels of the same page come from
``benchmarks/measure_las.py``.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_viewer_screenshots import each_source, screenshot  # noqa: E402


def main():
    for app, fr_class, name, data, out in each_source(__doc__.splitlines()[0]):
        print(screenshot(app, data, "integrated_gradients", out / f"viewer_extent_line_{fr_class}.png",
                         show_extent=True, settings={"gradient_output": "logit"}),
              f"| catalogue LAS {name.rsplit('_', 1)[1][:-5]} arcsec")


if __name__ == "__main__":
    main()
