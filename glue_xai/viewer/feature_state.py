"""State of the "SFNet features" panel (Qt-free): which image, which model, which feature.

Every setting is an echo property, so the Qt panel only connects widgets to it and a
test can drive it without a screen. Changing the image or the model recomputes the
:class:`~glue_xai.methods.features.FeatureExplanation`; the feature choices are the
features active for that image, strongest contribution first.
"""
from echo import CallbackProperty, SelectionCallbackProperty, delay_callback
from glue.core.data_combo_helper import DataCollectionComboHelper
from glue.core.state_objects import State

from glue_xai.viewer.model_store import ModelStore

__all__ = ["FeaturePanelState", "sfnet_model_names"]


def sfnet_model_names():
    """Shipped models that are Sparse Feature Networks (read from their cards, no weights loaded)."""
    from glue_xai.models.loading import shipped_card, shipped_models

    return [name for name in shipped_models() if shipped_card(name).architecture == "sfnet"]


def image_of(data):
    """The 2-D image of a glue dataset (its first main component) and its pixel scale, if it has a WCS."""
    if data is None or data.ndim != 2:
        raise ValueError("choose a 2-D image (one cutout); this dataset has "
                         f"{'no data' if data is None else f'{data.ndim} dimension(s)'}")
    pixel_scale = None
    wcs = getattr(data, "coords", None)
    if getattr(wcs, "has_celestial", False):
        from glue_xai.methods.api import pixel_scale_from_wcs

        pixel_scale = pixel_scale_from_wcs(wcs)
    return data.get_data(data.main_components[0]), pixel_scale


class FeaturePanelState(State):
    """What the panel shows; ``explanation`` and ``message`` are results, the rest are choices."""

    data = SelectionCallbackProperty(docstring="The 2-D image (cutout) whose features are shown")
    model_name = SelectionCallbackProperty(docstring="The Sparse Feature Network explaining it")
    feature = SelectionCallbackProperty(docstring="The active feature whose map is overlaid")
    opacity = CallbackProperty(0.6, docstring="Opacity of the feature overlay")
    explanation = CallbackProperty(None, docstring="The FeatureExplanation of the image, or None")
    message = CallbackProperty("", docstring="Why there is no explanation, if there is none")

    def __init__(self, data_collection, models=None):
        super().__init__()
        self._models = models or ModelStore()
        self.data_helper = DataCollectionComboHelper(self, "data", data_collection)
        FeaturePanelState.model_name.set_choices(self, sfnet_model_names())
        FeaturePanelState.feature.set_display_func(self, lambda j: f"feature {j}")
        self.add_callback("data", self._recompute)
        self.add_callback("model_name", self._recompute)
        self._recompute()

    def _recompute(self, *args):
        from glue_xai.methods.features import explain_features

        explanation, message = None, ""
        if self.model_name is None:
            message = "no Sparse Feature Network is installed (shipped models: architecture 'sfnet')"
        else:
            try:
                image, pixel_scale = image_of(self.data)
                explanation = explain_features(self._models.get(self.model_name), image,
                                               pixel_scale_arcsec=pixel_scale)
            except (ValueError, TypeError, OSError) as err:
                message = str(err)
        # Listeners are told only once all three agree: a feature always belongs to the explanation.
        with delay_callback(self, "feature", "message", "explanation"):
            FeaturePanelState.feature.set_choices(self, [] if explanation is None else explanation.features.tolist())
            self.message = message
            self.explanation = explanation
