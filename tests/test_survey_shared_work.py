"""Work the survey now shares between sources gives the numbers of the plain per-source way, to the bit.

Each fast path is checked against the computation it replaced, written out here as it
was, on real FIRST cutouts and the saliency maps and emission of their sources: one
network pass for probabilities and out-of-distribution features, sky positions
transformed for many rows at once, and the measurements' shared pieces (peaks filtered
on the region's box, neighbouring regions found from their rims, the principal axis
once, a mask's edge and smoothed weight remembered).
"""
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import Cutout2D
from astropy.table import Table
from scipy import ndimage


@pytest.fixture(scope="module")
def first_sources(mirabest_root):
    """(path, RA, Dec) of the first 60 catalogue sources: real FIRST cutouts."""
    table = Table.read(mirabest_root / "catalogue.csv")[:60]
    return [(mirabest_root / name, float(ra), float(dec))
            for name, ra, dec in zip(table["fits_file"], table["ra_deg"], table["dec_deg"])]


@pytest.fixture(scope="module")
def explained(first_sources, reference_model):
    """(image, WCS, explanation) of each source, saliency through the survey's batched core."""
    from glue_xai.survey.batched import explain_many
    from glue_xai.survey.compute import one_torch_thread
    from glue_xai.survey.sources import read_sources

    cut = read_sources(*zip(*first_sources), 270.0, wcs_text=False)
    images = [np.asarray(image, dtype=np.float64) for image, _ in cut]
    wcs_list = [wcs for _, wcs in cut]
    with one_torch_thread():
        pairs = explain_many(reference_model, images, wcs_list, list(range(len(images))), "saliency", None, {}, None)
    return [(image, wcs, explanation) for image, wcs, (explanation, _) in zip(images, wcs_list, pairs)]


def _old_cutout(path, ra, dec, size_arcsec):
    """The survey's cutout as it was cut before: Cutout2D from the sky position, row by row."""
    from glue_xai.models.preprocess import pixel_scale_from_wcs
    from glue_xai.survey.sources import _read_image

    image, wcs = _read_image(path)
    pixels = max(2, int(round(size_arcsec / pixel_scale_from_wcs(wcs))))
    piece = Cutout2D(image, SkyCoord(ra, dec, unit="deg", frame="icrs"), pixels, wcs=wcs, mode="partial",
                     fill_value=np.nan, copy=True)
    return np.asarray(piece.data, dtype=np.float32), piece.wcs.to_header_string()


def test_sky_positions_of_many_rows_cut_the_same_cutouts(first_sources, mirabest_root):
    from glue_xai.survey.compute import SourceProblem
    from glue_xai.survey.sources import read_source, read_sources

    paths, ra, dec = (list(v) for v in zip(*first_sources))
    # A row off its image and a missing file keep their own statuses among the others.
    paths += [paths[0], mirabest_root / "fits" / "missing.fits"]
    ra += [ra[0] + 1.0, 0.0]
    dec += [dec[0], 0.0]
    together = read_sources(paths, ra, dec, 270.0)
    for k, (path, r, d) in enumerate(zip(paths[:-2], ra, dec)):
        pixels, header = _old_cutout(path, r, d, 270.0)
        assert together[k][0].tobytes() == pixels.tobytes()
        assert together[k][1] == header
    assert isinstance(together[-2], SourceProblem) and str(together[-2]).startswith("no cutout: ")
    assert isinstance(together[-1], SourceProblem) and str(together[-1]).startswith("unreadable: missing.fits")
    # Whatever rows share the transformation: alone, or in another order.
    alone = read_source(paths[5], ra[5], dec[5], 270.0)
    assert alone[0].tobytes() == together[5][0].tobytes() and alone[1] == together[5][1]
    backwards = read_sources(paths[:-2][::-1], ra[:-2][::-1], dec[:-2][::-1], 270.0)[::-1]
    assert all(a[0].tobytes() == b[0].tobytes() and a[1] == b[1] for a, b in zip(backwards, together))


def test_features_from_the_probabilities_pass(explained, reference_model):
    from glue_xai.survey.batched import (_features, _head_reads_features, _probabilities,
                                         _probabilities_and_features)
    from glue_xai.survey.compute import one_torch_thread

    assert _head_reads_features(reference_model.module)  # the one-pass path is the one measured
    x = np.stack([explanation.model_input for _, _, explanation in explained])[:37]  # a padded last pass
    with one_torch_thread():
        probabilities, features = _probabilities_and_features(reference_model, x)
        assert probabilities.tobytes() == _probabilities(reference_model, x).tobytes()
        assert features.tobytes() == _features(reference_model, x).tobytes()
    assert features.shape == (37, 64) and np.ptp(features, axis=0).max() > 0


def _old_local_peaks(values, mask, size_px):
    size = max(3, int(np.ceil(size_px)) | 1)
    inside = np.where(mask, values, -np.inf)
    is_peak = mask & (inside == ndimage.maximum_filter(inside, size=size, mode="constant", cval=-np.inf))
    ys, xs = np.nonzero(is_peak)
    order = np.argsort(-values[ys, xs], kind="stable")
    return np.column_stack([xs[order], ys[order]]).astype(float), values[ys[order], xs[order]]


def _masks(explained):
    """Thresholded saliency maps and emission of the real sources, region masks included
    (touching the border, several regions, a single pixel)."""
    from glue_xai.survey.columns import emission_mask

    for image, _, explanation in explained:
        relevance = np.abs(explanation.map)
        yield relevance, emission_mask(image)
        for quantile in (0.9, 0.99, 0.999):
            yield relevance, relevance >= np.quantile(relevance, quantile)
    single = np.zeros_like(relevance, dtype=bool)
    single[0, 5] = True
    yield relevance, single
    yield relevance, np.zeros_like(single)


def test_peaks_filtered_on_the_region_box(explained):
    from glue_xai.methods.measure_geometry import local_peaks

    for values, mask in _masks(explained):
        for size_px in (3.0, 5.0, 7.2):
            inside = np.where(mask, values, -np.inf)
            for got, old in zip(local_peaks(inside, mask, size_px), _old_local_peaks(inside, mask, size_px)):
                assert got.shape == old.shape and got.tobytes() == old.tobytes()


def test_neighbours_from_the_rims(explained):
    from glue_xai.methods.measure_regions import _neighbours, _region_stats, regions

    linked = 0
    for _, mask in _masks(explained):
        labels, n = regions(mask, 3.0)
        stats = _region_stats(labels, n, np.array([74.5, 74.5]))
        everything = [{**s, "rim": s["points"]} for s in stats]  # the old search: every pixel
        for link_px in (1.0, 1.5, 6.0, 12.3):
            got = _neighbours(stats, list(range(n)), link_px)
            assert got == _neighbours(everything, list(range(n)), link_px)
            linked += sum(map(len, got.values()))
    assert linked > 0  # regions were linked, so the test can fail


def test_shared_mask_pieces(explained):
    from glue_xai.methods.measure import relevance_values
    from glue_xai.methods.measure_geometry import axis_line, principal_axis
    from glue_xai.methods.measure_region import touches_edge

    for values, mask in list(_masks(explained))[:40]:
        valid = np.isfinite(values) & (np.arange(values.shape[1]) < 140)  # a field of view with a cut side
        old_edge = ~ndimage.binary_erosion(valid, border_value=0)
        assert touches_edge(mask, valid) == bool((mask & old_edge).any())
        masked = np.where(valid, values, np.nan)
        smoothed, _ = relevance_values(masked, "positive", 1.27)
        weight = ndimage.gaussian_filter(valid.astype(float), 1.27, mode="constant")
        old = ndimage.gaussian_filter(np.maximum(np.where(valid, masked, 0.0), 0.0), 1.27, mode="constant") / np.maximum(weight, 1e-12)
        assert smoothed.tobytes() == np.where(valid, old, np.nan).tobytes()
        if mask.sum() > 1:
            start, end = (0.0, 0.0), (3.0, 4.0)
            assert axis_line(mask, start, end, principal_axis(mask)) == axis_line(mask, start, end)


def _same_wcs(a, b):
    grid = np.mgrid[0:300:13, 0:300:13].reshape(2, -1).astype(float)
    with np.errstate(invalid="ignore"):
        sky_a, sky_b = np.array(a.all_pix2world(*grid, 0)), np.array(b.all_pix2world(*grid, 0))
    return (a.to_header_string(relax=True) == b.to_header_string(relax=True) and a.pixel_shape == b.pixel_shape
            and sky_a.tobytes() == sky_b.tobytes() and a.wcs.lonpole == b.wcs.lonpole
            and a.wcs.latpole == b.wcs.latpole)


def test_wcs_made_once_per_header_layout(first_sources, monkeypatch):
    """A WCS copied from the first of its layout, with its own CRVALs, equals the WCS built
    from its header: on the real cutouts, and on their header pointed at the poles, across
    RA 0, in another projection, with LONPOLE/LATPOLE given and with a CD matrix."""
    from astropy.io import fits

    from glue_xai.data import cutouts
    from glue_xai.data.cutouts import _COMMENTARY, _celestial_wcs
    from glue_xai.survey import sources

    real = [fits.Header([c for c in fits.getheader(path).cards if c.keyword not in _COMMENTARY])
            for path, _, _ in first_sources]
    pointings = [(0.0, 90.0), (180.0, 90.0), (359.9999, -90.0), (0.0001, 89.99), (359.99, 0.0), (12.5, -45.0)]
    variants = [{}, {"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN"}, {"LONPOLE": 150.0}, {"LATPOLE": -30.0},
                {"CTYPE1": "RA---ZEA", "CTYPE2": "DEC--ZEA", "LONPOLE": 0.0},
                {"CD1_1": -0.0005, "CD1_2": 0.0001, "CD2_1": 0.0001, "CD2_2": 0.0005}]
    headers = list(real)
    for changes in variants:
        for ra, dec in pointings + [(h["CRVAL1"], h["CRVAL2"]) for h in real[:3]]:
            header = real[0].copy()
            header.update({"CRVAL1": ra, "CRVAL2": dec, **changes})
            headers.append(header)
    sources._LAYOUTS.clear()
    built = []
    monkeypatch.setattr(cutouts, "_celestial_wcs", lambda *args: built.append(1) or _celestial_wcs(*args))
    for header in headers:
        assert _same_wcs(sources._layout_wcs(header, [1, 2], "x.fits"), _celestial_wcs(header, [1, 2], "x.fits", True))
    assert len(built) == 1 + len(variants) - 1  # the rest were copies, so the copies were checked


def test_wcs_layout_from_the_files_text(first_sources):
    """Read the fast way, the cutouts' WCSs are copies (one built for all) equal to those built."""
    from glue_xai.data.cutouts import read_image
    from glue_xai.survey import sources

    sources._LAYOUTS.clear()
    for path, _, _ in first_sources:
        assert _same_wcs(sources._read_plain_fits(path)[1], read_image(path, commentary=False)[1])
    assert len(sources._LAYOUTS) == 1


def test_backgrounds_remembered_for_a_batch(explained, monkeypatch):
    """Within remember_backgrounds() a cutout's sky asked for again, many cutouts later,
    is not clipped again, and only the same bits get a remembered answer."""
    import glue_xai.models.preprocess as preprocess
    from glue_xai.models.preprocess import _sigma_clipped_reference, remember_backgrounds, sigma_clipped_background

    images = [image for image, _, _ in explained[:12]]
    clipped = []
    sort = np.sort
    monkeypatch.setattr(preprocess.np, "sort", lambda values, *a, **k: clipped.append(1) or sort(values, *a, **k))
    with remember_backgrounds(max_bytes=8 * images[0].nbytes):
        first = [sigma_clipped_background(image) for image in images]
        assert len(clipped) == 12
        # The last 8 cutouts' skies (the byte limit) are remembered, the first 4 forgotten.
        again = [sigma_clipped_background(image) for image in images[::-1]]
        assert len(clipped) == 12 + 4
        changed = images[3].copy()
        changed[np.unravel_index(1, changed.shape)] += 1e-9  # not one of the sampled values
        assert sigma_clipped_background(changed) == _sigma_clipped_reference(changed[np.isfinite(changed)])
        assert len(preprocess._BATCH) == 1 and preprocess._BATCH[0]["bytes"] <= 8 * images[0].nbytes
    assert not preprocess._BATCH
    assert again[::-1] == first == [_sigma_clipped_reference(image[np.isfinite(image)]) for image in images]


def test_pixels_put_on_the_sky_together(explained):
    """world_radians_of (one WCS call for a region's pixels) equals one call per pixel."""
    from glue_xai.methods.measure_geometry import _world_radians, world_radians_of

    rng = np.random.default_rng(3)
    for _, wcs, _ in explained[:20]:
        points = [tuple(p) for p in np.round(rng.uniform(-3.0, 153.0, (40, 2)) * 2) / 2] + [(-0.0, 0.0), (0.0, 0.0)]
        world = world_radians_of(wcs, points + [None])
        for point in points:
            assert np.array(world[np.asarray(point).tobytes()]).tobytes() == np.array(_world_radians(wcs, point)).tobytes()
        assert _world_radians(wcs, (1.25, 2.5), world) == _world_radians(wcs, (1.25, 2.5))  # not in it: computed
    assert world_radians_of(None, points) is None


def test_region_peaks_and_pairs(explained):
    """Geometry.significant (regions' brightest pixels without ndimage) and source_group
    (facing regions decided once) keep the same regions as before, on the real sources."""
    from glue_xai.methods.measure_region import Geometry
    from glue_xai.methods.measure_regions import _opposite, _region_stats, _neighbours, regions, source_group

    def old_significant(geometry, mask, values):
        labels, n = regions(mask, geometry.min_area_px)
        if n == 0:
            return labels, n
        peaks = ndimage.maximum(values, labels, index=np.arange(1, n + 1))
        keep = np.concatenate([[False], np.asarray(peaks) >= geometry.min_peak])
        relabel = np.zeros(n + 1, dtype=int)
        relabel[keep] = np.arange(1, keep.sum() + 1)
        return relabel[labels], int(keep.sum())

    def old_group(labels, n, centre, radius, link):
        stats = _region_stats(labels, n, np.asarray(centre, dtype=float))
        allowed = list(range(n))
        group = [i for i in allowed if stats[i]["nearest"] <= radius] or [min(allowed, key=lambda i: stats[i]["nearest"])]
        outlying = [i for i in allowed if stats[i]["nearest"] > radius]
        extended = [i for i in allowed if np.hypot(*stats[i]["reach"]) > 2 * radius]
        neighbours = _neighbours(stats, allowed, link)
        changed = True
        while changed:
            changed = False
            for j in allowed:
                if j not in group and (any(i in neighbours[j] for i in group) or (j in outlying and any(
                        _opposite(stats[i]["reach"], stats[j]["reach"], 30.0, 3.0) for i in extended if i != j))):
                    group.append(j)
                    changed = True
        return sorted(i + 1 for i in group)

    grouped = 0
    for image, _, _ in explained:
        for sigma in (2.0, 3.0, 5.0):
            median, spread = np.median(image), np.std(image)
            mask = image > median + sigma * spread
            geometry = Geometry(image.shape, 1.8, 5.4, min_peak=median + 2 * sigma * spread)
            labels, n = geometry.significant(mask, image)
            old_labels, old_n = old_significant(geometry, mask, image)
            assert n == old_n and np.array_equal(labels, old_labels)
            if n:
                for radius, link in ((6.0, 6.0), (2.0, 1.0), (20.0, 12.0)):
                    got = source_group(labels, n, geometry.centre, radius, link)
                    assert got == old_group(labels, n, geometry.centre, radius, link)
                    grouped += len(got) > 1
    assert grouped > 0


@pytest.mark.parametrize("output", ["logit", "probability", "margin"])
def test_saliency_in_one_pass(explained, reference_model, output):
    """Probabilities, features and saliency gradients from one forward pass per chunk equal
    those of the separate passes (a probabilities pass, a features pass, a gradients pass),
    for each source's own class and for a class asked for."""
    import torch

    from glue_xai.survey import batched
    from glue_xai.survey.compute import one_torch_thread

    assert batched._one_pass_features(reference_model)
    x = np.stack([explanation.model_input for _, _, explanation in explained])[:37]  # a padded last pass
    settings = batched._settings("saliency", {"output": output}, [0])
    with one_torch_thread():
        probabilities, features = batched._probabilities(reference_model, x), batched._features(reference_model, x)
        maps = []
        for target in (None, "FRII"):  # these sources are mostly FR I: "FRII" differs from their own
            targets = (probabilities.argmax(axis=1) if target is None
                       else np.full(len(x), reference_model.class_index(target)))
            gradients = batched._gradients(reference_model, torch.from_numpy(x), targets, output)
            got = batched._saliency_in_one_pass(reference_model, x, target, settings)
            assert got[0].tobytes() == probabilities.tobytes() and got[1].tobytes() == features.tobytes()
            assert got[2].tobytes() == gradients.tobytes()
            maps.append(got[2])
    assert not np.array_equal(*maps)  # the class asked for was used


def _old_region_stats(labels, n, centre_xy):
    """The regions' pixels, reach, nearest distance and rim found region by region, as before."""
    from glue_xai.methods.measure_regions import _rims

    rims = _rims(labels)
    stats = []
    for index, slc in enumerate(ndimage.find_objects(labels), start=1):
        ys, xs = np.nonzero(labels[slc] == index)
        xs, ys = xs + slc[1].start, ys + slc[0].start
        points = np.column_stack([xs, ys]).astype(float)
        offsets = points - centre_xy
        distances = np.hypot(*offsets.T)
        stats.append({"points": points, "reach": offsets[np.argmax(distances)],
                      "nearest": float(distances.min()), "rim": points[rims[ys, xs]]})
    return stats


def test_region_stats_in_one_pass(explained):
    """All the regions' pixels from one search over the labels (rims from each pixel's four
    neighbours) equal the region-by-region search, including regions on the image border."""
    from glue_xai.methods.measure_regions import _region_stats, regions

    compared = 0
    for _, mask in _masks(explained):
        for min_area in (1.0, 9.0):
            labels, n = regions(mask, min_area)
            for centre in ((74.5, 74.5), (10.25, 140.0)):
                got = _region_stats(labels, n, np.array(centre))
                old = _old_region_stats(labels, n, np.array(centre))
                assert len(got) == len(old) == n
                for a, b in zip(got, old):
                    assert a["nearest"] == b["nearest"]
                    for key in ("points", "reach", "rim"):
                        assert a[key].shape == b[key].shape and a[key].tobytes() == b[key].tobytes()
                compared += n
    assert compared > 100


def test_facing_regions_decided_together(explained):
    """Which outlying regions face an extended one across the centre, from all pairs at
    once, equals the pair-by-pair test (the old _opposite), on the real regions and on
    random offsets (zero-length ones included)."""
    from glue_xai.methods.measure_regions import _facing, _region_stats, regions

    def old_opposite(u, v, opposite_deg, distance_ratio):
        nu, nv = np.hypot(*u), np.hypot(*v)
        if nu == 0 or nv == 0:
            return False
        cos = np.dot(u, -v) / (nu * nv)
        ratio = max(nu, nv) / min(nu, nv)
        return cos >= np.cos(np.radians(opposite_deg)) and ratio <= distance_ratio

    def both(stats, outlying, extended, opposite_deg, distance_ratio):
        reach = {i: np.hypot(*s["reach"]) for i, s in enumerate(stats)}
        got = _facing(stats, reach, outlying, extended, opposite_deg, distance_ratio)
        old = {j: any(old_opposite(stats[i]["reach"], stats[j]["reach"], opposite_deg, distance_ratio)
                      for i in extended if i != j) for j in outlying}
        assert got == old
        return sum(old.values())

    paired = 0
    for _, mask in _masks(explained):
        labels, n = regions(mask, 3.0)
        stats = _region_stats(labels, n, np.array([74.5, 74.5]))
        for opposite_deg, ratio in ((30.0, 3.0), (60.0, 1.5)):
            paired += both(stats, list(range(n)), list(range(n)), opposite_deg, ratio)
    rng = np.random.default_rng(3)
    for _ in range(200):
        stats = [{"reach": rng.normal(size=2) * rng.uniform(0.1, 50)} for _ in range(rng.integers(1, 9))]
        stats[0]["reach"] = np.zeros(2) if rng.random() < 0.2 else stats[0]["reach"]
        n = len(stats)
        paired += both(stats, list(rng.permutation(n)[:rng.integers(0, n + 1)]),
                       list(rng.permutation(n)[:rng.integers(0, n + 1)]), 30.0, 3.0)
    assert paired > 20


def _old_farthest_pair(mask):
    from scipy.spatial import ConvexHull, QhullError

    points = np.argwhere(mask)[:, ::-1].astype(float)
    if len(points) > 3:
        try:
            points = points[ConvexHull(points).vertices]
        except QhullError:
            pass
    d2 = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1)
    i, j = np.unravel_index(np.argmax(d2), d2.shape)
    a, b = points[i], points[j]
    if (a[1], -a[0]) > (b[1], -b[0]):
        a, b = b, a
    return (tuple(a), tuple(b)), float(np.sqrt(d2[i, j]))


def test_farthest_pair_from_the_corner_pixels(explained):
    """The farthest pair searched among each row's end pixels that also end their column
    equals the convex-hull search, when one pair is farthest and (through the hull search
    itself) when pairs tie; on the real regions and on small random scatters of pixels."""
    from glue_xai.methods.measure_geometry import _unique_farthest_pair, farthest_pair, region_pixels

    masks = [mask for _, mask in _masks(explained) if mask.any()]
    rng = np.random.default_rng(5)
    for _ in range(1500):
        mask = np.zeros((rng.integers(1, 25), rng.integers(1, 25)), dtype=bool)
        k = rng.integers(1, 10)
        mask[rng.integers(0, mask.shape[0], k), rng.integers(0, mask.shape[1], k)] = True
        masks.append(mask)
    ties = 0
    for mask in masks:
        ties += _unique_farthest_pair(mask, *region_pixels(mask)) is None
        assert repr(farthest_pair(mask)) == repr(_old_farthest_pair(mask))
        assert repr(farthest_pair(mask, region_pixels(mask))) == repr(_old_farthest_pair(mask))
    assert 50 < ties < len(masks) - 100  # both ways taken


def test_source_grouped_from_one_labelling(explained):
    """Geometry.group (the regions labelled once, then filtered, measured and grouped from
    their pixel lists) gives the mask, the number of regions and the pixels of the old way:
    label, relabel by area and by peak, find each region's pixels in the relabelled image,
    group, then np.isin; with and without a peak threshold, on saliency and emission masks."""
    from glue_xai.methods.measure_region import Geometry
    from glue_xai.methods.measure_regions import regions, source_group

    def old_group_mask(geometry, mask, values):
        labels, n = regions(mask, geometry.min_area_px)
        if n and np.isfinite(geometry.min_peak):
            peaks = ndimage.maximum(values, labels, index=np.arange(1, n + 1))
            keep = np.concatenate([[False], np.asarray(peaks) >= geometry.min_peak])
            relabel = np.zeros(n + 1, dtype=int)
            relabel[keep] = np.arange(1, keep.sum() + 1)
            labels, n = relabel[labels], int(keep.sum())
        chosen = source_group(labels, n, geometry.centre, geometry.centre_radius_px, geometry.link_px,
                              max_distance_px=geometry.max_distance_px)
        return np.isin(labels, chosen) & (labels > 0), len(chosen)

    several = 0
    for values, mask in _masks(explained):
        for min_peak in (-np.inf, float(np.quantile(values, 0.995))):
            geometry = Geometry(mask.shape, 1.8, 5.4, min_peak=min_peak)
            grouped, n, (ys, xs) = geometry.group(mask, values)
            old, old_n = old_group_mask(geometry, mask, values)
            assert n == old_n and np.array_equal(grouped, old)
            assert all(a.tobytes() == b.tobytes() for a, b in zip((ys, xs), np.nonzero(old)))
            assert geometry.group_mask(mask, values)[1] == n
            several += n > 1
    assert several > 10
