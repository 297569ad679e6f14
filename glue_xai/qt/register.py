"""Everything glue-xai adds to the glue desktop, registered once by ``glue_xai.setup``.

Only light imports at module level: glue calls this at start-up.
"""


def register_with_glue():
    from glue.config import qt_client

    from glue_xai.viewer.fits_factory import register_fits_factory

    register_fits_factory()

    from glue_xai.qt.image_viewer import XAIImageViewer

    if XAIImageViewer not in qt_client.members:
        qt_client.add(XAIImageViewer)

    from glue_xai.qt.spectrum_viewer import SpectrumSaliencyViewer

    if SpectrumSaliencyViewer not in qt_client.members:
        qt_client.add(SpectrumSaliencyViewer)

    from glue_xai.qt.catalogue_actions import register_catalogue_actions

    register_catalogue_actions()

    from glue_xai.qt.feature_panel import register_feature_panel

    register_feature_panel()
