"""Catalogues: reading formats, finding RA/Dec columns, matching rows to the FIRST cutouts."""
import shutil
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.table import MaskedColumn, Table, vstack

from glue_xai.data.catalogue import (find_sky_columns, match_by_file, match_by_position, read_catalogue,
                                     read_catalogue_cutouts, sky_coordinates)
from glue_xai.data.cutouts import read_cutouts


@pytest.fixture(scope="module")
def catalogue(mirabest_root):
    return read_catalogue(mirabest_root / "catalogue.csv")


@pytest.fixture(scope="module")
def first_cutouts(mirabest_root):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_cutouts(mirabest_root / "fits")


def test_real_catalogue_matches_260_distinct_cutouts(catalogue, first_cutouts, mirabest_root):
    assert len(catalogue) == 260
    assert find_sky_columns(catalogue) == ("ra_deg", "dec_deg")
    match = match_by_position(catalogue, first_cutouts)
    assert match.matched.all() and len(match.unmatched_rows) == 0
    assert len(np.unique(match.cutout_index)) == 260
    assert len(match.shared_cutouts) == 0
    assert match.separation_arcsec.max() < 2.0
    # The position match and the file column agree row for row.
    by_file = match_by_file(catalogue, first_cutouts, mirabest_root)
    np.testing.assert_array_equal(by_file.cutout_index, match.cutout_index)
    np.testing.assert_allclose(by_file.separation_arcsec, match.separation_arcsec, atol=1e-6)
    for row in (0, 100, 259):
        assert first_cutouts[match.cutout_index[row]].path.name == catalogue["fits_file"][row].split("/")[-1]


@pytest.mark.parametrize("suffix", [".fits", ".vot", ".xml", ".ecsv", ".csv"])
def test_round_trips_find_the_same_columns(catalogue, tmp_path, suffix):
    path = tmp_path / f"catalogue{suffix}"
    fmt = {".fits": "fits", ".vot": "votable", ".xml": "votable", ".ecsv": "ascii.ecsv", ".csv": "ascii.csv"}
    catalogue.write(path, format=fmt[suffix])
    again = read_catalogue(path)
    assert len(again) == 260
    assert find_sky_columns(again) == ("ra_deg", "dec_deg")
    before, after = sky_coordinates(catalogue), sky_coordinates(again)
    assert before.separation(after).arcsec.max() < 1e-6


@pytest.mark.parametrize("ra_name, dec_name", [
    ("RA", "DEC"), ("RAJ2000", "DEJ2000"), ("_RAJ2000", "_DEJ2000"), ("ra_j2000", "dec_j2000"),
    ("RAdeg", "DEdeg"), ("Ra_Deg", "Dec_Deg"), ("RA_ICRS", "DE_ICRS"), ("RAJ2000", "DECJ2000"),
])
def test_column_names_are_found_case_insensitively(ra_name, dec_name):
    table = Table({"name": ["a", "b"], ra_name: [10.0, 20.0], dec_name: [-5.0, 5.0], "flux": [1.0, 2.0]})
    assert find_sky_columns(table) == (ra_name, dec_name)
    coords = sky_coordinates(table)
    np.testing.assert_allclose(coords.ra.deg, [10.0, 20.0])
    np.testing.assert_allclose(coords.dec.deg, [-5.0, 5.0])


def test_sexagesimal_strings_match_like_degrees(catalogue, first_cutouts):
    coords = sky_coordinates(catalogue)
    table = Table({"RAJ2000": coords.ra.to_string(unit=u.hourangle, sep=" ", precision=3),
                   "DEJ2000": coords.dec.to_string(unit=u.deg, sep=":", precision=2, alwayssign=True)})
    parsed = sky_coordinates(table)
    assert parsed.separation(coords).arcsec.max() < 0.02
    np.testing.assert_array_equal(match_by_position(table, first_cutouts).cutout_index,
                                  match_by_position(catalogue, first_cutouts).cutout_index)


def test_units_and_decimal_strings():
    radians = Table({"ra": [np.radians(150.0)] * u.rad, "dec": [np.radians(-30.0)] * u.rad})
    assert sky_coordinates(radians).ra.deg[0] == pytest.approx(150.0)
    strings = Table({"ra": ["150.25"], "dec": ["-30.5"]})
    coords = sky_coordinates(strings)
    assert (coords.ra.deg[0], coords.dec.deg[0]) == pytest.approx((150.25, -30.5))


def test_missing_columns_error_lists_the_columns():
    table = Table({"x": [1.0], "y": [2.0], "flux": [3.0]})
    with pytest.raises(ValueError, match=r"no RA and Dec column found .*\['x', 'y', 'flux'\]"):
        find_sky_columns(table)
    assert find_sky_columns(table, ra="x", dec="y") == ("x", "y")
    with pytest.raises(ValueError, match=r"no column 'lon' for RA; the catalogue has columns \['x', 'y', 'flux'\]"):
        find_sky_columns(table, ra="lon", dec="y")
    only_ra = Table({"RA": [1.0], "z": [0.1]})
    with pytest.raises(ValueError, match=r"no Dec column found"):
        find_sky_columns(only_ra)


def test_unmatched_rows_are_reported(catalogue, first_cutouts):
    extra = Table({"ra_deg": MaskedColumn([200.0, 0.0, 0.0], mask=[False, True, False]),
                   "dec_deg": [-40.0, 0.0, 0.0]})
    # A row 10 arcsec north of the first source: beyond a 5 arcsec tolerance, within 15.
    first = sky_coordinates(catalogue[:1])
    extra["ra_deg"][2] = first.ra.deg[0]
    extra["dec_deg"][2] = first.dec.deg[0] + 10.0 / 3600
    table = vstack([catalogue["ra_deg", "dec_deg"], extra])
    match = match_by_position(table, first_cutouts, tolerance_arcsec=5.0)
    assert list(match.unmatched_rows) == [260, 261, 262]
    assert "no position" in match.reasons[261]
    assert "arcsec away (tolerance 5 arcsec)" in match.reasons[262]
    assert match.separation_arcsec[262] == pytest.approx(10.0, abs=2.5)
    assert "260 of 263 catalogue rows matched" in match.summary()
    loose = match_by_position(table, first_cutouts, tolerance_arcsec=15.0)
    assert list(loose.unmatched_rows) == [260, 261]
    assert loose.cutout_index[262] == loose.cutout_index[0]
    assert list(loose.shared_cutouts) == [loose.cutout_index[0]]


def test_catalogue_with_relative_file_paths(mirabest_root, tmp_path, catalogue):
    (tmp_path / "images").mkdir()
    rows = catalogue[:3]
    names = []
    for f in rows["fits_file"]:
        shutil.copy(mirabest_root / f, tmp_path / "images")
        names.append("images/" + f.split("/")[-1])
    table = Table({"name": rows["source_id"], "RA": rows["ra_deg"], "DEC": rows["dec_deg"],
                   "FILE": names})
    table.add_row(["ghost", 10.0, 10.0, "images/missing.fits"])
    path = tmp_path / "my_catalogue.ecsv"
    table.write(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table, cutouts, match = read_catalogue_cutouts(path)
    assert len(cutouts) == 3
    assert list(match.cutout_index) == [0, 1, 2, -1]
    assert "missing.fits does not exist" in match.reasons[3]
    assert np.nanmax(match.separation_arcsec) < 2.0


def test_unknown_format_and_unreadable_file(tmp_path):
    odd = tmp_path / "catalogue.xyz"
    odd.write_text("ra,dec\n1,2\n")
    with pytest.raises(ValueError, match=r"catalogue\.xyz: cannot tell the catalogue format"):
        read_catalogue(odd)
    broken = tmp_path / "broken.fits"
    broken.write_text("not fits at all")
    with pytest.raises(ValueError, match=r"broken\.fits: cannot be read as a fits table"):
        read_catalogue(broken)


def test_match_by_position_accepts_a_skycoord_of_centres(catalogue):
    centres = SkyCoord([1.0, 16.236], [1.0, 0.073], unit="deg")
    match = match_by_position(catalogue[:2], centres)
    assert list(match.cutout_index) == [1, -1]
