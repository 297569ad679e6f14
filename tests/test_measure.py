"""Measurements from relevance maps and images: sizes and angles against known truths."""
import numpy as np
import pytest
from astropy.wcs import WCS

from glue_xai.data.synthetic import make_radio_source
from glue_xai.methods.measure import extent_line, measurement_columns, salient_extent
from glue_xai.methods.measure_flux import flux_extent

CASES = [(kind, seed) for kind in ("FRI", "FRII") for seed in range(4)]


def angle_difference(a, b):
    """Smallest difference between two axis angles (mod 180), in degrees."""
    return abs((a - b + 90.0) % 180.0 - 90.0)


@pytest.fixture(scope="module")
def sources():
    return {case: make_radio_source(case[0], seed=case[1]) for case in CASES}


@pytest.mark.parametrize("case", CASES)
def test_flux_extent_recovers_size_and_angle(sources, case):
    source = sources[case]
    result = flux_extent(source.image, wcs=source.wcs)
    assert result["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.10)
    assert angle_difference(result["pa_deg"], source.position_angle_deg) <= 10.0
    assert result["n_components"] >= 1
    assert 0.0 <= result["fr_ratio"] <= 1.0


@pytest.mark.parametrize("rule", ["enclosed", "compact"])
@pytest.mark.parametrize("case", CASES)
def test_salient_extent_of_the_source_mask(sources, case, rule):
    # A clean binary map needs no smoothing: either threshold rule must find the mask.
    source = sources[case]
    result = salient_extent(source.masks["source"].astype(float), wcs=source.wcs, smooth_arcsec=0, rule=rule)
    assert result["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.10)
    assert angle_difference(result["pa_deg"], source.position_angle_deg) <= 10.0
    assert result["threshold_rule"].startswith({"enclosed": "enclosed", "compact": "adaptive"}[rule])


@pytest.mark.parametrize("case", CASES)
def test_enclosed_rule_on_a_map_shaped_like_the_source(sources, case):
    # Integrated gradients of a background-clipped image is the image times a gradient:
    # a map shaped like the emission. The region holding 95% of it (the default) spans the
    # source to within 20% (the faint outer 5% is left out, so it may fall short: most for
    # an FR-I, whose plumes fade outwards), reaching at most half a beam past it (the map
    # is smoothed by the beam before the threshold), at the right angle.
    source = sources[case]
    relevance = np.where(source.noiseless > 3 * source.noise_rms, source.noiseless, 0.0)
    result = salient_extent(relevance, wcs=source.wcs)
    assert 0.8 * source.las_arcsec <= result["extent_arcsec"] <= source.las_arcsec + 0.5 * source.beam_fwhm_arcsec
    assert angle_difference(result["pa_deg"], source.position_angle_deg) <= 10.0


def test_enclosed_rule_holds_the_asked_fraction():
    # Without smoothing or neighbours the region is exactly the strongest pixels holding
    # the fraction: with them 90% or more, without the weakest of them less.
    rng = np.random.default_rng(4)
    relevance = np.zeros((80, 80))
    relevance[30:50, 25:55] = rng.uniform(0.5, 1.0, size=(20, 30))
    result = salient_extent(relevance, pixel_scale_arcsec=1.8, smooth_arcsec=0, enclosed_fraction=0.9, k_sigma=0)
    inside = relevance[result["mask"]]
    assert inside.sum() >= 0.9 * relevance.sum()
    assert inside.sum() - inside.min() < 0.9 * relevance.sum()
    assert result["threshold"] == pytest.approx(inside.min())
    with pytest.raises(ValueError, match="enclosed fraction"):
        salient_extent(relevance, pixel_scale_arcsec=1.8, enclosed_fraction=1.5)
    with pytest.raises(ValueError, match="rule must be one of"):
        salient_extent(relevance, pixel_scale_arcsec=1.8, rule="otsu")


def test_enclosed_rule_ignores_speckle_over_the_empty_sky():
    # A gradient map: a source on top of low-level speckle over the whole field. Summed
    # over thousands of pixels the speckle outweighs the source; measured above the
    # map's background it does not decide the extent.
    source = make_radio_source("FRII", seed=5, las_arcsec=80, position_angle_deg=120)
    speckle = np.abs(np.random.default_rng(1).normal(0, 0.03, source.image.shape))
    relevance = source.masks["source"] + speckle
    assert speckle.sum() > source.masks["source"].sum()
    result = salient_extent(relevance, wcs=source.wcs)
    assert result["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.10)
    assert angle_difference(result["pa_deg"], 120.0) <= 10.0


@pytest.mark.parametrize("case", CASES)
def test_salient_extent_of_the_noiseless_source(sources, case):
    # At the 3-sigma level that defines the true LAS; the image is already beam-smooth.
    source = sources[case]
    result = salient_extent(source.noiseless, wcs=source.wcs, threshold=3 * source.noise_rms, smooth_arcsec=0)
    assert result["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.10)
    assert angle_difference(result["pa_deg"], source.position_angle_deg) <= 10.0
    assert result["threshold_rule"] == "given"


def test_fr_ratio_separates_hotspots_from_inner_jets():
    # Component masks as maps: FR-II hotspots sit at the ends, an FR-I core and jets do not.
    for seed in range(3):
        frii = make_radio_source("FRII", seed=seed, las_arcsec=120)
        fri = make_radio_source("FRI", seed=seed, las_arcsec=120)
        ends = salient_extent(frii.components["hotspots"], pixel_scale_arcsec=1.8, smooth_arcsec=0)
        inner = salient_extent(fri.components["core"] + fri.components["jets"], pixel_scale_arcsec=1.8,
                               smooth_arcsec=0)
        assert ends["n_components"] == 2
        assert ends["peak_separation_arcsec"] == pytest.approx(frii.params["half_length_arcsec"] * 2, rel=0.05)
        assert 0.8 < ends["fr_ratio"] <= 1.0
        assert 0.0 <= inner["fr_ratio"] < 0.5
        # Edge brightening: the evidence's mean distance from the host over its reach.
        assert ends["edge_brightening"] > 0.85
        assert inner["edge_brightening"] < 0.45


def test_neighbour_does_not_inflate_the_extent():
    source = make_radio_source("FRII", seed=3, las_arcsec=60, position_angle_deg=0)
    image = source.image.copy()
    yy, xx = np.mgrid[0:150, 0:150]
    image += 0.05 * np.exp(-((xx - 20) ** 2 + (yy - 130) ** 2) / (2 * 2.0 ** 2))  # a bright neighbour
    relevance = source.masks["source"] + (np.hypot(xx - 20, yy - 130) < 4)
    assert flux_extent(image, pixel_scale_arcsec=1.8)["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.1)
    measured = salient_extent(relevance.astype(float), pixel_scale_arcsec=1.8, smooth_arcsec=0)
    assert measured["extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.1)
    assert measured["n_components"] == 1


def east_left_wcs(shape, scale_arcsec=1.8):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 30.0]
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    wcs.wcs.cdelt = [-scale_arcsec / 3600, scale_arcsec / 3600]
    return wcs


def test_position_angle_is_east_of_north_with_a_wcs():
    # A bar from the centre towards the upper left: north (+y) and east (-x), i.e. PA 45.
    relevance = np.zeros((101, 101))
    for step in range(-30, 31):
        relevance[50 + step, 50 - step] = 1.0
    wcs = east_left_wcs(relevance.shape)
    result = salient_extent(relevance, wcs=wcs, smooth_arcsec=0)
    assert result["pa_deg"] == pytest.approx(45.0, abs=1.0)
    assert result["extent_arcsec"] == pytest.approx(60 * np.sqrt(2) * 1.8, rel=0.02)
    ra, dec = result["centre"]
    assert ra == pytest.approx(150.0, abs=1e-4) and dec == pytest.approx(30.0, abs=1e-4)
    # East to the right (a flipped image): the same pixels now point north-west, PA 135.
    flipped = wcs.deepcopy()
    flipped.wcs.cdelt[0] *= -1
    assert salient_extent(relevance, wcs=flipped, smooth_arcsec=0)["pa_deg"] == pytest.approx(135.0, abs=1.0)
    # Without a WCS the standard orientation (east left) is assumed.
    assert salient_extent(relevance, pixel_scale_arcsec=1.8, smooth_arcsec=0)["pa_deg"] == pytest.approx(45, abs=1)


def test_extent_line_runs_along_the_measured_axis():
    source = make_radio_source("FRII", seed=1, las_arcsec=100, position_angle_deg=30)
    result = flux_extent(source.image, wcs=source.wcs)
    (x0, y0), (x1, y1) = extent_line(result)
    assert np.hypot(x1 - x0, y1 - y0) * 1.8 == pytest.approx(result["extent_arcsec"], rel=0.02)
    assert angle_difference(np.degrees(np.arctan2(-(x1 - x0), y1 - y0)), 30.0) <= 5.0
    with pytest.raises(ValueError, match="salient_extent or flux_extent"):
        extent_line({"extent_arcsec": 3.0})


@pytest.mark.parametrize("bad, message", [
    (np.full((50, 50), np.nan), "no finite pixels"),
    (np.zeros((50, 50)), "nothing salient"),
    (-np.ones((50, 50)), "only negative relevance"),
    (np.ones(50), "2-D"),
    (np.ones((3, 50, 50)), "2-D"),
])
def test_bad_maps_are_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        salient_extent(bad, pixel_scale_arcsec=1.8)


def test_a_scale_is_required_and_must_fit():
    relevance = np.zeros((60, 60))
    relevance[20:40, 30] = 1
    with pytest.raises(ValueError, match="pixel_scale_arcsec"):
        salient_extent(relevance)
    wcs = east_left_wcs((60, 60))
    wcs.pixel_shape = (80, 80)
    with pytest.raises(ValueError, match="WCS describes a 80x80 image"):
        salient_extent(relevance, wcs=wcs)
    with pytest.raises(ValueError, match="no finite pixels"):
        flux_extent(np.full((60, 60), np.nan), pixel_scale_arcsec=1.8)
    with pytest.raises(ValueError, match="no emission"):
        flux_extent(np.random.default_rng(0).normal(size=(60, 60)), pixel_scale_arcsec=1.8, sigma=8)


def test_measurement_columns_from_an_explanation():
    import glue_xai as gx

    source = make_radio_source("FRII", seed=2, las_arcsec=90, position_angle_deg=60)
    model = gx.load_model("mirabest-fr")
    explanation = gx.explain(model, source.image, "gradcam", wcs=source.wcs)
    columns = measurement_columns(explanation, source.image, source.wcs)
    for prefix in ("saliency", "flux"):
        for suffix in ("extent_arcsec", "pa_deg", "peak_sep_arcsec", "fr_ratio", "edge_brightening",
                       "n_components"):
            assert f"{prefix}_{suffix}" in columns
    assert columns["flux_extent_arcsec"] == pytest.approx(source.las_arcsec, rel=0.1)
    assert angle_difference(columns["flux_pa_deg"], 60.0) <= 10.0
    assert columns["saliency_extent_arcsec"] > 0
    assert columns["saliency_method"] == "gradcam"
    with pytest.raises(ValueError, match="pass the image that was explained"):
        measurement_columns(explanation, source.image[:100], source.wcs)


def test_fanaroff_riley_ratio_of_the_flux_separates_the_classes(sources):
    # FR's own criterion on the images: edge-brightened (FR-II) above 0.5, FR-I below.
    for (kind, _), source in sources.items():
        result = flux_extent(source.image, wcs=source.wcs)
        assert (result["fr_ratio"] > 0.5) if kind == "FRII" else (result["fr_ratio"] < 0.5), (kind, result)
        edge = result["edge_brightening"]
        assert (edge > 0.55) if kind == "FRII" else (edge < 0.5), (kind, edge)


@pytest.mark.parametrize("case", CASES)
def test_flux_enclosed_rule_keeps_the_brightest_emission(sources, case):
    source = sources[case]
    every = flux_extent(source.image, wcs=source.wcs)
    brightest = flux_extent(source.image, wcs=source.wcs, rule="enclosed")
    assert brightest["n_pixels"] < every["n_pixels"]
    assert brightest["threshold"] > every["threshold"]
    assert 0.8 * source.las_arcsec <= brightest["extent_arcsec"] <= every["extent_arcsec"] * 1.001
    assert angle_difference(brightest["pa_deg"], source.position_angle_deg) <= 10.0
    assert brightest["threshold_rule"].startswith("enclosed")
    with pytest.raises(ValueError, match="rule must be one of"):
        flux_extent(source.image, wcs=source.wcs, rule="enclosed90")


def test_explanation_extent_measures_what_the_catalogue_columns_measure():
    # A viewer's extent line (explanation_extent) and the saliency_* columns agree, also
    # for a padded cutout whose map is zero outside the model's field of view.
    import glue_xai as gx
    from glue_xai.methods.measure import explanation_extent

    source = make_radio_source("FRII", seed=2, las_arcsec=90, position_angle_deg=60)
    model = gx.load_model("mirabest-fr")
    wide = np.pad(source.image, 40, constant_values=0.0) + np.random.default_rng(0).normal(0, 1e-4, (230, 230))
    explanation = gx.explain(model, wide, "integrated_gradients", pixel_scale_arcsec=1.8, fit="pad", output="logit")
    columns = measurement_columns(explanation, wide)
    result = explanation_extent(explanation)
    assert result["extent_arcsec"] == pytest.approx(columns["saliency_extent_arcsec"])
    assert result["edge_brightening"] == pytest.approx(columns["saliency_edge_brightening"])
