"""Survey-scale runs: streamed parts, resume after Ctrl-C or a kill, bad sources, outputs, engines."""
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from glue_xai.survey import run_survey
from glue_xai.survey.run import SurveyInterrupted

ROWS = np.arange(5, 260, 32)  # 8 sources, both classes
FAST = dict(method="saliency", sizes_from=None, seed=3)


def _catalogue(mirabest_root, folder, rows=ROWS):
    """A catalogue of real FIRST sources whose file column names copies in ``folder``/fits."""
    table = Table.read(mirabest_root / "catalogue.csv")[rows]
    (folder / "fits").mkdir(parents=True, exist_ok=True)
    for name in table["fits_file"]:
        shutil.copy(mirabest_root / name, folder / name)
    path = folder / "sources.csv"
    table.write(path, overwrite=True)
    return path


@pytest.fixture(scope="module")
def survey(mirabest_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("survey")
    return _catalogue(mirabest_root, folder), folder


@pytest.fixture(scope="module")
def uninterrupted(survey):
    catalogue, folder = survey
    out = folder / "whole.fits"
    result = run_survey(catalogue, out, cutouts=folder / "fits", partition_size=3, maps=folder / "whole_maps.fits",
                        **FAST)
    return Table.read(out), fits.getdata(folder / "whole_maps.fits"), result


def _assert_tables_equal(a, b):
    assert a.colnames == b.colnames
    for name in a.colnames:
        left, right = np.ma.filled(a[name], np.nan) if a[name].dtype.kind == "f" else a[name], b[name]
        right = np.ma.filled(right, np.nan) if right.dtype.kind == "f" else right
        np.testing.assert_array_equal(np.asarray(left), np.asarray(right), err_msg=name)


def test_parts_merge_into_the_catalogue_with_a_status_and_the_same_numbers_as_one_batch(survey, uninterrupted):
    from glue_xai.survey import run_batch
    from glue_xai.survey.sources import read_source

    table, maps, result = uninterrupted
    catalogue, folder = survey
    assert result.summary().startswith("8 ok, 0 flagged, 0 failed") and result.failures is None
    assert list(table["xai_status"]) == ["ok"] * 8
    assert list(table["source_id"]) == list(Table.read(catalogue)["source_id"])
    assert not (folder / "whole.fits.parts").exists()  # merged, then removed
    # The same numbers as the in-memory batch on the same cutouts (one batch of all 8).
    source = Table.read(catalogue)
    cut = [read_source(folder / name, ra, dec, 270.0) for name, ra, dec in
           zip(source["fits_file"], source["ra_deg"], source["dec_deg"])]
    batch = run_batch(np.stack([c[0] for c in cut]), [c[1] for c in cut], np.arange(8), chunk_size=8, **FAST)
    np.testing.assert_array_equal(maps, batch.maps)
    np.testing.assert_array_equal(table["xai_prob_FRII"], batch.columns["xai_prob_FRII"])
    np.testing.assert_array_equal(table["xai_saliency_extent_arcsec"], batch.columns["xai_saliency_extent_arcsec"])


def test_a_cancelled_run_resumes_to_the_uninterrupted_table(survey, uninterrupted, tmp_path):
    catalogue, folder = survey
    out, seen = tmp_path / "resumed.fits", []
    with pytest.raises(SurveyInterrupted, match="stopped after 6 of 8 sources"):
        run_survey(catalogue, out, cutouts=folder / "fits", partition_size=3, maps=tmp_path / "maps.fits",
                   progress=lambda done, total: seen.append(done), cancelled=lambda: len(seen) > 2, **FAST)
    parts = sorted(p.name for p in (tmp_path / "resumed.fits.parts").glob("*-*.fits"))
    assert parts == ["maps-00000.fits", "maps-00001.fits", "table-00000.fits", "table-00001.fits"]
    assert not out.exists()
    messages = []
    result = run_survey(catalogue, out, cutouts=folder / "fits", partition_size=3, maps=tmp_path / "maps.fits",
                        log=messages.append, **FAST)
    assert result.resumed_partitions == 2 and "resuming: 2 of 3 partitions (6 sources)" in messages[0]
    _assert_tables_equal(Table.read(out), uninterrupted[0])
    np.testing.assert_array_equal(fits.getdata(tmp_path / "maps.fits"), uninterrupted[1])
    # Other settings are refused rather than mixed into the parts of the first ones.
    with pytest.raises(SurveyInterrupted):
        run_survey(catalogue, tmp_path / "other.fits", cutouts=folder / "fits", partition_size=3,
                   cancelled=lambda: True, **FAST)
    with pytest.raises(ValueError, match="seed differ"):
        run_survey(catalogue, tmp_path / "other.fits", cutouts=folder / "fits", partition_size=3,
                   **{**FAST, "seed": 4})


def test_corrupt_missing_and_empty_cutouts_cost_one_row_each(mirabest_root, tmp_path, uninterrupted):
    catalogue = _catalogue(mirabest_root, tmp_path)
    table = Table.read(catalogue)
    files = [tmp_path / name for name in table["fits_file"]]
    from glue_xai.data.cutouts import read_cutout

    files[1].write_bytes(files[1].read_bytes()[:20000])  # truncated inside the pixels
    files[2].unlink()  # missing
    real = read_cutout(files[3])  # every pixel NaN, with its real header
    fits.writeto(files[3], np.full_like(real.image, np.nan), real.header, overwrite=True)
    files[5].write_text("not a FITS file\n")
    result = run_survey(catalogue, tmp_path / "out.ecsv", cutouts=tmp_path / "fits", partition_size=4, **FAST)
    assert (result.ok, result.flagged, result.failed) == (4, 0, 4)
    out = Table.read(tmp_path / "out.ecsv")
    status = list(out["xai_status"])
    assert status[0] == status[4] == status[6] == status[7] == "ok"
    assert status[1].startswith("unreadable: ") and files[1].name in status[1]
    assert status[2].startswith("unreadable: ") and "no such file" in status[2]
    assert status[3] == "empty: no finite pixels (all NaN or infinite)"
    assert status[5].startswith("unreadable: ") and "not a readable FITS file" in status[5]
    # The bad rows are masked, the good ones hold the uninterrupted run's numbers.
    probabilities = out["xai_prob_FRII"]
    assert list(probabilities.mask) == [s != "ok" for s in status]
    good_rows = [0, 4, 6, 7]
    np.testing.assert_allclose(np.asarray(probabilities[good_rows]),
                               np.asarray(uninterrupted[0]["xai_prob_FRII"][good_rows]), rtol=1e-15)
    failures = Table.read(result.failures, format="ascii.csv")
    assert list(failures["source_index"]) == [1, 2, 3, 5]
    assert "the sources not ok" in result.summary() or str(result.failures) in result.summary()

    empty = tmp_path / "empty.csv"
    table[:0].write(empty)
    with pytest.raises(ValueError, match="has no rows"):
        run_survey(empty, tmp_path / "none.fits", cutouts=tmp_path / "fits", **FAST)


def test_output_formats_follow_the_suffix_and_open_in_astropy_and_glue(survey, uninterrupted, tmp_path):
    from glue.core.data_factories import load_data

    catalogue, folder = survey
    for suffix in (".parquet", ".csv"):
        out = tmp_path / f"result{suffix}"
        run_survey(catalogue, out, cutouts=folder / "fits", partition_size=4, **FAST)
        table = Table.read(out)
        np.testing.assert_allclose(table["xai_prob_FRII"], uninterrupted[0]["xai_prob_FRII"], rtol=1e-15)
        assert load_data(str(out)).shape == (8,)
    assert (tmp_path / "result.csv").read_text().startswith("source_index,source_id,ra_deg,")  # CSV, not FITS
    assert (tmp_path / "result.parquet").read_bytes()[:4] == b"PAR1"
    assert load_data(str(folder / "whole.fits")).shape == (8,)
    with pytest.raises(ValueError, match="cannot tell the table format"):
        run_survey(catalogue, tmp_path / "result.txt", cutouts=folder / "fits", **FAST)


def _cli(*args, timeout=120):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GLUE_TESTING": "True"}
    return subprocess.run([sys.executable, "-m", "glue_xai.cli", "explain", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_an_existing_out_needs_overwrite_and_bad_places_fail_before_computing(survey, tmp_path):
    catalogue, folder = survey
    out = tmp_path / "exists.fits"
    out.write_text("precious")
    common = ["--catalogue", catalogue, "--cutouts", folder / "fits", "--sizes-from", "method", "--quiet"]
    refused = _cli(*common, "--out", out)
    assert refused.returncode == 2 and "exists: pass --overwrite" in refused.stderr
    assert "Traceback" not in refused.stderr and out.read_text() == "precious"
    assert not (tmp_path / "exists.fits.parts").exists()
    nowhere = _cli(*common, "--out", tmp_path / "no" / "such" / "folder.fits")
    assert nowhere.returncode == 2 and "no such folder" in nowhere.stderr and "Traceback" not in nowhere.stderr
    replaced = _cli(*common, "--out", out, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-2000:]
    assert "8 ok, 0 flagged, 0 failed" in replaced.stdout
    assert len(Table.read(out)) == 8


def test_workers_zero_and_an_unreachable_scheduler_say_so_quickly(survey, tmp_path):
    catalogue, folder = survey
    common = ["--catalogue", catalogue, "--cutouts", folder / "fits", "--out", tmp_path / "x.fits", "--quiet"]
    zero = _cli(*common, "--workers", "0", timeout=60)
    assert zero.returncode == 2 and "workers must be at least 1" in zero.stderr and "Traceback" not in zero.stderr
    started = time.perf_counter()
    unreachable = _cli(*common, "--scheduler", "tcp://127.0.0.1:9", timeout=60)
    assert time.perf_counter() - started < 45
    assert unreachable.returncode == 2, unreachable.stderr[-2000:]
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr and len(unreachable.stderr.strip().splitlines()) == 1


def _start_and_signal(catalogue, folder, out, sig):
    """Start ``glue-xai explain`` on 8 sources, one per partition, and send ``sig`` once the first part is on disk."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GLUE_TESTING": "True"}
    process = subprocess.Popen([sys.executable, "-m", "glue_xai.cli", "explain", "--catalogue", str(catalogue),
                                "--cutouts", str(folder / "fits"), "--out", str(out), "--partition-size", "1",
                                "--method", "saliency", "--seed", "3"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = out.parent / f"{out.name}.parts" / "table-00000.fits"
    deadline = time.time() + 120
    while not first.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    return process.returncode, stdout, stderr


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(survey, tmp_path):
    catalogue, folder = survey
    out = tmp_path / "interrupted.fits"
    code, _, stderr = _start_and_signal(catalogue, folder, out, signal.SIGINT)
    assert code == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert "stopped after" in stderr and "of 8 sources" in stderr and "To resume, run" in stderr
    assert not out.exists()
    finished = list((tmp_path / "interrupted.fits.parts").glob("table-*.fits"))
    assert 1 <= len(finished) < 8


def test_a_killed_run_resumes_to_the_table_of_an_uninterrupted_one(survey, tmp_path):
    catalogue, folder = survey
    out = tmp_path / "killed.fits"
    code, _, _ = _start_and_signal(catalogue, folder, out, signal.SIGKILL)
    assert code == -signal.SIGKILL
    kept = len(list((tmp_path / "killed.fits.parts").glob("table-*.fits")))
    assert 1 <= kept < 8
    result = run_survey(catalogue, out, cutouts=folder / "fits", partition_size=1, method="saliency", seed=3)
    assert result.resumed_partitions == kept
    whole = run_survey(catalogue, tmp_path / "whole.fits", cutouts=folder / "fits", partition_size=1,
                       method="saliency", seed=3)
    _assert_tables_equal(Table.read(out), Table.read(whole.out))


def test_dask_workers_read_their_own_cutouts_and_equal_this_process(survey, uninterrupted, tmp_path):
    """The HPC recipe of docs/survey.rst, with a LocalCluster in the place of dask-jobqueue's SLURMCluster."""
    from dask.distributed import Client, LocalCluster

    catalogue, folder = survey
    out = tmp_path / "dask.fits"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        result = run_survey(catalogue, out, cutouts=folder / "fits", partition_size=3, scheduler=client,
                            maps=tmp_path / "dask_maps.fits", **FAST)
    assert result.summary().startswith("8 ok, 0 flagged, 0 failed")
    _assert_tables_equal(Table.read(out), uninterrupted[0])
    np.testing.assert_array_equal(fits.getdata(tmp_path / "dask_maps.fits"), uninterrupted[1])


def test_a_cutout_of_empty_sky_is_flagged_no_source_and_keeps_its_numbers(mirabest_root, tmp_path):
    from glue_xai.data.cutouts import read_cutout

    catalogue = _catalogue(mirabest_root, tmp_path, rows=ROWS[:3])
    files = [tmp_path / name for name in Table.read(catalogue)["fits_file"]]
    real = read_cutout(files[1])  # its header and sky noise level, and no source
    sky = np.random.default_rng(0).normal(0.0, np.nanstd(real.image[:40, :40]), real.image.shape)
    fits.writeto(files[1], sky.astype(np.float32), real.header, overwrite=True)
    result = run_survey(catalogue, tmp_path / "out.fits", cutouts=tmp_path / "fits", **FAST)
    assert (result.ok, result.flagged, result.failed) == (2, 1, 0)
    out = Table.read(tmp_path / "out.fits")
    assert list(out["xai_status"]) == ["ok", "no_source", "ok"]
    assert list(out["xai_has_source"]) == [True, False, True]
    assert np.isfinite(out["xai_prob_FRII"]).all()  # flagged, not failed: the numbers are there
