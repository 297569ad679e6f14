"""Figure of docs/galaxies.rst: bar-length r and RMSE against the number of measured
lengths, for the map measure and the CNN trained on the lengths
(benchmarks/bar_length_label_budget.py's JSON).

    python benchmarks/bar_length_label_budget.py --data /tmp/galaxies.fits --json /tmp/budget.json
    python docs/make_bar_budget_figure.py --json /tmp/budget.json
"""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

OUT = Path(__file__).parent / "images" / "galaxies_bar_length_budget.png"
SIDES = {"maps": ("Grad-CAM maps of galaxy-bars (rule and line on n)", "tab:blue", "o"),
         "direct": ("CNN trained on the lengths (n fitted, n to stop)", "tab:red", "s")}


def draw(result, path):
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 4.0))
    for label_set, per_budget in result["conditions"].items():
        noisy = label_set != "exact"
        budgets = [n for n in per_budget if n != "all"]
        x = np.array([int(n) for n in budgets], float)
        for side, (label, colour, marker) in SIDES.items():
            for axis, key in zip(axes, ("r", "rmse")):
                values = np.array([per_budget[n][f"{side}_{key}"] for n in budgets])
                shift = 1.04 if side == "direct" else 1 / 1.04  # keep the two sides' bars apart
                scatter = float(label_set.split("_")[1]) if noisy else 0.0
                name = label if not noisy else f"{side}, lengths with {scatter:.0%} scatter (assumed)"
                axis.errorbar(x * shift, values[:, 0], yerr=[values[:, 0] - values[:, 1], values[:, 2] - values[:, 0]],
                              color=colour, marker=marker, mfc="white" if noisy else colour,
                              ls="--" if noisy else "-", capsize=3, label=name)
                if key == "r" and not noisy:
                    for xi, n in zip(x, budgets):
                        draws = per_budget[n][f"{side}_r_each_draw"]
                        axis.plot([xi * shift] * len(draws), draws, ".", color=colour, alpha=0.4, ms=4)
                if "all" in per_budget:
                    full = per_budget["all"][f"{side}_{key}"]
                    axis.errorbar([921 * shift], [full[0]], yerr=[[full[0] - full[1]], [full[2] - full[0]]],
                                  color=colour, marker="*", ms=11, capsize=3, ls="none")
    # Draw 0 trained with twice the steps (the check of the training length).
    longer = [(int(n), max(runs.items(), key=lambda kv: int(kv[0].split("_")[1]))[1])
              for n, runs in result.get("steps_check", {}).items()]
    longer = [(n, run) for n, run in longer if "report_r" in run]
    for k, (axis, key) in enumerate(zip(axes, ("report_r", "report_rmse"))):
        for j, (n, run) in enumerate(longer):
            v = run[key]
            axis.errorbar([n * 1.09], [v[0]], yerr=[[v[0] - v[1]], [v[2] - v[0]]], color="tab:red", marker="D",
                          mfc="white", ls="none", capsize=2, ms=5,
                          label="direct, draw 0, twice the steps" if k == 0 and j == 0 else None)
    axes[0].set_ylabel("Pearson r with the true half-length")
    axes[1].set_ylabel("RMSE (arcsec)")
    for axis in axes:
        axis.set_xscale("log")
        ticks = sorted({int(n) for c in result["conditions"].values() for n in c if n != "all"} | {921})
        axis.set_xticks(ticks)
        axis.set_xticklabels([str(t) if t != 921 else "921/311\n(all)" for t in ticks], fontsize=8)
        axis.minorticks_off()
        axis.set_xlabel("measured bar lengths per part, n")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Simulated galaxies, report part ({result['n_report_barred']} barred): mean over "
                 f"{result['draws']} draws of n with 95% bootstrap intervals, dots: each draw; stars: every "
                 "train/tune length", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="bar_length_label_budget.py's --json output")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    with open(args.json) as f:
        draw(json.load(f), args.out)


if __name__ == "__main__":
    main()
