"""Figures and numbers for docs/quality.rst: explanation quality on real FIRST cutouts.

    python docs/make_quality_figures.py                 # writes docs/images/quality_*.png
    python docs/make_quality_figures.py --randomisation-json rand.json
        # draw the randomisation figure from `benchmarks/bench_quality.py --json rand.json`
        # instead of recomputing the cascade (about 10 minutes on two cores)

The default model and every method at its defaults. The source of the curves figure
comes from the report part of the dev split (never trained or tuned on), picked by a
rule fixed before looking at any map: the confident FR II (class code 200) whose
largest angular size is closest to 90 arcsec, a well-resolved double. The randomisation
figure is the median over the first 10 report-part cutouts, as in bench_quality.
Everything is seeded; the numbers printed are the ones quoted on the page.
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import glue_xai as gx  # noqa: E402
from glue_xai.data.cutouts import read_cutout  # noqa: E402
from glue_xai.data.mirabest import mirabest_root  # noqa: E402
from glue_xai.data.splits import dev_split  # noqa: E402
from glue_xai.methods import metrics  # noqa: E402
from glue_xai.methods.api import SIGNED_METHODS  # noqa: E402
from glue_xai.methods.quality_plot import plot_quality_curves  # noqa: E402

IMAGES = Path(__file__).parent / "images"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
CURVE_METHODS = ("lime", "elime", "saliency")
RANDOMISED_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime")
LABELS = {"saliency": "saliency", "smoothgrad": "SmoothGrad", "integrated_gradients": "integrated gradients",
          "gradcam": "Grad-CAM", "lime": "LIME", "elime": "evolved LIME"}
TARGET_LAS_ARCSEC = 90.0


def pick_source():
    """The report part's confident FR II with the largest angular size closest to 90"."""
    root = mirabest_root()
    _, report = dev_split(root).catalogue_rows(root)
    doubles = [r for r in report if r["class_code"] == "200"]
    row = min(doubles, key=lambda r: abs(float(r["las_arcsec"]) - TARGET_LAS_ARCSEC))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return row, read_cutout(root / row["fits_file"])


def curves_figure(model, row, cutout):
    from glue_xai.viewer.heatmap import robust_peak

    fig, axes = plt.subplots(2, len(CURVE_METHODS) + 1, figsize=(3.6 * (len(CURVE_METHODS) + 1), 7.2))
    axes[1, 0].set_axis_off()
    for column, method in enumerate(CURVE_METHODS, start=1):
        e = gx.explain(model, cutout.image, method=method, wcs=cutout.wcs, seed=0)
        summary = metrics.quality_summary(model, e, seeds=(0, 1, 2))
        stab = summary["stability"]
        extra = f" superpixels={len(e.weights)}" if e.weights is not None else ""
        print(f"{method:10s} {e.target_name} p={e.probability:.3f} evals={e.n_model_evals}{extra} "
              f"deletion={summary['deletion']['area']:.3f} insertion={summary['insertion']['area']:.3f} "
              f"stability={stab['mean_jaccard']:.2f} ({stab['level']}) changed pixels={summary['deletion']['n_pixels']}")
        ax = axes[0, column]
        box = source_box(model, cutout, e)
        signed = bool(e.params.get("signed", method in SIGNED_METHODS))
        if column == 1:  # the model's input, as the wrapper made it from the cutout
            axes[0, 0].imshow(np.arcsinh(e.model_input[0][box] / 0.02), origin="lower", cmap="gray")
            axes[0, 0].set_title(f"model input (arcsinh), label FR II\nmodel: {e.target_name} p = {e.probability:.2f}",
                                 fontsize="small")
            axes[0, 0].set_axis_off()
        # The viewer's colour scale: a robust peak, not the few most extreme pixels.
        limit = robust_peak(e.model_map[box])
        ax.imshow(e.model_map[box], origin="lower", cmap="RdBu_r" if signed else "inferno",
                  vmin=-limit if signed else 0, vmax=limit)
        ax.contour(e.model_input[0][box] > 0, levels=[0.5], colors="lime", linewidths=0.7)
        if e.model_segments is not None:
            ax.contour(e.model_segments[box], levels=np.arange(e.model_segments.max()) + 0.5, colors="0.4",
                       linewidths=0.4)
        ax.set_title(f"{LABELS[method]} ({'red for, blue against' if signed else 'elite frequency'})",
                     fontsize="small")
        ax.set_axis_off()
        plot_quality_curves(axes[1, column], summary)
    fig.suptitle(f"{row['fits_file'].rsplit('/', 1)[-1]} (report part, FR II, {row['las_arcsec']}\")",
                 fontsize="small")
    fig.tight_layout()
    fig.savefig(IMAGES / "quality_curves.png", dpi=90)
    plt.close(fig)


def source_box(model, cutout, e, margin=8):
    """A square slice of the model grid around the emission (sky + 3 sigma, grown by a
    beam; islands of fewer than 60 pixels, single noise peaks, left out)."""
    from scipy import ndimage

    sys.path.insert(0, str(BENCHMARKS))
    from bench_trust import emission_mask_on_model_grid

    labels, _ = ndimage.label(emission_mask_on_model_grid(model, cutout.image, e.placement))
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    ys, xs = np.nonzero(sizes[labels] >= 60)
    half = int(max(np.ptp(ys), np.ptp(xs))) // 2 + margin
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    h, w = e.model_map.shape
    y0, x0 = min(max(cy - half, 0), h - 2 * half), min(max(cx - half, 0), w - 2 * half)
    return slice(max(y0, 0), y0 + 2 * half), slice(max(x0, 0), x0 + 2 * half)


def cascade_results(path):
    """The randomisation cascade over the first 10 report cutouts: from a bench_quality
    JSON file, or computed here."""
    if path:
        return json.loads(Path(path).read_text())["randomisation"]
    sys.path.insert(0, str(BENCHMARKS))
    from bench_quality import randomisation_cascade
    from bench_trust import load_part

    _, _, _, sources = load_part("report")
    model = gx.load_model("mirabest-fr")
    return randomisation_cascade(model, sources[:10], RANDOMISED_METHODS, print)


def randomisation_figure(results):
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.2), sharey=True)
    for ax, region in zip(axes, ("all pixels", "on the emission")):
        for method in RANDOMISED_METHODS:
            rho = np.asarray(results[method][region], dtype=np.float64)
            layers = results[method]["layers"]
            median = np.nanmedian(rho, axis=0)
            low, high = np.nanpercentile(rho, [25, 75], axis=0)
            steps = np.arange(len(layers))
            line, = ax.plot(steps, median, marker="o", ms=3, label=LABELS[method])
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.12, lw=0)
            print(f"{method:22s} {region:16s} median per layer {np.round(median, 2).tolist()}")
        ax.axhline(0, color="0.6", lw=0.8)
        for level in (-0.5, 0.5):
            ax.axhline(level, color="0.6", lw=0.6, ls=":")
        ax.set_xticks(steps, layers, rotation=40, ha="right", fontsize="small")
        ax.set_xlabel("randomised down to layer (cascading, from the output)")
        ax.set_title(f"{region} (median and quartiles over {rho.shape[0]} report cutouts)", fontsize="small")
    axes[0].set_ylabel("Spearman rank correlation\nwith the original map")
    axes[1].legend(fontsize="small", frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(IMAGES / "quality_randomisation.png", dpi=90)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--randomisation-json", default=None)
    parser.add_argument("--skip", nargs="*", default=(), choices=("curves", "randomisation"))
    args = parser.parse_args(argv)
    IMAGES.mkdir(exist_ok=True)
    if "curves" not in args.skip:
        model = gx.load_model("mirabest-fr")
        row, cutout = pick_source()
        print(f"source: {row['fits_file']} class {row['class_code']} LAS {row['las_arcsec']}\"")
        curves_figure(model, row, cutout)
    if "randomisation" not in args.skip:
        randomisation_figure(cascade_results(args.randomisation_json))


if __name__ == "__main__":
    main()
