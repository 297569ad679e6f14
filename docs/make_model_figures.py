"""Figure for docs/model.rst: gradient maps of the shipped CNN beside its smooth variant.

    python docs/make_model_figures.py      # writes docs/images/model_smooth_vs_shipped.png

Also prints, over 20 FIRST cutouts, the share of saliency power on the Nyquist row and
column of the spectrum (the checkerboard) for both models.
"""
from pathlib import Path

import numpy as np

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.data.mirabest import mirabest_root

ROOT = mirabest_root()
SOURCES = {"FR I": "fits/100_016.236+000.073_0.2797_0058.67.fits", "FR II": "fits/200_003.845+000.156_0.4401_0024.05.fits"}
MODELS = ("mirabest-fr-0.1", "mirabest-fr-smooth")
OUT = Path(__file__).parent / "images" / "model_smooth_vs_shipped.png"


def nyquist_share(relevance):
    power = np.abs(np.fft.fft2(relevance)) ** 2
    h, w = relevance.shape
    return float((power[h // 2, :].sum() + power[:, w // 2].sum()) / power.sum())


def main():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = {name: gx.load_model(name) for name in MODELS}
    fig, axes = plt.subplots(len(SOURCES), 5, figsize=(15, 7.4))
    for row, (label, path) in zip(axes, SOURCES.items()):
        cutout = read_cutout(ROOT / path)
        image, wcs = cutout.image[75:225, 75:225], cutout.wcs[75:225, 75:225]
        row[0].imshow(np.arcsinh(image / 2e-4), origin="lower", cmap="gray")
        row[0].set_title(f"{label}: {cutout.name[:19]}", fontsize=9)
        column = 1
        for method in ("saliency", "smoothgrad"):
            for name, model in models.items():
                # glue-xai 0.1 defaults: magnitude of the probability's gradient, Smilkov noise
                options = {"signed": False, "output": "probability"}
                if method == "smoothgrad":
                    options.update(noise="range", noise_level=0.15)
                e = gx.explain(model, image, method=method, wcs=wcs, **options)
                row[column].imshow(e.map, origin="lower", cmap="inferno")
                row[column].set_title(f"{name}\n{method}: {e.target_name} p={e.probability:.2f}", fontsize=9)
                column += 1
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(OUT, dpi=80)
    paths = sorted((ROOT / "fits").glob("*.fits"))[::13][:20]
    for name, model in models.items():
        shares = [nyquist_share(gx.explain(model, read_cutout(p).image, method="saliency").model_map) for p in paths]
        print(f"{name}: saliency power on the Nyquist row/column, median over {len(paths)} cutouts: "
              f"{np.median(shares):.3g}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
