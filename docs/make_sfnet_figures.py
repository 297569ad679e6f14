"""Figures and numbers for docs/sfnet.rst: the shipped SFNet's features beside post-hoc maps.

    python docs/make_sfnet_figures.py      # writes docs/images/sfnet_*.png

Everything is seeded; the numbers printed are the ones quoted on the page.
"""
import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import glue_xai as gx  # noqa: E402
from glue_xai.data.cutouts import read_cutout  # noqa: E402
from glue_xai.data.mirabest import CLASSES, load_mirabest_batches, mirabest_root  # noqa: E402
from glue_xai.methods.features import explain_features  # noqa: E402
from glue_xai.viewer.feature_gallery import feature_gallery  # noqa: E402
from glue_xai.viewer.feature_overlay import display_norm  # noqa: E402

IMAGES = Path(__file__).parent / "images"
FITS = mirabest_root() / "fits"
# Two FRI and two FRII sources (the first field of the file name: 1xx FRI, 2xx FRII).
SOURCES = ["100_119.617+037.787", "100_124.516+054.619", "200_123.432+026.920", "200_150.419+006.818"]


def field_of_view(model, image):
    """Slices of the input grid the model sees (its field of view), for cropping the panels."""
    y0, x0, y1, x1 = (int(round(v)) for v in model.prepare(image)[1].box)
    return slice(max(y0, 0), y1), slice(max(x0, 0), x1)


def show(ax, image, overlay=None, cmap="inferno", title=""):
    """The image, or a map with the source outlined (contours at 10% and 50% of its peak)."""
    if overlay is None:
        ax.imshow(image, origin="lower", cmap="gray", norm=display_norm(image))
    else:
        top = np.abs(overlay).max() or 1.0
        signed = cmap == "RdBu_r"
        ax.imshow(overlay, origin="lower", cmap=cmap, vmin=-top if signed else 0.0, vmax=top)
        peak = np.nanmax(image)
        ax.contour(image, levels=[0.1 * peak, 0.5 * peak], colors="lime" if signed else "cyan", linewidths=0.6)
    ax.set_title(title, fontsize=7)
    ax.set_axis_off()


def comparison_figure(sfnet, reference, cutouts):
    k = sfnet.module.k
    fig, axes = plt.subplots(len(cutouts), 3 + k, figsize=(1.9 * (3 + k), 2.0 * len(cutouts)), squeeze=False)
    for row, cutout in zip(axes, cutouts):
        fov = field_of_view(sfnet, cutout.image)
        image = cutout.image[fov]
        fe = explain_features(sfnet, cutout.image, pixel_scale_arcsec=cutout.pixel_scale_arcsec)
        lime = gx.explain(reference, cutout.image, method="lime", seed=0, wcs=cutout.wcs)
        smooth = gx.explain(reference, cutout.image, method="smoothgrad", seed=0, wcs=cutout.wcs)
        truth = CLASSES[0] if cutout.path.name.startswith("1") else CLASSES[1]
        show(row[0], image, title=f"{cutout.path.name[4:23]}\nMiraBest {truth}")
        show(row[1], image, lime.map[fov], "RdBu_r", f"CNN LIME: {lime.target_name} {lime.probability:.2f}")
        show(row[2], image, smooth.map[fov], "inferno", "CNN SmoothGrad")
        print(f"{cutout.path.name[:23]} truth {truth}: SFNet {fe.target_name} p={fe.probability:.3f} "
              f"output {fe.output:+.3f} = bias {fe.bias:+.3f} + " +
              " + ".join(f"f{j}:{c:+.3f}" for j, c in zip(fe.features, fe.contributions)) +
              f" | CNN {lime.target_name} p={lime.probability:.3f}")
        for column in range(k):
            ax = row[3 + column]
            if column < len(fe.features):
                j, c = fe.features[column], fe.contributions[column]
                show(ax, image, fe.maps[column][fov], "Reds" if c >= 0 else "Blues",
                     f"SFNet feature {j}: {c:+.2f}\n(to {fe.target_name} logit)")
            else:
                ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(IMAGES / "sfnet_features.png", dpi=90)
    plt.close(fig)


def gallery_figure(sfnet):
    data = load_mirabest_batches()
    fig = feature_gallery(sfnet, data.images, labels=[CLASSES[c] for c in data.labels], n_per_feature=6)
    fig.savefig(IMAGES / "sfnet_gallery.png", dpi=80, bbox_inches="tight")


def panel_screenshot(cutouts):
    from glue.core import Data, DataCollection
    from glue_qt.utils import get_qapp

    from glue_xai.qt.feature_panel import FeaturePanel

    app = get_qapp()
    data = [Data(flux=c.image, coords=c.wcs, label=c.path.name[:23]) for c in cutouts]
    panel = FeaturePanel(DataCollection(data))
    panel.state.data = data[-1]
    panel.feature_list.setCurrentRow(0)
    panel.resize(900, 520)
    panel.show()
    app.processEvents()
    panel.canvas.draw()
    app.processEvents()
    panel.grab().save(str(IMAGES / "sfnet_panel.png"))


def main():
    sfnet, reference = gx.load_model("mirabest-sfnet"), gx.load_model("mirabest-fr")
    info = sfnet.card.info
    print(json.dumps({"sfnet": info["evaluation"]["validation"], "reference": info["reference_model"],
                      "feature_use": info["feature_use"]}, indent=1))
    cutouts = [read_cutout(next(FITS.glob(f"{key}_*.fits"))) for key in SOURCES]
    comparison_figure(sfnet, reference, cutouts)
    gallery_figure(sfnet)
    panel_screenshot(cutouts)


if __name__ == "__main__":
    main()
