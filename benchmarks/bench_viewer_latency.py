"""Latency of the XAI Image Viewer: region drawn -> overlay shown, and GUI stalls meanwhile.

For each method (default settings, shipped model) a region is drawn on a real FIRST
cutout, in a headless glue application, and the clock runs until the canvas has drawn
the overlay. Each run uses a slightly different region so the cache never answers.
Meanwhile a QTimer firing every 10 ms records how late it fires: the longest gap minus
10 ms is the longest time the GUI event loop was stalled.

    python benchmarks/bench_viewer_latency.py [--runs 5] [--methods saliency smoothgrad lime]

Not a test: numbers depend on the machine. Targets (2-core CPU): < 0.3 s for gradient
methods, < 1.5 s for LIME, and no stall over 50 ms.
"""
import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
SOURCE = "fits/200_121.019+015.560_0.2682_0049.15.fits"  # an FR II, 300 x 300 pixels
TICK_MS = 10


class StallMeter:
    """Records the gaps between ticks of a 10 ms QTimer while it runs."""

    def __init__(self):
        from qtpy import QtCore

        self.timer = QtCore.QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.gaps = []
        self._last = None

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def start(self):
        self.gaps, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self):
        self._tick()
        self.timer.stop()
        return max(0.0, max(self.gaps) - TICK_MS / 1000) if self.gaps else 0.0


def one_run(app, viewer, data, offset, meter):
    """Draw a region, wait for the overlay to be drawn; returns (latency s, stall s, model evals)."""
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from qtpy import QtWidgets

    artist_drawn = []
    canvas = viewer.figure.canvas
    roi = RectangularROI(75 + offset, 225 + offset, 75 - offset, 225 - offset)
    state = RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0], roi)
    meter.start()
    start = time.perf_counter()
    group = app.data_collection.new_subset_group("bench", state)
    artist = viewer.explanation_layers()[0]
    callback = canvas.mpl_connect("draw_event", lambda event: artist_drawn.append(
        time.perf_counter()) if artist.explanation is not None else None)
    while not artist_drawn:
        QtWidgets.QApplication.processEvents()
        if viewer.message:
            raise RuntimeError(viewer.message)
        time.sleep(0.001)
    latency = artist_drawn[0] - start
    stall = meter.stop()
    canvas.mpl_disconnect(callback)
    evals = artist.explanation.n_model_evals
    app.data_collection.remove_subset_group(group)
    QtWidgets.QApplication.processEvents()
    return latency, stall, evals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["saliency", "smoothgrad", "lime"])
    parser.add_argument("--mirabest", default=str(HERE.parents[1] / "shared" / "data" / "mirabest"))
    args = parser.parse_args()

    import torch
    from glue.core import Data
    from glue_qt.app import GlueApplication

    import glue_xai
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.qt.image_viewer import XAIImageViewer

    glue_xai.setup()
    cutout = read_cutout(Path(args.mirabest) / SOURCE)
    app = GlueApplication()
    data = Data(label="FR II", image=cutout.image, coords=cutout.wcs)
    app.data_collection.append(data)
    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    viewer.viewer_size = (700, 600)
    viewer.show()
    meter = StallMeter()

    print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}, runs per method: {args.runs}")
    rows = []
    offset = 0
    for method in args.methods:
        viewer.state.method = method
        offset += 1
        cold = one_run(app, viewer, data, offset, meter)  # loads the model and warms torch: reported apart
        runs = []
        for _ in range(args.runs):
            offset += 1
            runs.append(one_run(app, viewer, data, offset, meter))
        latency = np.array([r[0] for r in runs])
        stalls = np.array([r[1] for r in runs])
        rows.append((method, runs[0][2], cold[0], np.median(latency), latency.max(), max(stalls.max(), cold[1])))

    print()
    print(f"{'method':<22}{'model evals':>12}{'first run s':>13}{'median s':>10}{'max s':>8}{'longest stall ms':>18}")
    for method, evals, cold, median, worst, stall in rows:
        print(f"{method:<22}{evals:>12d}{cold:>13.3f}{median:>10.3f}{worst:>8.3f}{1000 * stall:>18.1f}")
    viewer.close(warn=False)
    app.close()


if __name__ == "__main__":
    main()
