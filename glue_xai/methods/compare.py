"""Every method on one source, side by side, with the numbers that say which to believe.

When methods disagree, the first thing a careful user does is put them next to each
other with their quality. :func:`compare_methods` explains one image with each method
(same target, same seed), and measures each map the way ``docs/trust.rst`` does on the
report part: the share of its positive relevance on the emission, the deletion area,
and the rank correlation with the same method on a fully randomised network over the
emission. ``agreement`` is the rank correlation between every pair of maps over the
emission: where the source is, do the methods order its parts the same way? Both
correlations leave out the pixels where both maps are exactly 0 (see
:func:`informative_pixels`).
"""
import copy
import time
from dataclasses import dataclass, field

import numpy as np

#: Methods compared by default: every image method that works on any torch classifier.
COMPARED = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime", "occlusion", "rise",
            "shapley")


@dataclass
class MethodComparison:
    """The explanations of one source by several methods and their quality."""

    methods: list
    explanations: dict
    quality: dict  # method -> {"on_source_share", "deletion_area", "randomisation", "seconds"}
    agreement: np.ndarray  # (M, M) Spearman rho between the maps over the emission
    emission: np.ndarray  # bool (h, w) model-grid mask the numbers use
    failed: dict = field(default_factory=dict)  # method -> one-line reason it could not run

    @property
    def target_name(self):
        return next(iter(self.explanations.values())).target_name if self.explanations else None

    def to_fits(self, path, overwrite=False):
        """One image extension per method (EXTNAME = the method, its quality numbers as
        header cards, the source's WCS when known) and an ``AGREEMENT`` table."""
        from astropy.io import fits
        from astropy.table import Table

        primary = fits.PrimaryHDU()
        primary.header["TARGET"] = (str(self.target_name), "class explained by every map")
        primary.header["METHODS"] = ",".join(self.methods)
        hdus = [primary]
        for method in self.methods:
            e = self.explanations[method]
            header = e.wcs.to_header() if e.wcs is not None else fits.Header()
            for key, card in (("ONSOURCE", "on_source_share"), ("DELAREA", "deletion_area"),
                              ("RANDRHO", "randomisation"), ("SECONDS", "seconds")):
                value = self.quality[method][card]
                header[key] = (float(value) if np.isfinite(value) else "nan", card.replace("_", " "))
            header["PROB"] = (float(e.probability), f"probability of {e.target_name}")
            hdus.append(fits.ImageHDU(np.asarray(e.map, dtype=np.float32), header=header, name=method.upper()))
        agreement = Table({"method": self.methods, **{m: self.agreement[:, k] for k, m in enumerate(self.methods)}})
        hdus.append(fits.table_to_hdu(agreement))
        hdus[-1].name = "AGREEMENT"
        fits.HDUList(hdus).writeto(path, overwrite=overwrite)


def emission_mask(model, image, placement, k_sigma=3.0, grow_pixels=3):
    """The source's emission on the model grid: pixels above the sigma-clipped sky
    median + ``k_sigma`` sigma, grown by ``grow_pixels`` (one FIRST beam is 3 pixels)."""
    from scipy import ndimage

    from glue_xai.models.preprocess import sigma_clipped_background

    image = np.asarray(image, dtype=np.float64)
    grey = image if image.ndim == 2 else np.nanmean(image, axis=0)
    median, sigma = sigma_clipped_background(grey)
    field_ = placement.sample_input(grey)
    above = np.nan_to_num(field_, nan=-np.inf) > median + k_sigma * sigma
    return ndimage.binary_dilation(above, iterations=int(grow_pixels)) if grow_pixels else above


def informative_pixels(a, b, region):
    """The pixels of ``region`` where map ``a`` or map ``b`` is not exactly 0.

    Perturbation methods give exactly 0 to every pixel they cannot change (one equal to
    the substrate, e.g. sky the model wrapper clipped to its background). Two such maps
    share those zeros whatever the model does, and the shared ties alone would make their
    rank correlation high; they are left out, and the maps are compared where they say
    something."""
    return region & ((np.asarray(a) != 0) | (np.asarray(b) != 0))


def rank_correlation(a, b, region, absolute=False):
    """Spearman rho of maps ``a`` and ``b`` over the :func:`informative_pixels` of
    ``region`` (NaN with fewer than 3)."""
    from glue_xai.methods.metrics_sanity import spearman

    where = informative_pixels(a, b, region)
    if where.sum() < 3:
        return np.nan
    return spearman(np.asarray(a)[where], np.asarray(b)[where], absolute)


def randomised_copy(model, seed=0):
    """The classifier with every layer of its network re-initialised (seeded, without
    touching torch's global random state): the randomisation test's last step."""
    import torch

    from glue_xai.methods.metrics_sanity import randomisation_layers, reinitialise
    from glue_xai.models.classifier import Classifier

    network = copy.deepcopy(model.module)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        for _, layer in randomisation_layers(network):
            reinitialise(layer)
    return Classifier(network, model.card, batch_size=model.batch_size, device=model.device)


def randomised_correlation(model, explanation, region, seed=0):
    """Spearman rho over ``region`` between the map and the same method's map on a copy of
    the network with every layer re-initialised (the cascade's last step of
    :func:`~glue_xai.methods.metrics_sanity.randomisation_test`, computed once).
    Signed maps are compared by value, magnitude maps by magnitude."""
    from glue_xai.methods.api import SIGNED_METHODS, method_function
    from glue_xai.methods.metrics_inputs import method_settings

    randomised = randomised_copy(model, seed)
    _, settings = method_settings(explanation)
    result = method_function(explanation.method)(randomised, explanation.model_input, explanation.target,
                                                 seed=int(explanation.params.get("seed", 0)), **settings)
    absolute = not (explanation.method in SIGNED_METHODS or explanation.params.get("signed"))
    return abs(rank_correlation(explanation.model_map, result["map"], region, absolute))


def compare_methods(model, image, methods=COMPARED, target=None, seed=0, *, wcs=None, pixel_scale_arcsec=None,
                    options=None, randomisation=True, progress=None, cancelled=None, fit="crop", explanations=None):
    """Explain ``image`` with each of ``methods`` and measure every map.

    ``target``: the class every method explains (default: the predicted class, so all
    maps answer the same question). ``options``: ``{method: {option: value}}``.
    ``randomisation=False`` skips the randomisation test (one more run of each method).
    ``progress(done, total, method)`` is called after each method; ``cancelled()``
    returning True stops between methods with :class:`InterruptedError`. A method that
    cannot run on this model (Grad-CAM without a convolution, a non-torch model for the
    gradient methods) is listed in ``failed`` with the reason, and the others go on.
    ``fit``: as in :func:`glue_xai.explain`. ``explanations``: ``{method: Explanation}``
    already computed for this image, target and seed (the viewer's cache), used instead
    of explaining again.
    """
    import glue_xai as gx
    from glue_xai.methods.metrics_faithfulness import deletion_curve
    from glue_xai.methods.metrics_localisation import relevance_mass_inside

    methods = list(methods)
    if not methods:
        raise ValueError("give at least one method to compare")
    options = dict(options or {})
    if target is None and getattr(model, "is_regression", False):
        target = 0  # a regression model's first output, as explain chooses
    if target is None:
        target = int(np.argmax(model.predict_proba(image, pixel_scale_arcsec=_scale(pixel_scale_arcsec, wcs),
                                                   fit=fit)[0]))
    known = dict(explanations or {})
    explanations, quality, failed = {}, {}, {}
    emission = None
    for k, method in enumerate(methods):
        if cancelled is not None and cancelled():
            raise InterruptedError(f"comparison stopped after {k} of {len(methods)} methods")
        e = known.get(method)
        if e is not None and model.class_index(target) != e.target:
            e = None  # made for another class: not an answer to this comparison's question
        try:
            if e is None:
                e = gx.explain(model, image, method=method, target=target, seed=seed, wcs=wcs,
                               pixel_scale_arcsec=pixel_scale_arcsec, fit=fit, **options.get(method, {}))
        except (TypeError, ValueError) as error:
            failed[method] = str(error)
            continue
        if emission is None:
            emission = emission_mask(model, image, e.placement)
        started = time.perf_counter()
        on_source = relevance_mass_inside(e.model_map, emission) if emission.any() else np.nan
        deletion = deletion_curve(model, e)["area"]
        rho = np.nan
        if randomisation and model.module is not None and emission.any():
            rho = randomised_correlation(model, e, emission, seed=seed)
        explanations[method] = e
        quality[method] = {"on_source_share": float(on_source), "deletion_area": float(deletion),
                           "randomisation": float(rho), "seconds": float(e.elapsed_s),
                           "quality_seconds": time.perf_counter() - started}
        if progress is not None:
            progress(k + 1, len(methods), method)
    done = list(explanations)
    agreement = np.full((len(done), len(done)), np.nan)
    for i, a in enumerate(done):
        for j, b in enumerate(done):
            if j < i:
                agreement[i, j] = agreement[j, i]
            elif emission is not None and emission.any():
                agreement[i, j] = 1.0 if i == j else rank_correlation(
                    explanations[a].model_map, explanations[b].model_map, emission)
    return MethodComparison(methods=done, explanations=explanations, quality=quality, agreement=agreement,
                            emission=emission if emission is not None else np.zeros((0, 0), bool), failed=failed)


def _scale(pixel_scale_arcsec, wcs):
    if pixel_scale_arcsec is not None or wcs is None:
        return pixel_scale_arcsec
    from glue_xai.models.preprocess import pixel_scale_from_wcs

    return pixel_scale_from_wcs(wcs)
