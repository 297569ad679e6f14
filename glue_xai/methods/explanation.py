"""The result of explaining one decision, and its FITS form (opens in glue and DS9)."""
import json
import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Explanation:
    """Why the model gave ``target_name`` probability ``probability`` for one image.

    ``map`` is a float (H, W) relevance map on the *input* image's pixel grid (pixels the
    model never saw, outside its field of view, are 0). ``model_map`` is the same on the
    model's own input grid. For LIME-family methods ``segments`` (input grid, -1 outside
    the field of view) and ``weights`` (one per superpixel) say which regions mattered.
    ``params`` holds every setting, the seed included, so the result can be reproduced.
    For a regression model (``regression``), ``target_name`` is the explained output,
    ``probability`` its predicted value (in ``unit``) and ``probabilities`` all outputs.
    """

    map: np.ndarray
    target: int
    target_name: str
    probability: float
    method: str
    params: dict
    probabilities: np.ndarray = None
    classes: tuple = ()
    model_name: str = ""
    segments: np.ndarray = None
    weights: np.ndarray = None
    n_model_evals: int = 0
    elapsed_s: float = 0.0
    model_map: np.ndarray = None
    model_segments: np.ndarray = None
    model_input: np.ndarray = None
    placement: object = None
    wcs: object = None
    extras: dict = field(default_factory=dict)
    regression: bool = False
    unit: str = ""

    @property
    def predicted_name(self):
        """The model's predicted class (may differ from the explained target)."""
        if self.regression or self.probabilities is None or not self.classes:
            return self.target_name
        return self.classes[int(np.argmax(self.probabilities))]

    @property
    def value_text(self):
        """What the model said, as a person reads it: ``FRII p = 0.93`` or, for a
        regression model, ``bar_length = 4.2 arcsec``."""
        if self.regression:
            return f"{self.target_name} = {self.probability:.3g}" + (f" {self.unit}" if self.unit else "")
        return f"{self.target_name}  p = {self.probability:.2f}"

    def __repr__(self):
        return (f"<Explanation {self.method} of {self.target_name} ({self.value_text}) "
                f"map {self.map.shape}, {self.n_model_evals} model evaluations, {self.elapsed_s:.3f} s>")

    # --- FITS ---------------------------------------------------------------------------
    def to_fits(self, path, overwrite=False):
        """Write the map as the primary image (with the input's WCS when known), the
        settings in the header, and superpixels and their weights as extensions.

        An explanation made without ``wcs=`` has no sky coordinates: it is written on
        pixels only, with a warning saying so.
        """
        from astropy.io import fits

        if self.wcs is None:
            warnings.warn(f"{path}: this explanation has no WCS (explain() was given no wcs=...), so the map is "
                          "written without sky coordinates; pass wcs=cutout.wcs to explain() to keep them",
                          UserWarning, stacklevel=2)

        header = self.wcs.to_header() if self.wcs is not None else fits.Header()
        header["XAIMETH"] = (self.method, "explanation method")
        header["XAITARG"] = (int(self.target), "explained class index")
        header["XAICLASS"] = (self.target_name, "explained class name")
        header["XAIPROB"] = (float(self.probability), "predicted value" if self.regression
                             else "model probability of that class")
        if self.regression:
            header["XAIREGR"] = (True, "regression: XAIPROB is the predicted value")
            header["XAIUNIT"] = (self.unit, "unit of the predicted value")
        header["XAIMODEL"] = (self.model_name, "model name")
        header["XAINEVAL"] = (int(self.n_model_evals), "model evaluations used")
        header["XAITIME"] = (float(self.elapsed_s), "[s] wall time")
        header["XAIPARAM"] = json.dumps(_jsonable(self.params), sort_keys=True)
        header["XAICLSES"] = json.dumps(list(self.classes))
        if self.probabilities is not None:
            header["XAIPROBS"] = json.dumps([float(p) for p in self.probabilities])
        hdus = [fits.PrimaryHDU(np.asarray(self.map, dtype=np.float32), header=header)]
        if self.segments is not None:
            seg_header = self.wcs.to_header() if self.wcs is not None else None
            hdus.append(fits.ImageHDU(np.asarray(self.segments, dtype=np.int32), header=seg_header, name="SEGMENTS"))
        if self.weights is not None:
            col = fits.Column(name="weight", format="D", array=np.asarray(self.weights, dtype=np.float64))
            hdus.append(fits.BinTableHDU.from_columns([col], name="WEIGHTS"))
        fits.HDUList(hdus).writeto(path, overwrite=overwrite)

    @classmethod
    def from_fits(cls, path):
        """Read an explanation written by :meth:`to_fits`."""
        import warnings

        from astropy.io import fits
        from astropy.wcs import WCS, FITSFixedWarning

        with fits.open(path) as hdul:
            h = hdul[0].header
            if "XAIMETH" not in h:
                raise ValueError(f"{path} is not a glue-xai explanation (no XAIMETH keyword)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                wcs = WCS(h) if h.get("CTYPE1") else None
            segments = hdul["SEGMENTS"].data.copy() if "SEGMENTS" in hdul else None
            weights = np.array(hdul["WEIGHTS"].data["weight"]) if "WEIGHTS" in hdul else None
            probs = np.array(json.loads(h["XAIPROBS"])) if "XAIPROBS" in h else None
            return cls(map=hdul[0].data.astype(np.float64), target=int(h["XAITARG"]), target_name=h["XAICLASS"],
                       probability=float(h["XAIPROB"]), method=h["XAIMETH"], params=json.loads(h["XAIPARAM"]),
                       probabilities=probs, classes=tuple(json.loads(h.get("XAICLSES", "[]"))),
                       model_name=h.get("XAIMODEL", ""), segments=segments, weights=weights,
                       n_model_evals=int(h["XAINEVAL"]), elapsed_s=float(h["XAITIME"]), wcs=wcs,
                       regression=bool(h.get("XAIREGR", False)), unit=h.get("XAIUNIT", ""))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
