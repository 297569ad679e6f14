"""The viewer's Compare methods: in the worker, sharing the explanation cache both ways,
cancellable, and saved as PNG and FITS."""
import numpy as np
from glue.core import Data
from glue.core.roi import RectangularROI

import glue_xai as gx
from test_viewer_image import WAIT_MS, draw, fri, open_viewer, wait_for_overlay  # noqa: F401

FAST = ("saliency", "gradcam", "integrated_gradients")


def test_compare_reuses_the_shown_map_and_hands_its_maps_to_the_viewer(app, qtbot, fri, reference_model, tmp_path):
    from astropy.io import fits

    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency", seed=2)
    # Smaller than the model's field of view: every map is padded with sky, as the viewer's are.
    draw(app, data, RectangularROI(100, 200, 90, 210))
    artist = wait_for_overlay(qtbot, viewer)
    shown = artist.explanation

    job = viewer.compare_methods(methods=FAST, randomisation=False)
    assert viewer.busy  # computed in the worker, not on the GUI thread
    window = viewer.comparison_window
    qtbot.waitUntil(lambda: not viewer.busy and window.comparison is not None, timeout=WAIT_MS)
    comparison = window.comparison
    assert comparison.methods == list(FAST)
    assert comparison.explanations["saliency"] is shown  # from the cache, not explained again
    # The same map as explain gives for the region with the viewer's settings.
    direct = gx.explain(reference_model, artist.region.pixels, "gradcam", seed=2, wcs=artist.region.wcs, fit="pad",
                        target=shown.target)
    np.testing.assert_allclose(comparison.explanations["gradcam"].map, direct.map, rtol=1e-5, atol=1e-8)
    assert comparison.quality["gradcam"]["on_source_share"] > 0.5
    assert "3 methods on" in window.status.text()

    # Its maps are in the cache: choosing Grad-CAM shows the compared map without a job.
    viewer.state.method = "gradcam"
    qtbot.waitUntil(lambda: artist.explanation is comparison.explanations["gradcam"], timeout=WAIT_MS)
    assert job.method_key("gradcam")[1][1] == "gradcam"

    # Asking again is instant (the comparison itself is cached).
    viewer.state.method = "saliency"
    wait_for_overlay(qtbot, viewer)
    viewer.compare_methods(methods=FAST, randomisation=False)
    assert not viewer.busy and window.comparison is comparison

    window.save_png(tmp_path / "compare.png", dpi=50)
    window.save_fits(tmp_path / "compare.fits")
    assert (tmp_path / "compare.png").stat().st_size > 5_000
    with fits.open(tmp_path / "compare.fits") as hdul:
        assert [h.name for h in hdul[1:4]] == ["SALIENCY", "GRADCAM", "INTEGRATED_GRADIENTS"]
        assert hdul["GRADCAM"].header["CTYPE1"].startswith("RA")  # the cutout's WCS travels with each map


def test_compare_can_be_cancelled_and_says_what_to_do_without_a_map(app, qtbot, fri):  # noqa: F811
    data = Data(label="FR-I", image=fri.image, coords=fri.wcs)
    viewer = open_viewer(app, data, method="saliency")
    viewer.compare_methods()
    assert "Draw a region" in viewer.options.quality.text.text()
    assert not viewer.busy

    draw(app, data, RectangularROI(60, 240, 60, 240))
    wait_for_overlay(qtbot, viewer)
    viewer.options.quality.button_compare.click()  # every method: long enough to cancel
    assert viewer.busy
    viewer.comparison_window.button_cancel.click()
    assert not viewer.busy
    assert viewer.comparison_window.status.text() == "Cancelled."
    qtbot.waitUntil(lambda: not viewer.worker.busy, timeout=WAIT_MS)  # the job stops within one batch
    assert viewer.comparison_window.comparison is None
