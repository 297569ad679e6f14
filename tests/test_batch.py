"""The batch over a catalogue: Dask equals one process, and the CLI's files open in glue."""
import numpy as np
import pytest
from astropy.table import Table

from glue_xai.batch import run_batch, source_seed
from glue_xai.viewer.catalogue_stack import CUTOUTS, WCS_META, catalogue_stack, cutout_rows

ROWS = np.arange(3, 260, 22)  # 12 sources


@pytest.fixture(scope="module")
def small_catalogue(mirabest_root, tmp_path_factory):
    """12 rows of the shared catalogue as a CSV whose file column points at the shared FITS."""
    table = Table.read(mirabest_root / "catalogue.csv")[ROWS]
    table["fits_file"] = [str(mirabest_root / name) for name in table["fits_file"]]
    path = tmp_path_factory.mktemp("catalogue") / "sources.csv"
    table.write(path)
    return path


@pytest.fixture(scope="module")
def stack(small_catalogue):
    table = Table.read(small_catalogue)
    return catalogue_stack(small_catalogue, cutouts=list(table["fits_file"])).stack


@pytest.fixture(scope="module")
def plain(stack):
    return run_batch(stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack), method="saliency", seed=5)


def test_source_seeds_depend_on_the_run_seed_and_row_only():
    assert source_seed(0, 7) == source_seed(0, 7)
    assert len({source_seed(0, row) for row in range(100)}) == 100
    assert source_seed(0, 7) != source_seed(1, 7)
    assert 0 <= source_seed(2**40, 10**9) < 2**31


def test_a_subset_of_rows_gives_the_same_answer_for_each_source(stack, plain):
    rows = cutout_rows(stack)
    part = run_batch(stack[CUTOUTS][[4, 9]], [stack.meta[WCS_META][k] for k in (4, 9)], rows[[4, 9]],
                     method="saliency", seed=5, chunk_size=1)
    np.testing.assert_array_equal(part.maps, plain.maps[[4, 9]])
    np.testing.assert_array_equal(part.columns["xai_prob_FRII"], plain.columns["xai_prob_FRII"][[4, 9]])


def test_dask_local_cluster_equals_the_plain_run(stack):
    """LIME (random perturbations, so the per-source seeds matter) on 2 worker processes."""
    pytest.importorskip("dask.distributed")
    lime = dict(method="lime", seed=5, options={"n_samples": 60, "n_segments": 16})
    inputs = (stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack))
    plain = run_batch(*inputs, **lime)
    done = []
    on_dask = run_batch(*inputs, **lime, workers=2, chunk_size=3, progress=lambda d, n: done.append((d, n)))
    assert done[-1] == (12, 12)
    np.testing.assert_array_equal(on_dask.maps, plain.maps)
    assert on_dask.columns.keys() == plain.columns.keys()
    for name, values in plain.columns.items():
        np.testing.assert_array_equal(on_dask.columns[name], values, err_msg=name)
    # The seeds do matter: another run seed gives other maps.
    assert not np.array_equal(run_batch(*[x[:2] for x in inputs], **{**lime, "seed": 6}).maps, plain.maps[:2])


def test_a_cancelled_run_stops_before_the_next_chunk(stack):
    calls = []
    with pytest.raises(KeyboardInterrupt):
        run_batch(stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack), chunk_size=2,
                  cancelled=lambda: len(calls) >= 1, progress=lambda d, n: calls.append(d))
    assert calls == [2]


def test_cli_writes_a_table_and_a_map_cube_glue_opens(small_catalogue, mirabest_root, tmp_path, plain, capsys):
    from glue.core.data_factories import load_data

    from glue_xai.batch_output import read_map_wcs
    from glue_xai.cli import main

    out, maps = tmp_path / "result.fits", tmp_path / "maps.fits"
    code = main(["explain", "--catalogue", str(small_catalogue), "--cutouts", str(mirabest_root / "fits"),
                 "--method", "saliency", "--seed", "5", "--out", str(out), "--maps", str(maps)])
    assert code == 0
    assert "12/12" in capsys.readouterr().err  # the progress bar

    table = load_data(str(out))
    assert table.shape == (12,)
    source = Table.read(small_catalogue)
    assert list(table["source_id"]) == list(source["source_id"])
    for name in ("xai_prob_FRI", "xai_prob_FRII", "xai_relevance_in_source", "xai_saliency_extent_arcsec"):
        np.testing.assert_allclose(table[name], plain.columns[name], rtol=1e-12, equal_nan=True, err_msg=name)
    assert list(table["xai_pred_class"]) == list(plain.columns["xai_pred_class"])

    loaded = load_data(str(maps))
    cube = loaded[0] if isinstance(loaded, list) else loaded
    assert cube.shape == (12, 150, 150)
    np.testing.assert_array_equal(cube[cube.main_components[0]], plain.maps)
    wcs = read_map_wcs(maps, 6)
    x, y = wcs.world_to_pixel_values(source["ra_deg"][6], source["dec_deg"][6])
    assert abs(x - 74.5) <= 0.5 and abs(y - 74.5) <= 0.5


def test_size_columns_measure_integrated_gradients_unless_told_otherwise(stack, plain):
    import glue_xai as gx
    from glue_xai.methods.measure import measurement_columns
    from glue_xai.viewer.catalogue_stack import cutout_wcs

    rows, k = cutout_rows(stack), 2
    image, wcs = np.asarray(stack[CUTOUTS][k], dtype=float), cutout_wcs(stack, k)
    model = gx.load_model("mirabest-fr")
    integrated = gx.explain(model, image, "integrated_gradients", seed=source_seed(5, rows[k]), wcs=wcs, fit="pad",
                            output="logit")
    expected = measurement_columns(integrated, image, wcs)
    assert plain.columns["xai_saliency_method"][k] == "integrated_gradients"
    for name in ("extent_arcsec", "edge_brightening", "pa_deg", "threshold"):
        assert plain.columns[f"xai_saliency_{name}"][k] == pytest.approx(expected[f"saliency_{name}"]), name
    assert plain.settings["sizes_from"] == "integrated_gradients"
    own = run_batch(stack[CUTOUTS][[k]], [stack.meta[WCS_META][k]], rows[[k]], method="saliency", seed=5,
                    sizes_from=None)
    np.testing.assert_array_equal(own.maps, plain.maps[[k]])  # the run's maps do not change
    assert own.columns["xai_saliency_method"][0] == "saliency"
    saliency_map = gx.explain(model, image, "saliency", seed=source_seed(5, rows[k]), wcs=wcs, fit="pad")
    assert own.columns["xai_saliency_extent_arcsec"][0] == pytest.approx(
        measurement_columns(saliency_map, image, wcs)["saliency_extent_arcsec"])
    with pytest.raises(ValueError, match="sizes_from must be one of"):
        run_batch(stack[CUTOUTS][[k]], [stack.meta[WCS_META][k]], rows[[k]], sizes_from="integrated_gradient")


def test_cli_cuts_each_source_out_of_a_survey_image(mirabest_root, tmp_path, capsys):
    # A 300 x 300 FIRST image stands in for a survey tile: two rows on it, one off it.
    from glue_xai.cli import main
    from glue_xai.data.cutouts import cut_out, read_cutout
    from glue_xai.models import load_model

    tile_path = mirabest_root / "fits" / "200_003.845+000.156_0.4401_0024.05.fits"
    tile = read_cutout(tile_path)
    ra0, dec0 = tile.centre.ra.deg, tile.centre.dec.deg
    catalogue = Table({"name": ["centre", "offset", "elsewhere"], "RA": [ra0, ra0 + 0.02, ra0 + 5.0],
                       "DEC": [dec0, dec0 - 0.01, dec0]})
    catalogue.write(tmp_path / "survey_rows.csv")
    out = tmp_path / "survey_result.fits"
    code = main(["explain", "--catalogue", str(tmp_path / "survey_rows.csv"), "--survey", str(tile_path),
                 "--method", "gradcam", "--out", str(out), "--quiet"])
    assert code == 0
    assert "row 2: no cutout: the position is on none of the survey images" in capsys.readouterr().err
    table = Table.read(out)
    assert list(table["xai_status"]) == ["ok", "ok", "no cutout: the position is on none of the survey images"]
    assert len(table) == 3 and list(table["name"]) == ["centre", "offset", "elsewhere"]
    probabilities = np.ma.filled(table["xai_prob_FRII"], np.nan)
    assert np.isfinite(probabilities[:2]).all() and np.isnan(probabilities[2])  # row 3 is on no image
    # The centre row is classified on the model's field of view cut at its position.
    model = load_model("mirabest-fr")
    cutout = cut_out(tile, (ra0, dec0), model.card.input_shape[-1])
    expected = model.predict_proba(cutout.image, pixel_scale_arcsec=1.8)[0]
    assert table["xai_prob_FRII"][0] == pytest.approx(expected[1], abs=1e-6)


@pytest.mark.parametrize("method, options", [("saliency", {}), ("integrated_gradients", {"n_steps": 8})])
def test_batched_gradient_methods_equal_explain_and_ignore_the_chunking(stack, method, options):
    """Many sources per forward/backward pass: each source's map equals glue_xai.explain's for its
    seed, and is bit-identical whether it shares a pass with 0, 2 or 11 other sources."""
    import glue_xai as gx
    from glue_xai.viewer.catalogue_stack import cutout_wcs

    inputs = (stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack))
    run = dict(method=method, seed=5, options=options, sizes_from=None)
    together = run_batch(*inputs, chunk_size=12, **run)
    apart = run_batch(*inputs, chunk_size=1, **run)
    threes = run_batch(*inputs, chunk_size=3, **run)
    np.testing.assert_array_equal(together.maps, apart.maps)
    np.testing.assert_array_equal(together.maps, threes.maps)
    model = gx.load_model("mirabest-fr")
    for k in (0, 7):
        alone = gx.explain(model, np.asarray(stack[CUTOUTS][k], dtype=float), method,
                           seed=source_seed(5, inputs[2][k]), wcs=cutout_wcs(stack, k), fit="pad", **options)
        np.testing.assert_allclose(together.maps[k], alone.map, rtol=1e-5, atol=1e-6 * np.abs(alone.map).max())


@pytest.mark.parametrize("method, options", [("occlusion", {"patch": 30, "stride": 30}), ("rise", {"n_masks": 64}),
                                             ("shapley", {"n_segments": 6})])
def test_the_perturbation_methods_run_over_a_catalogue_like_the_others(stack, method, options):
    """Occlusion, RISE and Shapley values as catalogue columns: each source's map is
    explain's for that source's seed, and the run's columns are filled."""
    import glue_xai as gx
    from glue_xai.viewer.catalogue_stack import cutout_wcs

    rows = cutout_rows(stack)
    picked = [2, 9]
    result = run_batch(stack[CUTOUTS][picked], [stack.meta[WCS_META][k] for k in picked], rows[picked],
                       method=method, seed=5, options=options, sizes_from=None)
    assert list(result.columns["xai_status"]) == ["ok", "ok"]
    assert np.all(np.isfinite(np.asarray(result.columns["xai_prob_FRII"], dtype=float)))
    model = gx.load_model("mirabest-fr")
    for j, k in enumerate(picked):
        alone = gx.explain(model, np.asarray(stack[CUTOUTS][k], dtype=float), method,
                           seed=source_seed(5, rows[k]), wcs=cutout_wcs(stack, k), fit="pad", **options)
        np.testing.assert_allclose(result.maps[j], alone.map, rtol=1e-5, atol=1e-9 * np.abs(alone.map).max())


def test_integrated_gradients_paths_in_groups_give_the_same_bits(stack, monkeypatch):
    """A partition's integration paths go through the network a few sources at a time (so a
    run's memory does not grow with the partition); the group size changes no bit."""
    import glue_xai.survey.batched as batched

    inputs = (stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack))
    run = dict(method="integrated_gradients", seed=5, options={"n_steps": 8}, sizes_from=None, chunk_size=12)
    whole = run_batch(*inputs, **run)
    monkeypatch.setattr(batched, "PATH_SOURCES_AT_ONCE", 5)  # 12 sources: groups of 5, 5 and 2
    grouped = run_batch(*inputs, **run)
    assert len(whole.maps) >= 12
    np.testing.assert_array_equal(whole.maps, grouped.maps)
