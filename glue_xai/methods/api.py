"""``explain()``: one call shape for every method, on images in their own pixels."""
import inspect
import time

import numpy as np

from glue_xai.methods.arguments import check_settings
from glue_xai.methods.explanation import Explanation
from glue_xai.models.preprocess import pixel_scale_from_wcs  # noqa: F401  (re-exported: part of the API)

METHODS = ("lime", "elime", "saliency", "smoothgrad", "integrated_gradients", "gradcam", "occlusion", "rise",
           "shapley", "features")
#: Methods whose map is signed (diverging colour map) by default.
SIGNED_METHODS = ("lime", "integrated_gradients", "features", "saliency", "smoothgrad", "occlusion", "rise",
                  "shapley")
#: Methods that only some models have (``features``: Sparse Feature Networks).
MODEL_SPECIFIC_METHODS = ("features",)


def method_function(method):
    """The function computing ``method`` on a model-ready input."""
    from glue_xai.methods import gradients, lime

    table = {"lime": lime.lime, "saliency": gradients.saliency, "smoothgrad": gradients.smoothgrad,
             "integrated_gradients": gradients.integrated_gradients, "gradcam": gradients.gradcam}
    if method == "elime":
        from glue_xai.methods.elime import elime

        return elime
    if method == "features":
        from glue_xai.methods.features import features

        return features
    if method in ("occlusion", "rise", "shapley"):
        from glue_xai.methods.occlusion import occlusion
        from glue_xai.methods.rise import rise
        from glue_xai.methods.shapley import shapley

        return {"occlusion": occlusion, "rise": rise, "shapley": shapley}[method]
    if method not in table:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    return table[method]


def method_options(method):
    """The settings a method accepts, with their defaults."""
    params = inspect.signature(method_function(method)).parameters
    return {name: p.default for name, p in list(params.items())[3:]}


def explain(model, image, method="lime", target=None, seed=0, *, pixel_scale_arcsec=None, wcs=None,
            fit="crop", **options):
    """Explain ``model``'s decision on ``image``.

    ``image``: (H, W) or (C, H, W) in its own pixels (e.g. a raw FIRST cutout in Jy/beam),
    NaNs allowed; a 1-D array is a spectrum (see :mod:`glue_xai.methods.spectral`).
    ``target``: class name or index to explain (default: the predicted class); for a
    regression model (card ``output="values"``) the output's name or index (default: the
    first output), and the map explains that predicted value itself.
    ``seed``: the one seed for segmentation, sampling and noise; same inputs and seed give
    a bit-identical map. ``wcs`` or ``pixel_scale_arcsec`` tell the model wrapper the
    image's pixel scale; ``fit`` what to do with an image smaller than the model's field
    of view ("crop" refuses, "pad", "resample"). Other ``options`` go to the method
    (see :func:`method_options`).
    """
    try:
        image = np.asarray(image)
    except ValueError as error:  # a ragged list of rows
        raise ValueError(f"image must be an array of pixels with one shape, got {type(image).__name__} ({error})") \
            from None
    if image.ndim == 1:
        from glue_xai.methods.spectral import explain_spectrum
        from glue_xai.models.classifier import Classifier

        if isinstance(model, Classifier):  # an image model: a 1-D array is not an image
            raise ValueError(f"image has shape {image.shape}, a 1-D array, but model {model.name!r} classifies "
                             f"images of (channels, height, width) {model.card.input_shape}: pass an (H, W) or "
                             "(C, H, W) array (1-D arrays are spectra, for spectrum models)")

        return explain_spectrum(model, image, method=method, target=target, seed=seed, **options)
    if not hasattr(model, "prepare") or not hasattr(model, "proba_of_inputs"):
        raise TypeError(f"model must be a glue_xai Classifier (see glue_xai.load_model), got {type(model).__name__}")
    function = method_function(method)
    allowed = method_options(method)
    check_settings(method, options, allowed, seed)
    if wcs is not None and not hasattr(wcs, "celestial"):
        raise TypeError(f"wcs must be an astropy WCS (e.g. a Cutout's .wcs), got {type(wcs).__name__}")
    if wcs is not None and pixel_scale_arcsec is None:
        pixel_scale_arcsec = pixel_scale_from_wcs(wcs)
    if pixel_scale_arcsec is not None:
        if isinstance(pixel_scale_arcsec, (bool, str)) or not np.isscalar(pixel_scale_arcsec):
            raise TypeError(f"pixel_scale_arcsec must be a number, got {pixel_scale_arcsec!r}")
        if not (np.isfinite(pixel_scale_arcsec) and pixel_scale_arcsec > 0):
            raise ValueError(f"pixel_scale_arcsec must be a positive number, got {pixel_scale_arcsec}")

    from glue_xai.models.preprocess import check_not_blank

    start = time.perf_counter()
    x, placement = model.prepare(image, pixel_scale_arcsec=pixel_scale_arcsec, fit=fit)  # checks the shape
    check_not_blank(image)  # a blank image can be scored, but holds nothing to explain
    probabilities = model.proba_of_inputs(x[None])[0]
    regression = bool(getattr(model, "is_regression", False))
    if target is None:
        target_index = 0 if regression else int(np.argmax(probabilities))
    else:
        target_index = model.class_index(target)
    result = function(model, x, target_index, seed=int(seed), **options)
    model_map = np.asarray(result["map"], dtype=np.float64)
    if not np.isfinite(model_map).all():
        raise ValueError(f"{method} produced a non-finite map: the model's output or gradients are not finite")
    model_segments = result.get("segments")
    # Arrays handed in to reuse a design (segments, masks) are not settings.
    defaults = {k: v for k, v in allowed.items() if k not in ("segments", "masks")}
    params = {**defaults, **result.get("params", {}), "seed": int(seed), "fit": fit,
              "pixel_scale_arcsec": pixel_scale_arcsec, "target": target}
    extras = result.get("extras", {})
    if "band_relevance" in extras:
        extras["band_names"] = model.card.band_names
    return Explanation(
        map=placement.to_input(model_map, fill=0.0),
        target=target_index, target_name=model.classes[target_index],
        probability=float(probabilities[target_index]), method=method, params=params,
        probabilities=probabilities, classes=model.classes, model_name=model.name,
        segments=None if model_segments is None else placement.to_input(model_segments, fill=-1, order=0),
        weights=result.get("weights"), n_model_evals=int(result["n_model_evals"]) + 1,
        elapsed_s=time.perf_counter() - start, model_map=model_map, model_segments=model_segments,
        model_input=x, placement=placement, wcs=wcs, extras=extras,
        regression=regression, unit=model.unit(target_index) if regression else "")
