"""Drawing a :class:`~glue_xai.methods.compare.MethodComparison` as one figure (no Qt, no pyplot).

Small multiples: every method's map over the model's input (grey, the viewer's radio
stretch), north up (origin lower, as glue and DS9 show the cutout), all panels cut to
the same box around the source, at the same stretch: each map is divided by its own
robust peak (methods have different units: gradients, probability changes, Shapley
values), so a colour says "this fraction of the map's strongest relevance" in every
panel, red for evidence for the class and blue against. Under each map: its on-source
share, deletion area, randomisation correlation and time, in red when a check of
docs/trust.rst fails. The last panel is the rank agreement between the methods.
"""
import numpy as np

from glue_xai.viewer.heatmap import heatmap_rgba, robust_peak
from glue_xai.viewer.radio_display import radio_display_limits

MAP_CMAP = "RdBu_r"
AGREEMENT_CMAP = "PuOr_r"
OVERLAY_OPACITY = 0.9
#: Pixels padded around the source's box (a FIRST beam is 3 model pixels).
BOX_PADDING = 6
MIN_BOX = 32
#: Numbers that fail the checks of docs/trust.rst are written in this colour.
WARN_COLOUR = "#b03a2e"
GOOD_COLOUR = "#1b2631"
#: The same thresholds the report part is judged by (docs/trust.rst).
ON_SOURCE_MIN = 0.5
RANDOMISATION_MAX = 0.5

LABELS = {"saliency": "saliency", "smoothgrad": "SmoothGrad", "integrated_gradients": "integrated gradients",
          "gradcam": "Grad-CAM", "lime": "LIME", "elime": "evolved LIME", "occlusion": "occlusion", "rise": "RISE",
          "shapley": "Shapley"}


#: Methods that hide parts of the image and watch the score.
PERTURBATION_METHODS = ("lime", "elime", "occlusion", "rise", "shapley")
#: Said under the figure when one of them fails the randomisation check: a network with
#: random weights also answers to how much emission is hidden, so its map ranks like the
#: flux, and so does the trained map of a model that uses the bright parts (docs/trust.rst
#: measures it: with the hidden flux held fixed the correlation falls to about 0.25-0.3).
PERTURBATION_NOTE = ("perturbation maps follow the flux a region hides even with random weights:\n"
                     "a high random-network ρ there partly means the map follows brightness (docs: trust)")


def method_label(method):
    return LABELS.get(method, method.replace("_", " "))


def quality_lines(quality):
    """The two lines of numbers under a map, and whether each check passed."""
    on_source, deletion = quality["on_source_share"], quality["deletion_area"]
    rho, seconds = quality["randomisation"], quality["seconds"]
    line1 = f"on source {_fmt(on_source)}   deletion {_fmt(deletion)}"
    line2 = f"random-net ρ {_fmt(rho)}   {seconds:.2g} s"
    ok = (not np.isfinite(on_source) or on_source >= ON_SOURCE_MIN) and (not np.isfinite(rho) or rho <= RANDOMISATION_MAX)
    return line1, line2, ok


def _fmt(value):
    return f"{value:.2f}" if np.isfinite(value) else "–"


def plot_comparison(comparison, figure=None, ncols=None, title=None):
    """Draw ``comparison`` into a matplotlib ``Figure`` (a new one when None); returns it.

    Save it with ``figure.savefig("compare.png", dpi=120)``.
    """
    from matplotlib.figure import Figure

    methods = comparison.methods
    panels = len(methods) + 1
    ncols = ncols or min(5, panels)
    nrows = int(np.ceil(panels / ncols))
    if figure is None:
        figure = Figure(figsize=(2.6 * ncols, 3.0 * nrows + 0.4))
    figure.clear()
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    sky = _sky(comparison)
    box = source_box(comparison)
    for ax, method in zip(axes, methods):
        _draw_map(ax, comparison, method, sky, box)
    _draw_agreement(axes[len(methods)], comparison)
    for ax in axes[panels:]:
        ax.set_visible(False)
    if title is None:
        e = next(iter(comparison.explanations.values()), None)
        title = f"every method explains {comparison.target_name}" + (
            f" (p = {e.probability:.2f}, model {e.model_name})" if e is not None else "")
    if comparison.failed:
        title += "\nnot shown: " + "; ".join(f"{m}: {why}" for m, why in comparison.failed.items())
    title += (f"\nred numbers fail a check: on-source share < {ON_SOURCE_MIN:g} or random-network ρ > "
              f"{RANDOMISATION_MAX:g}")
    if any(method in PERTURBATION_METHODS and comparison.quality[method]["randomisation"] > RANDOMISATION_MAX
           for method in methods):
        title += "\n" + PERTURBATION_NOTE
    figure.suptitle(title, fontsize="medium")
    # Room for every title line (about 0.2 inch each), below the suptitle's own 2% margin
    # and above the panels' titles (0.25 inch).
    top = 0.98 - (0.2 * (title.count("\n") + 1) + 0.25) / figure.get_figheight()
    figure.subplots_adjust(left=0.02, right=0.94, top=top, bottom=0.2 if nrows == 1 else 0.1, wspace=0.12,
                           hspace=0.42)
    return figure


def _sky(comparison):
    e = next(iter(comparison.explanations.values()), None)
    if e is None or e.model_input is None:
        return None
    x = np.asarray(e.model_input, dtype=float)
    return x if x.ndim == 2 else x.reshape(-1, *x.shape[-2:]).mean(axis=0)


def source_box(comparison):
    """``(y0, y1, x0, x1)``, the same square for every panel: the emission's connected
    regions near the centre (the source the model was shown, not noise peaks), padded by
    :data:`BOX_PADDING`, at least :data:`MIN_BOX` pixels wide. Relevance outside the box
    is not drawn; the on-source share under each map says how much of it there is."""
    from scipy import ndimage

    emission = comparison.emission
    shape = emission.shape
    if not emission.any():
        return 0, shape[0], 0, shape[1]
    labels, n = ndimage.label(emission)
    centre = np.array(shape) / 2
    index = range(1, n + 1)
    centres = ndimage.center_of_mass(emission, labels, index)
    distance = np.array([np.hypot(*(np.array(c) - centre)) for c in centres])
    sky = _sky(comparison)
    # A component's weight: its flux above the sky (its area when no input is kept). The
    # source is the brightest near the centre and whatever is a tenth as bright near it;
    # faint noise peaks near the centre do not widen the box.
    flux = (np.asarray(ndimage.sum(np.clip(sky - np.median(sky), 0, None), labels, index)) if sky is not None
            and sky.shape == shape else np.asarray(ndimage.sum(emission, labels, index), dtype=float))
    near = distance < shape[0] / 4
    if not near.any():
        near = distance == distance.min()
    brightest = flux[near].max()
    near = [k + 1 for k in range(n) if near[k] and flux[k] >= 0.1 * brightest]
    rows, cols = np.nonzero(np.isin(labels, near))
    half = max(np.ptp(rows) / 2 + BOX_PADDING, np.ptp(cols) / 2 + BOX_PADDING, MIN_BOX / 2)
    cy, cx = (rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2
    y0, x0 = int(max(0, np.floor(cy - half))), int(max(0, np.floor(cx - half)))
    return y0, int(min(shape[0], np.ceil(cy + half) + 1)), x0, int(min(shape[1], np.ceil(cx + half) + 1))


def _draw_map(ax, comparison, method, sky, box):
    y0, y1, x0, x1 = box
    e = comparison.explanations[method]
    values = np.asarray(e.model_map, dtype=float)[y0:y1, x0:x1]
    extent = (x0 - 0.5, x1 - 0.5, y0 - 0.5, y1 - 0.5)
    if sky is not None:
        cut = sky[y0:y1, x0:x1]
        limits = radio_display_limits(sky) or (np.nanmin(cut), np.nanmax(cut))
        shown = np.sqrt(np.clip((cut - limits[0]) / (limits[1] - limits[0] or 1), 0, 1))
        ax.imshow(shown, origin="lower", cmap="gray", vmin=0, vmax=1, extent=extent, interpolation="nearest")
    # Every map through the same signed colour scale: a magnitude map is simply all red.
    ax.imshow(heatmap_rgba(values, True, MAP_CMAP, OVERLAY_OPACITY), origin="lower", extent=extent,
              interpolation="nearest")
    line1, line2, ok = quality_lines(comparison.quality[method])
    ax.set_title(method_label(method), fontsize="small")
    ax.text(0.5, -0.03, f"{line1}\n{line2}", transform=ax.transAxes, ha="center", va="top", fontsize=7,
            color=GOOD_COLOUR if ok else WARN_COLOUR)
    ax.set_xticks([])
    ax.set_yticks([])


def _draw_agreement(ax, comparison):
    methods = comparison.methods
    matrix = comparison.agreement
    off_diagonal = np.where(np.eye(len(methods), dtype=bool), np.nan, matrix)
    ax.imshow(off_diagonal, cmap=AGREEMENT_CMAP, vmin=-1, vmax=1, interpolation="nearest")
    labels = [method_label(m).replace("integrated gradients", "int. gradients") for m in methods]
    ax.set_xticks(range(len(methods)))
    ax.set_yticks(range(len(methods)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=6)
    ax.set_yticklabels(labels, fontsize=6)
    ax.yaxis.tick_right()
    if len(methods) <= 10:
        for i in range(len(methods)):
            for j in range(len(methods)):
                if np.isfinite(matrix[i, j]) and i != j:
                    ax.text(j, i, f"{matrix[i, j]:.1f}", ha="center", va="center", fontsize=6)
    ax.set_title("agreement (Spearman ρ on the source)", fontsize="small")
