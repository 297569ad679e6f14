"""The headline of docs/measure.rst, on the real data: the catalogue's size columns,
computed as ``glue-xai explain`` computes them, track the largest angular sizes that
astronomers measured for the FIRST sources of ../shared/data/mirabest.

Only the 130 sources of the *tune* part of the dev split (glue_xai.data.splits) are
measured here, and the thresholds below are set from the tune part's numbers with the
shipped ``mirabest-fr`` (trained on the tune part): the report part, whose numbers
docs/measure.rst quotes (from benchmarks/measure_las.py), is never used to set a test.
Targets of issue 7 were Pearson r >= 0.85 for FR-II and >= 0.7 for all sources between
``xai_saliency_extent_arcsec`` and ``las_arcsec``, and an edge brightening separating
FR I from FR II with ROC AUC >= 0.9; with the enclosed fraction chosen on the tune part
(0.95) all three hold there (0.93, 0.79, 0.96). About 20 s: integrated gradients of 130
cutouts.
"""
import numpy as np
import pytest
from astropy.table import Table
from scipy import stats

from glue_xai.batch import run_batch
from glue_xai.data.splits import dev_split, fits_source_key
from glue_xai.viewer.catalogue_stack import CUTOUTS, WCS_META, catalogue_stack, cutout_rows


def roc_auc(scores, positive):
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, scores))


@pytest.fixture(scope="module")
def measured(mirabest_root):
    table = Table.read(mirabest_root / "catalogue.csv")
    tune_keys = {row["key"] for row in dev_split(mirabest_root).catalogue_rows(mirabest_root)[0]}
    table = table[[fits_source_key(name) in tune_keys for name in table["fits_file"]]]
    table["fits_file"] = [str(mirabest_root / name) for name in table["fits_file"]]
    stack = catalogue_stack(table, cutouts=list(table["fits_file"])).stack
    rows = cutout_rows(stack)
    # What the columns measure anyway (glue_xai.batch.MEASURE_OPTIONS), so it is computed once.
    result = run_batch(stack[CUTOUTS], stack.meta[WCS_META], rows, method="integrated_gradients",
                       options={"output": "logit"})
    return table[rows], result.columns


def test_every_source_is_measured_with_integrated_gradients_of_the_logit(measured):
    table, columns = measured
    assert len(table) == 130
    assert set(columns["xai_saliency_method"]) == {"integrated_gradients"}
    assert np.isfinite(columns["xai_saliency_extent_arcsec"]).all()


def test_salient_extent_tracks_the_catalogue_sizes(measured):
    table, columns = measured
    las, extent = np.asarray(table["las_arcsec"], float), columns["xai_saliency_extent_arcsec"]
    frii = np.asarray(table["fr_class"]) == "FRII"
    r_frii = stats.pearsonr(las[frii], extent[frii])[0]
    r_all = stats.pearsonr(las, extent)[0]
    # Thresholds from the TUNE part (mirabest-fr, this catalogue path, the 95% enclosed
    # fraction chosen there): r 0.93 FR-II, 0.79 all (0.83 / 0.71 at the earlier 90%), so
    # issue 7's targets (0.85, 0.7) are the thresholds.
    print("tune part: r FR II", r_frii, "r all", r_all)
    assert r_frii >= 0.85, r_frii
    assert r_all >= 0.70, r_all
    # The flux baseline, measured the same way, does worse for all sources.
    assert stats.pearsonr(las, columns["xai_flux_extent_arcsec"])[0] < r_all


def test_edge_brightening_separates_fr_i_from_fr_ii(measured):
    table, columns = measured
    fr_class = np.asarray(table["fr_class"])
    both = fr_class != "hybrid"
    edge = columns["xai_saliency_edge_brightening"][both]
    auc = roc_auc(edge, fr_class[both] == "FRII")
    print("tune part: AUC edge brightening", auc)
    # Threshold from the TUNE part (mirabest-fr, this catalogue path, 95% enclosed): AUC
    # 0.961 (0.843 at the earlier 90%; flux 0.710), so issue 7's target 0.9 is the threshold.
    assert auc >= 0.90, auc
    assert roc_auc(columns["xai_flux_edge_brightening"][both], fr_class[both] == "FRII") < auc
