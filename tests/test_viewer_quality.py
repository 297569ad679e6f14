"""The viewer measures the shown explanation's faithfulness and stability on demand."""
import numpy as np
import pytest
from glue.core import Data
from glue.core.roi import RectangularROI

from glue_xai.methods.metrics import quality_summary
from test_viewer_image import WAIT_MS, draw, fri, open_viewer, wait_for_overlay  # noqa: F401


def test_measure_quality_shows_the_same_numbers_as_quality_summary(app, qtbot, fri, reference_model):
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="smoothgrad", smoothgrad_samples=5, seed=3)
    panel = viewer.options.quality
    draw(app, data, RectangularROI(60, 240, 60, 240))
    artist = wait_for_overlay(qtbot, viewer)

    panel.button_measure.click()
    assert viewer.busy  # computed in the worker, not on the GUI thread
    qtbot.waitUntil(lambda: not viewer.busy and not panel.canvas.isHidden(), timeout=WAIT_MS)

    direct = quality_summary(reference_model, artist.explanation, seeds=(3, 4, 5), n_steps=20, seed=3)
    text = panel.text.text()
    assert f"deletion area {direct['deletion']['area']:.3f}" in text
    assert f"insertion area {direct['insertion']['area']:.3f}" in text
    assert f"{direct['stability']['mean_jaccard']:.2f}" in text
    # A faithful map: removing the most relevant pixels first hurts more than adding them helps late.
    assert direct["deletion"]["area"] < direct["insertion"]["area"]
    lines = panel.figure.axes[0].get_lines()
    assert len(lines) >= 2
    np.testing.assert_allclose(lines[0].get_ydata(), direct["deletion"]["probabilities"])


def test_measure_quality_without_an_explanation_says_what_to_do(app, qtbot, fri):  # noqa: F811
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    viewer.options.quality.button_measure.click()
    assert "Draw a region" in viewer.options.quality.text.text()
    assert not viewer.busy


def test_a_new_region_makes_the_measured_quality_stale(app, qtbot, fri):  # noqa: F811
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    subset = draw(app, data, RectangularROI(60, 240, 60, 240))
    wait_for_overlay(qtbot, viewer)
    viewer.options.quality.button_measure.click()
    qtbot.waitUntil(lambda: not viewer.busy, timeout=WAIT_MS)
    assert "deletion area" in viewer.options.quality.text.text()
    from glue.core.subset import RoiSubsetState

    subset.subset_state = RoiSubsetState(data.pixel_component_ids[-1], data.pixel_component_ids[-2],
                                         RectangularROI(80, 220, 80, 220))
    assert viewer.options.quality.text.text() == "Not measured yet."


def test_stability_starts_from_the_shown_maps_own_seed(reference_model, fri):
    # On a catalogue stack each source is explained with its own seed (settings_for_cutout),
    # not the viewer's: the stability seeds must include the map actually shown.
    import glue_xai as gx
    from glue_xai.viewer.explanation_job import ExplanationSettings
    from glue_xai.viewer.quality_job import QualityJob

    shown = gx.explain(reference_model, fri.image, "saliency", seed=123456, fit="pad")
    viewer_settings = ExplanationSettings(model_name="mirabest-fr", method="saliency", target=None, seed=0,
                                          options=())
    job = QualityJob(None, viewer_settings, shown)
    assert job.seeds == (123456, 123457, 123458)
