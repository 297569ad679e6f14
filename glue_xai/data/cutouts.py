"""FITS image cutouts with their sky coordinates.

A :class:`Cutout` is one 2-D image (float, NaN kept as missing sky) with its celestial
WCS, the header it came from and the file. :func:`read_cutout` reads one file,
:func:`read_cutouts` a folder or a list of files into a :class:`CutoutStack`, and
:func:`cut_out` cuts a smaller cutout at a sky position out of a larger (survey) image,
keeping the WCS right.

Real survey files are untidy, and the reader copes with what we have met:

* header COMMENT/HISTORY cards holding tab characters (the FIRST cutouts from SkyView):
  astropy warns ``VerifyWarning: Unprintable string`` every time such a header is
  turned into text, e.g. when a WCS is built. The characters are replaced by spaces in
  the header we keep (so it can also be written out again) and the warnings are
  silenced locally while the file is read;
* degenerate FREQ/STOKES axes of length 1 (radio images from CASA/AIPS): squeezed away
  together with their WCS axes;
* NaN borders (mosaic edges): kept as NaN, for the model wrapper to treat as missing.

A file that cannot be used raises ``ValueError`` naming the file and the problem.
"""
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning
from astropy.wcs import WCS

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
_COMMENTARY = ("COMMENT", "HISTORY", "")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
#: The messages astropy emits for a commentary card with a tab in it (and its framing).
_UNPRINTABLE_WARNINGS = ("Verification reported errors", ".*Unprintable string",
                         "Note: astropy.io.fits uses zero-based indexing")
# WCS keywords of a header, removed before a cutout's new WCS is written in.
_WCS_KEYWORD = re.compile(r"^(WCSAXES|CRPIX\d|CRVAL\d|CDELT\d|CTYPE\d|CUNIT\d|CROTA\d|"
                          r"CD\d_\d|PC\d_\d|PV\d_\d+|PS\d_\d+|LONPOLE|LATPOLE|RADESYS|EQUINOX|"
                          r"MJDREF|DATEREF|WCSNAME)$")


@dataclass
class Cutout:
    """One 2-D sky image: ``image`` (ny, nx) float with NaN for missing sky, its
    celestial ``wcs`` (None only when read with ``require_wcs=False``), the ``header`` it
    came from and its ``path`` (None for an image made in memory)."""

    image: np.ndarray
    wcs: WCS = None
    header: fits.Header = field(default_factory=fits.Header, repr=False)
    path: Path = None

    @property
    def shape(self):
        return self.image.shape

    @property
    def name(self):
        """The file name without its FITS suffix (or ``"cutout"`` for an in-memory image)."""
        if self.path is None:
            return "cutout"
        name = Path(self.path).name
        for suffix in sorted(FITS_SUFFIXES, key=len, reverse=True):
            if name.lower().endswith(suffix):
                return name[:-len(suffix)]
        return name

    @property
    def pixel_scale_arcsec(self):
        """Pixel size in arcsec from the WCS (as for explanations: the geometric mean of the
        two axes), or None without a WCS."""
        from glue_xai.models.preprocess import pixel_scale_from_wcs

        return None if self.wcs is None else pixel_scale_from_wcs(self.wcs)

    @property
    def centre(self):
        """Sky position (SkyCoord) of the image centre: pixel ((nx-1)/2, (ny-1)/2), 0-based."""
        self._need_wcs("the centre's sky position")
        ny, nx = self.image.shape
        return self.wcs.pixel_to_world((nx - 1) / 2.0, (ny - 1) / 2.0)

    @property
    def ra_deg(self):
        return float(self.centre.icrs.ra.deg)

    @property
    def dec_deg(self):
        return float(self.centre.icrs.dec.deg)

    def _need_wcs(self, what):
        if self.wcs is None:
            raise ValueError(f"{self.name}: has no celestial WCS, so {what} is unknown")


class CutoutStack:
    """An ordered collection of cutouts (from a folder, a file list or a catalogue)."""

    def __init__(self, cutouts):
        self.cutouts = list(cutouts)

    def __len__(self):
        return len(self.cutouts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return CutoutStack(self.cutouts[index])
        return self.cutouts[index]

    def __iter__(self):
        return iter(self.cutouts)

    def __repr__(self):
        shapes = sorted({c.shape for c in self.cutouts})
        return f"<CutoutStack of {len(self)} cutouts, shapes {shapes}>"

    @property
    def centres(self):
        """Sky positions of all cutout centres as one SkyCoord (ICRS)."""
        if not self.cutouts:
            return SkyCoord([] * u.deg, [] * u.deg, frame="icrs")
        return SkyCoord([c.centre.icrs for c in self.cutouts])

    @property
    def images(self):
        """All images as one (N, ny, nx) array; they must have the same shape."""
        shapes = {c.shape for c in self.cutouts}
        if len(shapes) > 1:
            raise ValueError(f"the cutouts have different shapes {sorted(shapes)}; cut them to one size "
                             "with cut_out() before stacking")
        return np.stack([c.image for c in self.cutouts])



def wcs_from_header(text):
    """The celestial WCS written as header text (how stacks and map cubes keep each cutout's
    WCS), or None for empty text (a cutout without one)."""
    return WCS(fits.Header.fromstring(text)) if text else None

def _clean_header(header):
    """A copy of ``header`` with unprintable characters in commentary cards turned into spaces.

    astropy keeps the original card text of a card whose value is changed in place, so the
    offending cards are rebuilt rather than edited.
    """
    cards = []
    for card in header.cards:
        value = card.value
        if card.keyword in _COMMENTARY and isinstance(value, str) and _UNPRINTABLE.search(value):
            card = fits.Card(card.keyword, _UNPRINTABLE.sub(" ", value))
        cards.append(card)
    return fits.Header(cards)


class _quiet_unprintable(warnings.catch_warnings):
    """Silence, for one block only, astropy's warnings about unprintable header characters."""

    def __enter__(self):
        super().__enter__()
        for message in _UNPRINTABLE_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=VerifyWarning)
        return self


def has_unprintable_commentary(path):
    """Whether a FITS file has a COMMENT/HISTORY card with a tab or other unprintable character
    (the quirk of FIRST cutouts from SkyView that makes ``HDUList.verify('fix')`` fail).

    Only headers are read; a file that is not FITS (or not readable) answers False.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            if stream.read(9) != b"SIMPLE  =":  # FITS files start so (gzipped ones are left to glue)
                return False
        with _quiet_unprintable(), fits.open(path, ignore_missing_end=True, mode="denywrite") as hdul:
            return any(card.keyword in _COMMENTARY and isinstance(card.value, str)
                       and _UNPRINTABLE.search(card.value)
                       for hdu in hdul for card in hdu.header.cards)
    except (OSError, ValueError):
        return False


def read_clean_hdulist(path):
    """All HDUs of a FITS file, read into memory, with unprintable characters in commentary
    cards turned into spaces, so the list passes ``verify('fix')``. Raises ``ValueError``
    naming the file when it is not a readable FITS file."""
    path = Path(path)
    with _quiet_unprintable():
        try:
            hdul = fits.open(path, memmap=False, ignore_missing_end=True)
        except OSError as error:
            raise ValueError(f"{path}: not a readable FITS file ({error})") from error
        with hdul:
            return fits.HDUList([type(hdu)(data=hdu.data, header=_clean_header(hdu.header)) for hdu in hdul])


def _image_hdu(hdul, path, hdu):
    if hdu is not None:
        try:
            chosen = hdul[hdu]
        except (IndexError, KeyError):
            raise ValueError(f"{path}: has no HDU {hdu!r} (it has {len(hdul)} HDUs)") from None
        if chosen.data is None or not chosen.is_image:
            raise ValueError(f"{path}: HDU {hdu!r} holds no image")
        return chosen
    for candidate in hdul:
        if candidate.is_image and candidate.data is not None and candidate.data.ndim >= 2:
            return candidate
    raise ValueError(f"{path}: no image HDU (no HDU holds an array of two or more dimensions)")


def _squeeze(data, path):
    """Drop length-1 axes from the data and the matching WCS axes; returns (image, kept wcs axes)."""
    if data.ndim < 2:
        raise ValueError(f"{path}: the image is {data.ndim}-D, a cutout must be 2-D")
    # numpy axis i is FITS (and WCS) axis ndim - i (1-based).
    kept = [data.ndim - i for i in range(data.ndim) if data.shape[i] != 1]
    image = np.squeeze(data)
    if image.ndim != 2:
        raise ValueError(f"{path}: the image has shape {data.shape}, which is not 2-D after dropping "
                         "length-1 axes")
    return image, sorted(kept)


def _celestial_wcs(header, kept_axes, path, require_wcs):
    try:
        full = WCS(header)
    except Exception as error:  # astropy raises several kinds for broken WCS keywords
        if require_wcs:
            raise ValueError(f"{path}: the WCS in the header cannot be read ({error})") from error
        return None
    wcs = full.sub(kept_axes) if full.naxis >= max(kept_axes) else None
    celestial = wcs is not None and wcs.naxis == 2 and wcs.wcs.lng >= 0 and wcs.wcs.lat >= 0
    if not celestial:
        if require_wcs:
            ctypes = list(full.wcs.ctype) if full.naxis else []
            raise ValueError(f"{path}: no celestial WCS on the image's two axes (CTYPEs {ctypes}); "
                             "pass require_wcs=False to read the pixels alone")
        return None
    return wcs


def _as_float(data):
    """Native-byte-order float pixels: float32/64 kept, anything else to float64."""
    dtype = data.dtype if data.dtype.kind == "f" else np.dtype(np.float64)
    return np.asarray(data, dtype=dtype.newbyteorder("="))


def read_cutout(path, hdu=None, require_wcs=True):
    """Read one FITS image as a :class:`Cutout`.

    ``hdu`` picks an HDU by index or name; by default the first HDU holding an image.
    With ``require_wcs=False`` an image without a celestial WCS is accepted (``wcs=None``).
    Raises ``ValueError`` naming the file when it cannot be used.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a FITS file's path, got {type(path).__name__}")
    image, wcs, header = read_image(path, hdu, require_wcs)
    return Cutout(image=image, wcs=wcs, header=header, path=Path(path))


def read_image(path, hdu=None, require_wcs=True, commentary=True):
    """``(image, celestial WCS, header)`` of a FITS file, read as :func:`read_cutout` does.

    ``commentary=False`` drops the COMMENT/HISTORY cards from the header first: a FIRST
    cutout has hundreds, and astropy checks every card each time a WCS is built or
    copied, which is most of a survey source's reading time.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with _quiet_unprintable():
        try:
            hdul = fits.open(path, memmap=False)
        except OSError as error:
            raise ValueError(f"{path}: not a readable FITS file ({error})") from error
        with hdul:
            chosen = _image_hdu(hdul, path, hdu)
            if commentary:
                header = _clean_header(chosen.header)
            else:
                header = fits.Header([card for card in chosen.header.cards if card.keyword not in _COMMENTARY])
            image, kept = _squeeze(chosen.data, path)
            image = _as_float(image).copy()
        wcs = _celestial_wcs(header, kept, path, require_wcs)
    return image, wcs, header


def _fits_files(folder):
    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.name.lower().endswith(FITS_SUFFIXES))


def read_cutouts(source, require_wcs=True):
    """Read a folder of FITS files (sorted by name) or a list of paths into a :class:`CutoutStack`."""
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder; pass a list to read single files")
        paths = _fits_files(folder)
        if not paths:
            raise ValueError(f"{folder}: holds no FITS files ({', '.join(FITS_SUFFIXES)})")
    else:
        paths = list(source)
    return CutoutStack(read_cutout(p, require_wcs=require_wcs) for p in paths)


def _sky_position(position):
    if isinstance(position, SkyCoord):
        return position
    ra, dec = position
    return SkyCoord(ra, dec, unit="deg", frame="icrs")


def _check_size(size):
    """Cutout2D takes pixels (int or (ny, nx)) or angles; refuse anything else early."""
    if isinstance(size, u.Quantity) and size.unit != u.pixel and size.unit.physical_type != "angle":
        raise ValueError(f"a cutout size must be in pixels or an angle, got {size}")
    return size


def cut_out(image, position, size, mode="partial"):
    """Cut a cutout of ``size`` centred on a sky ``position`` out of a larger image.

    ``image`` is a :class:`Cutout` (e.g. a survey image from :func:`read_cutout`).
    ``position`` is a SkyCoord or ``(ra_deg, dec_deg)``. ``size`` is a number of pixels
    (int or ``(ny, nx)``) or an astropy angle such as ``120 * u.arcsec``.
    ``mode="partial"`` fills the part of the cutout beyond the image's edge with NaN (so
    a stack of cutouts keeps one shape); ``mode="strict"`` refuses cutouts that would
    reach past the edge. The position itself must always lie on the image.
    The returned cutout's WCS and header describe the new pixels.
    """
    if mode not in ("partial", "strict"):
        raise ValueError(f"mode must be 'partial' or 'strict', got {mode!r}")
    image._need_wcs("a sky position cannot be placed on it")
    sky = _sky_position(position)
    ny, nx = image.shape
    with warnings.catch_warnings():
        # Positions on the far side of the sky give NaN pixel coordinates; handled below.
        warnings.simplefilter("ignore", RuntimeWarning)
        x, y = (float(v) for v in image.wcs.world_to_pixel(sky))
    where = f"RA {sky.icrs.ra.deg:.5f} Dec {sky.icrs.dec.deg:+.5f} deg"
    if not (np.isfinite(x) and np.isfinite(y) and -0.5 <= x < nx - 0.5 and -0.5 <= y < ny - 0.5):
        raise ValueError(f"{image.name}: the position {where} is off the image "
                         f"(pixel x={x:.1f}, y={y:.1f}; the image is {nx} x {ny} pixels)")
    from astropy.nddata import Cutout2D, NoOverlapError, PartialOverlapError  # ~40 ms: not at glue start-up

    size = _check_size(size)
    try:
        piece = Cutout2D(image.image, sky, size, wcs=image.wcs, mode=mode, fill_value=np.nan, copy=True)
    except (NoOverlapError, PartialOverlapError) as error:
        raise ValueError(f"{image.name}: a {size} cutout at {where} reaches past the image edge "
                         f"({error}); use mode='partial' to fill the missing sky with NaN") from error
    header = image.header.copy()
    for key in [k for k in header if _WCS_KEYWORD.match(k)]:
        del header[key]
    header.update(piece.wcs.to_header())
    for key in [k for k in header if re.match(r"^NAXIS[3-9]$", k)]:
        del header[key]
    header["NAXIS"] = 2
    header["NAXIS1"], header["NAXIS2"] = piece.data.shape[1], piece.data.shape[0]
    return Cutout(image=piece.data, wcs=piece.wcs, header=header, path=image.path)
