"""Catalogue browsing in a headless glue: table rows -> XAI viewer, the dialogs, the menu."""
import numpy as np
import pytest
from astropy.table import Table
from qtpy import QtCore

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.viewer.catalogue_stack import CUTOUTS, add_to_collection, catalogue_stack, is_catalogue_stack

ROWS = [0, 30, 60, 90, 140, 180, 220, 250]
WAIT_MS = 60000


@pytest.fixture(scope="module")
def sources(mirabest_root):
    table = Table.read(mirabest_root / "catalogue.csv")[ROWS]
    table["fits_file"] = [str(mirabest_root / name) for name in table["fits_file"]]
    return table, [read_cutout(path) for path in table["fits_file"]]


@pytest.fixture
def built(app, sources):
    table, images = sources
    cs = catalogue_stack(table, cutouts=images)
    add_to_collection(app.data_collection, cs)
    return cs


def select_rows_in_table_viewer(app, catalogue, rows):
    """What a person does: the row-select tool, click rows, press Enter."""
    from glue_qt.viewers.table import TableViewer

    table = app.new_data_viewer(TableViewer, data=catalogue)
    table.toolbar.active_tool = "table:rowselect"
    selection = table.ui.table.selectionModel()
    for row in rows:
        index = table.model.index(row, 0)
        selection.select(index, QtCore.QItemSelectionModel.Select | QtCore.QItemSelectionModel.Rows)
    table.finalize_selection()
    (group,) = app.data_collection.subset_groups
    return group


def test_menu_entries_are_registered_with_glue(app):
    labels = [action.text() for action in app._actions["plugins"]]
    assert {"Cutout stack from a catalogue...", "Classify and explain a catalogue...",
            "Browse selected sources..."} <= set(labels)


def test_rows_selected_in_the_table_viewer_are_browsed_in_the_xai_viewer(app, qtbot, built, reference_model):
    from glue_xai.qt.catalogue_browser import SelectionBrowser
    from glue_xai.qt.image_viewer import XAIImageViewer

    group = select_rows_in_table_viewer(app, built.catalogue, [2, 6])
    viewer = app.new_data_viewer(XAIImageViewer, data=built.stack)
    viewer.state.method = "saliency"
    browser = SelectionBrowser(viewer, app.data_collection)
    (artist,) = viewer.explanation_layers()
    assert artist.layer.group is group

    for expected in (2, 6, 2):  # next, next, and round again
        assert browser.step(+1) == expected
        assert viewer.state.slices[0] == expected
        qtbot.waitUntil(lambda: artist.explanation is not None and artist.region.slice_index == (expected,)
                        and not viewer.busy, timeout=WAIT_MS)
        # Each cutout is explained with its own WCS (so its own pixel scale) from the stack's metadata.
        assert artist.region.wcs.to_header()["CRVAL1"] == pytest.approx(float(built.catalogue["ra_deg"][expected]),
                                                                         abs=1e-3)
        assert artist.explanation.params["pixel_scale_arcsec"] == pytest.approx(1.8, rel=1e-3)
        direct = gx.explain(reference_model, built.stack[CUTOUTS][expected], method="saliency", fit="pad")
        # Same cutout, same map (up to float rounding between threads).
        np.testing.assert_allclose(artist.explanation.map, direct.map, rtol=1e-4, atol=1e-4 * direct.map.max())
    assert browser.describe(group).startswith("source 1 of 2: row 2")

    # A source outside the selection shows no explanation, and the viewer says why.
    viewer.state.slices = (3, 0, 0)
    qtbot.waitUntil(lambda: artist.explanation is None and "holds no pixels" in artist.message, timeout=WAIT_MS)


def test_stack_dialog_builds_a_joined_stack_from_a_catalogue_file(app, mirabest_root, sources, tmp_path):
    from glue_xai.qt.catalogue_dialog import CatalogueStackDialog

    table, _ = sources
    table[:3].write(tmp_path / "three.csv")
    dialog = CatalogueStackDialog(app.data_collection)
    dialog.set_catalogue_file(tmp_path / "three.csv")
    assert (dialog.ra.currentText(), dialog.dec.currentText()) == ("ra_deg", "dec_deg")
    dialog.images.setText(str(mirabest_root / "fits"))
    dialog.size.setValue(180.0)
    dialog.build()
    assert dialog.message.text() == ""
    stacks = [d for d in app.data_collection if is_catalogue_stack(d)]
    assert len(stacks) == 1 and stacks[0].shape == (3, 100, 100)
    assert dialog.built.catalogue in app.data_collection


def test_explain_dialog_writes_columns_for_a_selection_and_cancels_cleanly(app, qtbot, built, reference_model):
    from glue_xai.qt.catalogue_explain import ExplainCatalogueDialog

    group = select_rows_in_table_viewer(app, built.catalogue, [1, 4, 5])
    dialog = ExplainCatalogueDialog(app.session, app.data_collection)
    dialog.method.setCurrentText("gradcam")
    dialog.sources.setCurrentIndex(dialog.sources.findData(group))
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running and bool(dialog.written), timeout=WAIT_MS)
    probabilities = np.asarray(built.catalogue["xai_prob_FRII"])
    expected = reference_model.predict_proba(built.stack[CUTOUTS][[1, 4, 5]], pixel_scale_arcsec=1.8)[:, 1]
    np.testing.assert_allclose(probabilities[[1, 4, 5]], expected, atol=1e-6)
    assert np.isnan(probabilities[[0, 2, 3, 6, 7]]).all()
    n_columns = len(built.catalogue.main_components)

    dialog.method.setCurrentText("lime")
    dialog.sources.setCurrentIndex(0)  # all sources: long enough to cancel
    dialog.written = []
    dialog.start()
    qtbot.waitUntil(lambda: dialog.run_thread._job is not None, timeout=WAIT_MS)  # the first source started
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.running, timeout=WAIT_MS)
    assert dialog.message.text().startswith("Cancelled")
    assert dialog.written == [] and len(built.catalogue.main_components) == n_columns
    np.testing.assert_array_equal(built.catalogue["xai_prob_FRII"], probabilities)


def test_viewer_uses_each_sources_own_seed_like_the_catalogue_columns(app, qtbot, built, reference_model):
    from glue.core.subset import RoiSubsetState
    from glue.core.roi import RectangularROI

    from glue_xai.batch import source_seed
    from glue_xai.qt.image_viewer import XAIImageViewer
    from glue_xai.viewer.catalogue_stack import cutout_row

    viewer = app.new_data_viewer(XAIImageViewer, data=built.stack)
    viewer.state.method = "smoothgrad"
    viewer.state.smoothgrad_samples = 4
    viewer.state.seed = 11
    viewer.state.slices = (5, 0, 0)
    stack = built.stack
    app.data_collection.new_subset_group("all", RoiSubsetState(stack.pixel_component_ids[2],
                                                               stack.pixel_component_ids[1],
                                                               RectangularROI(-1, 1000, -1, 1000)))
    (artist,) = viewer.explanation_layers()
    qtbot.waitUntil(lambda: artist.explanation is not None and not viewer.busy, timeout=WAIT_MS)
    seed = source_seed(11, cutout_row(stack, 5))
    assert artist.explanation.params["seed"] == seed != 11
    direct = gx.explain(reference_model, stack[CUTOUTS][5], method="smoothgrad", seed=seed, n_samples=4, fit="pad")
    np.testing.assert_allclose(artist.explanation.map, direct.map, rtol=1e-4, atol=1e-4 * direct.map.max())
