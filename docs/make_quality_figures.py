"""Figures and numbers for docs/quality.rst: explanation quality on a real FIRST cutout.

    python docs/make_quality_figures.py      # writes docs/images/quality_*.png

Everything is seeded; the numbers printed are the ones quoted on the page.
"""
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import glue_xai as gx  # noqa: E402
from glue_xai.data.cutouts import read_cutout  # noqa: E402
from glue_xai.data.mirabest import mirabest_root  # noqa: E402
from glue_xai.methods import metrics  # noqa: E402
from glue_xai.methods.quality_plot import plot_quality_curves  # noqa: E402

IMAGES = Path(__file__).parent / "images"
CUTOUT = mirabest_root() / "fits" / "200_159.735+057.880_0.1008_0091.16.fits"
METHODS = {"lime": {}, "elime": {}, "saliency": {}}


def curves_figure(model, cutout):
    fig, axes = plt.subplots(2, len(METHODS), figsize=(4 * len(METHODS), 7.6))
    for column, (method, options) in enumerate(METHODS.items()):
        e = gx.explain(model, cutout.image, method=method, wcs=cutout.wcs, **options)
        summary = metrics.quality_summary(model, e, seeds=(0, 1, 2))
        stab = summary["stability"]
        print(f"{method:10s} {e.target_name} p={e.probability:.3f} evals={e.n_model_evals} "
              f"deletion={summary['deletion']['area']:.3f} insertion={summary['insertion']['area']:.3f} "
              f"stability={stab['mean_jaccard']:.2f} ({stab['level']})")
        ax = axes[0, column]
        ax.imshow(np.arcsinh(e.model_input[0] / 0.05), origin="lower", cmap="gray")
        shown = np.ma.masked_where(e.model_map <= 0, e.model_map)
        ax.imshow(shown, origin="lower", cmap="inferno", alpha=0.6)
        ax.set_title(f"{method}: {e.target_name} (p = {e.probability:.2f})", fontsize="small")
        ax.set_axis_off()
        plot_quality_curves(axes[1, column], summary)
    fig.tight_layout()
    fig.savefig(IMAGES / "quality_curves.png", dpi=90)
    plt.close(fig)


def randomisation_figure(model, cutout):
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for method, options in (("saliency", {}), ("smoothgrad", {}), ("integrated_gradients", {}),
                            ("gradcam", {}), ("lime", {"n_samples": 300})):
        e = gx.explain(model, cutout.image, method=method, wcs=cutout.wcs, **options)
        result = metrics.randomisation_test(model, e)
        rho = result["correlations"]
        print(f"{method:22s} control {result['control']:.2f} rho per layer {np.round(rho, 2).tolist()}")
        ax.plot(np.arange(len(rho) + 1), np.r_[result["control"], rho], marker="o", label=method)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xticks(np.arange(len(rho) + 1), ["none"] + result["layers"], rotation=40, ha="right", fontsize="small")
    ax.set_xlabel("randomised down to layer (cascading, from the output)")
    ax.set_ylabel("Spearman rank correlation\nwith the original map")
    ax.legend(fontsize="small", frameon=False)
    fig.tight_layout()
    fig.savefig(IMAGES / "quality_randomisation.png", dpi=90)
    plt.close(fig)


def main():
    model = gx.load_model("mirabest-fr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cutout = read_cutout(CUTOUT)
    IMAGES.mkdir(exist_ok=True)
    curves_figure(model, cutout)
    randomisation_figure(model, cutout)


if __name__ == "__main__":
    main()
