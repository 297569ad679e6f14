"""Relevance maps of the shipped model on the 260 real FIRST cutouts, cached on disk.

Computing the maps is the slow part of the LAS benchmark (``measure_las.py``), so they
are computed once per model and method and kept in ``/work/scratch/measure_cache.npz``
(the key includes a hash of the weights file, so new weights recompute them).
"""
import hashlib
import time
from pathlib import Path

import numpy as np

CACHE = Path("/work/scratch/measure_cache.npz")
METHODS = ("saliency", "smoothgrad", "integrated_gradients", "integrated_gradients_logit", "gradcam", "lime")
#: Maps that are a method with other settings: integrated gradients of the logit
#: (pre-softmax score), the map the catalogue's size columns measure (glue_xai.batch).
VARIANTS = {"integrated_gradients_logit": ("integrated_gradients", {"output": "logit"})}
# LIME costs ~n_samples forward passes per source: to stay within ~15 minutes on two
# shared cores it gets 300 samples on its 64 superpixels (the default is 1000) and only
# every second source (130 of 260); the other sources' LIME maps are NaN.
METHOD_OPTIONS = {"lime": {"n_samples": 300}}
EVERY = {"lime": 2}


def load_sources():
    """The catalogue (astropy Table) and the cutout of every row, in catalogue order."""
    from glue_xai.data.catalogue import read_catalogue_cutouts

    from glue_xai.data.mirabest import mirabest_root

    table, cutouts, match = read_catalogue_cutouts(mirabest_root() / "catalogue.csv")
    if not match.matched.all():
        raise RuntimeError(match.summary())
    return table, [cutouts[i] for i in match.cutout_index]


def weights_tag(model_name="mirabest-fr"):
    """A short hash of the shipped weights, so a cache never outlives its model."""
    from glue_xai.models.loading import SHIPPED, WEIGHTS_DIR

    weights = WEIGHTS_DIR / f"{SHIPPED[model_name]}.pt"
    return hashlib.sha1(weights.read_bytes()).hexdigest()[:10]


def _load_cache():
    if not CACHE.exists():
        return {}
    with np.load(CACHE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def compute_maps(cutouts, methods=METHODS, seed=0, verbose=True, model_name="mirabest-fr"):
    """{method: (N, 150, 150) float32 model-grid maps, explaining the predicted class
    (NaN for sources a subsampled method skipped)} plus ``"predict"``: (N, 2) class
    probabilities; cached per method and weights of the shipped model ``model_name``."""
    import glue_xai as gx

    model = gx.load_model(model_name)
    tag = weights_tag(model_name)
    cache = _load_cache()
    out = {}
    for method in ("predict",) + tuple(methods):
        key = f"{tag}_{method}"
        if key in cache and len(cache[key]) == len(cutouts):
            out[method] = cache[key]
            continue
        start = time.perf_counter()
        if method == "predict":
            cache[key] = np.array([model.predict_proba(c.image)[0] for c in cutouts], dtype=np.float32)
        else:
            explained, options = VARIANTS.get(method, (method, METHOD_OPTIONS.get(method, {})))
            every = EVERY.get(method, 1)
            maps = np.full((len(cutouts), 150, 150), np.nan, dtype=np.float32)
            for i in range(0, len(cutouts), every):
                maps[i] = gx.explain(model, cutouts[i].image, explained, seed=seed, wcs=cutouts[i].wcs,
                                     **options).model_map
            cache[key] = maps
        out[method] = cache[key]
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees a half-written cache.
        partial = CACHE.with_name(CACHE.stem + ".partial.npz")
        np.savez_compressed(partial, **cache)
        partial.replace(CACHE)
        if verbose:
            print(f"{method}: {time.perf_counter() - start:.0f} s for {len(cutouts)} sources", flush=True)
    return out


if __name__ == "__main__":
    table, cutouts = load_sources()
    compute_maps(cutouts)
