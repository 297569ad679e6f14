"""Drawing an SFNet's active features over the image on a matplotlib Axes (Qt-free).

One overlay (an ``AxesImage``) per active feature, all drawn once and shown one at a
time, so switching features is instant. A feature that pushes towards the explained
class is drawn in reds, one that pushes against it in blues.
"""
import numpy as np

__all__ = ["FeatureOverlays", "contribution_lines", "decomposition_caption"]


def contribution_lines(explanation):
    """The decomposition as text, one line per active feature, for a list widget or a caption."""
    return [f"feature {j}: {c:+.3f}  (activation {a:.3f})"
            for j, c, a in zip(explanation.features, explanation.contributions, explanation.activations)]


def decomposition_caption(explanation):
    """``output = bias + sum of contributions`` as one line."""
    return (f"{explanation.target_name}: {explanation.output:+.3f} = bias {explanation.bias:+.3f} "
            f"+ {len(explanation.features)} feature(s) {explanation.contributions.sum():+.3f}")


def display_scale(image):
    """Limits for showing a radio image: sky at the bottom, the brightest 0.5% saturated."""
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(finite, [50.0, 99.5])
    return float(low), float(high if high > low else low + 1.0)


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
        vmin, vmax = display_scale(image)
        self.image_artist = self.axes.imshow(image, origin="lower", cmap="gray", vmin=vmin, vmax=vmax,
                                             interpolation="nearest")
        for j, contribution, feature_map in zip(explanation.features, explanation.contributions, explanation.maps):
            peak = feature_map.max()
            # Below 5% of its own peak a map is transparent, so the source stays visible around it.
            shown = np.ma.masked_less_equal(feature_map, 0.05 * peak if peak > 0 else 0.0)
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
