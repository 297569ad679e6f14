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
from matplotlib.colors import Normalize

from glue_xai.viewer.image_state import METHOD_LABELS, XAIExplanationLayerState, is_signed

__all__ = ["XAIExplanationLayerArtist", "heatmap_rgba", "top_superpixels"]

STYLE_SETTINGS = ("opacity", "show_heatmap", "signed_cmap", "magnitude_cmap", "show_contours",
                  "contour_percentiles", "show_boundaries", "top_k", "show_legend", "visible", "zorder", "color")
# Colours that stay readable over both a diverging and a sequential heat map.
POSITIVE_OUTLINE = "gold"
NEGATIVE_OUTLINE = "cyan"


def heatmap_rgba(relevance, signed, cmap_name, opacity):
    """RGBA image of a relevance map: colour from the map, opacity growing with |relevance|.

    Near-zero relevance stays transparent so the source under it remains visible;
    signed maps are scaled symmetrically about 0. NaN pixels are fully transparent.
    """
    finite = np.isfinite(relevance)
    values = np.where(finite, relevance, 0.0)
    peak = float(np.abs(values).max()) or 1.0
    norm = Normalize(-peak, peak) if signed else Normalize(0.0, peak)
    rgba = colormaps[cmap_name](norm(values))
    # sqrt: moderate relevance is still clearly coloured, faint relevance fades out.
    rgba[..., 3] = opacity * np.sqrt(np.clip(np.abs(values) / peak, 0, 1)) * finite
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
            edges = find_boundaries(segments, mode="inner") & (segments >= 0)
            rgba = np.zeros(segments.shape + (4,))
            rgba[edges] = (1.0, 1.0, 1.0, 0.45)
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
        text = f"{e.target_name}  p = {e.probability:.2f}\n{METHOD_LABELS.get(e.method, e.method)}"
        if e.predicted_name != e.target_name:
            text += f" (model says {e.predicted_name})"
        return text

    def _draw_legend(self):
        y0, y1, x0, x1 = self.region.box
        label = self.axes.text(x0 - 0.5, y1 - 0.5, self.legend_text(), ha="left", va="top", fontsize=8,
                               color="black", clip_on=True,
                               bbox=dict(boxstyle="round,pad=0.25", facecolor="white", alpha=0.8,
                                         edgecolor=self.state.color))
        label.set_zorder(5)
        self.mpl_artists.append(label)
