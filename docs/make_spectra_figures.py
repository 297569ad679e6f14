"""Figures and numbers for docs/spectra.rst: saliency of the shipped AGN spectrum model.

    python docs/make_spectra_figures.py            # writes docs/images/spectra_*.png

Everything is seeded; the numbers printed at the end are the ones quoted on the page.
"""
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from glue_xai.data.spectra import AGN_TYPES, C_KMS, REST_LINES, synthetic_agn_spectra  # noqa: E402
from glue_xai.methods.spectral import explain_spectrum  # noqa: E402
from glue_xai.models.spectral import load_spectrum_model  # noqa: E402
from glue_xai.viewer.spectrum_data import tsne_coordinates  # noqa: E402

IMAGES = Path(__file__).parent / "images"
COLOURS = {"type 1": "tab:blue", "intermediate": "tab:orange", "type 2": "tab:red"}
ZOOMS = {"Hβ + [O III]": (4780.0, 5060.0), "Hα + [N II] + [S II]": (6380.0, 6780.0)}


def spectra_with_saliency(model, sample):
    """One spectrum of each type, its saliency for the predicted class, three views each."""
    fig, axes = plt.subplots(3, 3, figsize=(13, 8.5), gridspec_kw={"width_ratios": [2.2, 1, 1]})
    lines = sample.truth.mask(sample.wavelength)
    for row, name in enumerate(AGN_TYPES):
        index = int(np.flatnonzero(sample.labels == AGN_TYPES.index(name))[0])
        flux = sample.flux[index] / sample.flux[index].mean()
        e = explain_spectrum(model, sample.flux[index], "saliency")
        # per unit of *normalised* flux, so rows are comparable whatever the source's brightness
        saliency = e.map * sample.flux[index].mean()
        for col, (lo, hi) in enumerate([(sample.wavelength[0], sample.wavelength[-1])] + list(ZOOMS.values())):
            ax = axes[row, col]
            view = (sample.wavelength >= lo) & (sample.wavelength <= hi)
            ax.fill_between(sample.wavelength[view], 0, 1, where=lines[view], color="0.92",
                            transform=ax.get_xaxis_transform(), step="mid", linewidth=0)
            ax.plot(sample.wavelength[view], flux[view], color="0.2", linewidth=0.6, drawstyle="steps-mid")
            twin = ax.twinx()
            twin.plot(sample.wavelength[view], saliency[view], color=COLOURS[name], linewidth=0.8,
                      drawstyle="steps-mid")
            limit = 1.1 * np.abs(saliency[view]).max()
            twin.set_ylim(-limit, limit)
            twin.axhline(0, color=COLOURS[name], linewidth=0.4, alpha=0.5)
            for line, centre in REST_LINES.items():
                if lo < centre < hi:
                    ax.axvline(centre, color="0.6", linestyle=":", linewidth=0.6)
            ax.set_xlim(lo, hi)
            if col == 0:
                ax.set_ylabel(f"{name}\nflux / mean")
                ax.set_title(f"true {name}; model: {e.target_name} (p = {e.probability:.2f})", fontsize=9,
                             loc="left")
            if col == 2:
                twin.set_ylabel("saliency", color=COLOURS[name])
            if row == 0 and col > 0:
                ax.set_title(list(ZOOMS)[col - 1], fontsize=9)
            if row == 2:
                ax.set_xlabel("rest wavelength (Å)")
    fig.suptitle("Synthetic AGN spectra (black) and the gradient of the predicted class's probability "
                 "(colour; grey bands: line windows)", fontsize=10)
    fig.tight_layout()
    fig.savefig(IMAGES / "spectra_saliency.png", dpi=110)
    plt.close(fig)


def halpha_profiles(model, sample):
    """Mean saliency around Hα in velocity, per true type, for the type 1 and type 2 classes."""
    velocity = (sample.wavelength / REST_LINES["Hα"] - 1.0) * C_KMS
    near = np.abs(velocity) < 8000
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharex=True)
    summary = {}
    for ax, target in zip(axes, ("type 1", "type 2")):
        for name in AGN_TYPES:
            rows = np.flatnonzero(sample.labels == AGN_TYPES.index(name))
            maps = [explain_spectrum(model, sample.flux[i], "saliency", target=target).map * sample.flux[i].mean()
                    for i in rows]
            mean = np.mean(maps, axis=0)
            ax.plot(velocity[near], mean[near], color=COLOURS[name], label=f"true {name}", linewidth=0.9)
            core = np.abs(velocity) < 350
            wings = (np.abs(velocity) > 1600) & (np.abs(velocity) < 5000)
            summary[(target, name)] = (float(mean[core].mean()), float(mean[wings].mean()))
        ax.axhline(0, color="0.5", linewidth=0.5)
        for v in (-5000, -1600, -350, 350, 1600, 5000):
            ax.axvline(v, color="0.8", linewidth=0.5, linestyle="--")
        ax.set_title(f"saliency of p({target}) around Hα", fontsize=10)
        ax.set_xlabel("velocity from Hα (km/s)")
    axes[0].set_ylabel("mean saliency (per unit flux/mean)")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMAGES / "spectra_halpha_core_wings.png", dpi=110)
    plt.close(fig)
    return summary


def tsne_map(model, sample):
    """t-SNE of the spectra, coloured by true type, outlined where the model disagrees."""
    xy = tsne_coordinates(sample.flux, seed=0)
    predicted = model.predict_proba(sample.flux).argmax(1)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    for k, name in enumerate(AGN_TYPES):
        chosen = sample.labels == k
        ax.scatter(xy[chosen, 0], xy[chosen, 1], s=12, color=COLOURS[name], label=name, alpha=0.8)
    wrong = predicted != sample.labels
    ax.scatter(xy[wrong, 0], xy[wrong, 1], s=60, facecolor="none", edgecolor="k", label="misclassified")
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.set_title(f"t-SNE of {len(sample)} synthetic spectra (flux / mean)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(IMAGES / "spectra_tsne.png", dpi=110)
    plt.close(fig)
    return int(wrong.sum())


def line_fractions(model, sample):
    """Fraction of the top 5% |map| pixels inside the line windows, per method."""
    lines = sample.truth.mask(sample.wavelength)
    out = {}
    for method in ("saliency", "smoothgrad", "integrated_gradients", "lime"):
        fractions, seconds = [], []
        for flux in sample.flux[:60]:
            started = time.perf_counter()
            e = explain_spectrum(model, flux, method)
            seconds.append(time.perf_counter() - started)
            strength = np.abs(e.map)
            fractions.append(lines[strength >= np.quantile(strength, 0.95)].mean())
        out[method] = (float(np.mean(fractions)), float(np.min(fractions)), float(np.median(seconds)))
    return out, float(lines.mean())


def main():
    torch.set_num_threads(1)
    IMAGES.mkdir(exist_ok=True)
    model = load_spectrum_model("agn-spectra")
    sample = synthetic_agn_spectra(100, seed=2024)
    spectra_with_saliency(model, sample)
    summary = halpha_profiles(model, sample)
    n_wrong = tsne_map(model, sample)
    fractions, chance = line_fractions(model, sample)
    print(f"misclassified: {n_wrong} of {len(sample)}")
    print(f"line windows cover {chance:.1%} of the pixels")
    for method, (mean, low, seconds) in fractions.items():
        print(f"{method:22s} top-5% pixels in line windows: mean {mean:.1%}, worst {low:.1%}; "
              f"median {seconds * 1000:.0f} ms")
    for (target, name), (core, wings) in summary.items():
        print(f"p({target}) saliency, true {name:12s}: Hα core {core:+.4f}, wings {wings:+.4f}")


if __name__ == "__main__":
    main()
