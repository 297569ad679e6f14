"""A gallery of the sources that activate each SFNet feature most (Qt-free, matplotlib).

How the Sparse Feature Network paper reads its features: look at the images a feature
likes best, with where in them it fires, and name what they share.
"""
import numpy as np

from glue_xai.methods.features import explain_features, feature_activations
from glue_xai.viewer.feature_overlay import display_norm


def top_activating(activations, n_per_feature=5, features=None):
    """For each feature (default: every one active at least once, most often active first),
    the indices of the ``n_per_feature`` images where it is strongest (only images where it is active)."""
    active = activations != 0
    if features is None:
        counts = active.sum(axis=0)
        features = [int(j) for j in np.argsort(-counts, kind="stable") if counts[j] > 0]
    return {j: [int(i) for i in np.argsort(-activations[:, j], kind="stable")[:n_per_feature] if active[i, j]]
            for j in features}


def feature_gallery(model, images, labels=None, n_per_feature=5, features=None, pixel_scale_arcsec=None,
                    figure=None):
    """One row per feature: its top-activating images with the feature's map as contours.

    ``images`` in their own pixels (as for ``predict_proba``); ``labels``: a short text per
    image (e.g. its class) shown in the corner. Returns the matplotlib Figure.
    """
    from matplotlib.figure import Figure

    activations = feature_activations(model, images, pixel_scale_arcsec)
    rows = top_activating(activations, n_per_feature, features)
    figure = figure or Figure(figsize=(1.6 * n_per_feature + 1.2, 1.6 * max(len(rows), 1)))
    axes = figure.subplots(max(len(rows), 1), n_per_feature, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for row, (j, best) in zip(axes, rows.items()):
        row[0].text(-0.08, 0.5, f"feature {j}\n{int((activations[:, j] != 0).sum())} images", rotation=90,
                    ha="right", va="center", transform=row[0].transAxes, fontsize=8)
        for ax, i in zip(row, best):
            image = np.asarray(images[i], dtype=np.float64)
            # A blank image can top a feature too (e.g. one that fires on empty sky): show it.
            feature_map = explain_features(model, image, pixel_scale_arcsec=pixel_scale_arcsec,
                                           allow_constant=True).map_of(j)
            ax.imshow(image, origin="lower", cmap="gray", norm=display_norm(image))
            if feature_map.max() > 0:
                ax.contour(feature_map, levels=feature_map.max() * np.array([0.3, 0.6, 0.9]), colors="orange",
                           linewidths=0.7, origin="lower")
            caption = f"{activations[i, j]:.2f}" + (f" {labels[i]}" if labels is not None else "")
            ax.text(0.03, 0.97, caption, color="white", fontsize=7, va="top", transform=ax.transAxes)
    return figure
