"""Render the viewer's *Explanation quality* box headless: ``docs/images/viewer_quality_panel.png``.

    python docs/make_quality_panel_screenshot.py [--mirabest ../shared/data/mirabest]

The FR II source of ``make_viewer_screenshots.py`` (same 150 x 150 pixel box, the model's
field of view), integrated gradients at its defaults, then **Measure quality** pressed;
the picture is glue's *Plot Options* column with the measured curves. Prints the numbers
shown, so the page's text can be checked against them.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from qt_waits import wait  # noqa: E402
from make_viewer_screenshots import BOX, VIEW, each_source, radio_display  # noqa: E402

SOURCE = "FRII"
METHOD = "integrated_gradients"


def main():
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from qtpy import QtWidgets

    from glue_xai.qt.image_viewer import XAIImageViewer

    for app, fr_class, name, data, out in each_source(__doc__.splitlines()[0]):
        if fr_class != SOURCE:
            continue
        viewer = app.new_data_viewer(XAIImageViewer, data=data)
        viewer.viewer_size = (760, 700)
        viewer.show()
        radio_display(viewer, data)
        viewer.state.method = METHOD
        app.data_collection.new_subset_group(
            "source box", RoiSubsetState(data.pixel_component_ids[1], data.pixel_component_ids[0],
                                         RectangularROI(*BOX)))
        viewer.state.x_min, viewer.state.x_max = VIEW
        viewer.state.y_min, viewer.state.y_max = VIEW
        artist = viewer.explanation_layers()[0]
        wait(lambda: artist.explanation is not None and not viewer.busy, what="the explanation")
        panel = viewer.options.quality
        panel.button_measure.click()
        wait(lambda: not viewer.busy and not panel.canvas.isHidden(), what="the quality check")
        QtWidgets.QApplication.processEvents()
        panel.canvas.draw()
        # glue's Plot Options column (its title and the viewer's options), as a person sees it.
        # The settings scroll in a short column: a tall window shows them all at once.
        app.resize(1300, 1000)
        column = app._ui.plot_options.parentWidget()
        app._ui.main_splitter.setSizes([460, 840])  # glue's left column wide enough for the numbers
        app._ui.data_plot_splitter.setSizes([100, 100, 1000])  # data, layers, options: the options tall
        for _ in range(5):
            QtWidgets.QApplication.processEvents()
        path = out / "viewer_quality_panel.png"
        column.grab().save(str(path))
        print(f"{path.name}: {name} | {artist.legend_text().replace(chr(10), ' | ')}")
        print(panel.text.text())
        for curve in panel.figure.axes[0].get_lines()[:2]:
            print(curve.get_label(), " ".join(f"{x:.2f}:{y:.2f}" for x, y in zip(*curve.get_data())))
        viewer.close(warn=False)


if __name__ == "__main__":
    main()
