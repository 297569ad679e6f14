"""glue opens FIRST cutouts from SkyView (tabs in COMMENT cards) through glue-xai's data factory."""
import shutil
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyError
from glue.core import DataCollection
from glue.core.data_factories import load_data
from glue.core.data_factories.fits import fits_reader
from glue.core.state import GlueSerializer, GlueUnSerializer

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.data.demo import demo_folder
from glue_xai.viewer.fits_factory import is_fits_with_unprintable_comments, read_fits_with_unprintable_comments

QUIRKY_FILE = "fits/100_016.236+000.073_0.2797_0058.67.fits"


@pytest.fixture
def quirky(mirabest_root, tmp_path):
    """A raw FIRST cutout as SkyView serves it: tab characters in its COMMENT cards."""
    path = tmp_path / "first_cutout.fits"
    shutil.copy(mirabest_root / QUIRKY_FILE, path)
    assert b"\t" in path.read_bytes()[:2880 * 4]
    return path


def test_glue_alone_refuses_the_file(quirky):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(VerifyError, match="Unprintable string"):
            fits_reader(str(quirky))


def test_load_data_opens_the_survey_file_with_its_wcs(quirky):
    gx.setup()
    data = load_data(str(quirky))
    assert data.label == "first_cutout"
    assert data._load_log.factory is read_fits_with_unprintable_comments
    with fits.open(quirky) as hdul:
        raw = hdul[0].data.astype(float)
    np.testing.assert_array_equal(data["PRIMARY"], raw)
    # The WCS is the file's: the same pixel lands on the same sky position as read_cutout says.
    cutout = read_cutout(quirky)
    assert list(data.coords.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    for x, y in [(0, 0), (149.5, 149.5), (299, 17)]:
        ours = data.coords.pixel_to_world(x, y)
        theirs = cutout.wcs.pixel_to_world(x, y)
        assert ours.separation(theirs).arcsec < 1e-6
    # The comment text survives, tabs turned into spaces.
    comments = "\n".join(data.meta["COMMENT"])
    assert "Laurent-Muehleisen" in comments and "\t" not in comments


def test_tidy_files_are_left_to_glues_reader(tmp_path):
    gx.setup()
    tidy = sorted(demo_folder().glob("*.fits"))[0]
    assert not is_fits_with_unprintable_comments(tidy)
    assert load_data(str(tidy))._load_log.factory is fits_reader
    text = tmp_path / "notes.fits"
    text.write_text("not a FITS file\n")
    assert not is_fits_with_unprintable_comments(text)
    assert not is_fits_with_unprintable_comments(tmp_path / "missing.fits")


def test_a_session_reopens_the_file_through_the_factory(quirky):
    gx.setup()
    collection = DataCollection([load_data(str(quirky))])
    saved = GlueSerializer(collection).dumps()
    (restored,) = GlueUnSerializer.loads(saved).object("__main__")
    assert restored.label == "first_cutout"
    np.testing.assert_array_equal(restored["PRIMARY"], collection[0]["PRIMARY"])
    assert restored.coords.pixel_to_world(10, 20).separation(collection[0].coords.pixel_to_world(10, 20)).arcsec < 1e-6
