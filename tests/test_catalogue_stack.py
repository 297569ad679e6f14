"""Cutout stacks joined to their catalogue, on the shared FIRST cutouts and catalogue."""
import numpy as np
import pytest
from astropy.table import Table
from glue.core import Data, DataCollection
from glue.core.subset import ElementSubsetState, RangeSubsetState

from glue_xai.data.cutouts import cut_out, read_cutout
from glue_xai.viewer.catalogue_selection import selected_rows, selected_slices, step_selection
from glue_xai.viewer.catalogue_stack import (CUTOUTS, SOURCE_INDEX, catalogue_stack, cutout_rows, cutout_wcs,
                                             link_positions)

ROWS = np.arange(0, 260, 22)  # 12 sources of both classes


def small_catalogue(root, rows=ROWS):
    """Some rows of the shared catalogue, their file column made absolute."""
    table = Table.read(root / "catalogue.csv")[rows]
    table["fits_file"] = [str(root / name) for name in table["fits_file"]]
    return table


@pytest.fixture(scope="module")
def cutouts(mirabest_root):
    table = small_catalogue(mirabest_root)
    return table, [read_cutout(path) for path in table["fits_file"]]


@pytest.fixture
def built(cutouts):
    """A fresh catalogue + stack per test: glue data belongs to one data collection."""
    table, images = cutouts
    return table, catalogue_stack(table, cutouts=images)


def test_each_slice_is_its_row_cut_to_the_model_field_of_view(built):
    table, cs = built
    assert cs.stack.shape == (len(table), 150, 150)  # 270 arcsec at 1.8 arcsec/pixel
    np.testing.assert_array_equal(cutout_rows(cs.stack), np.arange(len(table)))
    np.testing.assert_array_equal(cs.catalogue[SOURCE_INDEX], np.arange(len(table)))
    for k in (0, 5, 11):
        wcs = cutout_wcs(cs.stack, k)
        x, y = wcs.world_to_pixel_values(table["ra_deg"][k], table["dec_deg"][k])
        assert abs(x - 74.5) <= 0.5 and abs(y - 74.5) <= 0.5  # the row's position is the centre pixel
        expected = cut_out(read_cutout(table["fits_file"][k]), (table["ra_deg"][k], table["dec_deg"][k]), 150)
        np.testing.assert_array_equal(cs.stack[CUTOUTS][k], expected.image)


def test_rows_without_a_cutout_are_reported_not_stacked(mirabest_root):
    table = small_catalogue(mirabest_root, rows=[0, 1, 2])
    table["fits_file"][1] = "/nonexistent/missing.fits"
    cs = catalogue_stack(table, cutouts=[table["fits_file"][0], table["fits_file"][2]])
    np.testing.assert_array_equal(cutout_rows(cs.stack), [0, 2])
    assert list(cs.match.unmatched_rows) == [1]
    assert cs.catalogue.shape == (3,)


def test_survey_images_are_cut_at_each_row(mirabest_root):
    """A 300 x 300 FIRST image standing in for a survey tile: rows on it are cut, others listed."""
    survey = read_cutout(mirabest_root / "fits" / "100_016.236+000.073_0.2797_0058.67.fits")
    centre = survey.centre
    table = Table({"RA": [centre.ra.deg, centre.ra.deg + 0.02, 100.0], "DEC": [centre.dec.deg, centre.dec.deg, 0.0]})
    cs = catalogue_stack(table, survey=[survey], size_arcsec=90.0)
    assert cs.stack.shape == (2, 50, 50)
    np.testing.assert_array_equal(cutout_rows(cs.stack), [0, 1])
    assert list(cs.match.unmatched_rows) == [2]
    np.testing.assert_array_equal(cs.stack[CUTOUTS][1], cut_out(survey, (table["RA"][1], table["DEC"][1]), 50).image)


def test_table_row_selection_reaches_the_stack_through_the_key(built):
    table, cs = built
    collection = DataCollection([cs.catalogue, cs.stack])
    # What glue's table viewer makes when rows are selected: indices of the catalogue alone.
    group = collection.new_subset_group("rows", ElementSubsetState(indices=[2, 7, 9], data=cs.catalogue))
    np.testing.assert_array_equal(selected_slices(cs.stack, group), [2, 7, 9])
    stack_subset = next(s for s in group.subsets if s.data is cs.stack)
    assert stack_subset.to_mask(view=(slice(7, 8),)).all()
    assert not stack_subset.to_mask(view=(slice(3, 4),)).any()


def test_an_ordinary_link_alone_does_not_carry_row_selections(built):
    """Why the stack is joined on a key: with a plain component link the selection is lost."""
    from glue.core.link_helpers import LinkSame

    table, cs = built
    unjoined = Data(label="copy", cutouts=cs.stack[CUTOUTS], source_index=np.array(cs.stack[SOURCE_INDEX]))
    collection = DataCollection([cs.catalogue, unjoined])
    collection.add_link(LinkSame(cs.catalogue.id[SOURCE_INDEX], unjoined.id[SOURCE_INDEX]))
    group = collection.new_subset_group("rows", ElementSubsetState(indices=[2, 7], data=cs.catalogue))
    assert selected_slices(unjoined, group).size == 0


def test_scatter_range_selection_on_the_catalogue_selects_those_cutouts(built):
    table, cs = built
    state = RangeSubsetState(0.1, 0.2, cs.catalogue.id["redshift"])
    expected = np.flatnonzero((table["redshift"] >= 0.1) & (table["redshift"] <= 0.2))
    assert 0 < len(expected) < len(table)
    np.testing.assert_array_equal(selected_rows(cs.catalogue, state), expected)
    np.testing.assert_array_equal(selected_slices(cs.stack, state), expected)


def test_next_and_previous_step_through_the_selection_and_wrap(built):
    from types import SimpleNamespace

    table, cs = built
    state = SimpleNamespace(slices=(0, 0, 0))  # all an image viewer's state needs here
    selection = ElementSubsetState(indices=[3, 8], data=cs.catalogue)
    assert step_selection(state, cs.stack, selection, +1) == 3
    assert state.slices[0] == 3
    assert step_selection(state, cs.stack, selection, +1) == 8
    assert step_selection(state, cs.stack, selection, +1) == 3  # wraps around
    assert step_selection(state, cs.stack, selection, -1) == 8
    assert step_selection(state, cs.stack, ElementSubsetState(indices=[], data=cs.catalogue), +1) is None
    assert state.slices[0] == 8


def test_catalogue_positions_land_on_the_survey_image_pixels(mirabest_root):
    survey = read_cutout(mirabest_root / "fits" / "100_016.236+000.073_0.2797_0058.67.fits")
    image = Data(label="survey", flux=survey.image, coords=survey.wcs)
    ra = survey.centre.ra.deg + np.array([0.0, 0.01, -0.02])
    dec = survey.centre.dec.deg + np.array([0.0, 0.015, 0.01])
    catalogue = Data(label="sources", ra_deg=ra, dec_deg=dec)
    collection = DataCollection([image, catalogue])
    link_positions(collection, catalogue, image)
    x, y = survey.wcs.world_to_pixel_values(ra, dec)
    np.testing.assert_allclose(catalogue[image.pixel_component_ids[1]], x, atol=1e-6)
    np.testing.assert_allclose(catalogue[image.pixel_component_ids[0]], y, atol=1e-6)


def test_a_saved_session_keeps_the_join_and_each_cutout_wcs(built):
    from glue.core.state import GlueSerializer, GlueUnSerializer

    from glue_xai.viewer.catalogue_stack import catalogue_of

    table, cs = built
    saved = GlueSerializer(DataCollection([cs.catalogue, cs.stack])).dumps()
    restored = GlueUnSerializer.loads(saved).object("__main__")
    catalogue, stack = restored[0], restored[1]
    assert catalogue_of(stack, restored) is catalogue
    np.testing.assert_allclose(cutout_wcs(stack, 4).wcs.crval, cutout_wcs(cs.stack, 4).wcs.crval)
    group = restored.new_subset_group("rows", ElementSubsetState(indices=[1, 10], data=catalogue))
    np.testing.assert_array_equal(selected_slices(stack, group), [1, 10])


def test_a_catalogue_file_column_picks_its_cutouts_from_a_folder_or_positions_do(mirabest_root, tmp_path):
    table = Table.read(mirabest_root / "catalogue.csv")[[0, 100, 200]]
    folder = tmp_path / "cutouts"
    folder.mkdir()
    for name in table["fits_file"]:
        (folder / name.split("/")[-1]).symlink_to(mirabest_root / name)
    (folder / "unrelated.fits").symlink_to(mirabest_root / "fits" / "100_016.236+000.073_0.2797_0058.67.fits")
    table["fits_file"] = ["cutouts/" + name.split("/")[-1] for name in table["fits_file"]]
    table[:2].write(tmp_path / "named.csv")
    by_file = catalogue_stack(tmp_path / "named.csv", cutouts=folder)
    np.testing.assert_array_equal(cutout_rows(by_file.stack), [0, 1])
    assert not np.isnan(by_file.match.separation_arcsec).any()  # matched by file, separations measured

    table["fits_file"] = ["moved/away.fits"] * 3  # names files that are not there: positions match instead
    table.write(tmp_path / "stale.csv")
    by_position = catalogue_stack(tmp_path / "stale.csv", cutouts=folder)
    np.testing.assert_array_equal(cutout_rows(by_position.stack), [0, 1, 2])
    assert by_position.match.separation_arcsec.max() < 5.0
