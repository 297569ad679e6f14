"""Source catalogues and how their rows find their cutouts.

:func:`read_catalogue` reads FITS, VOTable, CSV or ECSV tables (the format follows the
file's extension). :func:`sky_coordinates` finds the RA/Dec columns by their usual names
(or takes the ones you name), in degrees, radians or sexagesimal strings.
:func:`match_by_position` pairs each row with the nearest cutout centre on the sky,
:func:`match_by_file` with the cutout named in a file column. Both return a
:class:`CatalogueMatch` in which rows without a cutout are listed, never dropped.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table

#: File extension -> astropy Table format.
FORMATS = {
    ".fits": "fits", ".fit": "fits", ".fits.gz": "fits",
    ".vot": "votable", ".votable": "votable", ".xml": "votable",
    ".csv": "ascii.csv", ".ecsv": "ascii.ecsv",
}
# Column names compared after lower-casing and removing "_", "-", " " and ".";
# earlier names win when a table has several.
RA_NAMES = ("ra", "radeg", "raj2000", "ra2000", "raicrs", "raj2000deg", "rightascension", "alpha",
            "alphaj2000", "raj2000hms", "rahms", "raobj", "racen")
DEC_NAMES = ("dec", "decdeg", "dej2000", "decj2000", "de", "dedeg", "dec2000", "deicrs", "decicrs",
             "declination", "delta", "deltaj2000", "dej2000dms", "decdms", "decobj", "deccen")
FILE_NAMES = ("fitsfile", "file", "filename", "fits", "path", "image", "imagefile", "cutout")
#: Default tolerance for position matching: catalogue positions are often rounded to
#: 0.001 deg (up to 2.5 arcsec off) and FIRST positions are good to < 1 arcsec.
DEFAULT_TOLERANCE_ARCSEC = 5.0


def catalogue_format(path):
    """The astropy Table format for ``path``, from its extension."""
    name = Path(path).name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[suffix]
    raise ValueError(f"{path}: cannot tell the catalogue format from the extension; use one of "
                     f"{', '.join(sorted(FORMATS))} or pass format=")


def read_catalogue(path, format=None):
    """Read a catalogue as an astropy Table (format from the extension unless given)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a catalogue file's path, got {type(path).__name__}")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a folder, not a catalogue file")
    if not path.is_file():
        raise ValueError(f"{path}: no such catalogue file")
    fmt = format or catalogue_format(path)
    try:
        return Table.read(path, format=fmt)
    except Exception as error:  # astropy's readers raise many kinds for a bad file
        raise ValueError(f"{path}: cannot be read as a {fmt} table ({error})") from error


def _normalised(name):
    return "".join(ch for ch in name.lower() if ch not in "_- .")


def _find_column(table, names, what, explicit):
    if explicit is not None:
        if explicit not in table.colnames:
            raise ValueError(f"no column {explicit!r} for {what}; the catalogue has columns {table.colnames}")
        return explicit
    by_name = {}
    for col in table.colnames:
        by_name.setdefault(_normalised(col), col)
    for name in names:
        if name in by_name:
            return by_name[name]
    return None


class MissingSkyColumns(ValueError):
    """No RA or Dec column found by its usual names. The message advises Python's ``ra=``
    and ``dec=``; :meth:`advice` gives it for another interface (the command line's
    ``--ra``/``--dec``)."""

    def __init__(self, missing, columns):
        self.missing, self.columns = missing, list(columns)
        super().__init__(self.advice("ra=... and dec=..."))

    def advice(self, how):
        return f"no {self.missing} column found among the catalogue's columns {self.columns}; name them with {how}"


def find_sky_columns(table, ra=None, dec=None):
    """Names of the (RA, Dec) columns: the ones given, or found by their usual names."""
    ra_col = _find_column(table, RA_NAMES, "RA", ra)
    dec_col = _find_column(table, DEC_NAMES, "Dec", dec)
    if ra_col is None or dec_col is None:
        missing = " and ".join(w for w, c in (("RA", ra_col), ("Dec", dec_col)) if c is None)
        raise MissingSkyColumns(missing, table.colnames)
    return ra_col, dec_col


def _angles(column, default_unit):
    """A column as an Angle: unit from the column, sexagesimal strings parsed, masked -> NaN."""
    values = column
    if hasattr(column, "mask") and np.any(column.mask):
        values = column.filled(np.nan if column.dtype.kind == "f" else "")
    if values.dtype.kind in "USO":
        strings = [str(v).strip() for v in values]
        numeric = _all_numbers(strings)
        unit = u.deg if numeric else (column.unit or default_unit)
        return Angle([s if s else np.nan for s in strings], unit=unit)
    unit = column.unit if column.unit is not None and column.unit.physical_type == "angle" else u.deg
    return Angle(np.asarray(values, dtype=float), unit=unit)


def _all_numbers(strings):
    try:
        [float(s) for s in strings if s]
    except ValueError:
        return False
    return True


def sky_coordinates(table, ra=None, dec=None, frame="icrs"):
    """SkyCoord of every row (rows with a missing position get NaN coordinates).

    Numeric columns are degrees unless the column carries an angle unit. String columns
    hold either decimal degrees or sexagesimal values; sexagesimal RA is read as hours
    ("12 34 56.7", "12:34:56.7", "12h34m56.7s") and Dec as degrees.
    """
    ra_col, dec_col = find_sky_columns(table, ra, dec)
    try:
        ra_angle = _angles(table[ra_col], u.hourangle)
        dec_angle = _angles(table[dec_col], u.deg)
    except (ValueError, u.UnitsError) as error:
        raise ValueError(f"cannot read positions from columns {ra_col!r}, {dec_col!r}: {error}") from error
    return SkyCoord(ra=ra_angle, dec=dec_angle, frame=frame)


@dataclass
class CatalogueMatch:
    """Which cutout each catalogue row belongs to.

    ``cutout_index[i]`` is the cutout of row ``i`` or -1 when it has none;
    ``separation_arcsec[i]`` is the distance from the row's position to that cutout's
    centre (for an unmatched row: to the nearest centre, NaN when unknown);
    ``reasons`` says, for every unmatched row, why.
    """

    cutout_index: np.ndarray
    separation_arcsec: np.ndarray
    reasons: dict = field(default_factory=dict)

    @property
    def matched(self):
        return self.cutout_index >= 0

    @property
    def matched_rows(self):
        return np.flatnonzero(self.matched)

    @property
    def unmatched_rows(self):
        return np.flatnonzero(~self.matched)

    @property
    def shared_cutouts(self):
        """Cutout indices claimed by more than one row."""
        used, counts = np.unique(self.cutout_index[self.matched], return_counts=True)
        return used[counts > 1]

    def summary(self):
        n = len(self.cutout_index)
        text = f"{self.matched.sum()} of {n} catalogue rows matched a cutout"
        if len(self.shared_cutouts):
            text += f"; {len(self.shared_cutouts)} cutouts are shared by several rows"
        for row in self.unmatched_rows:
            text += f"\n  row {row}: {self.reasons.get(int(row), 'no cutout')}"
        return text


def _centres(cutouts):
    if isinstance(cutouts, SkyCoord):
        return cutouts
    return SkyCoord([c.centre.icrs for c in cutouts]) if len(cutouts) else None


def match_by_position(table, cutouts, tolerance_arcsec=DEFAULT_TOLERANCE_ARCSEC, ra=None, dec=None):
    """Pair each row with the nearest cutout centre within ``tolerance_arcsec``.

    ``cutouts`` is a CutoutStack, a list of Cutouts, or a SkyCoord of centres. Several
    rows may land on one cutout (see :attr:`CatalogueMatch.shared_cutouts`).
    """
    rows = sky_coordinates(table, ra, dec)
    centres = _centres(cutouts)
    n = len(rows)
    index = np.full(n, -1, dtype=int)
    separation = np.full(n, np.nan)
    reasons = {}
    if centres is None or len(centres) == 0:
        return CatalogueMatch(index, separation, {i: "there are no cutouts" for i in range(n)})
    known = np.isfinite(rows.ra.deg) & np.isfinite(rows.dec.deg)
    if known.any():
        nearest, sep, _ = rows[known].match_to_catalog_sky(centres.icrs)
        separation[known] = sep.arcsec
        index[np.flatnonzero(known)] = np.where(sep.arcsec <= tolerance_arcsec, nearest, -1)
    for row in np.flatnonzero(index < 0):
        reasons[int(row)] = ("the row has no position" if not known[row] else
                             f"the nearest cutout centre is {separation[row]:.1f} arcsec away "
                             f"(tolerance {tolerance_arcsec:g} arcsec)")
    return CatalogueMatch(index, separation, reasons)


def find_file_column(table, column=None):
    """The column naming each row's FITS file: the one given, or found by its usual names."""
    found = _find_column(table, FILE_NAMES, "the FITS file", column)
    if found is None:
        raise ValueError(f"no FITS file column found among the catalogue's columns {table.colnames}; "
                         "name it with column=...")
    return found


def match_by_file(table, cutouts, catalogue_dir, column=None):
    """Pair each row with the cutout read from the file its ``column`` names.

    File names are relative to ``catalogue_dir`` (the catalogue's folder) unless absolute.
    Separations are between the row's position and the cutout centre when the table has
    RA/Dec columns, NaN otherwise.
    """
    column = find_file_column(table, column)
    by_path = {Path(c.path).resolve(): i for i, c in enumerate(cutouts) if c.path is not None}
    n = len(table)
    index = np.full(n, -1, dtype=int)
    reasons = {}
    for row, value in enumerate(table[column]):
        name = str(value).strip()
        if not name or np.ma.is_masked(value):
            reasons[row] = f"the row's {column!r} is empty"
            continue
        path = (Path(catalogue_dir) / name).resolve()
        if path in by_path:
            index[row] = by_path[path]
        elif not path.exists():
            reasons[row] = f"the file {name} does not exist"
        else:
            reasons[row] = f"the file {name} is not among the cutouts"
    separation = np.full(n, np.nan)
    try:
        rows = sky_coordinates(table)
    except ValueError:
        rows = None  # a file column alone is enough to match
    if rows is not None and index.max(initial=-1) >= 0:
        centres = _centres(cutouts)
        hit = np.flatnonzero(index >= 0)
        separation[hit] = rows[hit].separation(centres[index[hit]]).arcsec
    return CatalogueMatch(index, separation, reasons)


def read_catalogue_cutouts(path, column=None, format=None, require_wcs=True):
    """Read a catalogue and the cutouts its file column names (relative to its folder).

    Returns ``(table, cutouts, match)``; rows whose file is missing stay in the table and
    are listed by ``match.unmatched_rows``. A file that exists but cannot be used raises
    ``ValueError`` naming it.
    """
    from glue_xai.data.cutouts import CutoutStack, read_cutout

    path = Path(path)
    table = read_catalogue(path, format=format)
    column = find_file_column(table, column)
    files = []
    for value in table[column]:
        name = "" if np.ma.is_masked(value) else str(value).strip()
        candidate = path.parent / name
        if name and candidate.is_file() and candidate.resolve() not in files:
            files.append(candidate.resolve())
    cutouts = CutoutStack(read_cutout(f, require_wcs=require_wcs) for f in files)
    return table, cutouts, match_by_file(table, cutouts, path.parent, column)
