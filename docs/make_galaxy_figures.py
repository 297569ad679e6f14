"""Figures of docs/galaxies.rst: simulated galaxies with their SmoothGrad maps, the
bar-length scatter plots of benchmarks/bench_bar_length.py and the SFNet's B/T.

    python benchmarks/bench_bar_length.py --data /tmp/galaxies.fits --save /tmp/bar.npz --json /tmp/bar.json
    python docs/make_galaxy_figures.py --data /tmp/galaxies.fits --bench /tmp/bar.npz --bench-json /tmp/bar.json
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import glue_xai as gx  # noqa: E402
from glue_xai.data.galaxies import PIXEL_SCALE_ARCSEC, rgb, split_parts  # noqa: E402
from glue_xai.models.train_galaxies import galaxy_dataset, pearson_r  # noqa: E402

OUT = Path(__file__).parent / "images"


def bar_line(axis, row, colour="cyan"):
    """The true bar: a line of the stated half-length at the stated PA, on the image."""
    half = row["bar_length_arcsec"] / PIXEL_SCALE_ARCSEC
    theta = np.radians(row["bar_pa_deg"])
    dx, dy = -np.sin(theta) * half, np.cos(theta) * half
    cx, cy = 31.5 + row["x_offset_pix"], 31.5 + row["y_offset_pix"]
    axis.plot([cx - dx, cx + dx], [cy - dy, cy + dy], color=colour, lw=1.0, ls="--")


def gallery(images, truth, path, n_barred=4, n_unbarred=2):
    model = gx.load_model("galaxy-bars", device="cpu")
    report = split_parts(len(truth))["report"]
    barred = [i for i in report if truth["barred"][i] and truth["bar_length_arcsec"][i] > 2.5][:n_barred]
    unbarred = [i for i in report if not truth["barred"][i]][:n_unbarred]
    chosen = barred + unbarred
    fig, axes = plt.subplots(2, len(chosen), figsize=(2.2 * len(chosen), 4.7))
    for k, i in enumerate(chosen):
        row = truth[i]
        e = gx.explain(model, images[i], method="smoothgrad", target="barred", seed=0)
        axes[0, k].imshow(rgb(images[i]), origin="lower")
        title = (f"barred, L = {row['bar_length_arcsec']:.1f}\"" if row["barred"] else "unbarred")
        axes[0, k].set_title(f"{title}\np(barred) = {e.probabilities[1]:.2f}", fontsize=8)
        limit = np.abs(e.map).max()
        axes[1, k].imshow(e.map, origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit)
        if row["barred"]:
            bar_line(axes[0, k], row)
            bar_line(axes[1, k], row, colour="black")
        for a in axes[:, k]:
            a.set_xticks([]), a.set_yticks([])
    axes[0, 0].set_ylabel("g, r, z (asinh)", fontsize=8)
    axes[1, 0].set_ylabel("SmoothGrad, 'barred'", fontsize=8)
    fig.suptitle("Simulated galaxies (report part) and the galaxy-bars classifier's SmoothGrad maps; "
                 "dashed: the true bar", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def scatter(bench, numbers, path):
    true = bench["true"]
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 4.0), sharex=True, sharey=True)
    method = {"saliency": "saliency", "smoothgrad": "SmoothGrad",
              "gradcam_block2": "Grad-CAM (2nd block)",
              "gradcam_block2_8_symmetries": "Grad-CAM (2nd block, 8 symmetries)"}.get(
        numbers["chosen_on_tune"], numbers["chosen_on_tune"])
    maps_label = f"length from the classifier's {method} maps"
    for axis, key, name, label in ((axes[0], "from_maps", "from_maps", maps_label),
                                   (axes[1], "direct", "direct_cnn",
                                    f"CNN trained on lengths ({numbers['direct_cnn'].get('epochs', 30)} epochs)")):
        axis.scatter(true, bench[key], s=6, alpha=0.6)
        top = max(true.max(), bench[key].max()) * 1.05
        axis.plot([0, top], [0, top], "k:", lw=0.8)
        r, e = numbers[name]["pearson_r"], numbers[name]["rmse_arcsec"]
        axis.set_title(f"{label}\nr = {r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}], RMSE = {e[0]:.2f}\" "
                       f"[{e[1]:.2f}, {e[2]:.2f}]", fontsize=8)
        axis.set_xlabel("true bar half-length (arcsec)")
    axes[0].set_ylabel("measured half-length (arcsec)")
    fig.suptitle(f"{len(true)} simulated barred galaxies of the report part (not Galaxy Zoo)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bulge_to_total(images, truth, path):
    model = gx.load_model("galaxy-bt-sfnet", device="cpu")
    report = split_parts(len(truth))["report"]
    out = model.predict_proba(images[report])
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.8))
    for j, (axis, name) in enumerate(zip(axes, ("bulge_to_total", "bar_to_total"))):
        true = np.asarray(truth[name][report])
        axis.scatter(true, out[:, j], s=5, alpha=0.5)
        axis.plot([0, 0.5], [0, 0.5], "k:", lw=0.8)
        axis.set_xlabel(f"true {name.replace('_', ' ')} (r band)")
        axis.set_ylabel("galaxy-bt-sfnet")
        axis.set_title(f"r = {pearson_r(out[:, j], true):.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FITS file of the simulated set (read or written)")
    parser.add_argument("--bench", default=None, help=".npz written by bench_bar_length.py --save")
    parser.add_argument("--bench-json", default=None, help="JSON written by bench_bar_length.py --json")
    parser.add_argument("--bar-length-only", action="store_true", help="only the bar-length figure (needs --bench)")
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if not args.bar_length_only:
        images, truth = galaxy_dataset(args.data)
        gallery(images, truth, OUT / "galaxies_smoothgrad.png")
        bulge_to_total(images, truth, OUT / "galaxies_bulge_to_total.png")
    if args.bench and args.bench_json:
        with open(args.bench_json) as f:
            numbers = json.load(f)
        scatter(np.load(args.bench), numbers, OUT / "galaxies_bar_length.png")
    print(f"wrote figures to {OUT}")


if __name__ == "__main__":
    main()
