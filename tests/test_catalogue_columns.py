"""What the model says, written back into the catalogue: in place, without duplicates."""
from collections import Counter

import numpy as np
import pytest
from astropy.table import Table
from glue.core import Data

from glue_xai.batch import source_seed
from glue_xai.data.cutouts import read_cutout
from glue_xai.viewer.catalogue_columns import (embedding_columns, explain_catalogue, model_features,
                                               write_columns)
from glue_xai.viewer.catalogue_stack import CUTOUTS, catalogue_stack
from glue_xai.viewer.explanation_job import ExplanationCache, ExplanationSettings

ROWS = [0, 40, 80, 150, 200, 250]


@pytest.fixture(scope="module")
def cutouts(mirabest_root):
    table = Table.read(mirabest_root / "catalogue.csv")[ROWS]
    return table, [read_cutout(mirabest_root / name) for name in table["fits_file"]]


@pytest.fixture
def built(cutouts):
    table, images = cutouts
    return catalogue_stack(table, cutouts=images)


def settings(method="saliency", seed=0, **options):
    return ExplanationSettings(model_name="mirabest-fr", method=method, target=None, seed=seed,
                               options=tuple(sorted(options.items())))


def labels(data):
    return [c.label for c in data.main_components]


def test_columns_equal_predict_proba_and_rewrite_in_place(built, reference_model):
    cs = built
    written = explain_catalogue(cs.catalogue, cs.stack, settings("saliency"))
    assert {"xai_pred_class", "xai_prob_FRI", "xai_prob_FRII", "xai_relevance_in_source",
            "xai_saliency_extent_arcsec"} <= set(written)
    expected = reference_model.predict_proba(cs.stack[CUTOUTS], pixel_scale_arcsec=1.8)
    np.testing.assert_allclose(cs.catalogue["xai_prob_FRI"], expected[:, 0], atol=1e-6)
    np.testing.assert_allclose(cs.catalogue["xai_prob_FRII"], expected[:, 1], atol=1e-6)
    assert list(cs.catalogue["xai_pred_class"]) == [("FRI", "FRII")[i] for i in expected.argmax(1)]
    inside = np.asarray(cs.catalogue["xai_relevance_in_source"])
    assert np.all((inside >= 0) & (inside <= 1))

    n_columns = len(labels(cs.catalogue))
    ids = {name: cs.catalogue.id[name] for name in written}
    before = {name: np.array(cs.catalogue[name]) for name in written}
    # Grad-CAM on two selected sources: their numbers change, the others' stay.
    explain_catalogue(cs.catalogue, cs.stack, settings("gradcam"), slices=[1, 3])
    assert len(labels(cs.catalogue)) == n_columns
    assert max(Counter(labels(cs.catalogue)).values()) == 1
    assert all(cs.catalogue.id[name] is ids[name] for name in written)  # same columns, updated
    after = np.asarray(cs.catalogue["xai_relevance_in_source"])
    others = [0, 2, 4, 5]
    np.testing.assert_array_equal(after[others], before["xai_relevance_in_source"][others])
    assert not np.allclose(after[[1, 3]], before["xai_relevance_in_source"][[1, 3]])
    np.testing.assert_allclose(cs.catalogue["xai_prob_FRI"], expected[:, 0], atol=1e-6)


def test_each_source_uses_its_own_seed_and_the_cache_serves_a_rerun(built, reference_model):
    import glue_xai as gx

    cs = built
    cache, jobs = ExplanationCache(), []
    lime = settings("lime", seed=3, n_samples=120, n_segments=16)
    explain_catalogue(cs.catalogue, cs.stack, lime, slices=[2], cache=cache, on_job=jobs.append)
    # LIME for the source, and integrated gradients of the logit for its size columns.
    assert [job.settings.method for job in jobs] == ["lime", "integrated_gradients"]
    assert all(job.settings.seed == source_seed(3, 2) for job in jobs)
    direct = gx.explain(reference_model, cs.stack[CUTOUTS][2], method="lime", seed=source_seed(3, 2), fit="pad",
                        pixel_scale_arcsec=1.8, n_samples=120, n_segments=16)
    np.testing.assert_array_equal(cache.get(jobs[0].key).map, direct.map)
    explain_catalogue(cs.catalogue, cs.stack, lime, slices=[2], cache=cache, on_job=jobs.append)
    assert len(jobs) == 2  # nothing recomputed


def test_size_columns_measure_integrated_gradients_whatever_the_method(built):
    from glue_xai.methods.measure import measurement_columns
    from glue_xai.viewer.catalogue_stack import cutout_rows, cutout_wcs

    cs = built
    cache, jobs = ExplanationCache(), []
    explain_catalogue(cs.catalogue, cs.stack, settings("gradcam"), slices=[4], cache=cache, on_job=jobs.append)
    gradcam, integrated = (cache.get(job.key) for job in jobs)
    assert (gradcam.method, integrated.method) == ("gradcam", "integrated_gradients")
    assert integrated.params["output"] == "logit"  # glue_xai.batch.MEASURE_OPTIONS
    image = np.asarray(cs.stack[CUTOUTS][4], dtype=float)
    expected = measurement_columns(integrated, image, cutout_wcs(cs.stack, 4))
    row = int(cutout_rows(cs.stack)[4])
    assert cs.catalogue["xai_saliency_extent_arcsec"][row] == pytest.approx(expected["saliency_extent_arcsec"])
    assert cs.catalogue["xai_saliency_edge_brightening"][row] == pytest.approx(expected["saliency_edge_brightening"])
    assert cs.catalogue["xai_saliency_threshold"][row] == pytest.approx(expected["saliency_threshold"])
    assert cs.catalogue["xai_saliency_method"][row] == "integrated_gradients"
    # Measuring Grad-CAM's own map would have given another extent: the column is not it.
    own = measurement_columns(gradcam, image, cutout_wcs(cs.stack, 4))
    assert own["saliency_extent_arcsec"] != pytest.approx(expected["saliency_extent_arcsec"])


def test_write_columns_fills_rows_not_given_and_keeps_text_as_text():
    data = Data(label="cat", x=np.arange(4.0))
    write_columns(data, {"xai_p": [0.5, 0.7], "xai_pred_class": ["FRI", "FRII"]}, rows=[1, 2])
    np.testing.assert_array_equal(np.isnan(data["xai_p"]), [True, False, False, True])
    assert list(data["xai_pred_class"]) == ["", "FRI", "FRII", ""]
    write_columns(data, {"xai_pred_class": ["FRII"]}, rows=[0])
    assert list(data["xai_pred_class"]) == ["FRII", "FRI", "FRII", ""]
    assert labels(data) == ["x", "xai_p", "xai_pred_class"]
    with pytest.raises(ValueError, match="2 values for 1 rows"):
        write_columns(data, {"xai_p": [1.0, 2.0]}, rows=[0])


def test_tsne_of_penultimate_features_as_two_columns(built, reference_model):
    cs = built
    features = model_features(reference_model, cs.stack[CUTOUTS], pixel_scales=[1.8] * len(ROWS))
    assert features.shape == (len(ROWS), 64) and np.isfinite(features).all()
    written = embedding_columns(cs.catalogue, cs.stack, reference_model, seed=1)
    assert written == ["xai_tsne_x", "xai_tsne_y"]
    first = np.array(cs.catalogue["xai_tsne_x"])
    assert np.isfinite(first).all() and first.std() > 0
    embedding_columns(cs.catalogue, cs.stack, reference_model, seed=1)
    assert max(Counter(labels(cs.catalogue)).values()) == 1
    np.testing.assert_allclose(cs.catalogue["xai_tsne_x"], first)
    assert embedding_columns(cs.catalogue, cs.stack, reference_model, method="pca") == ["xai_pca_x", "xai_pca_y"]


def test_sfnet_feature_activations_become_catalogue_columns(built):
    import glue_xai as gx
    from glue_xai.methods.features import feature_columns
    from glue_xai.viewer.catalogue_columns import explain_stack

    sfnet_settings = ExplanationSettings(model_name="mirabest-sfnet", method="features", target=None, seed=0,
                                         options=(("feature", 0),))
    rows, columns = explain_stack(built.stack, sfnet_settings)
    expected = feature_columns(gx.load_model("mirabest-sfnet"), built.stack[CUTOUTS], fit="pad")
    written = {name[len("xai_"):]: values for name, values in columns.items() if name.startswith("xai_sfnet_feature_")}
    assert set(written) == set(expected)  # exactly the features active for any of these sources
    for name, values in expected.items():
        # Inactive features read 0, as the model's head reads them, not NaN.
        np.testing.assert_allclose(written[name], values, rtol=1e-5, atol=1e-7)
    per_source = np.array([[written[n][i] for n in written] for i in range(len(rows))])
    assert ((per_source > 0).sum(axis=1) == 4).all()  # k = 4 features per source


def test_a_cutout_that_cannot_be_explained_gets_a_status_and_the_others_go_on(cutouts):
    """The glue action writes xai_status as glue-xai explain does: one all-NaN slice costs one row."""
    from dataclasses import replace

    table, images = cutouts
    blank = replace(images[2], image=np.full(images[2].image.shape, np.nan))
    cs = catalogue_stack(table, cutouts=[*images[:2], blank, *images[3:]])
    explain_catalogue(cs.catalogue, cs.stack, settings("saliency"))
    status = [str(s) for s in cs.catalogue["xai_status"]]
    assert status[2] == "empty: no finite pixels (all NaN or infinite)"
    # Flagged sources are explained too (row 5, a 223-arcsec uncertain FR II, is unlike the training data).
    assert all(s in ("ok", "no_source", "out_of_distribution") for k, s in enumerate(status) if k != 2), status
    probabilities = np.asarray(cs.catalogue["xai_prob_FRII"], dtype=float)
    assert np.isnan(probabilities[2]) and np.isfinite(np.delete(probabilities, 2)).all()
    assert list(cs.catalogue["xai_has_source"])[:2] == [True, True]
