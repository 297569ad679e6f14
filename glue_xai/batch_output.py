"""FITS files of a batch run that glue opens directly: the catalogue with its new columns,
and the cube of explanation maps.

The maps cube holds one map per cutout (slice k = the k-th explained source). A cube
cannot carry one celestial WCS per slice, so its WCS gives offsets from each source's
position in arcsec (axes 1-2) and the slice number (axis 3); every slice's own celestial
WCS, catalogue row and centre are in the ``SOURCES`` table extension.
"""
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["catalogue_with_columns", "write_catalogue", "write_maps", "read_map_wcs"]


def catalogue_with_columns(table, columns, rows):
    """A copy of ``table`` with ``columns`` (values for ``rows``) added; other rows missing
    (NaN, empty text, False)."""
    out = Table(table, copy=True)
    for name, values in columns.items():
        values = np.asarray(values)
        if values.dtype.kind in "USO":
            full = np.full(len(out), "", dtype=f"U{max(1, max((len(str(v)) for v in values), default=1))}")
        elif values.dtype.kind == "b":
            full = np.zeros(len(out), dtype=bool)
        else:
            full = np.full(len(out), np.nan)
        full[np.asarray(rows, dtype=int)] = values
        out[name] = full
    return out


def write_catalogue(table, path, settings):
    """The catalogue as a FITS table; the run's settings go into the header (``XAI_*`` keys)."""
    hdu = fits.table_to_hdu(Table(table, copy=False))
    _add_settings(hdu.header, settings)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
    return Path(path)


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
    from glue_xai.explain.api import pixel_scale_from_wcs

    for text in wcs_headers:
        if text:
            return pixel_scale_from_wcs(wcs_from_header(text))
    return None
