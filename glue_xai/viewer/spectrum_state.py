"""State of the spectrum viewer: glue's profile-viewer state plus the saliency to draw.

Every setting is an echo callback property, so the Qt widgets, session files and
Python scripts all see the same values; the layer artist only draws what is here.
"""
import numpy as np
from glue.core import Subset
from glue.core.data_combo_helper import ComponentIDComboHelper
from glue.core.exceptions import IncompatibleDataException
from glue.core.link_manager import is_convertible_to_single_pixel_cid
from glue.viewers.matplotlib.state import DeferredDrawCallbackProperty as DDCProperty
from glue.viewers.matplotlib.state import DeferredDrawSelectionCallbackProperty as DDSCProperty
from glue.viewers.profile.state import ProfileLayerState, ProfileViewerState

from glue_xai.data.spectra import REST_LINES
from glue_xai.methods.spectral import SPECTRUM_METHODS
from glue_xai.viewer.spectrum_data import SALIENCY


class SpectrumViewerState(ProfileViewerState):
    """Profile-viewer state with the emission lines to mark.

    Stacks of spectra are collapsed with the *mean* (glue's default is the maximum),
    so a selection of sources shows their mean spectrum and mean saliency.
    """

    show_lines = DDCProperty(True, docstring="Whether to mark the emission lines")
    saliency_scaling = DDSCProperty(docstring="'per layer': each saliency curve divided by its largest "
                                              "|value|; 'common': as computed, on one scale")
    method = DDSCProperty(docstring="The explanation method of the saliency curves: changing it recomputes "
                                    "the saliency of the spectra shown (with the model, class and seed that "
                                    "made it)")
    saliency_status = DDCProperty("", docstring="What the saliency shown is, or why it could not be computed")

    def __init__(self, **kwargs):
        super().__init__()
        self.function = "mean"
        # Saliency is d p / d flux, so it scales as 1 / brightness: on a common scale a
        # faint source's curve dwarfs a bright one's. Per layer, every curve is readable.
        SpectrumViewerState.saliency_scaling.set_choices(self, ["per layer", "common"])
        self.saliency_scaling = "per layer"
        SpectrumViewerState.method.set_choices(self, list(SPECTRUM_METHODS))
        self.method = SPECTRUM_METHODS[0]
        self.lines = dict(REST_LINES)
        self.update_from_dict(kwargs)

    def _reference_data_changed(self, before=None, after=None):
        super()._reference_data_changed(before=before, after=after)
        # glue starts on the first world axis, the source index for a stack of spectra;
        # wavelength is the last (numpy order) axis
        data = self.reference_data
        # Show the method the data's saliency was made with, so opening a viewer never
        # recomputes anything.
        made = (getattr(data, "meta", None) or {}).get("saliency", {})
        made_with = made.get("method")
        if made_with in SPECTRUM_METHODS and made_with != self.method:
            self.method = made_with
        if made_with:
            self.saliency_status = f"{made_with} of {made.get('model', 'an unnamed model')}"
        if data is not None and getattr(data.coords, "world_axis_physical_types", [None])[0] == "em.wl":
            wavelength = data.world_component_ids[-1]
            if self.x_att is not wavelength:
                self.x_att = wavelength


class SpectrumLayerState(ProfileLayerState):
    """A spectrum layer: the flux (``attribute``) and its saliency (``saliency_attribute``)."""

    saliency_attribute = DDSCProperty(docstring="The component holding the saliency of the flux")
    show_saliency = DDCProperty(True, docstring="Whether to draw the saliency curve")

    def __init__(self, layer=None, viewer_state=None, **kwargs):
        self.saliency_att_helper = None
        super().__init__(layer=layer, viewer_state=viewer_state)
        self.saliency_att_helper = ComponentIDComboHelper(self, "saliency_attribute", numeric=True,
                                                          categorical=False, none=True)
        self._set_saliency_choices()
        self.update_from_dict(kwargs)

    def _on_layer_change(self, *args):
        super()._on_layer_change(*args)
        self._set_saliency_choices()

    def _set_saliency_choices(self):
        if self.saliency_att_helper is None or self.layer is None:
            return
        self.saliency_att_helper.set_multiple_data([self.layer])
        data = self.layer.data if isinstance(self.layer, Subset) else self.layer
        labels = {cid.label: cid for cid in data.main_components}
        # flux by default, the saliency curve from the component add_saliency writes
        if "flux" in labels:
            self.attribute = labels["flux"]
        self.saliency_attribute = labels.get(SALIENCY)

    def saliency_profile(self):
        """(x, saliency) collapsed like the flux profile, or None when there is none to draw."""
        if not self.show_saliency or self.saliency_attribute is None or self.viewer_state is None:
            return None
        profile = self.profile
        if profile is None or len(profile[0]) == 0:
            return None
        pixel = is_convertible_to_single_pixel_cid(self.layer, self.viewer_state.x_att_pixel)
        if pixel is None:
            raise IncompatibleDataException()
        axes = tuple(i for i in range(self.layer.ndim) if i != pixel.axis)
        if isinstance(self.layer, Subset):
            data, subset_state = self.layer.data, self.layer.subset_state
        else:
            data, subset_state = self.layer, None
        values = data.compute_statistic(self.viewer_state.function, self.saliency_attribute, axis=axes,
                                        subset_state=subset_state)
        return profile[0], np.asarray(values, dtype=np.float64)
