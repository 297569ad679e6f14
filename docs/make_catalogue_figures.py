"""Render the catalogue-browsing screenshots headless: ``docs/images/catalogue_*.png``.

    python docs/make_catalogue_figures.py [--mirabest ../shared/data/mirabest]

On the 260 FIRST sources of the shared MiraBest catalogue: the catalogue and its cutout
stack in glue, classified and explained (saliency) and embedded (t-SNE of the model's
features); a t-SNE scatter with the true classes and the misclassified sources; a table
viewer with the new columns and selected rows; the XAI image viewer stepping through a
selection. Plus a *synthetic* survey tile (sources from :mod:`glue_xai.data.synthetic`
on a 600 x 600 pixel field) with the catalogue's positions as markers.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from qt_waits import wait  # noqa: E402
from make_viewer_screenshots import radio_display  # noqa: E402  (one display stretch for every screenshot)


def save(widget, path, size=None):
    from qtpy import QtWidgets

    if size is not None:
        # glue viewers live in sub-windows: their size is set through viewer_size.
        if hasattr(widget, "viewer_size"):
            widget.viewer_size = size
        else:
            widget.resize(*size)
    widget.show()
    for _ in range(5):
        QtWidgets.QApplication.processEvents()
    if hasattr(widget, "figure"):
        widget.figure.canvas.draw()
    widget.grab().save(str(path))
    print("wrote", path)


def catalogue_in_glue(app, mirabest, rows=None):
    """The shared catalogue + stack (or its first ``rows``), classified, explained and embedded."""
    from astropy.table import Table

    from glue_xai.models import load_model
    from glue_xai.viewer.catalogue_columns import embedding_columns, explain_catalogue
    from glue_xai.viewer.catalogue_stack import add_to_collection, catalogue_stack
    from glue_xai.viewer.explanation_job import ExplanationSettings

    table = Table.read(mirabest / "catalogue.csv")[:rows]
    table["fits_file"] = [str(mirabest / name) for name in table["fits_file"]]
    built = catalogue_stack(table, cutouts=list(table["fits_file"]), label="MiraBest")
    add_to_collection(app.data_collection, built)
    settings = ExplanationSettings(model_name="mirabest-fr", method="saliency", target=None, seed=0, options=())
    explain_catalogue(built.catalogue, built.stack, settings)
    embedding_columns(built.catalogue, built.stack, load_model("mirabest-fr"), seed=0)
    return built


def tsne_figure(app, built, out):
    from glue.core.subset import ElementSubsetState
    from glue_qt.viewers.scatter import ScatterViewer

    catalogue = built.catalogue
    collection = app.data_collection
    true = np.asarray(catalogue["fr_class"])
    predicted = np.asarray(catalogue["xai_pred_class"])
    for label, colour, rows in (("true FRI", "#1f77b4", true == "FRI"), ("true FRII", "#d62728", true == "FRII"),
                                ("misclassified", "#ffbf00", (true != predicted) & np.isin(true, ["FRI", "FRII"]))):
        group = collection.new_subset_group(label, ElementSubsetState(indices=np.flatnonzero(rows), data=catalogue))
        group.style.color = colour
        group.style.markersize = 9 if label == "misclassified" else 6
    viewer = app.new_data_viewer(ScatterViewer, data=catalogue)
    viewer.state.x_att = catalogue.id["xai_tsne_x"]
    viewer.state.y_att = catalogue.id["xai_tsne_y"]
    viewer.layers[0].state.color = "#bbbbbb"
    save(viewer, out / "catalogue_tsne.png", (700, 620))
    print(f"  {int(((true != predicted) & np.isin(true, ['FRI', 'FRII'])).sum())} of "
          f"{int(np.isin(true, ['FRI', 'FRII']).sum())} FRI/FRII sources misclassified")
    return viewer


def table_figure(app, built, out, rows):
    from qtpy import QtCore
    from glue_qt.viewers.table import TableViewer

    table = app.new_data_viewer(TableViewer, data=built.catalogue)
    table.toolbar.active_tool = "table:rowselect"
    selection = table.ui.table.selectionModel()
    for row in rows:
        selection.select(table.model.index(int(row), 0), QtCore.QItemSelectionModel.Select |
                         QtCore.QItemSelectionModel.Rows)
    table.finalize_selection()
    group = app.data_collection.subset_groups[-1]
    group.label, group.style.color = "picked rows", "#2ca02c"
    names = ["source_id", "fr_class", "xai_pred_class", "xai_prob_FRII", "xai_relevance_in_source",
             "xai_source_area", "xai_saliency_extent_arcsec", "las_arcsec"]
    header = table.ui.table.horizontalHeader()
    all_names = [c.label for c in built.catalogue.main_components]
    for k, name in enumerate(all_names):
        header.setSectionHidden(k, name not in names)
    table.ui.table.resizeColumnsToContents()
    table.ui.table.scrollTo(table.model.index(int(rows[0]), 0), table.ui.table.PositionAtTop)
    save(table, out / "catalogue_table.png", (1000, 420))
    return group


def browse_figure(app, built, group, out):
    from glue_xai.qt.catalogue_browser import SelectionBrowser
    from glue_xai.qt.image_viewer import XAIImageViewer

    viewer = app.new_data_viewer(XAIImageViewer, data=built.stack)
    viewer.state.method = "saliency"
    radio_display(viewer, built.stack, peak_fraction=0.05)
    for artist in viewer.explanation_layers():
        artist.state.visible = artist.layer.group is group
    browser = SelectionBrowser(viewer, app.data_collection)
    browser.selection.setCurrentIndex(browser.selection.findData(group))
    browser.step(+1)
    browser.step(+1)
    artist = next(a for a in viewer.explanation_layers() if a.layer.group is group)
    wait(lambda: artist.explanation is not None and not viewer.busy)
    save(viewer, out / "catalogue_browse.png", (760, 700))
    save(browser, out / "catalogue_browser_buttons.png", (420, 110))
    print("  browsing:", browser.where.text())


def survey_figure(app, out):
    """A synthetic 600 x 600 pixel survey tile with six sources, and its catalogue as markers."""
    from astropy.table import Table
    from astropy.wcs import WCS
    from glue.core.subset import ElementSubsetState
    from glue_qt.viewers.image import ImageViewer

    from glue_xai.data.cutouts import Cutout
    from glue_xai.data.synthetic import make_radio_source
    from glue_xai.viewer.catalogue_stack import add_to_collection, catalogue_stack

    size, scale = 600, 1.8
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    rng = np.random.default_rng(4)
    tile = rng.normal(0.0, 1.5e-4, (size, size)).astype(np.float32)
    rows = []
    for k, (x, y) in enumerate([(110, 130), (300, 470), (480, 210), (150, 400), (470, 480), (320, 110)]):
        source = make_radio_source("FRII" if k % 2 else "FRI", size=150, seed=k)
        tile[y - 75:y + 75, x - 75:x + 75] += source.image - source.image.mean()
        sky = wcs.pixel_to_world(x - 0.5, y - 0.5)
        rows.append((f"SYN{k + 1}", sky.ra.deg, sky.dec.deg, source.kind))
    table = Table(rows=rows, names=("name", "ra", "dec", "kind"))
    survey = Cutout(image=tile, wcs=wcs)
    built = catalogue_stack(table, survey=[survey], label="synthetic catalogue")
    (image,) = add_to_collection(app.data_collection, built, survey=[survey])
    group = app.data_collection.new_subset_group("FR-II", ElementSubsetState(indices=[1, 3, 5],
                                                                             data=built.catalogue))
    group.style.color, group.style.markersize = "#ff7f0e", 11
    viewer = app.new_data_viewer(ImageViewer, data=image)
    radio_display(viewer, image, peak_fraction=0.3)
    viewer.add_data(built.catalogue)
    for layer in viewer.layers:
        if layer.layer is built.catalogue:
            layer.state.color, layer.state.size, layer.state.alpha = "#00e5ff", 7, 0.9
    save(viewer, out / "catalogue_survey.png", (700, 660))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirabest", default=None, help="MiraBest folder (default: GLUE_XAI_MIRABEST or ../shared)")
    parser.add_argument("--out", default=str(HERE / "images"))
    parser.add_argument("--rows", type=int, default=None, help="only the first ROWS catalogue rows (a quick look)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    import glue_xai as gx
    from glue_qt.app import GlueApplication

    from glue_xai.data.mirabest import mirabest_root

    gx.setup()
    app = GlueApplication()
    survey_figure(app, out)
    built = catalogue_in_glue(app, mirabest_root(args.mirabest), args.rows)
    # Three extended FR-IIs (60-150 arcsec), whose lobes fill a good part of the cutout.
    las = np.asarray(built.catalogue["las_arcsec"])
    extended = np.flatnonzero((np.asarray(built.catalogue["fr_class"]) == "FRII") & (las > 60) & (las < 150))
    group = table_figure(app, built, out, rows=extended[:3])
    browse_figure(app, built, group, out)
    tsne_figure(app, built, out)
    app.close()


if __name__ == "__main__":
    main()
