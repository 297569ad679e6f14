"""The partial rank correlation of benchmarks/randomised_maps_follow_flux.py, which
docs/trust.rst quotes: two maps that share only a third map's pattern are uncorrelated
once that map is held fixed; two maps that share more stay correlated."""
import numpy as np

from helpers import load_benchmark


def test_shared_brightness_alone_is_taken_out():
    partial = load_benchmark("randomised_maps_follow_flux").partial_rank_correlation
    rng = np.random.default_rng(0)
    flux = rng.gamma(1.0, size=(40, 40))
    region = np.ones(flux.shape, bool)
    trained = flux + 0.3 * rng.normal(size=flux.shape)
    randomised = flux + 0.3 * rng.normal(size=flux.shape)
    # Both follow the flux closely, so plainly they correlate strongly ...
    plain = np.corrcoef(np.argsort(np.argsort(trained.ravel())), np.argsort(np.argsort(randomised.ravel())))[0, 1]
    assert plain > 0.7
    # ... but with the flux held fixed their independent parts are left: no correlation.
    assert abs(partial(trained, randomised, flux, region)) < 0.1
    # A map sharing a pattern beyond the flux keeps it.
    extra = rng.normal(size=flux.shape)
    assert partial(flux + extra, flux + extra + 0.3 * rng.normal(size=flux.shape), flux, region) > 0.8


def test_too_few_pixels_give_nan():
    partial = load_benchmark("randomised_maps_follow_flux").partial_rank_correlation
    zeros = np.zeros((5, 5))
    one = zeros.copy()
    one[2, 2] = 1.0
    assert np.isnan(partial(one, one, one, np.ones((5, 5), bool)))
