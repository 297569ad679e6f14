"""Which pixels an explanation layer explains (Qt-free).

* On a 2-D image, a subset drawn as a region (rectangle, circle, polygon, lasso) is
  explained through the pixels of the region's bounding box on the image: the box is
  what the classifier sees, cropped or padded to its field of view by the model wrapper.
* On a stack of cutouts (3-D data, one cutout per slice), the current cutout is
  explained whole when the subset holds any of its pixels: cutouts are centred on their
  source, which is what the classifier was trained on.
* For a multi-band model, ``components`` (see :mod:`glue_xai.viewer.bands`) name the
  components holding its bands: the pixels are then (bands, rows, columns). A band held
  by another dataset is resampled onto the aligned image's pixels through its links, as
  glue does to draw it (identical WCSs give the very same pixels).
"""
import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from glue.core.exceptions import IncompatibleAttribute, IncompatibleDataException
from glue.viewers.image.state import AggregateSlice

__all__ = ["ImageRegion", "NothingToExplain", "region_of_subset"]


class NothingToExplain(Exception):
    """The layer has no pixels to explain; the message says why, for the viewer to show."""


class NotOnThisData(NothingToExplain):
    """The subset belongs to other, unlinked data: nothing to say, as in glue's own viewers."""


@dataclass(frozen=True, eq=False)
class ImageRegion:
    """The pixels of one explanation, cut out of the image shown in the viewer.

    ``box`` is ``(y0, y1, x0, x1)``: the rows and columns of the current 2-D slice the
    pixels come from. ``inside`` marks, within the box, the pixels inside the subset.
    ``wcs`` is the celestial WCS of the box (None when the data has none). ``pixels`` is
    (rows, columns), or (bands, rows, columns) for a multi-band model.
    """

    data_label: str
    data_uuid: str
    slice_index: tuple
    slice_shape: tuple
    box: tuple
    pixels: np.ndarray
    inside: np.ndarray
    wcs: object
    is_stack: bool

    @cached_property
    def pixels_digest(self):
        """A short hash of the pixel values (~0.1 ms for a cutout): values edited in place
        keep the data, slice and box, so without it the cache would serve a stale map."""
        return hashlib.blake2b(np.ascontiguousarray(self.pixels).tobytes(), digest_size=12).hexdigest()

    @property
    def key(self):
        """What identifies these pixels in the explanation cache."""
        return (self.data_uuid, self.data_label, self.slice_index, self.box, self.pixels_digest)

    def place(self, box_values, fill=np.nan):
        """A (ny, nx) array of the whole slice holding ``box_values`` in the box, ``fill`` elsewhere."""
        y0, y1, x0, x1 = self.box
        out = np.full(self.slice_shape, fill, dtype=np.float64)
        out[y0:y1, x0:x1] = box_values
        return out


def _image_attribute(viewer_state, data):
    """The component shown for ``data`` in the viewer (its first component otherwise)."""
    for layer_state in viewer_state.layers:
        if layer_state.layer is data and getattr(layer_state, "attribute", None) is not None:
            return layer_state.attribute
    return data.main_components[0]


def _slice_view(viewer_state):
    """A numpy view of the current 2-D slice, whether it is transposed, and the slice's index."""
    view, aggregation, transpose = viewer_state.numpy_slice_aggregation_transpose
    if any(isinstance(s, AggregateSlice) for s in viewer_state.slices):
        raise NothingToExplain("explanations need one slice: switch off aggregation along the slice axis")
    index = tuple(int(s) for s in view if not isinstance(s, slice))
    return tuple(view), transpose, index


def _celestial_wcs_of_box(data, box, transpose):
    """The celestial WCS of the box's pixels, when the data's coordinates are a 2-D sky WCS."""
    from astropy.wcs import WCS

    coords = getattr(data, "coords", None)
    if data.ndim != 2 or not isinstance(coords, WCS) or not coords.has_celestial or coords.naxis != 2:
        return None
    y0, y1, x0, x1 = box
    wcs = coords.swapaxes(0, 1) if transpose else coords
    return wcs[y0:y1, x0:x1]


def _cutout_wcs(data, index, transpose):
    """The WCS of one cutout of a catalogue stack (kept per slice in the data's metadata),
    so the model wrapper knows that cutout's pixel scale; None for other stacks."""
    from glue_xai.viewer.catalogue_stack import WCS_META, cutout_wcs

    if transpose or not data.meta.get(WCS_META) or len(index) != 1:
        return None
    return cutout_wcs(data, index[0])


def _band_plane(data, attribute, view):
    """The values of ``attribute`` on ``data``'s pixels in ``view``: read directly when it
    is one of ``data``'s components, else resampled from its own dataset through the links
    between the two (glue's ``compute_fixed_resolution_buffer``, which draws image layers)."""
    owner = getattr(attribute, "parent", None)
    if owner is None or owner is data:
        return np.asarray(data.get_data(attribute, view=view), dtype=np.float64)
    bounds = []
    for size, item in zip(data.shape, view):
        if isinstance(item, slice):
            start, stop, _ = item.indices(size)
            bounds.append((start, stop - 1, stop - start))
        else:
            bounds.append(int(item))
    try:
        plane = owner.compute_fixed_resolution_buffer(bounds, target_data=data, target_cid=attribute,
                                                      broadcast=False)
    except (IncompatibleAttribute, IncompatibleDataException):
        plane = None
    if plane is None or not np.isfinite(plane).any():
        raise NothingToExplain(f"band {owner.label!r} is not linked to the pixels of {data.label}: link the "
                               "images (Data > Link Data, or accept glue's WCS links)")
    return np.asarray(plane, dtype=np.float64)


def region_of_subset(viewer_state, subset, components=None):
    """The :class:`ImageRegion` a subset layer explains; raises :class:`NothingToExplain`.
    ``components``: the components holding a multi-band model's bands (None: the shown one)."""
    data = subset.data
    if viewer_state.reference_data is None or viewer_state.x_att is None:
        raise NothingToExplain("no image is shown yet")
    if data is not viewer_state.reference_data:
        raise NothingToExplain(f"subsets are explained on the image the viewer is aligned to "
                               f"({viewer_state.reference_data.label}), not on {data.label}")
    if data.ndim not in (2, 3):
        raise NothingToExplain(f"{data.label} has {data.ndim} dimensions: explanations need an image or a "
                               "stack of cutouts")
    view, transpose, index = _slice_view(viewer_state)
    attributes = components or [_image_attribute(viewer_state, data)]
    planes = [_band_plane(data, attribute, view) for attribute in attributes]
    try:
        mask = np.asarray(subset.to_mask(view=view), dtype=bool)
    except IncompatibleAttribute:
        # glue applies every subset group to every dataset; a region drawn on another,
        # unlinked image simply does not exist here.
        raise NotOnThisData(f"subset {subset.label!r} is defined on other data, not linked to "
                            f"{data.label}") from None
    if transpose:
        planes, mask = [plane.T for plane in planes], mask.T
    image = planes[0] if components is None else np.stack(planes)
    if not mask.any():
        where = f"cutout {index[0]}" if data.ndim == 3 else "the image"
        raise NothingToExplain(f"subset {subset.label!r} holds no pixels of {where}")

    is_stack = data.ndim == 3
    if is_stack:
        box = (0, mask.shape[0], 0, mask.shape[1])
    else:
        rows, cols = np.nonzero(mask)
        box = (int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1)
    y0, y1, x0, x1 = box
    return ImageRegion(
        data_label=data.label, data_uuid=str(getattr(data, "uuid", "")), slice_index=index,
        slice_shape=mask.shape, box=box, pixels=image[..., y0:y1, x0:x1].copy(), inside=mask[y0:y1, x0:x1].copy(),
        wcs=_cutout_wcs(data, index, transpose) if is_stack else _celestial_wcs_of_box(data, box, transpose),
        is_stack=is_stack)
