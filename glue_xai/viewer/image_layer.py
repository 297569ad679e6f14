"""The explanation layer: draws one subset's relevance map over the image (Qt-free).

The artist only draws. The viewer decides when an explanation is needed, computes it
off the GUI thread and hands it over with :meth:`XAIExplanationLayerArtist.show_explanation`;
the artist then draws it on the pixels it was computed from, and redraws when a style
setting of its :class:`~glue_xai.viewer.image_state.XAIExplanationLayerState` changes.
"""
import numpy as np
from glue.utils import defer_draw
from glue.viewers.image.layer_artist import BaseImageLayerArtist
from matplotlib import patheffects

from glue_xai.viewer.colour_display import COLOUR_MODE
from glue_xai.viewer.heatmap import heatmap_rgba, robust_peak  # noqa: F401 (also imported from here)
from glue_xai.viewer.image_state import METHOD_LABELS, XAIExplanationLayerState, is_signed

__all__ = ["XAIExplanationLayerArtist", "heatmap_rgba", "inner_edges", "outline_rgba", "robust_peak", "top_superpixels"]

STYLE_SETTINGS = ("opacity", "show_heatmap", "signed_cmap", "magnitude_cmap", "show_contours",
                  "contour_percentiles", "show_boundaries", "top_k", "show_extent", "show_legend", "visible", "zorder",
                  "color", "band", "color_mode")
# Colours that stay readable over both a diverging and a sequential heat map.
POSITIVE_OUTLINE = "gold"
NEGATIVE_OUTLINE = "cyan"
OUTLINE_SUPERSAMPLING = 2
LEGEND_ROW_HEIGHT = 0.09  # axes fraction per legend box (two lines of 8 pt text)


def top_superpixels(weights, k):
    """Indices of the ``k`` most positive and ``k`` most negative superpixels (by weight)."""
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(weights)
    positive = [int(i) for i in order[::-1][:k] if weights[i] > 0]
    negative = [int(i) for i in order[:k] if weights[i] < 0]
    return positive, negative


def inner_edges(labels, width, both_sides=True):
    """Samples less than ``width`` samples from a sample with another label.

    With ``both_sides`` each label gets its own band along the edge; otherwise only the
    label above / to the right of it does (a line of ``width`` samples).
    """
    edges = np.zeros(labels.shape, dtype=bool)
    for shift in range(1, width + 1):
        for axis in (0, 1):
            ahead = [slice(None), slice(None)]
            behind = [slice(None), slice(None)]
            ahead[axis], behind[axis] = slice(shift, None), slice(None, -shift)
            differs = labels[tuple(ahead)] != labels[tuple(behind)]
            edges[tuple(ahead)] |= differs
            if both_sides:
                edges[tuple(behind)] |= differs
    return edges


def outline_rgba(inside=None, segments=None, region_colour=(1, 1, 1, 1), boundaries=True, positive=(),
                 negative=(), max_size=1200):
    """Region outline, superpixel boundaries and top superpixels as one RGBA (uint8) image.

    ``inside`` (region mask) and ``segments`` (superpixel labels, -1 for none) share one
    (h, w) grid. The image is on a grid twice as fine (at most ``max_size`` samples
    across), so lines stay thin when zoomed in: boundaries are half a pixel wide,
    outlines a whole pixel, inside the outlined area. Finer grids cost more to draw: the
    image is resampled on every redraw of the canvas, on the GUI thread.
    """
    grid = inside if inside is not None else segments
    fine = int(np.clip(max_size // max(grid.shape), 1, OUTLINE_SUPERSAMPLING))

    def sample(array):
        return np.repeat(np.repeat(array, fine, axis=0), fine, axis=1)

    # One code per sample, turned into colours in one lookup at the end (assigning RGBA
    # tuples through boolean masks is several times slower).
    palette = np.array([(0, 0, 0, 0), (255, 255, 255, 128), _rgba255(POSITIVE_OUTLINE),
                        _rgba255(NEGATIVE_OUTLINE), _rgba255(region_colour)], dtype=np.uint8)
    codes = np.zeros((grid.shape[0] * fine, grid.shape[1] * fine), dtype=np.uint8)
    if segments is not None:
        labels = sample(segments)
        if boundaries:
            codes[inner_edges(labels, 1, both_sides=False) & (labels >= 0)] = 1
        if len(positive) or len(negative):
            thick = inner_edges(labels, 2)
            codes[thick & np.isin(labels, positive)] = 2
            codes[thick & np.isin(labels, negative)] = 3
    if inside is not None:
        mask = sample(inside)
        codes[inner_edges(mask, 2) & mask] = 4
    return palette[codes]


def _rgba255(colour):
    from matplotlib.colors import to_rgba

    return tuple(int(round(255 * c)) for c in to_rgba(colour))


class XAIExplanationLayerArtist(BaseImageLayerArtist):
    """Heat map, contours, superpixels and a legend for one subset's explanation."""

    _layer_state_cls = XAIExplanationLayerState

    def __init__(self, axes, viewer_state, layer_state=None, layer=None):
        super().__init__(axes, viewer_state, layer_state=layer_state, layer=layer)
        self.region = None
        self.explanation = None
        self.job_key = None
        self.message = ""  # why nothing is shown, or what went wrong; the viewer displays it

    # --- what the viewer hands over -----------------------------------------------------
    def show_explanation(self, region, explanation, job_key=None):
        """Draw ``explanation`` computed on ``region``'s pixels."""
        self.region, self.explanation, self.job_key = region, explanation, job_key
        self._draw()

    def clear_explanation(self):
        """Forget the shown explanation (it no longer matches the region or settings)."""
        self.region = self.explanation = self.job_key = None
        self._draw()

    def overlay_array(self):
        """The drawn relevance map on the whole current slice (NaN outside the explained box)."""
        if self.explanation is None:
            return None
        return self.region.place(self.shown_map())

    def shown_map(self):
        """The map drawn: the explanation's, or one band's part of it when the layer's *Band*
        names a band of a multi-band explanation (``extras["band_maps"]``)."""
        e = self.explanation
        names = [n.lower() for n in e.extras.get("band_names", ())]
        band = str(self.state.band or "").strip().lower()
        if not band or band not in names or "band_maps" not in e.extras or e.placement is None:
            return e.map
        return e.placement.to_input(np.asarray(e.extras["band_maps"][names.index(band)]), fill=0.0)

    # --- glue's layer artist interface --------------------------------------------------
    def _update_image(self, force=False, **kwargs):
        if self.state.layer is None:
            return
        changed = self.pop_changed_properties()
        if force or any(name in changed for name in STYLE_SETTINGS):
            self._draw()

    @defer_draw
    def update(self, *event):
        self._update_image(force=True)

    def clear(self):
        for artist in self.mpl_artists:
            try:
                artist.remove()
            except (ValueError, AttributeError, NotImplementedError):  # already removed with its axes
                pass
        self.mpl_artists = []

    def get_handle_legend(self):
        return None, None, None

    # --- drawing ------------------------------------------------------------------------
    @defer_draw
    def _draw(self):
        had_drawn = bool(self.mpl_artists)
        self.clear()
        if self.explanation is None or not self.state.visible:
            if had_drawn:  # a redraw of the whole image is costly: only when something went away
                self.redraw()
            return
        if self.state.show_heatmap:
            self._draw_heatmap()
        if self.state.show_contours:
            self._draw_contours()
        self._draw_outlines()
        if self.state.show_extent:
            self._draw_extent()
        if self.state.show_legend:
            self._draw_legend()
        for artist in self.mpl_artists:
            artist.set_zorder(self.state.zorder + artist.get_zorder() * 1e-3)
        self.redraw()

    def _box_grid(self):
        y0, y1, x0, x1 = self.region.box
        return np.arange(x0, x1), np.arange(y0, y1), (x0 - 0.5, x1 - 0.5, y0 - 0.5, y1 - 0.5)

    def _add_contour(self, values, levels, **style):
        """Contour lines of ``values`` on the box; a contour set is one artist on new matplotlib."""
        xs, ys, _ = self._box_grid()
        if values.shape[0] < 2 or values.shape[1] < 2 or np.nanmin(values) == np.nanmax(values):
            return
        self.mpl_artists.append(self.axes.contour(xs, ys, values, levels=levels, **style))

    def _draw_heatmap(self):
        method = self.explanation.method
        signed = is_signed(method, self.explanation.params)
        cmap = self.state.signed_cmap if signed else self.state.magnitude_cmap
        rgba = heatmap_rgba(self.shown_map(), signed, cmap, self.state.opacity)
        _, _, extent = self._box_grid()
        image = self.axes.imshow(rgba, extent=extent, origin="lower", interpolation="nearest", aspect="auto")
        image.set_zorder(1)
        self.mpl_artists.append(image)

    def _contour_colours(self):
        """(for the class, against it, magnitude): dark lines over a grey image; over a colour
        composite, where dark red and navy vanish into red and blue light, the outline
        colours (gold for, cyan against) with a black edge that shows on the white bulge too."""
        if getattr(self._viewer_state, "color_mode", None) == COLOUR_MODE:
            edge = [patheffects.withStroke(linewidth=2.5, foreground="black")]
            return POSITIVE_OUTLINE, NEGATIVE_OUTLINE, "white", {"linewidths": 1.2, "path_effects": edge}
        return "darkred", "navy", "white", {"linewidths": 1.0}

    def _draw_contours(self):
        relevance = self.shown_map()
        magnitude = np.abs(relevance[np.isfinite(relevance) & (relevance != 0)])
        if magnitude.size == 0:
            return
        levels = sorted(set(float(v) for v in np.percentile(magnitude, self.state.contour_levels())))
        if not levels:
            return
        positive, negative, plain, style = self._contour_colours()
        if is_signed(self.explanation.method, self.explanation.params):
            self._add_contour(relevance, levels, colors=[positive], zorder=2, **style)
            self._add_contour(-relevance, levels, colors=[negative], linestyles="dashed", zorder=2, **style)
        else:
            self._add_contour(relevance, levels, colors=[plain], zorder=2, **style)

    def salient_extent(self):
        """The shown explanation's salient extent (None when no explanation is shown or
        nothing in its map is salient enough to measure): measured by the worker when the
        line was on as the explanation was requested, else measured here once."""
        if self.explanation is None:
            return None
        extras = self.explanation.extras
        if "salient_extent" not in extras:
            from glue_xai.viewer.explanation_job import measure_salient_extent

            extras["salient_extent"] = measure_salient_extent(self.explanation, self.region.wcs)
        return extras["salient_extent"]

    def _draw_extent(self):
        """The measured extent as a line across the salient region, labelled with size and angle."""
        from glue_xai.methods.measure import extent_line

        result = self.salient_extent()
        if result is None:
            return
        (xa, ya), (xb, yb) = extent_line(result)
        y0, _, x0, _ = self.region.box
        (line,) = self.axes.plot([x0 + xa, x0 + xb], [y0 + ya, y0 + yb], color="lime", linewidth=2, zorder=4)
        label = self.axes.text(x0 + xb, y0 + yb, f" {result['extent_arcsec']:.0f}\" PA {result['pa_deg']:.0f}°",
                               color="lime", fontsize=8, zorder=4)
        self.mpl_artists += [line, label]

    def _draw_outlines(self):
        """Region outline, superpixel boundaries and top-k superpixels, as one image.

        One image rather than a contour set per outline: every redraw of the canvas runs
        on the GUI thread, and one image costs little however many outlines it holds.
        Drawn on the box grown by one pixel, so the edge of a rectangle shows too.
        """
        segments = self.explanation.segments
        inside = None if self.region.is_stack else np.pad(self.region.inside, 1)
        padded = None if segments is None else np.pad(segments, 1, constant_values=-1)
        if inside is None and padded is None:
            return
        positive = negative = ()
        if padded is not None and self.explanation.weights is not None and self.state.top_k > 0:
            positive, negative = top_superpixels(self.explanation.weights, int(self.state.top_k))
        rgba = outline_rgba(inside, padded, self.state.color, self.state.show_boundaries, positive, negative)
        y0, y1, x0, x1 = self.region.box
        image = self.axes.imshow(rgba, extent=(x0 - 1.5, x1 + 0.5, y0 - 1.5, y1 + 0.5), origin="lower",
                                 interpolation="nearest", aspect="auto")
        image.set_zorder(3)
        self.mpl_artists.append(image)

    def legend_text(self):
        """Class, probability and method, and the prediction when another class is explained."""
        e = self.explanation
        verdict = e.extras.get("assessment")
        said = e.value_text if e.regression else f"{e.predicted_name} p = {e.probabilities.max():.2f}"
        if verdict is not None and not verdict.trusted:
            # Empty sky or an unfamiliar input: say so instead of showing a confident answer.
            text = f"{self.layer.label}: {verdict.verdict} (model would say {said})\n"
        else:
            text = f"{self.layer.label}: {e.value_text}\n"
        text += METHOD_LABELS.get(e.method, e.method)
        # Grad-CAM always uses the logit; a regression model's logit is its value.
        if e.method != "gradcam" and e.params.get("output") == "logit" and not e.regression:
            text += " of the logit"
        if e.predicted_name != e.target_name:
            text += f" (model says {e.predicted_name})"
        if "band_relevance" in e.extras:  # a multi-band model: which band mattered
            text += "\nbands: " + ", ".join(f"{name} {share:.0%}" for name, share in
                                           zip(e.extras["band_names"], e.extras["band_relevance"]))
            band = str(self.state.band or "").strip()
            if band:
                known = [n.lower() for n in e.extras["band_names"]]
                text += f" (showing {band})" if band.lower() in known else f" (no band {band!r}: showing all)"
        if e.method == "features":  # the model's own decomposition: which features added how much
            shown = e.params.get("feature", 0)
            parts = [f"{'>' if rank == shown else ''}f{j} {c:+.2f}"
                     for rank, (j, c) in enumerate(zip(e.extras["features"], e.extras["contributions"]), start=1)]
            parts.append(f"bias {e.extras['bias']:+.2f}")
            # Four to a line: a k = 8 model's list would otherwise run past the viewer's edge.
            text += "".join(("\n" if i % 4 == 0 else ", ") + part for i, part in enumerate(parts))
        return text

    def _legend_row(self):
        """This layer's row among the explanation layers, so their legends do not overlap."""
        ours = [layer for layer in self._viewer_state.layers if isinstance(layer, XAIExplanationLayerState)]
        return ours.index(self.state) if self.state in ours else 0

    def _draw_legend(self):
        # In the axes' corner, not by the region: it stays in view when zooming or panning.
        label = self.axes.text(0.01, 0.99 - LEGEND_ROW_HEIGHT * self._legend_row(), self.legend_text(),
                               transform=self.axes.transAxes, ha="left", va="top", fontsize=8, color="black",
                               bbox=dict(boxstyle="round,pad=0.3", facecolor="white", alpha=0.85,
                                         edgecolor=self.state.color, linewidth=1.5))
        label.set_zorder(5)
        self.mpl_artists.append(label)
