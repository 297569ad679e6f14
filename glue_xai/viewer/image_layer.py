"""The explanation layer: draws one subset's relevance map over the image (Qt-free).

The artist only draws. The viewer decides when an explanation is needed, computes it
off the GUI thread and hands it over with :meth:`XAIExplanationLayerArtist.show_explanation`;
the artist then draws it on the pixels it was computed from, and redraws when a style
setting of its :class:`~glue_xai.viewer.image_state.XAIExplanationLayerState` changes.
"""
import numpy as np
from glue.utils import defer_draw
from glue.viewers.image.layer_artist import BaseImageLayerArtist
from matplotlib import colormaps

from glue_xai.viewer.image_state import METHOD_LABELS, XAIExplanationLayerState, is_signed

__all__ = ["XAIExplanationLayerArtist", "heatmap_rgba", "robust_peak", "top_superpixels"]

STYLE_SETTINGS = ("opacity", "show_heatmap", "signed_cmap", "magnitude_cmap", "show_contours",
                  "contour_percentiles", "show_boundaries", "top_k", "show_legend", "visible", "zorder", "color")
# Colours that stay readable over both a diverging and a sequential heat map.
POSITIVE_OUTLINE = "gold"
NEGATIVE_OUTLINE = "cyan"
BOUNDARY_SUPERSAMPLING = 4
SIGNED_COLOUR_START = 1 / 3
LEGEND_ROW_HEIGHT = 0.09  # axes fraction per legend box (two lines of 8 pt text)


def robust_peak(values, percentile=99.5):
    """The colour scale's end: a high percentile of |relevance| over the pixels that have any.

    Not the maximum: gradient maps (integrated gradients, saliency) have a few extreme
    pixels, and scaling to them would leave the rest of the map invisible.
    """
    magnitude = np.abs(values[np.isfinite(values) & (values != 0)])
    if magnitude.size == 0:
        return 1.0
    return float(np.percentile(magnitude, percentile)) or float(magnitude.max())


def heatmap_rgba(relevance, signed, cmap_name, opacity):
    """RGBA image of a relevance map: colour from the map, opacity growing with |relevance|.

    Near-zero relevance stays transparent so the source under it remains visible;
    signed maps are scaled symmetrically about 0, to :func:`robust_peak` (larger values
    saturate). NaN pixels are fully transparent.
    """
    finite = np.isfinite(relevance)
    values = np.where(finite, relevance, 0.0)
    peak = robust_peak(values)
    strength = np.clip(np.abs(values) / peak, 0, 1)
    if signed:
        # Diverging maps are white in the middle: faint relevance would be a white haze,
        # invisible over a bright source. Its colour starts a third of the way out instead,
        # so the sign always shows, and the opacity says how strong it is.
        position = 0.5 + 0.5 * np.sign(values) * (SIGNED_COLOUR_START + (1 - SIGNED_COLOUR_START) * strength)
    else:
        position = strength
    rgba = colormaps[cmap_name](position)
    # sqrt: moderate relevance is still clearly coloured, faint relevance fades out.
    rgba[..., 3] = opacity * np.sqrt(strength) * finite
    return rgba


def top_superpixels(weights, k):
    """Indices of the ``k`` most positive and ``k`` most negative superpixels (by weight)."""
    weights = np.asarray(weights, dtype=float)
    order = np.argsort(weights)
    positive = [int(i) for i in order[::-1][:k] if weights[i] > 0]
    negative = [int(i) for i in order[:k] if weights[i] < 0]
    return positive, negative


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
        return self.region.place(self.explanation.map)

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
        self.clear()
        if self.explanation is not None and self.state.visible:
            self._draw_region_outline()
            if self.state.show_heatmap:
                self._draw_heatmap()
            if self.state.show_contours:
                self._draw_contours()
            if self.explanation.segments is not None:
                self._draw_superpixels()
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

    def _draw_region_outline(self):
        if self.region.is_stack:
            return
        # A one-pixel empty border, so a region filling its whole box (a rectangle) is outlined too.
        inside = np.pad(self.region.inside.astype(float), 1)
        y0, y1, x0, x1 = self.region.box
        self.mpl_artists.append(self.axes.contour(np.arange(x0 - 1, x1 + 1), np.arange(y0 - 1, y1 + 1), inside,
                                                  levels=[0.5], colors=[self.state.color], linewidths=1.2))
        self.mpl_artists[-1].set_zorder(4)

    def _draw_heatmap(self):
        method = self.explanation.method
        cmap = self.state.signed_cmap if is_signed(method) else self.state.magnitude_cmap
        rgba = heatmap_rgba(self.explanation.map, is_signed(method), cmap, self.state.opacity)
        _, _, extent = self._box_grid()
        image = self.axes.imshow(rgba, extent=extent, origin="lower", interpolation="nearest", aspect="auto")
        image.set_zorder(1)
        self.mpl_artists.append(image)

    def _draw_contours(self):
        relevance = self.explanation.map
        magnitude = np.abs(relevance[np.isfinite(relevance) & (relevance != 0)])
        if magnitude.size == 0:
            return
        levels = sorted(set(float(v) for v in np.percentile(magnitude, self.state.contour_levels())))
        if not levels:
            return
        if is_signed(self.explanation.method):
            self._add_contour(relevance, levels, colors=["darkred"], linewidths=1.0, zorder=2)
            self._add_contour(-relevance, levels, colors=["navy"], linewidths=1.0, linestyles="dashed", zorder=2)
        else:
            self._add_contour(relevance, levels, colors=["white"], linewidths=1.0, zorder=2)

    def _draw_superpixels(self):
        from skimage.segmentation import find_boundaries

        segments = self.explanation.segments
        _, _, extent = self._box_grid()
        if self.state.show_boundaries:
            # Boundaries found on a 4x finer grid are a quarter of a pixel wide: thin lines
            # that leave the image between them visible even when zoomed in.
            fine = np.repeat(np.repeat(segments, BOUNDARY_SUPERSAMPLING, axis=0), BOUNDARY_SUPERSAMPLING, axis=1)
            edges = find_boundaries(fine, mode="inner") & (fine >= 0)
            rgba = np.zeros(fine.shape + (4,))
            rgba[edges] = (1.0, 1.0, 1.0, 0.5)
            image = self.axes.imshow(rgba, extent=extent, origin="lower", interpolation="nearest", aspect="auto")
            image.set_zorder(2)
            self.mpl_artists.append(image)
        if self.explanation.weights is not None and self.state.top_k > 0:
            positive, negative = top_superpixels(self.explanation.weights, int(self.state.top_k))
            for labels, colour, style in ((positive, POSITIVE_OUTLINE, "solid"), (negative, NEGATIVE_OUTLINE, "dashed")):
                for label in labels:
                    self._add_contour((segments == label).astype(float), [0.5], colors=[colour],
                                      linewidths=1.6, linestyles=style, zorder=3)

    def legend_text(self):
        """Class, probability and method, and the prediction when another class is explained."""
        e = self.explanation
        text = f"{self.layer.label}: {e.target_name}  p = {e.probability:.2f}\n{METHOD_LABELS.get(e.method, e.method)}"
        if e.predicted_name != e.target_name:
            text += f" (model says {e.predicted_name})"
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
