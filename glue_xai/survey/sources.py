"""Which file each catalogue row's cutout comes from, and reading it where it is computed.

:func:`plan_sources` looks at the catalogue and at file *headers* only: for every row it
notes the file to cut the row's cutout from (its own cutout, found through the
catalogue's file column or by position, or the survey image covering it) and where to
cut. :func:`read_source` does the cutting, in whichever process explains the source, so
no pixels travel between processes. The cutouts are cut to one size on the sky around
each row's position, as glue's "cutout stack from a catalogue" does, so both give the
same numbers.
"""
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["SourcePlan", "plan_sources", "read_source", "read_sources", "model_field_of_view_arcsec"]


@dataclass
class SourcePlan:
    """Per catalogue row: the file its cutout is cut from (``""`` for none; ``reasons`` says
    why) and its position (deg). ``size_arcsec`` is the cutouts' side."""

    paths: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    size_arcsec: float
    reasons: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.paths)

    def part(self, start, stop):
        """The rows ``start:stop`` as plain lists (what a worker is sent)."""
        rows = list(range(start, stop))
        return {"rows": rows, "paths": [str(p) for p in self.paths[start:stop]],
                "ra": [float(v) for v in self.ra[start:stop]], "dec": [float(v) for v in self.dec[start:stop]],
                "reasons": [self.reasons.get(r, "") for r in rows], "size_arcsec": float(self.size_arcsec)}


def model_field_of_view_arcsec(card):
    """The sky a model sees, in arcsec (e.g. 150 px x 1.8 arcsec = 270), from its card."""
    if card.pixel_scale_arcsec is None:
        raise ValueError(f"model {card.name!r} has no pixel scale in its card: give the cutout size")
    return float(max(card.image_size) * card.pixel_scale_arcsec)


def _file_column_paths(table, catalogue_dir, folder):
    """Each row's file from the catalogue's file column (relative to the catalogue's folder,
    else looked up by name in ``folder``), or None when the table has no such column."""
    from glue_xai.data.catalogue import find_file_column

    try:
        column = find_file_column(table)
    except ValueError:
        return None
    paths = []
    for value in table[column]:
        name = "" if np.ma.is_masked(value) else str(value).strip()
        if not name:
            paths.append("")
            continue
        path = Path(catalogue_dir) / name
        if not path.exists() and folder is not None and (Path(folder) / Path(name).name).exists():
            path = Path(folder) / Path(name).name
        paths.append(str(path))
    return paths


def _header_wcs(path):
    """The celestial WCS and image shape of a FITS file, from its header alone."""
    from astropy.io import fits

    from glue_xai.data.cutouts import _celestial_wcs, _clean_header, _quiet_unprintable

    with _quiet_unprintable(), fits.open(path, memmap=True) as hdul:
        hdu = next((h for h in hdul if h.is_image and h.header.get("NAXIS", 0) >= 2), None)
        if hdu is None:
            raise ValueError(f"{path}: no image HDU")
        header = _clean_header(hdu.header)
        shape = [header[f"NAXIS{axis}"] for axis in range(header["NAXIS"], 0, -1)]
        kept = sorted(header["NAXIS"] - i for i, size in enumerate(shape) if size != 1)
        wcs = _celestial_wcs(header, kept, path, require_wcs=True)
    return wcs, tuple(s for s in shape if s != 1)


def _match_by_position(positions, files, tolerance_arcsec):
    """Each row's nearest cutout centre within the tolerance (headers read, no pixels)."""
    from astropy.coordinates import SkyCoord

    centres, usable = [], []
    for path in files:
        try:
            wcs, shape = _header_wcs(path)
        except (OSError, ValueError):
            continue
        ny, nx = shape
        centres.append(wcs.pixel_to_world((nx - 1) / 2.0, (ny - 1) / 2.0).icrs)
        usable.append(str(path))
    paths = np.full(len(positions), "", dtype=object)
    reasons = {}
    if not usable:
        return paths, {row: "no readable cutout in the folder" for row in range(len(positions))}
    nearest, separation, _ = positions.match_to_catalog_sky(SkyCoord(centres))
    for row, (k, sep) in enumerate(zip(nearest, separation.arcsec)):
        if not np.isfinite(sep):
            reasons[row] = "the row has no position"
        elif sep <= tolerance_arcsec:
            paths[row] = usable[k]
        else:
            reasons[row] = f"the nearest cutout centre is {sep:.1f} arcsec away (tolerance {tolerance_arcsec:g})"
    return paths, reasons


def _on_survey_images(positions, images):
    """Each row's first survey image whose pixels hold its position."""
    paths = np.full(len(positions), "", dtype=object)
    todo = np.ones(len(positions), dtype=bool)
    for path in images:
        wcs, (ny, nx) = _header_wcs(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            x, y = wcs.world_to_pixel(positions)
        inside = todo & np.isfinite(x) & np.isfinite(y) & (x >= -0.5) & (x < nx - 0.5) & (y >= -0.5) & (y < ny - 0.5)
        paths[inside] = str(path)
        todo &= ~inside
    return paths, {int(row): "the position is on none of the survey images" for row in np.flatnonzero(todo)}


def plan_sources(table, catalogue_dir=None, cutouts=None, survey=None, ra=None, dec=None, size_arcsec=None,
                 card=None, tolerance_arcsec=None):
    """A :class:`SourcePlan` for every row of the catalogue ``table`` (an astropy Table).

    Give ``cutouts`` (a folder of FITS cutouts, one per source: matched through the
    catalogue's file column, relative to ``catalogue_dir``, when it has one, else by
    position) or ``survey`` (FITS images to cut every row out of). ``size_arcsec``: the
    cutouts' side, by default the field of view of ``card`` (a model card).
    """
    from astropy.coordinates import SkyCoord

    from glue_xai.data.catalogue import DEFAULT_TOLERANCE_ARCSEC, find_sky_columns, sky_coordinates
    from glue_xai.data.cutouts import FITS_SUFFIXES

    if (cutouts is None) == (survey is None):
        raise ValueError("give either cutouts (one per source) or survey images, not both or neither")
    ra_name, dec_name = find_sky_columns(table, ra, dec)
    positions = sky_coordinates(table, ra_name, dec_name).icrs
    ra_deg, dec_deg = np.asarray(positions.ra.deg, dtype=float), np.asarray(positions.dec.deg, dtype=float)
    positions = SkyCoord(np.nan_to_num(ra_deg), np.nan_to_num(dec_deg), unit="deg")
    if size_arcsec is None:
        if card is None:
            raise ValueError("give the cutout size or the model card to take it from")
        size_arcsec = model_field_of_view_arcsec(card)
    if cutouts is not None:
        folder = Path(cutouts)
        if not folder.is_dir():
            raise ValueError(f"{folder}: not a folder of cutouts")
        named = _file_column_paths(table, catalogue_dir or folder, folder) if catalogue_dir is not None else None
        if named is not None:
            paths = np.array(named, dtype=object)
            reasons = {row: "the row's file column is empty" for row, p in enumerate(named) if not p}
        else:
            files = sorted(p for p in folder.iterdir() if p.name.lower().endswith(FITS_SUFFIXES))
            if not files:
                raise ValueError(f"{folder}: holds no FITS files ({', '.join(FITS_SUFFIXES)})")
            paths, reasons = _match_by_position(positions, files, tolerance_arcsec or DEFAULT_TOLERANCE_ARCSEC)
    else:
        images = [Path(p) for p in survey]
        missing = [str(p) for p in images if not p.is_file()]
        if missing:
            raise ValueError(f"no such survey image: {', '.join(missing)}")
        paths, reasons = _on_survey_images(positions, images)
    unknown = ~(np.isfinite(ra_deg) & np.isfinite(dec_deg))
    for row in np.flatnonzero(unknown):
        paths[row] = ""
        reasons[int(row)] = "the row has no position"
    return SourcePlan(paths, ra_deg, dec_deg, float(size_arcsec), reasons)


_OPEN = {}  # path -> (pixels, WCS): the survey image last read by this process (one kept)


def _read_image(path):
    """The image and celestial WCS of a FITS file, without its commentary cards (see
    :func:`glue_xai.data.cutouts.read_image`)."""
    from glue_xai.data.cutouts import read_image

    plain = _read_plain_fits(path)
    if plain is not None:
        return plain
    image, wcs, _ = read_image(path, commentary=False)
    return image, wcs


_END_CARD = b"END" + b" " * 77
_FLOAT_BITPIX = {-32: ">f4", -64: ">f8"}


def _read_plain_fits(path):
    """What :func:`glue_xai.data.cutouts.read_image` gives (``commentary=False``) for the
    plainest FITS file, a survey cutout's: one primary HDU of float pixels (BITPIX -32 or
    -64, no BSCALE/BZERO/BLANK), nothing after it. The file is read in one go and its
    commentary cards (hundreds in a FIRST cutout) are dropped as text before astropy parses
    the header, and the pixels are the same bytes astropy reads. None for any other file
    (read_image reads it then)."""
    from astropy.io import fits

    from glue_xai.data.cutouts import _COMMENTARY, _as_float, _celestial_wcs, _quiet_unprintable, _squeeze

    path = Path(path)
    if not path.name.lower().endswith((".fits", ".fit", ".fts")):
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    if len(raw) < 2880 or len(raw) % 2880 or not raw.startswith(b"SIMPLE  ="):
        return None
    end = raw.find(_END_CARD)
    while end >= 0 and end % 80:
        end = raw.find(_END_CARD, end + 1)
    if end < 0:
        return None
    try:
        cards = [raw[k:k + 80].decode("ascii") for k in range(0, end, 80)]
    except UnicodeDecodeError:
        return None
    cards = [card for card in cards if card[:8].strip().upper() not in _COMMENTARY]
    kept = "".join(cards)
    with _quiet_unprintable():
        try:
            parsed = fits.Header.fromstring(kept)
            header = fits.Header([card for card in parsed.cards if card.keyword not in _COMMENTARY])
            if header.get("SIMPLE") is not True or any(k in header for k in ("BSCALE", "BZERO", "BLANK", "GROUPS")):
                return None
            dtype = _FLOAT_BITPIX.get(header.get("BITPIX"))
            naxis = header.get("NAXIS")
            if dtype is None or not isinstance(naxis, int) or isinstance(naxis, bool) or naxis < 2:
                return None
            shape = [header.get(f"NAXIS{axis}") for axis in range(naxis, 0, -1)]
            if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
                return None
        except Exception:  # anything unusual: astropy's own reading decides
            return None
        start = (end // 2880 + 1) * 2880
        size = int(np.prod(shape)) * np.dtype(dtype).itemsize
        if start + -(-size // 2880) * 2880 != len(raw):  # exactly one HDU
            return None
        data = np.frombuffer(raw, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=start).reshape(shape)
        image, kept_axes = _squeeze(data, path)
        image = _as_float(image).copy()
        wcs = _layout_wcs(header, kept_axes, path, cards)
    return image, wcs


_LAYOUTS = {}  # header cards but the CRVALs, kept axes -> the celestial WCS of such a header, the last few
_LAYOUTS_SIZE = 8
_LAYOUTS_LOCK = threading.Lock()


def _layout_wcs(header, kept_axes, path, cards=None):
    """``_celestial_wcs(header, kept_axes, path, True)``, made once per header layout.

    Survey cutouts differ only in where they point: FIRST's headers differ in CRVAL1 and
    CRVAL2 alone. Building an astropy WCS costs about a millisecond (the header is written
    out three times), copying one 0.04 ms. So the first WCS of a layout is kept, and a
    header of the same layout gets a copy with its own CRVALs and with LONPOLE and LATPOLE
    back to what its header says (wcslib's defaults when absent), because setting a WCS up
    writes the poles it derived from the CRVALs into them. The copy then is the WCS built
    from the header: the tests compare both, header text and coordinates, bit for bit.
    ``cards``: the header's cards as the file's text (80 characters each), which spares
    astropy's parsing of every card's value for the layout.
    """
    from glue_xai.data.cutouts import _celestial_wcs

    reference = [f"CRVAL{axis}" for axis in kept_axes]
    pointing = [header.get(key, 0.0) for key in reference]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pointing):
        return _celestial_wcs(header, kept_axes, path, True)
    cards = [card.image for card in header.cards] if cards is None else cards
    layout = (tuple(kept_axes), tuple(_without_comment(card) for card in cards if card[:8].rstrip() not in reference),
              tuple(k in header for k in reference))
    with _LAYOUTS_LOCK:
        template = _LAYOUTS.get(layout)
    if template is None:
        wcs = _celestial_wcs(header, kept_axes, path, True)
        with _LAYOUTS_LOCK:
            _LAYOUTS[layout] = wcs.deepcopy()
            while len(_LAYOUTS) > _LAYOUTS_SIZE:
                del _LAYOUTS[next(iter(_LAYOUTS))]
        return wcs
    wcs = template.deepcopy()
    wcs.wcs.crval = [float(v) for v in pointing]
    wcs.wcs.lonpole = float(header.get("LONPOLE", np.nan))
    wcs.wcs.latpole = float(header.get("LATPOLE", 90.0))
    return wcs


def _without_comment(card):
    """A header card's text without its comment (FIRST's SIMPLE card says when SkyView wrote
    the file): the keyword and the value as written."""
    if card[8:10] != "= ":
        return card
    value = card[10:].lstrip()
    if value.startswith("'"):  # a string: up to its closing quote ('' is a quote inside it)
        end = 1
        while True:
            end = value.find("'", end)
            if end < 0 or value[end + 1:end + 2] != "'":
                break
            end += 2
        return card[:10] + (value if end < 0 else value[:end + 1])
    return card[:10] + value.split("/", 1)[0].rstrip()


def _image_of(path, keep):
    if path in _OPEN:
        return _OPEN[path]
    image = _read_image(path)
    if keep:
        _OPEN.clear()
        _OPEN[path] = image
    return image


def read_source(path, ra, dec, size_arcsec, keep_open=False, wcs_text=True):
    """The cutout (float32, (n, n)) of ``size_arcsec`` around ``(ra, dec)`` cut out of the FITS
    file ``path``, and its WCS as header text (``wcs_text=False``: the WCS itself, for the
    process that explains the source, which would only parse the text back): the pixels and WCS
    :func:`glue_xai.data.cutouts.cut_out` gives. Raises
    :class:`~glue_xai.survey.compute.SourceProblem` (``unreadable: ...``, ``no cutout: ...``)
    when the file cannot be used. ``keep_open``: keep the image for the next call (a survey
    image shared by many rows)."""
    (answer,) = read_sources([path], [ra], [dec], size_arcsec, keep_open, wcs_text)
    if isinstance(answer, Exception):
        raise answer
    return answer


def read_sources(paths, ra, dec, size_arcsec, keep_open=False, wcs_text=True):
    """:func:`read_source` of many rows: per row ``(pixels, WCS)``, or the
    :class:`~glue_xai.survey.compute.SourceProblem` saying why the row has no cutout.

    Row after row, as :func:`read_source` reads them (one file in memory at a time), but
    the rows' sky positions are turned into a WCS's own frame (FK5 for FIRST) all at once,
    the first time a file in that frame comes up, instead of row by row: astropy's
    transformation of one position costs about a millisecond, mostly its own machinery.
    The transformation is element by element, so each row gets the numbers of its own
    (the tests check it)."""
    from glue_xai.survey.compute import SourceProblem

    to_pixels = _SkyToPixels(ra, dec)
    answers = []
    for k, (path, r, d) in enumerate(zip(paths, ra, dec)):
        try:
            image, wcs = _readable(path, keep_open)
            answers.append(_cut(path, r, d, size_arcsec, image, wcs, to_pixels(k, wcs), wcs_text))
        except SourceProblem as problem:
            answers.append(problem)
    return answers


def _readable(path, keep_open):
    """``(pixels, WCS)`` of the file, or SourceProblem ``unreadable: ...``."""
    from glue_xai.survey.compute import SourceProblem

    name = Path(path).name
    try:
        with warnings.catch_warnings():  # a truncated file warns, then fails: the failure says it
            warnings.simplefilter("ignore")
            return _image_of(str(path), keep_open)
    except Exception as error:  # astropy raises many kinds for broken files
        reason = str(error).replace(str(path), name) if str(error) else type(error).__name__
        if name not in reason:
            reason = f"{name}: {reason}"
        raise SourceProblem(f"unreadable: {reason}") from None


class _SkyToPixels:
    """``self(k, wcs)``: the ``(x, y)`` of row ``k``'s ICRS position that
    ``astropy.wcs.utils.skycoord_to_pixel(SkyCoord(ra, dec, frame="icrs"), wcs, mode="all")``
    gives (as ``Cutout2D`` computes it from a sky position), or the exception it raised:
    the same steps, with every row's position transformed to a frame in one go."""

    def __init__(self, ra, dec):
        self.ra, self.dec = np.asarray(ra, dtype=float), np.asarray(dec, dtype=float)
        self.in_frame = {}  # the frame's repr -> (lon, lat) of every row, or None when that failed

    def __call__(self, k, wcs):
        from astropy import units as u
        from astropy.wcs import WCSSUB_LATITUDE, WCSSUB_LONGITUDE
        from astropy.wcs.utils import _has_distortion, wcs_to_celestial_frame

        try:
            if _has_distortion(wcs) and wcs.naxis != 2:
                raise ValueError("Can only handle WCS with distortions for 2-dimensional WCS")
            sky_wcs = wcs.sub([WCSSUB_LONGITUDE, WCSSUB_LATITUDE])
            if sky_wcs.naxis != 2:
                raise ValueError("WCS should contain celestial component")
            frame = wcs_to_celestial_frame(sky_wcs)
            x_unit, y_unit = u.Unit(sky_wcs.wcs.cunit[0]), u.Unit(sky_wcs.wcs.cunit[1])
            key = repr(frame)
            if key not in self.in_frame:
                try:
                    self.in_frame[key] = self._lon_lat(self.ra, self.dec, frame)
                except Exception:  # one bad row: each row is then transformed on its own
                    self.in_frame[key] = None
            known = self.in_frame[key]
            lon, lat = (known[0][k], known[1][k]) if known is not None else self._lon_lat(
                self.ra[k], self.dec[k], frame)
            return tuple(sky_wcs.all_world2pix(lon.to(x_unit).value, lat.to(y_unit).value, 0))
        except Exception as error:
            return error

    @staticmethod
    def _lon_lat(ra, dec, frame):
        from astropy.coordinates import SkyCoord

        coords = SkyCoord(ra, dec, unit="deg", frame="icrs").transform_to(frame)
        try:
            return coords.data.lon, coords.data.lat
        except AttributeError:
            return coords.spherical.lon, coords.spherical.lat


def _cut(path, ra, dec, size_arcsec, image, wcs, position, wcs_text):
    from astropy.nddata import Cutout2D, NoOverlapError

    from glue_xai.models.preprocess import pixel_scale_from_wcs
    from glue_xai.survey.compute import SourceProblem

    name = Path(path).name
    pixels = max(2, int(round(size_arcsec / pixel_scale_from_wcs(wcs))))
    off = f"no cutout: {name}: the position RA {ra:.5f} Dec {dec:+.5f} deg is off the image"
    if isinstance(position, Exception):
        if isinstance(position, (NoOverlapError, ValueError)):
            raise SourceProblem(off) from None
        raise position
    try:
        piece = Cutout2D(image, position, pixels, wcs=wcs, mode="partial", fill_value=np.nan, copy=True)
    except (NoOverlapError, ValueError):
        raise SourceProblem(off) from None
    x, y = piece.input_position_original
    ny, nx = image.shape
    if not (np.isfinite(x) and np.isfinite(y) and -0.5 <= x < nx - 0.5 and -0.5 <= y < ny - 0.5):
        raise SourceProblem(off)  # the cutout may reach the image, but its centre must lie on it
    return np.asarray(piece.data, dtype=np.float32), (piece.wcs.to_header_string() if wcs_text else piece.wcs)
