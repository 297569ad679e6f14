"""Render the XAI viewer on three FITS files g, r, z in glue's colour display, headless.

Writes into ``docs/images/``:

* ``galaxy_colour_window.png``: the glue window after loading ``g.fits``, ``r.fits`` and
  ``z.fits`` (one simulated barred galaxy, one WCS), linking them by WCS, dragging them
  into one XAI viewer with ``galaxy-bars`` and choosing *Show: g, r, z in colour*;
* ``galaxy_colour_or_band.png``: the viewer's colour image alone, with integrated
  gradients as contours over it, and showing r alone (the same map as a heat map).

The galaxy is the one ``glue-xai demo --galaxies`` opens on (a seed never trained on).
Run from the checkout: ``python docs/make_colour_screenshot.py``
"""
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from qt_waits import settle, wait  # noqa: E402  (waiting for the headless window)
def write_band_files(folder):
    """g.fits, r.fits, z.fits of the demo's first barred galaxy, on one TAN WCS at the
    DECaLS pixel scale, as three separate survey cutouts would come."""
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS

    from glue_xai.data.galaxies import BANDS, PIXEL_SCALE_ARCSEC, simulate_galaxies
    from glue_xai.qt.galaxy_demo import DEMO_SEED, N_DEMO_GALAXIES

    images, truth = simulate_galaxies(N_DEMO_GALAXIES, seed=DEMO_SEED)
    k = int(np.flatnonzero(np.asarray(truth["barred"]))[0])
    size = images.shape[-1]
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cdelt = [-PIXEL_SCALE_ARCSEC / 3600, PIXEL_SCALE_ARCSEC / 3600]
    wcs.wcs.crval = [150.1, 2.2]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    paths = []
    for band_index, band in enumerate(BANDS):
        header = wcs.to_header()
        header["BUNIT"] = "nanomaggy"
        header["FILTER"] = band
        path = Path(folder) / f"{band}.fits"
        fits.writeto(path, images[k, band_index], header, overwrite=True)
        paths.append(path)
    return paths, truth[k]


def main():
    from glue.core.data_factories import load_data
    from glue.core.roi import RectangularROI
    from glue.core.subset import RoiSubsetState
    from glue.plugins.wcs_autolinking.wcs_autolinking import wcs_autolink
    from glue_qt.app import GlueApplication
    from matplotlib import pyplot as plt

    import glue_xai as gx
    from glue_xai.qt.galaxy_demo import BAR_METHOD
    from glue_xai.qt.image_viewer import XAIImageViewer

    gx.setup()
    app = GlueApplication()
    with tempfile.TemporaryDirectory() as folder:
        paths, truth = write_band_files(folder)
        bands = [load_data(str(path)) for path in paths]  # labelled g, r, z after their files
    for data in bands:
        app.data_collection.append(data)
    app.data_collection.add_link(wcs_autolink(app.data_collection))
    viewer = app.new_data_viewer(XAIImageViewer, data=bands[0])
    for data in bands[1:]:
        viewer.add_data(data)
    viewer.state.model = "galaxy-bars"
    viewer.state.method = BAR_METHOD
    g = bands[0]
    app.data_collection.new_subset_group("galaxy", RoiSubsetState(
        g.pixel_component_ids[1], g.pixel_component_ids[0], RectangularROI(-0.5, 63.5, -0.5, 63.5)))
    combo = viewer.options.combo_show_bands  # as a person picks it in the Explanation tab
    combo.setCurrentIndex(combo.findData("bands in colour"))
    combo.activated.emit(combo.currentIndex())
    app.resize(1400, 820)
    app.show()
    viewer.viewer_size = (820, 700)
    viewer.move(0, 0)
    (artist,) = [a for a in viewer.explanation_layers() if a.layer.data is g]
    wait(lambda: artist.explanation is not None and not viewer.busy and not viewer._pending)
    settle()
    app.grab().save(str(HERE / "images" / "galaxy_colour_window.png"))
    print("truth:", {name: truth[name] for name in ("barred", "bar_length_arcsec", "bar_pa_deg", "bulge_to_total")})
    print("legend:", artist.legend_text().replace("\n", " | "))
    print("display:", viewer.state.color_mode, [(layer.layer.label, layer.color, round(layer.v_min, 4),
                                                 round(layer.v_max, 3)) for layer in viewer._image_layers()])

    panels = {"g, r, z in colour": None}
    artist.state.visible = False  # the colour image alone: contours trace the bar's edges
    settle()
    panels["g, r, z in colour"] = viewer.grab()
    artist.state.visible = True
    settle()
    panels["in colour, integrated gradients as contours"] = viewer.grab()
    combo.setCurrentIndex(combo.findData("r"))
    combo.activated.emit(combo.currentIndex())
    settle()
    panels["r alone, the same map as a heat map"] = viewer.grab()
    print("after switching:", viewer.state.color_mode, viewer.shown_band())
    grabs = []
    with tempfile.TemporaryDirectory() as folder:
        for k, pixmap in enumerate(panels.values()):
            pixmap.save(str(Path(folder) / f"{k}.png"))
            grabs.append(plt.imread(str(Path(folder) / f"{k}.png")))
    height, width = grabs[0].shape[:2]
    figure, axes = plt.subplots(1, 3, figsize=(15, 5 * height / width + 0.4))
    for ax, grab, title in zip(axes, grabs, panels):
        ax.imshow(grab)
        ax.set_title(title, fontsize=11)
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(HERE / "images" / "galaxy_colour_or_band.png", dpi=100)
    for opened in list(app.viewers[0]):
        opened.close(warn=False)
    app.close()


if __name__ == "__main__":
    main()
