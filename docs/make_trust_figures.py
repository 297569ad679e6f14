"""Figure for docs/trust.rst: five report-part FIRST sources under every method, side by side.

    python docs/make_trust_figures.py [--model mirabest-fr] [--out docs/images/trust_methods.png]

The sources come from the report part of the dev split (never trained or tuned on):
two FR I, two FR II and a hybrid. Each map is drawn at its defaults over the source's
emission contour (sky + 3 sigma), with the on-source share in the title.
"""
import argparse
from pathlib import Path

import numpy as np

METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime")
LABELS = {"saliency": "saliency", "smoothgrad": "SmoothGrad", "integrated_gradients": "integrated gradients",
          "gradcam": "Grad-CAM", "lime": "LIME", "elime": "evolved LIME"}
#: Class codes of the five sources: FR I, FR I, FR II, FR II, hybrid (first of each in the part).
CODES = ("100", "100", "200", "200", "300")


def pick_sources(rows):
    chosen, used = [], set()
    for code in CODES:
        row = next(r for r in rows if r["class_code"] == code and r["key"] not in used)
        used.add(row["key"])
        chosen.append(row)
    return chosen


def main(argv=None):
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mirabest-fr")
    parser.add_argument("--out", default=str(Path(__file__).parent / "images" / "trust_methods.png"))
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import glue_xai as gx
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.methods.api import SIGNED_METHODS
    from glue_xai.data.mirabest import mirabest_root
    from glue_xai.data.splits import dev_split
    from glue_xai.methods.metrics_localisation import relevance_mass_inside
    from glue_xai.models.preprocess import sigma_clipped_background

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_trust import emission_mask_on_model_grid

    root = mirabest_root()
    model = gx.load_model(args.model)
    _, report = dev_split(root).catalogue_rows(root)
    rows = pick_sources(report)
    fig, axes = plt.subplots(len(rows), len(METHODS) + 1, figsize=(2.3 * (len(METHODS) + 1), 2.45 * len(rows)))
    for row_axes, row in zip(axes, rows):
        cutout = read_cutout(root / row["fits_file"])
        verdict = gx.assess(model, cutout.image, wcs=cutout.wcs)
        median, sigma = sigma_clipped_background(cutout.image)
        field = cutout.image[75:225, 75:225]
        stretch = np.arcsinh(np.clip(field - median, 0, None) / (2 * sigma))
        row_axes[0].imshow(stretch, origin="lower", cmap="gray")
        row_axes[0].set_title(f"{row['fr_class']} ({row['class_code']}), {row['las_arcsec']}\"\n"
                              f"model: {verdict.verdict} p={verdict.probabilities.max():.2f}", fontsize=8)
        for ax, method in zip(row_axes[1:], METHODS):
            e = gx.explain(model, cutout.image, method=method, wcs=cutout.wcs)
            mask = emission_mask_on_model_grid(model, cutout.image, e.placement)
            share = relevance_mass_inside(e.model_map, mask)
            shown = e.model_map
            limit = np.abs(shown).max() or 1.0
            signed = bool(e.params.get("signed", method in SIGNED_METHODS))
            ax.imshow(shown, origin="lower", cmap="RdBu_r" if signed else "inferno",
                      vmin=-limit if signed else 0, vmax=limit)
            ax.contour(field > median + 3 * sigma, levels=[0.5], colors="lime", linewidths=0.5)
            ax.set_title(f"{LABELS[method]}\non source {share:.2f}", fontsize=8)
        for ax in row_axes:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(f"{model.name}, every method at its defaults, on report-part FIRST sources "
                 "(green: emission above sky + 3 sigma)", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
