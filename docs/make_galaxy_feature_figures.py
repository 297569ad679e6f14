"""Figure of docs/galaxies.rst: galaxy-bt-sfnet's active features on report-part galaxies.

Each row: the galaxy in colour, then its four features with the largest contributions to
B/T, each map on its own scale with the galaxy's light region (the brightest pixels
holding 80% of its noiseless r-band light, the region the benchmark's shares use) in cyan.

    python docs/make_galaxy_feature_figures.py --data /tmp/galaxies.fits
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import glue_xai as gx  # noqa: E402
from glue_xai.data.galaxies import light_region, light_share, rgb, split_parts  # noqa: E402
from glue_xai.methods.features import explain_features  # noqa: E402
from glue_xai.models.train_galaxies import galaxy_dataset  # noqa: E402

OUT = Path(__file__).parent / "images"
N_FEATURES = 4


def feature_rows(images, truth, path, n_galaxies=4):
    model = gx.load_model("galaxy-bt-sfnet", device="cpu")
    report = split_parts(len(truth))["report"]
    # The first report galaxies, two barred and two unbarred, as they come.
    barred = [i for i in report if truth["barred"][i]][:n_galaxies // 2]
    unbarred = [i for i in report if not truth["barred"][i]][:n_galaxies - len(barred)]
    chosen = sorted(barred + unbarred)
    fig, axes = plt.subplots(len(chosen), N_FEATURES + 1, figsize=(2.0 * (N_FEATURES + 1), 2.15 * len(chosen)))
    for row, i in enumerate(chosen):
        fe = explain_features(model, images[i], target="bulge_to_total")
        region = light_region(truth[i])
        axes[row, 0].imshow(rgb(images[i]), origin="lower")
        kind = f"bar {truth['bar_to_total'][i]:.2f}" if truth["barred"][i] else "no bar"
        axes[row, 0].set_title(f"B/T {truth['bulge_to_total'][i]:.2f} ({kind})\npredicted {fe.output:.2f}",
                               fontsize=7)
        for k in range(N_FEATURES):
            axis = axes[row, k + 1]
            if k < len(fe.features):
                on = light_share(fe.maps[k], region)
                axis.imshow(fe.maps[k], origin="lower", cmap="magma")
                axis.contour(region, levels=[0.5], colors="cyan", linewidths=0.7, origin="lower")
                axis.set_title(f"feature {fe.features[k]}: {fe.contributions[k]:+.3f}\n{on:.0%} on the galaxy "
                               f"(area {region.mean():.0%})", fontsize=7)
            axis.set_axis_off()
        axes[row, 0].set_xticks([]), axes[row, 0].set_yticks([])
    fig.suptitle("galaxy-bt-sfnet: the four largest contributions to B/T and where each feature fires "
                 "(report part, simulated); cyan: 80% of the galaxy's r-band light", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FITS file of the simulated set (read or written)")
    args = parser.parse_args(argv)
    images, truth = galaxy_dataset(args.data)
    OUT.mkdir(exist_ok=True)
    feature_rows(images, truth, OUT / "galaxies_sfnet_features.png")
    print(f"wrote {OUT / 'galaxies_sfnet_features.png'}")


if __name__ == "__main__":
    main()
