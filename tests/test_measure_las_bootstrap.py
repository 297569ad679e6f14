"""benchmarks/measure_las.py: its dev-split parts and bootstrap intervals.

The intervals weight each source by how often a bootstrap draw picked it; a weighted
statistic must equal the plain statistic of the explicit resample, on the real FIRST
catalogue's sizes.
"""

import numpy as np
import pytest
from astropy.table import Table
from scipy import stats
from sklearn.metrics import roc_auc_score

from glue_xai.data.splits import dev_split

from helpers import load_benchmark


@pytest.fixture(scope="module")
def measure_las():
    return load_benchmark("measure_las")


@pytest.fixture(scope="module")
def table(mirabest_root):
    return Table.read(mirabest_root / "catalogue.csv")


def test_parts_are_the_dev_split(measure_las, table):
    report = measure_las.part_indices(table, "report")
    tune = measure_las.part_indices(table, "tune")
    assert len(report) == len(tune) == 130
    assert set(report).isdisjoint(tune) and len(set(report) | set(tune)) == len(table) == 260
    tune_rows, report_rows = dev_split().catalogue_rows()
    assert sorted(table["fits_file"][report]) == sorted(r["fits_file"] for r in report_rows)
    assert list(measure_las.part_indices(table, "all")) == list(range(260))


def test_weighted_statistics_are_those_of_the_resample(measure_las, table):
    las = np.asarray(table["las_arcsec"], float)
    frii = np.asarray(table["fr_class"]) == "FRII"
    both = np.asarray(table["fr_class"]) != "hybrid"
    rng = np.random.default_rng(1)
    measured = las * rng.lognormal(0, 0.3, len(las))  # a noisy size, as a method would give
    measured[::7] = np.nan  # failures are left out, as agreement() does
    weights = measure_las.bootstrap_weights(len(las), draws=3, seed=2)
    assert (weights.sum(1) == len(las)).all()
    for w in weights:
        picked = np.repeat(np.arange(len(las)), w.astype(int))  # the explicit resample
        for selected in (frii, np.ones(len(las), bool)):
            lo, hi = measure_las.pearson_interval(las, measured, w[None], selected)
            sel = picked[selected[picked] & np.isfinite(measured[picked])]
            assert lo == pytest.approx(stats.pearsonr(las[sel], measured[sel])[0]) == hi
        lo, hi = measure_las.auc_interval(np.log(measured / las), frii, w[None], both)
        sel = picked[both[picked] & np.isfinite(measured[picked])]
        assert lo == pytest.approx(roc_auc_score(frii[sel], np.log(measured / las)[sel])) == hi


def test_interval_brackets_the_estimate_and_narrows_with_more_sources(measure_las, table):
    las = np.asarray(table["las_arcsec"], float)
    measured = las * np.random.default_rng(3).lognormal(0, 0.4, len(las))
    everyone = np.ones(len(las), bool)
    r = stats.pearsonr(las, measured)[0]
    lo, hi = measure_las.pearson_interval(las, measured, measure_las.bootstrap_weights(len(las)), everyone)
    assert lo < r < hi
    half = slice(0, 130)
    lo_half, hi_half = measure_las.pearson_interval(las[half], measured[half], measure_las.bootstrap_weights(130),
                                                    everyone[half])
    assert hi_half - lo_half > hi - lo
