"""FITS cutouts: the 260 real FIRST files, untidy files made in tmp_path, and cut_out."""
import re
import warnings

import numpy as np
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.wcs import WCS

from glue_xai.data.catalogue import read_catalogue
from glue_xai.data.cutouts import Cutout, CutoutStack, cut_out, read_cutout, read_cutouts

NAN_FILE = "200_035.137+000.468_0.2721_0014.68.fits"  # the one file with a NaN corner


@pytest.fixture(scope="module")
def first_cutouts(mirabest_root):
    # Any warning escaping the reader (the tab-character VerifyWarnings in particular) fails.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_cutouts(mirabest_root / "fits")


def test_all_first_files_load_without_warnings(first_cutouts):
    assert len(first_cutouts) == 260
    for cutout in first_cutouts:
        assert cutout.shape == (300, 300)
        assert cutout.image.dtype == np.float32 and cutout.image.dtype.isnative
        assert cutout.wcs.naxis == 2
        assert cutout.pixel_scale_arcsec == pytest.approx(1.8, abs=1e-9)
    assert first_cutouts.images.shape == (260, 300, 300)


def test_warning_suppression_is_local(mirabest_root, first_cutouts):
    """Reading silenced the tab warnings only inside the reader: astropy still warns outside."""
    raw = fits.getheader(first_cutouts[0].path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        WCS(raw)
    unprintable = [w for w in caught if issubclass(w.category, VerifyWarning) and "Unprintable string" in str(w.message)]
    assert len(unprintable) >= 5  # five COMMENT cards of every FIRST header hold a tab


def test_cleaned_header_keeps_the_first_copyright(first_cutouts):
    header = first_cutouts[0].header
    history = " ".join(str(v) for v in header["HISTORY"])
    assert "Permission is granted for publication and reproduction of this" in history
    comments = [str(v) for v in header["COMMENT"]]
    assert not any("\t" in c for c in comments)
    assert any("Copyright:   1994, University of California." in c for c in comments)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        header.tostring()  # the cleaned header is valid FITS text


def test_centres_match_catalogue(mirabest_root, first_cutouts):
    table = read_catalogue(mirabest_root / "catalogue.csv")
    by_name = {c.path.name: c for c in first_cutouts}
    rows = SkyCoord(table["ra_deg"], table["dec_deg"], unit="deg")
    centres = SkyCoord([by_name[f.split("/")[-1]].centre.icrs for f in table["fits_file"]])
    separation = rows.separation(centres).arcsec
    # Catalogue positions are rounded to 0.001 deg: up to 2.5 arcsec in the worst case.
    assert separation.max() < 2.0
    assert np.median(separation) < 1.5


def test_nan_pixels_are_kept(first_cutouts):
    cutout = next(c for c in first_cutouts if c.path.name == NAN_FILE)
    raw = fits.getdata(cutout.path)
    assert np.isnan(cutout.image).sum() == np.isnan(raw).sum() == 69
    assert np.isfinite(cutout.image[:150, :150]).all()


def _radio_header(nx, ny, ra=150.0, dec=20.0, extra_axes=0):
    header = fits.Header()
    names = ["RA---SIN", "DEC--SIN", "FREQ", "STOKES"]
    for axis in range(2 + extra_axes):
        header[f"CTYPE{axis + 1}"] = names[axis]
    header["CRVAL1"], header["CRVAL2"] = ra, dec
    header["CDELT1"], header["CDELT2"] = -1.0 / 3600, 1.0 / 3600
    header["CRPIX1"], header["CRPIX2"] = (nx + 1) / 2, (ny + 1) / 2
    if extra_axes:
        header["CRVAL3"], header["CDELT3"], header["CRPIX3"], header["CUNIT3"] = 1.4e9, 1e6, 1.0, "Hz"
        header["CRVAL4"], header["CDELT4"], header["CRPIX4"] = 1.0, 1.0, 1.0
    return header


def test_degenerate_frequency_and_stokes_axes(tmp_path):
    data = np.arange(40 * 50, dtype=np.float32).reshape(1, 1, 40, 50)
    data[0, 0, :3] = np.nan  # a NaN border
    path = tmp_path / "casa_like.fits"
    fits.PrimaryHDU(data, _radio_header(50, 40, extra_axes=2)).writeto(path)
    cutout = read_cutout(path)
    assert cutout.shape == (40, 50)
    assert cutout.wcs.naxis == 2 and list(cutout.wcs.wcs.ctype) == ["RA---SIN", "DEC--SIN"]
    assert cutout.centre.separation(SkyCoord(150.0, 20.0, unit="deg")).arcsec < 1e-6
    assert cutout.pixel_scale_arcsec == pytest.approx(1.0)
    assert np.isnan(cutout.image[:3]).all() and np.isfinite(cutout.image[3:]).all()


def test_image_in_an_extension_and_chosen_by_name(tmp_path):
    path = tmp_path / "mef.fits"
    image = fits.ImageHDU(np.full((20, 30), 2.0, np.float32), _radio_header(30, 20), name="SCI")
    weights = fits.ImageHDU(np.ones((20, 30), np.float32), _radio_header(30, 20), name="WHT")
    fits.HDUList([fits.PrimaryHDU(), image, weights]).writeto(path)
    assert read_cutout(path).image[0, 0] == 2.0  # the first HDU holding an image
    assert read_cutout(path, hdu="WHT").image[0, 0] == 1.0
    with pytest.raises(ValueError, match=r"mef\.fits: has no HDU 'ERR'"):
        read_cutout(path, hdu="ERR")


def test_big_endian_integer_images_become_native_float(tmp_path):
    path = tmp_path / "int16.fits"
    fits.PrimaryHDU(np.arange(12, dtype=">i2").reshape(3, 4), _radio_header(4, 3)).writeto(path)
    cutout = read_cutout(path)
    assert cutout.image.dtype == np.float64 and cutout.image.dtype.isnative
    assert cutout.image[2, 3] == 11


def test_bad_files_name_the_file(tmp_path):
    table_only = tmp_path / "table_only.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column(name="x", format="E", array=np.zeros(3))])]).writeto(table_only)
    with pytest.raises(ValueError, match=r"table_only\.fits: no image HDU"):
        read_cutout(table_only)

    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((3, 10, 10), np.float32), _radio_header(10, 10)).writeto(cube)
    with pytest.raises(ValueError, match=r"cube\.fits: .*not 2-D"):
        read_cutout(cube)

    no_wcs = tmp_path / "no_wcs.fits"
    fits.PrimaryHDU(np.ones((8, 8), np.float32)).writeto(no_wcs)
    with pytest.raises(ValueError, match=r"no_wcs\.fits: no celestial WCS"):
        read_cutout(no_wcs)
    assert read_cutout(no_wcs, require_wcs=False).wcs is None

    not_fits = tmp_path / "notes.fits"
    not_fits.write_text("this is not a FITS file\n")
    with pytest.raises(ValueError, match=r"notes\.fits: not a readable FITS file"):
        read_cutout(not_fits)

    with pytest.raises(ValueError, match=r"missing\.fits: no such file"):
        read_cutout(tmp_path / "missing.fits")


def test_cut_out_at_a_sky_position(first_cutouts, tmp_path):
    survey = first_cutouts[0]
    target = survey.wcs.pixel_to_world(100, 180)  # 50 px left of and 30 px above the centre
    piece = cut_out(survey, target, 64)
    assert piece.shape == (64, 64)
    assert piece.centre.separation(target).arcsec < 1.8  # within one pixel (even size)
    # The pixels are those of the survey image, in the same place on the sky.
    x0, y0 = (int(round(float(v))) for v in survey.wcs.world_to_pixel(piece.wcs.pixel_to_world(0, 0)))
    np.testing.assert_array_equal(piece.image, survey.image[y0:y0 + 64, x0:x0 + 64])
    # The header carries the new WCS and can be written and read back.
    path = tmp_path / "piece.fits"
    fits.PrimaryHDU(piece.image, piece.header).writeto(path)
    again = read_cutout(path)
    assert again.centre.separation(piece.centre).arcsec < 1e-6


def test_cut_out_size_in_arcsec(first_cutouts):
    survey = first_cutouts[0]
    piece = cut_out(survey, survey.centre, 90 * u.arcsec)
    assert piece.shape == (50, 50)
    assert piece.centre.separation(survey.centre).arcsec < 1.0


def test_cut_out_at_the_edge_and_off_the_image(first_cutouts):
    survey = first_cutouts[0]
    corner = survey.wcs.pixel_to_world(5, 5)
    # An odd size centred on pixel (5, 5) covers pixels -20..30: 20-pixel NaN strips on two sides.
    piece = cut_out(survey, corner, 51)
    assert piece.shape == (51, 51)
    assert np.isnan(piece.image).sum() == 51 * 51 - 31 * 31
    np.testing.assert_array_equal(piece.image[20:, 20:], survey.image[:31, :31])
    with pytest.raises(ValueError, match="reaches past the image edge"):
        cut_out(survey, corner, 51, mode="strict")
    far = SkyCoord(survey.ra_deg + 1.0, survey.dec_deg, unit="deg")
    with pytest.raises(ValueError, match=re.escape(survey.name) + ": the position .* is off the image"):
        cut_out(survey, far, 50)
    with pytest.raises(ValueError, match="off the image"):
        cut_out(survey, (survey.ra_deg + 180.0, -survey.dec_deg), 50)


def test_stack_of_mixed_shapes_refuses_to_stack():
    wcs = WCS(_radio_header(10, 10))
    stack = CutoutStack([Cutout(np.zeros((10, 10)), wcs), Cutout(np.zeros((12, 10)), wcs)])
    assert len(stack.centres) == 2
    with pytest.raises(ValueError, match="different shapes"):
        stack.images
