"""Latency of the XAI Image Viewer: region drawn -> overlay shown, and GUI stalls meanwhile.

For each method (default settings, shipped model) a region is drawn on a real FIRST
cutout, in a headless glue application, and the clock runs until the canvas has drawn
the overlay. Each run uses a slightly different region so the cache never answers.
Meanwhile a QTimer firing every 10 ms records how late it fires: the longest gap minus
10 ms is the longest time the GUI event loop was stalled. glue's own image viewer,
drawing the same region as a plain subset, is measured first as the baseline: its
canvas redraws (on the GUI thread) bound what any matplotlib viewer can do.

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
            self.gaps.append((now, now - self._last))
        self._last = now

    def start(self):
        self.gaps, self._last = [], time.perf_counter()
        self.timer.start()

    def stop(self):
        self._tick()
        self.timer.stop()
        return self.longest_stall()

    def longest_stall(self, after=0.0, until=float("inf")):
        """The longest stall (s) among gaps that began after ``after`` and ended by ``until``."""
        gaps = [gap for end, gap in self.gaps if end - gap >= after and end <= until]
        return max(0.0, max(gaps) - TICK_MS / 1000) if gaps else 0.0


def one_run(app, viewer, data, offset, meter):
    """Draw a region and wait until the canvas has drawn what the viewer shows for it.

    For the XAI viewer that is the overlay; for glue's own image viewer (the baseline)
    the subset. Returns (latency s, longest stall s, model evaluations or 0).
    """
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from qtpy import QtWidgets

    explains = hasattr(viewer, "explanation_layers")
    drawn, draws, arrived = [], [], []
    canvas = viewer.figure.canvas
    roi = RectangularROI(75 + offset, 225 + offset, 75 - offset, 225 - offset)
    state = RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0], roi)
    meter.start()
    start = time.perf_counter()
    group = app.data_collection.new_subset_group("bench", state)
    artist = viewer.explanation_layers()[0] if explains else None


    def on_draw(event):
        draws.append(time.perf_counter())
        if artist is None or artist.explanation is not None:
            drawn.append(draws[-1])

    def on_result(*args):
        arrived.append(time.perf_counter())

    callback = canvas.mpl_connect("draw_event", on_draw)
    if explains:
        viewer.worker.finished.connect(on_result)
    while not drawn:
        QtWidgets.QApplication.processEvents()
        if explains and viewer.message:
            raise RuntimeError(viewer.message)
        time.sleep(0.001)
    latency = drawn[0] - start
    stall = meter.stop()
    # While the worker computes: after glue drew the new subset, before the result came.
    computing = meter.longest_stall(after=draws[0], until=arrived[0] if arrived else drawn[0])
    canvas.mpl_disconnect(callback)
    if explains:
        viewer.worker.finished.disconnect(on_result)
    evals = artist.explanation.n_model_evals if explains else 0
    app.data_collection.remove_subset_group(group)
    QtWidgets.QApplication.processEvents()
    return latency, stall, computing, evals


def measure(app, viewer, data, runs, offset, meter):
    """One unreported warm-up run (model loading, first torch call), then ``runs`` runs."""
    cold = one_run(app, viewer, data, offset, meter)
    results = [one_run(app, viewer, data, offset + 1 + i, meter) for i in range(runs)]
    latency = np.array([r[0] for r in results])
    stall = max(max(r[1] for r in results), cold[1])
    computing = max(max(r[2] for r in results), cold[2])
    return results[0][3], cold[0], float(np.median(latency)), float(latency.max()), stall, computing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--methods", nargs="+", default=["saliency", "smoothgrad", "lime"])
    parser.add_argument("--mirabest", default=None, help="MiraBest folder (default: GLUE_XAI_MIRABEST or ../shared)")
    args = parser.parse_args()

    import torch
    from glue.core import Data
    from glue_qt.app import GlueApplication
    from glue_qt.viewers.image import ImageViewer

    import glue_xai
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.data.mirabest import mirabest_root
    from glue_xai.qt.image_viewer import XAIImageViewer

    glue_xai.setup()
    cutout = read_cutout(mirabest_root(args.mirabest) / SOURCE)
    app = GlueApplication()
    data = Data(label="FR II", image=cutout.image, coords=cutout.wcs)
    app.data_collection.append(data)
    meter = StallMeter()
    print(f"torch threads (GUI thread): {torch.get_num_threads()}, CPU cores: {os.cpu_count()}, "
          f"load average: {os.getloadavg()[0]:.1f}, runs per method: {args.runs}")

    rows = []
    # Baseline: glue's own image viewer drawing the same region as a subset, no explanation.
    plain = app.new_data_viewer(ImageViewer, data=data)
    plain.viewer_size = (700, 600)
    plain.show()
    rows.append(("glue 2D Image (subset only)",) + measure(app, plain, data, args.runs, 0, meter))
    plain.close(warn=False)

    viewer = app.new_data_viewer(XAIImageViewer, data=data)
    viewer.viewer_size = (700, 600)
    viewer.show()
    for number, method in enumerate(args.methods, start=1):
        viewer.state.method = method
        rows.append((method,) + measure(app, viewer, data, args.runs, 10 * number, meter))

    print()
    print(f"{'viewer / method':<30}{'model evals':>12}{'first run s':>13}{'median s':>10}{'max s':>8}"
          f"{'longest stall ms':>18}{'… while computing ms':>22}")
    for method, evals, cold, median, worst, stall, computing in rows:
        print(f"{method:<30}{evals:>12d}{cold:>13.3f}{median:>10.3f}{worst:>8.3f}{1000 * stall:>18.1f}"
              f"{1000 * computing:>22.1f}")
    viewer.close(warn=False)
    app.close()


if __name__ == "__main__":
    main()
