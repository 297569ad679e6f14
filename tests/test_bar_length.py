"""benchmarks/bench_bar_length.py: lengths read off a map, and Grad-CAM's layer.

The numbers of docs/galaxies.rst come from the benchmark's run on the report part; these
tests check that its rules measure what they say on maps whose answer is known.
"""

import numpy as np
import pytest

import glue_xai as gx
from glue_xai.data.galaxies import render, sample_truth

from helpers import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_bar_length")


def _line(half_length, angle, size=64):
    """A map that is 1 on a thin line of the given half-length (pixels) through the centre."""
    m = np.zeros((size, size))
    centre = (size - 1) / 2
    for t in np.linspace(-half_length, half_length, 400):
        m[int(round(centre + t * np.sin(angle))), int(round(centre + t * np.cos(angle)))] = 1.0
    return m, (centre, centre)


@pytest.mark.parametrize("angle", [0.3, 1.2, 2.5])
def test_a_uniform_line_gives_its_half_length(bench, angle):
    m, centre = _line(12.0, angle)
    # Both rules give the half-length of a uniform line, to the pixelisation of the line.
    assert bench.map_length(m, centre, "moment", 0.0) == pytest.approx(12.0, abs=1.0)
    assert bench.map_length(m, centre, "extent", 0.5) == pytest.approx(12.0, abs=0.6)
    # Smoothed by a Gaussian of sigma 2 pixels, the line's end falls to 5% of its middle
    # 1.645 sigma beyond the end (0.5 erfc(d / (sigma sqrt 2)) = 0.05): 12 + 3.29 pixels.
    assert bench.map_length(m, centre, "extent", 0.05, smooth_pixels=2.0) == pytest.approx(15.29, abs=0.6)


def test_a_map_outside_the_aperture_or_negative_gives_zero(bench):
    m, centre = _line(12.0, 0.3)
    assert bench.map_length(-m, centre, "extent", 0.1) == 0.0
    assert bench.map_length(m, (200.0, 200.0), "moment", 0.1) == 0.0


def test_block_output_names_each_convolution_blocks_relu(bench):
    import torch

    model = gx.load_model("galaxy-bars", device="cpu")
    modules = dict(model.module.named_modules())
    names = [bench.block_output(model.module, k) for k in (1, 2, 3, 4)]
    # galaxy-bars has no input pool (GalaxyCNN(input_pool=False)): stretch, then blocks of
    # convolution, batch norm, ReLU, each after the first led by a pool.
    assert names == ["trunk.3", "trunk.7", "trunk.11", "trunk.15"]
    assert all(isinstance(modules[n], torch.nn.ReLU) for n in names)
    with pytest.raises(ValueError, match="not 5"):
        bench.block_output(model.module, 5)


def test_turned_back_undoes_each_of_the_eight_symmetries(bench):
    image = np.arange(3 * 5 * 5, dtype=float).reshape(3, 5, 5)
    views = [bench.turned(image, k) for k in range(8)]
    # Eight different views of an asymmetric image, each undone exactly.
    assert len({v.tobytes() for v in map(np.ascontiguousarray, views)}) == 8
    for k, view in enumerate(views):
        np.testing.assert_array_equal(bench.turned_back(view, k), image)


@pytest.mark.usefixtures("one_torch_thread")
def test_the_symmetric_map_of_a_turned_galaxy_is_the_turned_map(bench):
    # One galaxy's 8-symmetry Grad-CAM map, and the map of the same galaxy turned a
    # quarter turn and flipped: the second is the first turned (a single view's map is
    # not, as it depends on where the bar sits on the pooling grid).
    model = gx.load_model("galaxy-bars", device="cpu")
    rng = np.random.default_rng(3)
    image = render(sample_truth(rng, barred=True), noise_rng=rng)
    options = bench.METHODS["gradcam_block2_8_symmetries"]
    view = np.ascontiguousarray(bench.turned(image, 5))
    maps = bench.explanation_maps(model, np.stack([image, view]), options)
    np.testing.assert_allclose(maps[1], bench.turned(maps[0], 5), atol=1e-6 * maps[0].max())
    single = bench.explanation_maps(model, np.stack([image, view]), bench.METHODS["gradcam_block2"])
    assert np.abs(single[1] - bench.turned(single[0], 5)).max() > 0.01 * single[0].max()


@pytest.mark.usefixtures("one_torch_thread")
def test_gradcam_length_grows_with_the_bar(bench):
    # The benchmark's chosen rule and calibration line, both fitted on the tune part
    # (docs/galaxies.rst; shipped galaxy-bars, 8-symmetry Grad-CAM), on three galaxies drawn
    # twice each, the bar 2" then 5" long, everything else (and the noise) the same: the
    # longer bar reads longer at every position angle, by at least 1" each and on average
    # by at least half the true 3" (2.4, 2.3 and 1.6" when written).
    model = gx.load_model("galaxy-bars", device="cpu")
    rule = {"weighting": "map_x_flux", "smooth_pixels": 0.0, "rule": "extent", "fraction": 0.1}
    slope_arcsec_per_pixel, intercept_arcsec = 0.4396, -1.494
    rng = np.random.default_rng(11)
    growth = []
    for pa in (20.0, 80.0, 140.0):
        truth = sample_truth(rng, barred=True)
        lengths = []
        for half_length in (2.0, 5.0):
            truth.update(bar_pa_deg=pa, bar_length_arcsec=half_length, bar_to_total=0.2, bar_axis_ratio=0.25,
                         inclination_deg=30.0, disc_axis_ratio=0.88, bulge_to_total=0.15,
                         disc_scale_arcsec=1.5, disc_hlr_arcsec=2.5)
            image = render(truth, noise_rng=np.random.default_rng(5))
            maps = bench.explanation_maps(model, image[None], bench.METHODS["gradcam_block2_8_symmetries"])
            pixels = bench.measure_lengths(maps, image[None], [bench.centroid(image)], rule)[0]
            lengths.append(slope_arcsec_per_pixel * pixels + intercept_arcsec)
        growth.append(lengths[1] - lengths[0])
    assert min(growth) > 1.0 and np.mean(growth) > 1.5, growth
