"""Turning an astronomer's image into the pixels a model was trained on, and back.

Two steps, both driven by the :class:`~glue_xai.models.card.ModelCard`:

1. *Geometry* (:func:`fit_to_model`): cut the model's field of view out of the image
   (centre crop), resampling when the image's pixel scale differs from the model's,
   padding with empty sky or stretching when asked. The returned :class:`Placement`
   maps anything computed on the model grid (a relevance map, superpixels) back onto
   the caller's pixels.
2. *Intensity* (:func:`normalise`): the survey's own preparation. For MiraBest this is
   the dataset's recipe (checked against the batches pixel by pixel): pixels below
   ``clip_sigma`` times the sigma-clipped background noise become empty sky (0) and
   the rest is divided by the brightest pixel. A raw FIRST cutout in Jy/beam and the
   dataset's 0-255 image of the same source so become the same model input.
"""
import contextlib
import threading
from dataclasses import dataclass

import numpy as np

FIT_MODES = ("crop", "pad", "resample")


@dataclass(frozen=True)
class Placement:
    """The model's field of view as a box in the caller's pixels.

    ``box`` is ``(y0, x0, y1, x1)`` in pixel-edge coordinates of the input image (the
    box may reach past the image when it was padded); ``model_size`` is ``(h, w)``.
    """

    input_size: tuple
    box: tuple
    model_size: tuple

    @property
    def is_plain_crop(self):
        """True when the model grid is an integer-aligned slice of the input (no resampling)."""
        y0, x0, y1, x1 = self.box
        h, w = self.model_size
        aligned = all(float(v).is_integer() for v in self.box)
        return aligned and (y1 - y0) == h and (x1 - x0) == w

    def model_coordinates(self):
        """Input-pixel (y, x) coordinates of every model pixel centre, shape (2, h, w)."""
        y0, x0, y1, x1 = self.box
        h, w = self.model_size
        ys = y0 + (np.arange(h) + 0.5) * (y1 - y0) / h - 0.5
        xs = x0 + (np.arange(w) + 0.5) * (x1 - x0) / w - 0.5
        return np.stack(np.meshgrid(ys, xs, indexing="ij"))

    def sample_input(self, image, fill=np.nan):
        """Resample a 2-D input-grid image onto the model grid (bilinear)."""
        if self.is_plain_crop:
            y0, x0 = int(self.box[0]), int(self.box[1])
            H, W = image.shape
            h, w = self.model_size
            if y0 >= 0 and x0 >= 0 and y0 + h <= H and x0 + w <= W:
                return np.array(image[y0:y0 + h, x0:x0 + w], dtype=np.float64)
        from scipy import ndimage  # here: this module is loaded at glue start-up

        coords = self.model_coordinates()
        valid = np.isfinite(image)
        filled = np.where(valid, image, 0.0)
        out = ndimage.map_coordinates(filled, coords, order=1, mode="constant", cval=np.nan)
        # A model pixel touching a NaN input pixel stays NaN (treated as missing sky later).
        touched_nan = ndimage.map_coordinates((~valid).astype(float), coords, order=1,
                                              mode="constant", cval=1.0) > 0.5
        out[touched_nan] = fill
        return out

    def to_input(self, model_map, fill=0.0, order=1):
        """Put a model-grid (h, w) array back onto the input's pixels.

        Input pixels outside the field of view get ``fill``; use ``order=0`` for labels.
        """
        H, W = self.input_size
        h, w = self.model_size
        model_map = np.asarray(model_map)
        out_dtype = model_map.dtype if order == 0 else np.float64
        if self.is_plain_crop:
            out = np.full((H, W), fill, dtype=out_dtype)
            y0, x0 = int(self.box[0]), int(self.box[1])
            sy0, sx0 = max(0, -y0), max(0, -x0)
            ty0, tx0 = max(0, y0), max(0, x0)
            ty1, tx1 = min(H, y0 + h), min(W, x0 + w)
            out[ty0:ty1, tx0:tx1] = model_map[sy0:sy0 + ty1 - ty0, sx0:sx0 + tx1 - tx0]
            return out
        from scipy import ndimage

        y0, x0, y1, x1 = self.box
        yy, xx = np.mgrid[0:H, 0:W].astype(float)
        my = (yy + 0.5 - y0) * h / (y1 - y0) - 0.5
        mx = (xx + 0.5 - x0) * w / (x1 - x0) - 0.5
        inside = (my > -0.5) & (my < h - 0.5) & (mx > -0.5) & (mx < w - 0.5)
        vals = ndimage.map_coordinates(model_map.astype(np.float64), [my, mx], order=order, mode="nearest")
        out = np.where(inside, vals, fill)
        return out.astype(out_dtype) if order == 0 else out


def pixel_scale_from_wcs(wcs):
    """Arcsec per pixel of a celestial WCS (geometric mean of the two axes): the one
    definition used for cutouts, explanations and measurements."""
    from astropy.wcs.utils import proj_plane_pixel_scales

    scales = proj_plane_pixel_scales(celestial_part(wcs)) * 3600.0
    return float(np.sqrt(scales[0] * scales[1]))


def celestial_part(wcs):
    """``wcs.celestial``, or ``wcs`` itself when it already is a 2-D celestial WCS with its
    axes in that order (a cutout's is): the same numbers without the copy ``wcs.celestial``
    makes on every call."""
    if wcs.naxis == 2 and wcs.wcs.lng == 0 and wcs.wcs.lat == 1:
        return wcs
    return wcs.celestial


def fit_to_model(image_size, model_size, model_scale=None, image_scale=None, fit="crop"):
    """Where the model's field of view lies in an image of ``image_size`` pixels.

    ``model_scale`` and ``image_scale`` are arcsec per pixel; when either is unknown the
    image is taken to have the model's pixel scale. ``fit`` says what to do with an image
    smaller than the field of view: ``"crop"`` refuses it, ``"pad"`` surrounds it with
    empty sky, ``"resample"`` stretches the whole image onto the model grid.
    """
    if fit not in FIT_MODES:
        raise ValueError(f"fit must be one of {FIT_MODES}, got {fit!r}")
    H, W = (int(s) for s in image_size)
    h, w = (int(s) for s in model_size)
    if fit == "resample":
        return Placement((H, W), (0.0, 0.0, float(H), float(W)), (h, w))
    zoom = 1.0
    if model_scale and image_scale:
        if image_scale <= 0:
            raise ValueError(f"pixel scale must be positive, got {image_scale}")
        zoom = float(image_scale) / float(model_scale)
    fh, fw = h / zoom, w / zoom
    if fit == "crop" and (H < fh - 0.5 or W < fw - 0.5):
        scale_txt = f" at {model_scale:g} arcsec/pixel" if model_scale else ""
        raise ValueError(
            f"the image is {H}x{W} pixels but the model needs a field of view of "
            f"{fh:.0f}x{fw:.0f} input pixels{scale_txt}; pass fit='pad' to surround it with "
            f"empty sky or fit='resample' to stretch it onto the model grid")
    if abs(zoom - 1.0) < 1e-6:
        y0, x0 = (H - h) // 2, (W - w) // 2
        return Placement((H, W), (float(y0), float(x0), float(y0 + h), float(x0 + w)), (h, w))
    y0, x0 = (H - fh) / 2.0, (W - fw) / 2.0
    return Placement((H, W), (y0, x0, y0 + fh, x0 + fw), (h, w))


def sigma_clipped_background(image, sigma=3.0, iterations=5):
    """Median and standard deviation of the sky, ignoring sources (iterative clipping).

    Each round keeps the values within ``sigma`` standard deviations of the median. The
    values are sorted once: the kept values are always a run of the sorted ones, so each
    round's median is read off that run (the same two middle values ``np.median`` finds,
    averaged the same way; a zero median's sign does not change which values are kept),
    while the standard deviation is taken, as always, over the kept values in their own
    order. The numbers equal, to the bit, those of ``np.median`` and ``ndarray.std`` of the
    kept values each round (:func:`_sigma_clipped_reference`, checked by the tests). The
    last few answers are remembered with their values: one cutout's sky is asked for by
    the model's preparation, the detection, the emission mask and the flux measurement.
    """
    values = image[np.isfinite(image)].ravel()
    if values.size == 0:
        return 0.0, 0.0
    key = (sigma, type(sigma), iterations)
    known = _recent_background(values, key)
    if known is not None:
        return known
    given = values
    ordered = np.sort(values)
    lo, hi = 0, ordered.size  # the kept values are ordered[lo:hi]
    answer = None
    for done in range(1, iterations + 1):
        med, std = _sorted_median(ordered[lo:hi]), values.std()
        limit = sigma * std
        start = _first_within(ordered, lo, hi, med, limit)
        if start is None:  # none within below the median: the plain round, as before
            keep = np.abs(values - med) <= limit
            n_keep = int(np.count_nonzero(keep))
            if n_keep == values.size or n_keep < 10:
                break
            answer = _sigma_clipped_reference(values[keep], sigma, iterations - done)  # never expected
            break
        # |v - med| <= limit, rounded, holds on one interval of v (v - med rounds
        # monotonically): the kept values are the sorted run from ``start`` to ``stop``,
        # found by the same test at its two ends, and kept in their own order by comparing
        # with the run's first and last values; a round that keeps everything ends the
        # clipping without building its mask.
        stop = _stop_within(ordered, start, hi, med, limit)
        n_keep = stop - start
        if n_keep == values.size or n_keep < 10:
            break
        values = values[(values >= ordered[start]) & (values <= ordered[stop - 1])]
        lo, hi = start, stop
    if answer is None:
        median = _sorted_median(ordered[lo:hi])
        if median == 0 and _has_negative_zero(ordered[lo:hi]):
            median = np.median(values)  # 0.0 and -0.0 tie in a sort: take the one np.median takes
        answer = float(median), float(values.std())
    _remember_background(key, given, answer)
    return answer


def _has_negative_zero(ordered):
    """Whether the sorted values hold a -0.0 (only then can the sign of a zero median
    depend on which of the tied zeros ``np.median`` picks; a relevance map's empty sky is
    all +0.0)."""
    zeros = ordered[np.searchsorted(ordered, 0.0, side="left"):np.searchsorted(ordered, 0.0, side="right")]
    return bool(np.signbit(zeros).any())


def _within(value, med, limit):
    return bool(np.abs(value - med) <= limit)


def _first_within(ordered, lo, hi, med, limit):
    """The first index of ``ordered[lo:hi]`` within ``limit`` of ``med``: found near
    ``med - limit`` by ``searchsorted``, then settled by the exact test (below the median
    the distance falls as the values rise); None when there is none."""
    start = lo + int(np.searchsorted(ordered[lo:hi], med - limit, side="left"))
    start = min(start, hi - 1)
    while start > lo and _within(ordered[start - 1], med, limit):
        start -= 1
    while start < hi and not _within(ordered[start], med, limit):
        if ordered[start] > med:
            return None
        start += 1
    return start if start < hi else None


def _stop_within(ordered, start, hi, med, limit):
    """One past the last index of ``ordered[start:hi]`` within ``limit`` of ``med``, given
    that ``ordered[start]`` is within (the values within are one run): found near ``med +
    limit`` by ``searchsorted``, then settled by the exact test."""
    stop = start + int(np.searchsorted(ordered[start:hi], med + limit, side="right"))
    stop = max(stop, start + 1)
    while stop < hi and _within(ordered[stop], med, limit):
        stop += 1
    while stop > start + 1 and not _within(ordered[stop - 1], med, limit):
        stop -= 1
    return stop


_RECENT = []  # [(key, values, answer)], newest last: see sigma_clipped_background
_RECENT_SIZE = 4
_RECENT_LOCK = threading.Lock()


_BATCH = []  # the stores of the remember_backgrounds() blocks running: {fingerprint: [(values, answer)]}


@contextlib.contextmanager
def remember_backgrounds(max_bytes=64 * 2 ** 20):
    """Within the block, remember every answer of :func:`sigma_clipped_background` (up to
    ``max_bytes`` of remembered values, the oldest forgotten first), not only the last four.
    A survey batch prepares all its cutouts for the network before it measures any, and the
    measurements ask for the same cutouts' skies again. An answer is reused only for values
    with the same bits, as always; the block's memory is freed when it ends."""
    store = {"answers": {}, "bytes": 0, "max_bytes": int(max_bytes)}
    with _RECENT_LOCK:
        _BATCH.append(store)
    try:
        yield
    finally:
        with _RECENT_LOCK:
            _BATCH.remove(store)


def _fingerprint(key, values):
    step = max(1, values.size // 64)
    return key, values.dtype.str, values.shape, values[::step].tobytes()


def _same_bits(known, values):
    if known.dtype != values.dtype or known.shape != values.shape:
        return False
    step = max(1, values.size // 64)
    if known[::step].tobytes() != values[::step].tobytes():  # most others differ here already
        return False
    return np.array_equal(known.view(np.uint8), values.view(np.uint8))


def _recent_background(values, key):
    if values.dtype.kind not in "fiu":
        return None
    with _RECENT_LOCK:
        recent = list(_RECENT)
        batch = _BATCH[-1]["answers"].get(_fingerprint(key, values), ()) if _BATCH else ()
    for known_key, known, answer in reversed(recent):
        if known_key == key and _same_bits(known, values):
            return answer
    for known, answer in batch:
        if _same_bits(known, values):
            return answer
    return None


def _remember_background(key, values, answer):
    if values.dtype.kind not in "fiu":
        return
    with _RECENT_LOCK:
        _RECENT.append((key, values, answer))
        del _RECENT[:max(0, len(_RECENT) - _RECENT_SIZE)]
        if _BATCH:
            store = _BATCH[-1]
            store["answers"].setdefault(_fingerprint(key, values), []).append((values, answer))
            store["bytes"] += values.nbytes
            while store["bytes"] > store["max_bytes"] and store["answers"]:
                oldest = next(iter(store["answers"]))
                store["bytes"] -= sum(known.nbytes for known, _ in store["answers"].pop(oldest))


def _sorted_median(ordered):
    """``np.median`` of sorted values: the mean of the middle one or two (as ``np.median`` takes it)."""
    half = ordered.shape[0] // 2
    return np.mean(ordered[half:half + 1] if ordered.shape[0] % 2 else ordered[half - 1:half + 1], axis=0)


def _sigma_clipped_reference(values, sigma=3.0, iterations=5):
    """:func:`sigma_clipped_background` the plain way, on finite values (1-D): ``np.median``
    and ``std`` of the kept values, round after round."""
    for _ in range(iterations):
        med, std = np.median(values), values.std()
        keep = np.abs(values - med) <= sigma * std
        if keep.all() or keep.sum() < 10:
            break
        values = values[keep]
    return float(np.median(values)), float(values.std())


def normalise(image, preprocessing, noise_image=None):
    """Apply the card's intensity steps to one 2-D model-grid image (NaN = missing sky).

    ``noise_image`` is where the background noise is measured (the whole input image, so
    the estimate uses all the sky the caller gave, not only the field of view).
    """
    background = preprocessing.get("background", "none")
    scale = preprocessing.get("scale", "none")
    out = np.array(image, dtype=np.float64)
    missing = ~np.isfinite(out)
    if background == "sigma_clip":
        k = float(preprocessing.get("clip_sigma", 3.0))
        med, std = sigma_clipped_background(out if noise_image is None else noise_image)
        out[missing] = 0.0
        out[out < med + k * std] = 0.0
    elif background == "none":
        fill = np.nanmedian(out) if (~missing).any() else 0.0
        out[missing] = fill
    else:
        raise ValueError(f"unknown background step {background!r} in the model card")
    if scale == "max":
        peak = out.max()
        if peak > 0:
            out /= peak
    elif scale == "minmax":
        lo, hi = out.min(), out.max()
        if hi > lo:
            out = (out - lo) / (hi - lo)
    elif scale == "standardise":
        std = out.std()
        out = (out - out.mean()) / (std if std > 0 else 1.0)
    elif scale != "none":
        raise ValueError(f"unknown scale step {scale!r} in the model card")
    return out


def check_finite(image):
    """Refuse an image with no finite pixel (all NaN or infinite): nothing to classify."""
    if not np.isfinite(image).any():
        raise ValueError("the image has no finite pixels (all NaN or infinite)")


def check_not_blank(image):
    """Refuse a constant (blank) image for an explanation. A classifier can still score a
    blank image (MiraBest itself holds six), but there is nothing in it to explain."""
    check_finite(image)
    values = np.asarray(image)[np.isfinite(image)]
    if values.max() == values.min():
        raise ValueError(f"the image is constant (every finite pixel equals {values.flat[0]:g}); "
                         "there is nothing to explain")
