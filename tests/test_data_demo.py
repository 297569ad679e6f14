"""The shipped demo set: small, 150x150, positions right, terms of use and citations present."""
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from glue_xai.data.cutouts import read_cutout
from glue_xai.data.demo import demo_catalogue_path, demo_cutouts, demo_folder, demo_notice, load_demo
from glue_xai.data.make_demo import TERMS, build_demo


@pytest.fixture(scope="module")
def demo():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_demo()


def test_demo_is_small_and_square(demo):
    table, cutouts = demo
    files = sorted(demo_folder().glob("*.fits"))
    assert 30 <= len(files) <= 40
    assert sorted(Path(f).name for f in table["fits_file"]) == [f.name for f in files]
    assert len(cutouts) == len(table) == len(files)
    for cutout in cutouts:
        assert cutout.shape == (150, 150)
        assert cutout.pixel_scale_arcsec == pytest.approx(1.8)
        assert fits.getheader(cutout.path)["BITPIX"] == -32
    assert sum(f.stat().st_size for f in files) < 5e6


def test_demo_class_mix(demo):
    table, _ = demo
    codes = list(table["class_code"])
    assert codes.count(100) == 16 and codes.count(200) == 16
    others = [c for c in codes if c not in (100, 200)]
    assert 1 <= len(others) <= 8 and len(set(others)) >= 4
    assert {"hybrid", "FRI", "FRII"} <= set(table["fr_class"])
    assert (table["las_arcsec"] <= 200).all()  # every source fits its 270 arcsec cutout


def test_demo_centres_are_the_source_positions(demo, mirabest_root):
    table, cutouts = demo
    rows = SkyCoord(table["ra_deg"], table["dec_deg"], unit="deg")
    centres = SkyCoord([c.centre.icrs for c in cutouts])
    assert rows.separation(centres).arcsec.max() < 2.0
    for cutout in cutouts[:5]:
        original = read_cutout(mirabest_root / "fits" / cutout.path.name)
        # Same sky centre as the original cutout, and the same pixels as its middle.
        assert cutout.centre.separation(original.centre).arcsec < 1e-6
        np.testing.assert_array_equal(cutout.image, original.image[75:225, 75:225])


def test_demo_headers_keep_the_first_copyright(demo):
    _, cutouts = demo
    for cutout in cutouts:
        history = " ".join(" ".join(str(v) for v in cutout.header["HISTORY"]).split())
        assert "Copyright 1994 University of California" in history
        assert " ".join(TERMS.split()) in history
        assert "10.5281/zenodo.4288837" in history


def test_notice_has_terms_and_citations():
    notice = demo_notice()
    flat = " ".join(notice.split())
    assert ("Permission is granted for publication and reproduction of this material for scholarly, "
            "educational, and private non-commercial use.") in flat
    assert "Miraghaei" in flat and "Best" in flat and "MNRAS 466, 4346" in flat
    assert "Porter" in flat and "Scaife" in flat and "10.5281/zenodo.4288837" in flat


def test_demo_api_paths():
    assert demo_catalogue_path() == demo_folder() / "catalogue.csv"
    assert [c.name for c in demo_cutouts()][:1] == [Path(load_demo()[0]["fits_file"][0]).stem]


def test_rebuild_reproduces_the_shipped_files(mirabest_root, tmp_path, demo):
    table, cutouts = demo
    rebuilt = build_demo(mirabest_root, tmp_path)
    assert list(rebuilt["fits_file"]) == list(table["fits_file"])
    assert (tmp_path / "catalogue.csv").read_text() == demo_catalogue_path().read_text()
    assert (tmp_path / "NOTICE").read_text() == demo_notice()
    for cutout in cutouts[::8]:
        np.testing.assert_array_equal(fits.getdata(tmp_path / cutout.path.name), cutout.image)
