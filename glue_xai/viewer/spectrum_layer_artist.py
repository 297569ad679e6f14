"""Drawing a spectrum with its saliency: glue's profile layer artist plus a second curve.

The flux is drawn by glue's own profile layer artist on the viewer's axes; the saliency
goes on a twin y-axis sharing the wavelength axis (its units, probability per unit
flux, have nothing to do with the flux's), in the layer's colour, dashed, with limits
symmetric about zero so the sign reads at a glance. Emission lines are marked by
:class:`LineMarkers`.
"""
import numpy as np
from glue.viewers.profile.layer_artist import ProfileLayerArtist

from glue_xai.viewer.spectrum_state import SpectrumLayerState

SALIENCY_AXES_ATTRIBUTE = "_glue_xai_saliency_axes"


def saliency_axes(axes):
    """The twin y-axis for saliency curves of ``axes``, made once and kept on ``axes``."""
    twin = getattr(axes, SALIENCY_AXES_ATTRIBUTE, None)
    if twin is None:
        twin = axes.twinx()
        twin.set_ylabel("saliency  (d probability / d flux)")
        twin.axhline(0.0, color="0.7", linewidth=0.6, zorder=0)
        # keep the flux axes on top so glue's selection tools still receive the mouse
        axes.set_zorder(twin.get_zorder() + 1)
        axes.patch.set_visible(False)
        twin.set_navigate(False)
        setattr(axes, SALIENCY_AXES_ATTRIBUTE, twin)
    return twin


def rescale_saliency_axes(twin):
    """Symmetric limits about zero covering every saliency curve on ``twin``."""
    largest = 0.0
    for line in twin.get_lines():
        y = np.asarray(line.get_ydata(), dtype=float)
        if line.get_visible() and y.size and np.isfinite(y).any():
            largest = max(largest, np.nanmax(np.abs(y)))
    largest = largest * 1.1 if largest > 0 else 1.0
    twin.set_ylim(-largest, largest)


class SpectrumLayerArtist(ProfileLayerArtist):
    """A spectrum layer: flux as glue draws it, and the layer's saliency on the twin axis."""

    _layer_state_cls = SpectrumLayerState

    def __init__(self, axes, viewer_state, layer_state=None, layer=None):
        super().__init__(axes, viewer_state, layer_state=layer_state, layer=layer)
        self.saliency_axes = saliency_axes(axes)
        self.saliency_artist = self.saliency_axes.plot([], [], linestyle="--", drawstyle="steps-mid")[0]
        self.mpl_artists.append(self.saliency_artist)
        self.state.add_callback("saliency_attribute", self._update_saliency)
        self.state.add_callback("show_saliency", self._update_saliency)
        self._viewer_state.add_callback("saliency_scaling", self._update_saliency)

    def _calculate_profile_postthread(self):
        super()._calculate_profile_postthread()
        self._update_saliency()

    def _update_saliency(self, *args):
        try:
            profile = self.state.saliency_profile()
        except Exception:  # an incompatible subset: glue already shows the layer as disabled
            profile = None
        if profile is None:
            self.saliency_artist.set_data([], [])
            self.saliency_artist.set_visible(False)
        else:
            x, saliency = profile
            per_layer = getattr(self._viewer_state, "saliency_scaling", "common") == "per layer"
            if per_layer:
                largest = np.nanmax(np.abs(saliency)) if np.isfinite(saliency).any() else 0.0
                saliency = saliency / largest if largest > 0 else saliency
            self.saliency_axes.set_ylabel("saliency / its largest |value|" if per_layer
                                          else "saliency  (d probability / d flux)")
            self.saliency_artist.set_data(x, saliency)
            self.saliency_artist.set_visible(bool(self.state.visible))
        rescale_saliency_axes(self.saliency_axes)
        self.redraw()

    def _update_visual_attributes(self):
        super()._update_visual_attributes()
        # glue styles every artist alike; the saliency curve stays dashed and follows show_saliency
        self.saliency_artist.set_linestyle("--")
        if not self.state.show_saliency or self.state.saliency_attribute is None:
            self.saliency_artist.set_visible(False)
        self.redraw()


class LineMarkers:
    """Vertical marks and names of emission lines on a wavelength axis."""

    def __init__(self, axes, lines):
        self.axes = axes
        self.lines = dict(lines)
        self.artists = []

    def draw(self, visible=True):
        """(Re)draw the marks; hidden when ``visible`` is False (e.g. a pixel x-axis)."""
        for artist in self.artists:
            artist.remove()
        self.artists = []
        if not visible:
            return
        transform = self.axes.get_xaxis_transform()  # x in data units, y in axes fraction
        for i, (name, wavelength) in enumerate(sorted(self.lines.items(), key=lambda item: item[1])):
            self.artists.append(self.axes.axvline(wavelength, color="0.55", linestyle=":", linewidth=0.8, zorder=0))
            # short names on three staggered rows: [N II], Hα and [N II] sit within 20 Å of each other
            label = name.rsplit(" ", 1)[0] if name.startswith("[") else name
            self.artists.append(self.axes.text(wavelength, 0.97 - 0.06 * (i % 3), label, transform=transform,
                                               fontsize=7, color="0.3", ha="center", va="top", clip_on=True))
