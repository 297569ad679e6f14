"""The files of a run that glue opens directly: the catalogue with its new columns (FITS,
Parquet, CSV or ECSV, by the file's suffix), and the FITS cube of explanation maps.

The maps cube holds one map per cutout (slice k = the k-th explained source). A cube
cannot carry one celestial WCS per slice, so its WCS gives offsets from each source's
position in arcsec (axes 1-2) and the slice number (axis 3); every slice's own celestial
WCS, catalogue row and centre are in the ``SOURCES`` table extension.
"""
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import MaskedColumn, Table

__all__ = ["catalogue_with_columns", "write_catalogue", "write_maps", "read_map_wcs", "table_format",
           "TABLE_FORMATS"]

#: Suffix of ``--out`` -> astropy's table format.
TABLE_FORMATS = {".fits": "fits", ".fit": "fits", ".parquet": "parquet", ".csv": "ascii.csv",
                 ".ecsv": "ascii.ecsv"}


def table_format(path):
    """The table format ``path``'s suffix asks for (``ValueError`` for any other suffix)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise ValueError(f"{path}: cannot tell the table format from the suffix {suffix!r}; use one of "
                         f"{', '.join(TABLE_FORMATS)}")
    if TABLE_FORMATS[suffix] == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ValueError(f"{path}: writing Parquet needs pyarrow (pip install pyarrow)") from None
    return TABLE_FORMATS[suffix]


def catalogue_with_columns(table, columns, rows, computed=None):
    """A copy of ``table`` with ``columns`` (values for ``rows``) added as masked columns:
    masked on the other rows and on the rows whose ``computed`` is False (sources that
    failed; ``xai_status`` itself is never masked)."""
    from glue_xai.survey.columns import STATUS

    out = Table(table, copy=True, masked=False)
    rows = np.asarray(rows, dtype=int)
    has_value = np.zeros(len(out), dtype=bool)
    has_value[rows] = True if computed is None else np.asarray(computed, dtype=bool)
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "USO":
            values = values.astype(str)
            full = np.full(len(out), "", dtype=f"U{max(1, values.dtype.itemsize // 4)}")
        elif values.dtype.kind == "b":
            full = np.zeros(len(out), dtype=bool)
        else:
            full = np.full(len(out), np.nan)
        full[rows] = values
        if name == STATUS:
            out[name] = full
        else:
            out[name] = MaskedColumn(full, mask=~has_value)
    return out


def write_catalogue(table, path, settings, format=None):
    """The catalogue in the format of ``path``'s suffix (:data:`TABLE_FORMATS`), or ``format``
    (an astropy table format); the run's settings go into a FITS header (``XAI *`` keys) or
    the table's metadata (``xai_settings``)."""
    fmt = format or table_format(path)
    if fmt == "fits":
        hdu = fits.table_to_hdu(Table(table, copy=False))
        _add_settings(hdu.header, settings)
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
        return Path(path)
    out = Table(table, copy=False)
    out.meta = {**out.meta, "xai_settings": {k: v for k, v in settings.items() if _plain(v)}}
    if fmt == "ascii.csv":
        out.meta = {}  # plain CSV has no place for them
    out.write(path, format=fmt, overwrite=True)
    return Path(path)


def _plain(value):
    return value is None or isinstance(value, (bool, int, float, str))


def _add_settings(header, settings):
    for key, value in settings.items():
        if isinstance(value, (bool, int, float, str, np.integer, np.floating)):
            header[f"HIERARCH XAI {key}"] = value


def write_maps(maps, wcs_headers, rows, path, settings):
    """The maps (n, ny, nx) as a FITS cube with an offset WCS and a ``SOURCES`` table."""
    maps = np.asarray(maps, dtype=np.float32)
    header = fits.Header()
    scale = _first_scale(wcs_headers)
    for axis, (ctype, size) in enumerate((("RA-OFFS", maps.shape[2]), ("DEC-OFFS", maps.shape[1])), start=1):
        header[f"CTYPE{axis}"] = ctype
        header[f"CUNIT{axis}"] = "arcsec"
        header[f"CRPIX{axis}"] = (size + 1) / 2.0
        header[f"CRVAL{axis}"] = 0.0
        header[f"CDELT{axis}"] = (-scale if axis == 1 else scale) if scale else 1.0
    header["CTYPE3"], header["CRPIX3"], header["CRVAL3"], header["CDELT3"] = "SLICE", 1.0, 0.0, 1.0
    header["BUNIT"] = "relevance"
    _add_settings(header, settings)
    header.add_comment("Slice k explains catalogue row SOURCES['source_index'][k]; its celestial WCS is "
                       "SOURCES['wcs_header'][k]")
    sources = Table({"slice": np.arange(len(rows)), "source_index": np.asarray(rows, dtype=int),
                     "wcs_header": np.array([h or "" for h in wcs_headers])})
    hdus = fits.HDUList([fits.PrimaryHDU(maps, header=header), fits.BinTableHDU(sources, name="SOURCES")])
    hdus.writeto(path, overwrite=True)
    return Path(path)


def read_map_wcs(path, slice_index):
    """The celestial WCS of one slice of a maps cube written by :func:`write_maps`."""
    from glue_xai.data.cutouts import wcs_from_header

    with fits.open(path) as hdus:
        text = hdus["SOURCES"].data["wcs_header"][slice_index]
    return wcs_from_header(text)


def _first_scale(wcs_headers):
    """Arcsec per pixel of the first cutout with a WCS (None when none has one)."""
    from glue_xai.data.cutouts import wcs_from_header
    from glue_xai.methods.api import pixel_scale_from_wcs

    for text in wcs_headers:
        if text:
            return pixel_scale_from_wcs(wcs_from_header(text))
    return None
