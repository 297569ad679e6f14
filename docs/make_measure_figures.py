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
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_viewer_screenshots import SOURCES, screenshot  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirabest", default=str(HERE.parents[1] / "shared" / "data" / "mirabest"))
    parser.add_argument("--out", default=str(HERE / "images"))
    args = parser.parse_args()

    from glue.core import Data
    from glue_qt.app import GlueApplication

    import glue_xai
    from glue_xai.data.cutouts import read_cutout

    glue_xai.setup()
    out = Path(args.out)
    app = GlueApplication()
    for fr_class, name in SOURCES.items():
        cutout = read_cutout(Path(args.mirabest) / name)
        data = Data(label=f"{fr_class} {cutout.name}", image=cutout.image, coords=cutout.wcs)
        app.data_collection.append(data)
        print(screenshot(app, data, "integrated_gradients", out / f"viewer_extent_line_{fr_class}.png",
                         show_extent=True, settings={"gradient_output": "logit"}),
              f"| catalogue LAS {name.rsplit('_', 1)[1][:-5]} arcsec")
    app.close()


if __name__ == "__main__":
    main()
