"""Drawing an SFNet's active features over the image on a matplotlib Axes (Qt-free).

One overlay (an ``AxesImage``) per active feature, all drawn once and shown one at a
time, so switching features is instant. A feature that pushes towards the explained
class is drawn in reds, one that pushes against it in blues.
"""
import numpy as np

__all__ = ["FeatureOverlays", "contribution_lines", "decomposition_caption", "display_norm"]

#: Fraction of a feature map's peak below which its overlay is transparent.
OVERLAY_THRESHOLD = 0.3


def contribution_lines(explanation):
    """The decomposition as text, one line per active feature, for a list widget or a caption."""
    return [f"feature {j}: {c:+.3f}  (activation {a:.3f})"
            for j, c, a in zip(explanation.features, explanation.contributions, explanation.activations)]


def decomposition_caption(explanation):
    """``output = bias + sum of contributions`` as one line."""
    return (f"{explanation.target_name}: {explanation.output:+.3f} = bias {explanation.bias:+.3f} "
            f"+ {len(explanation.features)} feature(s) {explanation.contributions.sum():+.3f}")


def display_norm(image):
    """A square-root stretch for a radio image: the sky median black, the peak white.

    Radio cutouts are mostly noise around a compact source; a square root keeps faint
    lobes visible without lighting up the noise.
    """
    from matplotlib.colors import PowerNorm

    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return PowerNorm(0.5, 0.0, 1.0, clip=True)
    low, high = float(np.median(finite)), float(finite.max())
    return PowerNorm(0.5, low, high if high > low else low + 1.0, clip=True)


class FeatureOverlays:
    """The image and one overlay per active feature on ``axes``; ``artists`` maps feature -> overlay."""

    def __init__(self, axes):
        self.axes = axes
        self.image_artist = None
        self.artists = {}

    def clear(self):
        for artist in [self.image_artist, *self.artists.values()]:
            if artist is not None:
                artist.remove()
        self.image_artist, self.artists = None, {}

    def draw(self, image, explanation, feature=None, opacity=0.6):
        """Draw ``image`` with an overlay per feature of ``explanation``; show ``feature``'s."""
        self.clear()
        self.image_artist = self.axes.imshow(image, origin="lower", cmap="gray", norm=display_norm(image),
                                             interpolation="nearest")
        for j, contribution, feature_map in zip(explanation.features, explanation.contributions, explanation.maps):
            peak = feature_map.max()
            # Below 30% of its own peak a map is transparent: the trunk's grid is coarse (one
            # cell per about 17 model pixels), so a low threshold would tint the whole field of view.
            shown = np.ma.masked_less_equal(feature_map, OVERLAY_THRESHOLD * peak if peak > 0 else 0.0)
            self.artists[int(j)] = self.axes.imshow(
                shown, origin="lower", cmap="Reds" if contribution >= 0 else "Blues", vmin=0.0,
                vmax=peak if peak > 0 else 1.0, alpha=opacity, interpolation="bilinear", visible=False)
        self.select(feature, opacity)

    def select(self, feature, opacity=0.6):
        """Show only ``feature``'s overlay (None: none)."""
        for j, artist in self.artists.items():
            artist.set_visible(j == feature)
            artist.set_alpha(opacity)

    def visible_features(self):
        return [j for j, artist in self.artists.items() if artist.get_visible()]
