"""The XAI viewer's display of a multi-band model's bands: a colour composite or one band.

A mix-in of :class:`~glue_xai.qt.image_viewer.XAIImageViewer`. The composite is glue's
own (:mod:`glue_xai.viewer.colour_display`): one image layer per band, in the image
viewer's *One color per layer* mode. Bands held by one dataset's components get one layer
each of that dataset (glue's image viewer takes a dataset more than once, as its RGB
sessions do); bands held by separate datasets use each dataset's own layer. Layers are
hidden rather than removed when going back to one band, so switching back and forth
reuses them, and a saved session holds exactly what is shown.

Over the colour image the explanation is drawn as contours rather than a heat map: a
red-blue heat map cannot be told apart from red and blue light (the convention of radio
contours over an optical colour image). Going back to one band brings the heat map back.
Either can be switched in the explanation layer's style panel afterwards.
"""
from glue.core import BaseData
from glue.viewers.image.state import ImageLayerState

from glue_xai.viewer.colour_display import COLOUR_MODE, ONE_BAND_MODE, band_colours, style_band_layer
from glue_xai.viewer.image_region import NothingToExplain

__all__ = ["BandDisplayActions", "IN_COLOUR"]

#: The options panel's "Show" choice for the colour composite (the others are band names).
IN_COLOUR = "bands in colour"


def _bands_of(model_name):
    """Model ``model_name``'s band names when it takes several bands, else [] (also for no
    model, or a missing or broken model file: the status line says so)."""
    from glue_xai.viewer.bands import model_card

    if not model_name:
        return []
    try:
        card = model_card(model_name)
    except (OSError, ValueError):
        return []
    return list(card.band_names) if card.n_channels > 1 else []


class BandDisplayActions:
    """Show the model's bands in colour or one at a time (needs ``self.state``,
    ``self.add_data``, ``self._band_components`` and ``self.status``)."""

    def model_bands(self):
        """The current model's band names when it takes several bands, else []."""
        return _bands_of(self.state.model)

    def shown_band(self):
        """What the viewer shows of the model's bands: "colour", a band's name, or "" (none of them)."""
        bands = self.model_bands()
        if not bands:
            return ""
        try:
            components = self._band_components(self.state.reference_data)
        except NothingToExplain:
            return ""
        layers = [layer for layer in self._image_layers() if layer.visible]
        shown = [(layer.layer, layer.attribute) for layer in layers]
        in_layers = [(c.parent, c) in shown for c in components]
        if self.state.color_mode == COLOUR_MODE and all(in_layers):
            return "colour"
        if self.state.color_mode == ONE_BAND_MODE and len(shown) >= 1:
            top = max(layers, key=lambda layer: layer.zorder)
            for band, component in zip(bands, components):
                if (top.layer, top.attribute) == (component.parent, component):
                    return band
        return ""

    def show_bands_in_colour(self):
        """Show the model's bands as one colour image (bluest band blue, reddest red) in glue's
        *One color per layer* mode. False, with the reason under the image, when the model
        takes one band or its bands cannot be found."""
        components = self._display_components()
        if components is None:
            return False
        layers, bands = self._layers_for(components), self.model_bands()
        colours = band_colours(bands)
        for layer, component, band in zip(layers, components, bands):
            style_band_layer(layer, component.parent.get_data(component), colour=colours[band])
        self._hide_spare_layers(layers, components)  # a spare layer would add its band's light twice
        self.state.color_mode = COLOUR_MODE
        self._restyle_overlays()
        return True

    def show_one_band(self, band=None):
        """Show one of the model's bands alone, in grey (default: the middle band, r of g, r, z).
        False, with the reason under the image, when it cannot be shown."""
        components = self._display_components()
        if components is None:
            return False
        bands = self.model_bands()
        band = bands[len(bands) // 2] if band is None else band
        names = [name.lower() for name in bands]
        if str(band).lower() not in names:
            self.status.set_message(f"model {self.state.model!r} has no band {band!r} (its bands: {', '.join(bands)})")
            return False
        component = components[names.index(str(band).lower())]
        self.state.color_mode = ONE_BAND_MODE
        (layer,) = self._layers_for([component])
        self._hide_spare_layers([layer], components)
        style_band_layer(layer, component.parent.get_data(component))
        self._restyle_overlays()
        return True

    def style_overlay_for_display(self, layer_state):
        """Contours over a colour image, a heat map over one band (see the module's notes)."""
        colour = self.state.color_mode == COLOUR_MODE
        layer_state.show_heatmap = not colour
        layer_state.show_contours = colour

    def _restyle_overlays(self):
        for artist in self.explanation_layers():
            self.style_overlay_for_display(artist.state)

    # --- the options panel's "Show" row ------------------------------------------------------
    def _connect_band_display(self):
        combo = self.options.combo_show_bands
        combo.activated.connect(self._on_show_bands_chosen)
        for name in ("model", "bands", "color_mode", "layers", "reference_data"):
            self.state.add_callback(name, self._update_show_bands)
        self.state.add_callback("model", self._leave_colour_for_one_band_model, echo_old=True)
        self._update_show_bands()

    def _leave_colour_for_one_band_model(self, old, new):
        """From a multi-band model shown in colour to a one-band model: back to one image in
        grey with the heat map, since the new model explains one band and the composite
        (with contours chosen for it) would hide which one. A colour display the user set
        up with a one-band model before is left alone."""
        if self.state.color_mode != COLOUR_MODE or self.model_bands() or not _bands_of(old):
            return
        self.state.color_mode = ONE_BAND_MODE
        self._restyle_overlays()

    def _on_show_bands_chosen(self, index):
        choice = self.options.combo_show_bands.itemData(index)
        shown = self.show_bands_in_colour() if choice == IN_COLOUR else self.show_one_band(choice)
        if not shown:
            self._update_show_bands()

    def _update_show_bands(self, *args):
        """The "Show" row lists the colour image and each band of a multi-band model, with
        what is shown selected; it is hidden for a one-band model."""
        combo, bands = self.options.combo_show_bands, self.model_bands()
        for widget in (combo, self.options.label_show_bands):
            widget.setVisible(bool(bands))
        choices = [IN_COLOUR] + bands if bands else []
        labels = [f"{', '.join(bands)} in colour"] + [f"{band} alone" for band in bands] if bands else []
        shown = self.shown_band()
        combo.blockSignals(True)
        try:
            if [combo.itemData(i) for i in range(combo.count())] != choices:
                combo.clear()
                for label, choice in zip(labels, choices):
                    combo.addItem(label, choice)
            current = IN_COLOUR if shown == "colour" else shown
            combo.setCurrentIndex(choices.index(current) if current in choices else -1)
        finally:
            combo.blockSignals(False)

    # --- helpers ----------------------------------------------------------------------------
    def _image_layers(self):
        return [layer for layer in self.state.layers
                if isinstance(layer, ImageLayerState) and isinstance(layer.layer, BaseData)]

    def _hide_spare_layers(self, keep, components):
        """Hide the layers of the bands' datasets other than ``keep``."""
        datasets = {c.parent for c in components}
        for layer in self._image_layers():
            if layer not in keep and layer.layer in datasets:
                layer.visible = False

    def _display_components(self):
        """The components holding the model's bands, or None with the reason shown."""
        if not self.model_bands():
            self.status.set_message(f"model {self.state.model!r} takes one band: there is nothing to show in colour")
            return None
        try:
            return self._band_components(self.state.reference_data)
        except NothingToExplain as reason:
            self.status.set_message(str(reason))
            return None

    def _layers_for(self, components):
        """One image layer per component, in order: a layer already showing it, else another
        layer of its dataset not used yet, else a new layer of that dataset."""
        chosen = []
        for component in components:
            data = component.parent
            mine = [layer for layer in self._image_layers() if layer.layer is data and layer not in chosen]
            showing = [layer for layer in mine if layer.attribute is component]
            if not showing and not mine:
                self.add_data(data)  # glue's image viewer takes the same dataset again
                mine = [layer for layer in self._image_layers() if layer.layer is data and layer not in chosen]
            layer = (showing or mine)[0]
            layer.attribute = component
            chosen.append(layer)
        return chosen
