"""Synthetic FR-I/FR-II sources: masks agree with the images, and the truths are true."""
import numpy as np
import pytest
from scipy import ndimage

from glue_xai.data.synthetic import (COMPONENTS, SyntheticSource, make_radio_sample, make_radio_source,
                                     mask_las_arcsec)

SEEDS = range(12)


def _pixel_pa(dx, dy):
    """Position angle (east of north) of a pixel offset, for north up and east left, in [0, 180)."""
    return np.degrees(np.arctan2(-dx, dy)) % 180.0


def _pa_difference(a, b):
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


@pytest.mark.parametrize("kind", ["FRI", "FRII"])
@pytest.mark.parametrize("seed", SEEDS)
def test_masks_match_the_image(kind, seed):
    source = make_radio_source(kind, seed=seed)
    assert isinstance(source, SyntheticSource)
    assert source.image.shape == (150, 150) and source.image.dtype == np.float32
    assert set(source.masks) == set(COMPONENTS) | {"source"}
    threshold = 3.0 * source.noise_rms
    for name in COMPONENTS:
        np.testing.assert_array_equal(source.masks[name], source.components[name] > threshold)
    np.testing.assert_array_equal(source.masks["source"],
                                  np.logical_or.reduce([source.masks[n] for n in COMPONENTS]))
    np.testing.assert_allclose(source.noiseless, np.sum([source.components[n] for n in COMPONENTS], axis=0),
                               rtol=1e-5, atol=1e-9)
    inside = source.noiseless[source.masks["source"]].sum() / source.noiseless.sum()
    assert inside > 0.95
    # The mask is one object around the centre, not scattered pixels.
    labels, n_objects = ndimage.label(source.masks["source"])
    assert n_objects == 1
    assert source.masks["core"][74:76, 74:76].all()
    # The core sits on the image centre, where the WCS puts the source position.
    np.testing.assert_allclose(ndimage.center_of_mass(source.components["core"]), (74.5, 74.5), atol=0.05)


@pytest.mark.parametrize("seed", SEEDS)
def test_fri_is_core_brightened_and_frii_edge_brightened(seed):
    fri = make_radio_source("FRI", seed=seed)
    core_peak = fri.image[fri.masks["core"]].max()
    assert core_peak == fri.image.max()
    assert core_peak > 1.5 * fri.image[fri.masks["source"] & ~fri.masks["core"]].max()
    assert not fri.masks["hotspots"].any()

    frii = make_radio_source("FRII", seed=seed)
    assert frii.image[frii.masks["hotspots"]].max() > 2.0 * frii.image[frii.masks["core"]].max()
    assert frii.image[frii.masks["hotspots"]].max() == frii.image.max()
    # Two hotspots, one at each end of the source.
    _, n_hotspots = ndimage.label(frii.masks["hotspots"])
    assert n_hotspots == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_fri_jets_fade_outwards(seed):
    source = make_radio_source("FRI", seed=seed)
    pa = np.radians(source.position_angle_deg)
    y, x = np.mgrid[0:150, 0:150] - 74.5
    along = np.abs(x * -np.sin(pa) + y * np.cos(pa)) * source.pixel_scale_arcsec
    half = source.params["half_length_arcsec"]
    jets = source.components["jets"]
    ridge = source.masks["jets"]
    inner = jets[ridge & (along > 0.15 * half) & (along < 0.45 * half)].mean()
    outer = jets[ridge & (along > 0.55 * half) & (along < 0.85 * half)].mean()
    assert inner > 1.3 * outer


@pytest.mark.parametrize("kind", ["FRI", "FRII"])
@pytest.mark.parametrize("las, pa", [(35.0, 0.0), (60.0, 30.0), (100.0, 95.0), (150.0, 135.0), (240.0, 45.0)])
def test_las_and_position_angle_are_as_requested(kind, las, pa):
    source = make_radio_source(kind, las_arcsec=las, position_angle_deg=pa, seed=7)
    measured = mask_las_arcsec(source.masks["source"], source.pixel_scale_arcsec)
    assert measured == pytest.approx(las, rel=0.10)
    assert source.las_arcsec == pytest.approx(measured)
    assert source.position_angle_deg == pytest.approx(pa)
    # The mask's long (principal) axis lies along the requested position angle.
    y, x = np.nonzero(source.masks["source"])
    values, vectors = np.linalg.eigh(np.cov(np.vstack([x, y])))
    dx, dy = vectors[:, np.argmax(values)]
    assert _pa_difference(_pixel_pa(dx, dy), pa) < 3.0


def test_position_angle_is_east_of_north_on_the_sky():
    """PA 60: the source axis points north-east, i.e. up and to the left on the image."""
    source = make_radio_source("FRII", las_arcsec=150.0, position_angle_deg=60.0, seed=1)
    wcs = source.wcs
    centre = wcs.pixel_to_world(74.5, 74.5)
    assert centre.separation(source.to_cutout().centre).arcsec < 1e-6
    assert (centre.ra.deg, centre.dec.deg) == pytest.approx((source.ra_deg, source.dec_deg))
    hotspot_pixels = np.argwhere(source.masks["hotspots"])
    upper = hotspot_pixels[hotspot_pixels[:, 0] > 75]
    y, x = upper.mean(axis=0)
    assert x < 74.5  # east is left
    assert centre.position_angle(wcs.pixel_to_world(x, y)).deg == pytest.approx(60.0, abs=2.0)


def test_noise_is_first_like():
    source = make_radio_source("FRII", seed=3)
    noise = source.image - source.noiseless
    assert noise.std() == pytest.approx(1.5e-4, rel=0.15)
    # Beam-correlated: neighbouring pixels are alike, unlike white noise.
    assert np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1] > 0.5


def test_seeds_make_sources_reproducible():
    a, b = make_radio_source("FRI", seed=5), make_radio_source("FRI", seed=5)
    np.testing.assert_array_equal(a.image, b.image)
    c = make_radio_source("FRI", seed=6)
    assert not np.array_equal(a.image, c.image)
    # Fixing the LAS leaves every other random choice of the seed in place.
    d = make_radio_source("FRI", seed=5, las_arcsec=80.0)
    assert d.position_angle_deg == a.position_angle_deg and d.ra_deg == a.ra_deg


def test_random_sizes_stay_in_range():
    las = [make_radio_source("FRII", seed=s).las_arcsec for s in range(30)]
    assert min(las) > 0.9 * 6 * 5.4 and max(las) < 1.1 * 0.6 * 270.0
    assert np.std(las) > 15.0


def test_sample_is_balanced_and_seeded():
    sample = make_radio_sample(10, seed=1)
    assert len(sample) == 10 and sample.images.shape == (10, 150, 150)
    assert sorted(sample.kinds) == ["FRI"] * 5 + ["FRII"] * 5
    np.testing.assert_array_equal(sample.labels, [0 if k == "FRI" else 1 for k in sample.kinds])
    assert sample.kinds != sorted(sample.kinds)  # shuffled, not all FR-Is first
    again = make_radio_sample(10, seed=1)
    np.testing.assert_array_equal(sample.images, again.images)
    odd = make_radio_sample(7, seed=2, size=100)
    assert sum(k == "FRI" for k in odd.kinds) == 3 and odd.images.shape == (7, 100, 100)
    assert len({s.position_angle_deg for s in sample}) == 10


def test_other_pixel_scales():
    source = make_radio_source("FRI", size=120, pixel_scale_arcsec=1.0, las_arcsec=60.0, seed=2)
    assert source.image.shape == (120, 120)
    assert source.to_cutout().pixel_scale_arcsec == pytest.approx(1.0)
    assert mask_las_arcsec(source.masks["source"], 1.0) == pytest.approx(60.0, rel=0.10)


def test_bad_requests():
    with pytest.raises(ValueError, match="kind must be 'FRI' or 'FRII'"):
        make_radio_source("FRIII")
    with pytest.raises(ValueError, match="las_arcsec=300 is outside"):
        make_radio_source("FRII", las_arcsec=300.0)
    with pytest.raises(ValueError, match="las_arcsec=10 is outside"):
        make_radio_source("FRI", las_arcsec=10.0)


def test_mask_las_of_simple_shapes():
    mask = np.zeros((50, 50), bool)
    mask[10, 5:46] = True  # pixel centres 40 pixels apart
    assert mask_las_arcsec(mask, 2.0) == pytest.approx(80.0)
    mask[:] = False
    mask[10:21, 10:21] = True  # square: the diagonal
    assert mask_las_arcsec(mask, 1.0) == pytest.approx(10 * np.sqrt(2))
    assert mask_las_arcsec(np.zeros((5, 5), bool), 1.0) == 0.0
