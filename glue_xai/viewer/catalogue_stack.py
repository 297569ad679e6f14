"""A catalogue and its cutouts as two glue datasets that move together (Qt-free).

:func:`catalogue_stack` turns a catalogue (an astropy Table, a file, or glue Data) and
either a folder of FITS cutouts or larger survey images into

* ``catalogue``: glue Data, one row per source, with a ``source_index`` column (the row
  number), and
* ``stack``: glue Data of shape (n_cutouts, ny, nx) holding one cutout per slice, cut to
  one size around each row's position (by default the model's field of view), with a
  ``source_index`` component telling which catalogue row each slice belongs to.

The two are joined on ``source_index`` (:meth:`glue.core.data.Data.join_on_key`), so a
selection on either selects the same sources in the other. Each slice's celestial WCS is
kept in ``stack.meta`` (see :func:`cutout_wcs`): the stack itself has no sky coordinates,
as every slice is a different piece of sky.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table
from glue.core import Data

from glue_xai.data.catalogue import (DEFAULT_TOLERANCE_ARCSEC, CatalogueMatch, find_sky_columns, match_by_file,
                                     match_by_position, read_catalogue, sky_coordinates)
from glue_xai.data.cutouts import Cutout, CutoutStack, cut_out, read_cutouts, wcs_from_header

__all__ = ["SOURCE_INDEX", "CUTOUTS", "CatalogueStack", "catalogue_stack", "catalogue_data", "catalogue_table",
           "stack_data", "link_stack", "cutout_wcs", "cutout_row", "cutout_rows", "model_field_of_view_arcsec",
           "default_field_of_view_arcsec",
           "link_positions", "add_to_collection", "catalogue_of", "is_catalogue_stack"]

SOURCE_INDEX = "source_index"
CUTOUTS = "cutouts"
#: stack.meta keys: each slice's WCS as a header string, and the catalogue's RA/Dec columns.
WCS_META = "xai_cutout_wcs"
SKY_COLUMNS_META = "xai_sky_columns"
CATALOGUE_META = "xai_catalogue_uuid"


@dataclass
class CatalogueStack:
    """The catalogue, its cutout stack and which rows found no cutout (``match``)."""

    catalogue: Data
    stack: Data
    match: CatalogueMatch


def model_field_of_view_arcsec(model):
    """The sky a classifier (or its model card) sees, in arcsec (e.g. 150 px x 1.8 arcsec = 270)."""
    card = getattr(model, "card", model)
    if card.pixel_scale_arcsec is None:
        raise ValueError(f"model {card.name!r} has no pixel scale in its card: give the cutout size")
    return float(max(card.image_size) * card.pixel_scale_arcsec)


def default_field_of_view_arcsec():
    """The shipped FIRST classifier's field of view (from its card; no weights are loaded)."""
    from glue_xai.models.loading import shipped_card

    return model_field_of_view_arcsec(shipped_card("mirabest-fr"))


def catalogue_table(catalogue):
    """An astropy Table of a catalogue given as a Table, a file path or glue Data."""
    if isinstance(catalogue, Table):
        return catalogue
    if isinstance(catalogue, Data):
        columns = {c.label: catalogue[c] for c in catalogue.main_components}
        return Table(columns)
    return read_catalogue(catalogue)


def _column_values(column):
    """A table column as a plain array glue can hold (masked floats -> NaN, masked strings -> '')."""
    if hasattr(column, "mask") and np.any(column.mask):
        fill = np.nan if column.dtype.kind in "fiu" else ""
        values = column.astype(float) if column.dtype.kind in "iu" else column
        return np.asarray(values.filled(fill))
    values = np.asarray(column)
    return values.astype(str) if values.dtype.kind in "SO" else values


def catalogue_data(table, label="catalogue"):
    """glue Data of a catalogue Table, with ``source_index`` = row number (multi-D columns left out)."""
    data = Data(label=label)
    for name in table.colnames:
        column = table[name]
        if column.ndim != 1 or name == SOURCE_INDEX:
            continue
        data.add_component(_column_values(column), name)
        if column.unit is not None:
            data.get_component(name).units = str(column.unit)
    data.add_component(np.arange(len(table)), SOURCE_INDEX)
    return data


def _as_cutouts(images):
    if isinstance(images, (str, Path)):
        path = Path(images)
        return read_cutouts(path) if path.is_dir() else CutoutStack(read_cutouts([path]))
    if isinstance(images, Cutout):
        return CutoutStack([images])
    if isinstance(images, CutoutStack):
        return images
    images = list(images)
    return read_cutouts(images) if images and isinstance(images[0], (str, Path)) else CutoutStack(images)


def _size_in_pixels(size_arcsec, cutouts):
    """One pixel size for every slice, from the first cutout's pixel scale."""
    scale = cutouts[0].pixel_scale_arcsec
    return max(2, int(round(size_arcsec / scale)))


def _named_files(table, folder, catalogue_dir):
    """The FITS files of ``folder`` that the catalogue's file column names, or None when it
    has no file column: a small catalogue then reads only its own cutouts from a big folder."""
    from glue_xai.data.catalogue import find_file_column
    from glue_xai.data.cutouts import FITS_SUFFIXES

    try:
        column = find_file_column(table)
    except ValueError:
        return None
    named = {(Path(catalogue_dir) / str(value).strip()).resolve() for value in table[column]
             if not np.ma.is_masked(value) and str(value).strip()}
    return sorted(p for p in Path(folder).iterdir()
                  if p.name.lower().endswith(FITS_SUFFIXES) and p.resolve() in named)


def _match(table, cutouts, ra, dec, tolerance_arcsec, catalogue_dir):
    """Rows -> cutouts: by the file column when the table has one naming these cutouts (and we
    know the catalogue's folder), else by position."""
    if catalogue_dir is not None:
        try:
            match = match_by_file(table, cutouts, catalogue_dir)
        except ValueError:  # no file column
            match = None
        if match is not None and match.matched.any():
            return match
    return match_by_position(table, cutouts, tolerance_arcsec=tolerance_arcsec, ra=ra, dec=dec)


def _cut_at_rows(table, rows, images, pixels, ra, dec):
    """Cut ``pixels`` x ``pixels`` around each row's position out of the image covering it."""
    positions = sky_coordinates(table, ra, dec)
    pieces, kept = [], []
    for row in rows:
        for image in images:
            try:
                pieces.append(cut_out(image, positions[row], pixels))
            except ValueError:  # the position is not on this image: try the next one
                continue
            kept.append(row)
            break
    return pieces, np.asarray(kept, dtype=int)


def catalogue_stack(catalogue, cutouts=None, survey=None, ra=None, dec=None, size_arcsec=None, model=None,
                    tolerance_arcsec=DEFAULT_TOLERANCE_ARCSEC, label=None):
    """Build a :class:`CatalogueStack` from a catalogue and its images.

    ``catalogue``: astropy Table, file path or glue Data. Give either ``cutouts`` (a
    folder, a list of files or a CutoutStack: one cutout per source, matched by the
    catalogue's file column when it has one, else by position within
    ``tolerance_arcsec``) or ``survey`` (one or more large images, cut at each row's
    position). ``ra``/``dec`` name the position columns when they are not found by
    name. ``size_arcsec`` is the side of the cut cutouts, by default ``model``'s field of
    view (``model``: a Classifier or just its ModelCard; the shipped ``mirabest-fr`` card when
    neither is given).
    """
    if (cutouts is None) == (survey is None):
        raise ValueError("give either cutouts (one per source) or survey images, not both or neither")
    catalogue_dir = Path(catalogue).parent if isinstance(catalogue, (str, Path)) else None
    table = catalogue_table(catalogue)
    ra, dec = find_sky_columns(table, ra, dec)
    if size_arcsec is None:
        size_arcsec = default_field_of_view_arcsec() if model is None else model_field_of_view_arcsec(model)
    name = label or (Path(catalogue).stem if catalogue_dir is not None else getattr(catalogue, "label", "catalogue"))
    catalogue_glue = catalogue if isinstance(catalogue, Data) else catalogue_data(table, label=name)
    if SOURCE_INDEX not in catalogue_glue.components:
        catalogue_glue.add_component(np.arange(len(table)), SOURCE_INDEX)

    if cutouts is not None:
        files = None
        if catalogue_dir is not None and isinstance(cutouts, (str, Path)) and Path(cutouts).is_dir():
            files = _named_files(table, cutouts, catalogue_dir)
        images = _as_cutouts(files if files else cutouts)
        match = _match(table, images, ra, dec, tolerance_arcsec, catalogue_dir)
        rows = match.matched_rows
        pixels = _size_in_pixels(size_arcsec, images)
        positions = sky_coordinates(table, ra, dec)
        pieces = [cut_out(images[int(match.cutout_index[row])], positions[row], pixels) for row in rows]
    else:
        images = _as_cutouts(survey)
        pixels = _size_in_pixels(size_arcsec, images)
        pieces, rows = _cut_at_rows(table, np.arange(len(table)), images, pixels, ra, dec)
        index = np.full(len(table), -1)
        index[rows] = np.arange(len(rows))
        reasons = {int(r): "the position is on none of the survey images" for r in np.flatnonzero(index < 0)}
        match = CatalogueMatch(index, np.full(len(table), np.nan), reasons)
    if len(pieces) == 0:
        raise ValueError(f"no catalogue row found a cutout: {match.summary()}")
    stack = stack_data(pieces, rows, label=f"{name} cutouts")
    stack.meta[SKY_COLUMNS_META] = (ra, dec)
    stack.meta[CATALOGUE_META] = catalogue_glue.uuid
    link_stack(catalogue_glue, stack)
    return CatalogueStack(catalogue_glue, stack, match)


def stack_data(cutouts, rows, label="cutouts"):
    """glue Data (n, ny, nx) of equally sized cutouts: ``cutouts`` and ``source_index`` components."""
    images = np.stack([np.asarray(c.image, dtype=np.float32) for c in cutouts])
    rows = np.asarray(rows, dtype=int)
    stack = Data(label=label)
    stack.add_component(images, CUTOUTS)
    # A read-only broadcast view: one number per slice, without a copy per pixel.
    stack.add_component(np.broadcast_to(rows[:, None, None], images.shape), SOURCE_INDEX)
    stack.meta[WCS_META] = [c.wcs.to_header_string() if c.wcs is not None else "" for c in cutouts]
    return stack


def link_stack(catalogue, stack):
    """Join catalogue rows and stack slices on ``source_index``, both ways.

    glue's key joins translate any subset through ``get_mask`` -- table-row selections
    (an ``ElementSubsetState`` of the catalogue alone) included, which ordinary
    component links cannot carry.
    """
    stack.join_on_key(catalogue, SOURCE_INDEX, SOURCE_INDEX)
    catalogue.join_on_key(stack, SOURCE_INDEX, SOURCE_INDEX)


def cutout_rows(stack):
    """The catalogue row (``source_index``) of each slice of a stack made here."""
    return np.asarray(stack.get_component(SOURCE_INDEX).data[:, 0, 0])


def cutout_row(stack, slice_index):
    """The catalogue row of one slice."""
    return int(cutout_rows(stack)[slice_index])


def cutout_wcs(stack, slice_index):
    """The celestial WCS of one slice of the stack (None when the cutout had none)."""
    headers = stack.meta.get(WCS_META)
    return wcs_from_header(headers[slice_index]) if headers else None


def link_positions(data_collection, catalogue, image, ra=None, dec=None):
    """Link the catalogue's RA/Dec to a sky image's world coordinates, so glue's image
    viewer of ``image`` shows the catalogue's sources (and its subsets) as markers.

    Returns the links added to ``data_collection``.
    """
    from glue.core.link_helpers import LinkSame

    ra, dec = find_sky_columns(catalogue_table(catalogue), ra, dec)
    types = list(image.coords.world_axis_physical_types)[::-1]  # numpy axis order, like world_component_ids
    world = dict(zip(types, image.world_component_ids))
    try:
        image_ra, image_dec = world["pos.eq.ra"], world["pos.eq.dec"]
    except KeyError:
        raise ValueError(f"{image.label} has no equatorial RA/Dec world coordinates (its axes: {types})") from None
    links = [LinkSame(catalogue.id[ra], image_ra), LinkSame(catalogue.id[dec], image_dec)]
    data_collection.add_link(links)
    return links


def add_to_collection(data_collection, built, survey=None):
    """Put a :class:`CatalogueStack` into a glue data collection (the catalogue only if it is
    not there yet); with ``survey`` images (Cutouts), add each as an image whose world
    coordinates are linked to the catalogue's RA/Dec. Returns the survey Data added."""
    if built.catalogue not in data_collection:
        data_collection.append(built.catalogue)
    data_collection.append(built.stack)
    images = []
    ra, dec = built.stack.meta[SKY_COLUMNS_META]
    for image in survey or []:
        data = Data(label=f"{image.name} (survey)", flux=image.image, coords=image.wcs)
        data_collection.append(data)
        link_positions(data_collection, built.catalogue, data, ra=ra, dec=dec)
        images.append(data)
    return images


def catalogue_of(stack, data_collection):
    """The catalogue in ``data_collection`` that a stack made here belongs to (None if absent)."""
    uuid = stack.meta.get(CATALOGUE_META)
    return next((data for data in data_collection if data.uuid == uuid), None)


def is_catalogue_stack(data):
    """Whether ``data`` is a cutout stack made by :func:`catalogue_stack`."""
    return WCS_META in getattr(data, "meta", {}) and data.ndim == 3
