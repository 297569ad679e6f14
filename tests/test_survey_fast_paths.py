"""The survey's fast paths give the numbers of the plain ones, to the bit.

sigma_clipped_background sorts once instead of taking a median each round and remembers
its last answers; the survey reads a plain FITS cutout itself instead of through
fits.open. Neither may change a single bit of any result.
"""
import numpy as np
import pytest
from astropy.io import fits

import glue_xai.models.preprocess as preprocess
from glue_xai.models.preprocess import _sigma_clipped_reference, sigma_clipped_background


def _bits(answer):
    return np.array(answer, dtype=np.float64).tobytes()


def _reference(image, sigma=3.0, iterations=5):
    values = image[np.isfinite(image)].ravel()
    return (0.0, 0.0) if values.size == 0 else _sigma_clipped_reference(values, sigma, iterations)


def _arrays():
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 9, 10, 11, 12, 101, 1000, 4096):
        yield rng.normal(size=n)
        yield rng.normal(size=n).astype(np.float32)
        yield rng.integers(0, 5, size=n)
        x = rng.normal(size=n)
        x[rng.random(n) < 0.3] = 0.0
        x[rng.random(n) < 0.3] = -0.0  # zero medians: 0.0 and -0.0 tie in a sort
        yield x
        x = rng.standard_cauchy(size=n)
        x[: n // 10] = np.nan
        x[n // 10: n // 10 + 2] = np.inf
        yield x.reshape(-1, 1) if n % 2 else x
        yield np.round(rng.normal(size=n), 1)  # many ties
        # A positive relevance map's empty sky, all +0.0 (the median is read off the sorted
        # run without np.median), then with a few -0.0 among its zeros (np.median decides).
        x = np.maximum(rng.normal(size=n) - 0.5, 0.0)
        yield x
        x[rng.random(n) < 0.05] = -0.0
        yield x
        yield np.concatenate([-np.arange(1.0, n // 2 + 1), np.arange(1.0, n // 2 + 1)])  # a zero median, no zeros


@pytest.mark.parametrize("sigma, iterations", [(3.0, 5), (2.0, 10), (1.0, 20), (3.0, 1)])
def test_sigma_clipping_equals_the_plain_rounds(sigma, iterations):
    for image in _arrays():
        expected = _bits(_reference(image, sigma, iterations))
        assert _bits(sigma_clipped_background(image, sigma, iterations)) == expected
        assert _bits(sigma_clipped_background(image, sigma, iterations)) == expected  # remembered


def test_sigma_clipping_of_first_cutouts(mirabest_root):
    for path in sorted((mirabest_root / "fits").glob("*.fits"))[:40]:
        image = fits.getdata(path).squeeze()
        for values in (image, image.astype(np.float64), image[75:225, 75:225].astype(np.float64)):
            assert _bits(sigma_clipped_background(values)) == _bits(_reference(values))


def test_remembered_answers_need_the_same_bits():
    x = np.array([0.0, 1.0, 2.0, 3.0, -1.0] * 5)
    y = x.copy()
    y[0] = -0.0  # equal values, other bits
    first = sigma_clipped_background(x)
    assert _bits(sigma_clipped_background(y)) == _bits(_reference(y))
    x[1] = 50.0  # the caller's array changing does not change what was remembered for it
    assert _bits(sigma_clipped_background(x)) == _bits(_reference(x))
    assert _bits(first) != _bits(sigma_clipped_background(x))
    assert not any(np.shares_memory(known, x) for _, known, _ in preprocess._RECENT)  # copies, not views


def test_plain_fits_reading_equals_read_image(mirabest_root, tmp_path):
    from glue_xai.data.cutouts import read_image
    from glue_xai.survey.sources import _read_plain_fits

    paths = sorted((mirabest_root / "fits").glob("*.fits"))[:30]
    for path in paths:
        image, wcs, _ = read_image(path, commentary=False)
        plain = _read_plain_fits(path)
        assert plain is not None
        assert plain[0].dtype == image.dtype and plain[0].tobytes() == image.tobytes()
        assert plain[1].to_header_string() == wcs.to_header_string()
        assert plain[1].pixel_shape == wcs.pixel_shape
    # Anything but one primary HDU of float pixels is left to astropy.
    data, _, header = read_image(paths[0], commentary=False)
    integers = tmp_path / "integers.fits"
    fits.PrimaryHDU((data * 1000).astype(np.int16), header).writeto(integers)
    two = tmp_path / "two.fits"
    fits.HDUList([fits.PrimaryHDU(data, header), fits.ImageHDU(data)]).writeto(two)
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(data, header).writeto(plain)  # written by astropy: read the fast way
    assert _read_plain_fits(plain)[0].tobytes() == data.tobytes()
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(paths[0].read_bytes()[:-2880])
    for path in (integers, two, truncated):
        assert _read_plain_fits(path) is None
