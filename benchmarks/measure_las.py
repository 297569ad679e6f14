"""How well do saliency-based sizes track the catalogue's largest angular sizes?

On the 260 real FIRST cutouts of ``/work/shared/data/mirabest`` (catalogue column
``las_arcsec``, measured by astronomers) this script measures every source

* from the relevance maps of the shipped ``mirabest-fr`` model for each method
  (:func:`glue_xai.methods.measure.salient_extent` on the model's 150x150 grid, which
  is a plain crop of the cutout at 1.8"/px, explaining the predicted class), and
* from the image alone (:func:`glue_xai.methods.measure_flux.flux_extent` on the same
  central 150x150 pixels: on the whole 300x300 cutout unrelated sources far out get
  paired across the centre and the baseline gets worse, r = 0.39 instead of 0.56 for
  all sources),

and reports, per class (FRI, FRII) and for all sources, Pearson and Spearman correlations
and the RMS scatter in log10 size between ``las_arcsec`` and the extent and the peak
separation, plus the ROC AUC of the FR ratio for FR-I vs FR-II, and 95% bootstrap
intervals (sources resampled) for the Pearson r and the AUCs. It writes
``docs/images/measure_*.png`` and prints reStructuredText tables for ``docs/measure.rst``.

``--part`` restricts the sources to one part of the project's dev split
(:func:`glue_xai.data.splits.dev_split`): ``report`` (the default; the numbers the docs
quote), ``tune`` (where methods and thresholds are chosen) or ``all``. The figures are
drawn for the report part only.

Run from the repository root: ``python benchmarks/measure_las.py`` (maps are cached in
``/work/scratch/measure_cache.npz`` for all 260 sources; see ``measure_maps.py``).
"""
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from measure_maps import METHOD_OPTIONS, METHODS, compute_maps, load_sources  # noqa: E402

from glue_xai.data.splits import dev_split, fits_source_key  # noqa: E402
from glue_xai.methods.measure import salient_extent  # noqa: E402
from glue_xai.methods.measure_flux import flux_extent  # noqa: E402

MODEL_PIXEL_ARCSEC = 1.8
FIELD_ARCSEC = 150 * MODEL_PIXEL_ARCSEC
IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
PARTS = ("report", "tune", "all")
BOOTSTRAP_DRAWS = 1000
BOOTSTRAP_SEED = 0
QUANTITIES = ("extent_arcsec", "peak_separation_arcsec", "fr_separation_arcsec", "fr_ratio", "edge_brightening",
              "n_components", "truncated")


def measure_maps(maps, **options):
    """{quantity: (N,) array} for a stack of model-grid maps (NaN where nothing was salient)."""
    out = {q: np.full(len(maps), np.nan) for q in QUANTITIES}
    for i, relevance in enumerate(maps):
        try:
            result = salient_extent(relevance, pixel_scale_arcsec=MODEL_PIXEL_ARCSEC, **options)
        except ValueError:
            continue  # an empty map: counted as a failure in the table
        for q in QUANTITIES:
            out[q][i] = float(result[q])
    return out


def model_field(cutout):
    """The cutout cropped to the model's field of view (the pixels the maps cover)."""
    from glue_xai.models.preprocess import fit_to_model

    y0, x0, y1, x1 = (int(v) for v in fit_to_model(cutout.shape, (150, 150)).box)
    return cutout.image[y0:y1, x0:x1], cutout.wcs[y0:y1, x0:x1]


def measure_flux(cutouts, **options):
    """The flux baseline on the same 270" field the model sees, so both measure the same sky."""
    out = {q: np.full(len(cutouts), np.nan) for q in QUANTITIES}
    for i, cutout in enumerate(cutouts):
        try:
            result = flux_extent(*model_field(cutout), **options)
        except ValueError:
            continue
        for q in QUANTITIES:
            out[q][i] = float(result[q])
    return out


def agreement(las, measured):
    """Pearson, Spearman, RMS scatter of log10(measured / las) about its median, the
    median ratio and the number of sources measured (zero sizes cannot be logged)."""
    ok = np.isfinite(measured) & (measured > 0)
    if ok.sum() < 3:
        return dict(pearson=np.nan, spearman=np.nan, pearson_log=np.nan, rms_log=np.nan, ratio=np.nan,
                    n=int(ok.sum()))
    x, y = las[ok], measured[ok]
    log_ratio = np.log10(y / x)
    return dict(pearson=stats.pearsonr(x, y)[0], spearman=stats.spearmanr(x, y)[0],
                pearson_log=stats.pearsonr(np.log10(x), np.log10(y))[0],
                rms_log=float(np.sqrt(np.mean((log_ratio - np.median(log_ratio)) ** 2))),
                ratio=float(10 ** np.median(log_ratio)), n=int(ok.sum()))


def roc_auc(scores, positive):
    """ROC AUC of ``scores`` for the ``positive`` class over the finite scores (NaN when a
    class is missing): the chance that a random positive scores above a random negative."""
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(scores)
    if len(set(positive[ok])) < 2:
        return np.nan
    return float(roc_auc_score(positive[ok], scores[ok]))


def part_indices(table, part):
    """Indices (catalogue order) of the sources in ``part`` of the dev split."""
    if part == "all":
        return np.arange(len(table))
    tune, report = dev_split().catalogue_rows()
    keys = {row["key"] for row in (report if part == "report" else tune)}
    return np.flatnonzero([fits_source_key(name) in keys for name in table["fits_file"]])


def bootstrap_weights(n, draws=BOOTSTRAP_DRAWS, seed=BOOTSTRAP_SEED):
    """(draws, n) counts: how often each source is picked when n sources are drawn with
    replacement. A statistic weighted by these counts is the statistic of the resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=draws).astype(float)


def _interval(values):
    values = values[np.isfinite(values)]
    return (np.nan, np.nan) if len(values) == 0 else tuple(np.percentile(values, [2.5, 97.5]))


def pearson_interval(x, y, weights, selected):
    """95% bootstrap interval of Pearson r over the ``selected`` sources with finite,
    positive ``y`` (as :func:`agreement`), each draw weighting sources by ``weights``."""
    ok = selected & np.isfinite(y) & (y > 0)
    w, x, y = weights[:, ok], x[ok], y[ok]
    total = w.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = (w @ x) / total, (w @ y) / total
        dx, dy = x - mx[:, None], y - my[:, None]
        r = (w * dx * dy).sum(1) / np.sqrt((w * dx ** 2).sum(1) * (w * dy ** 2).sum(1))
    return _interval(r)


def auc_interval(scores, positive, weights, selected):
    """95% bootstrap interval of the ROC AUC (ties count half) over the ``selected``
    sources with finite scores."""
    ok = selected & np.isfinite(scores)
    pos, neg = ok & positive, ok & ~positive
    wins = (scores[pos][:, None] > scores[neg][None, :]) + 0.5 * (scores[pos][:, None] == scores[neg][None, :])
    wp, wn = weights[:, pos], weights[:, neg]
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.einsum("dp,pn,dn->d", wp, wins, wn) / (wp.sum(1) * wn.sum(1))
    return _interval(auc)


def table_rows(las, fr_class, results):
    """One row per (method, quantity): agreement for FRI, FRII and all, and the FR-ratio AUC."""
    groups = {"FRI": fr_class == "FRI", "FRII": fr_class == "FRII", "all": np.ones(len(las), bool)}
    frii, fri = fr_class == "FRII", fr_class == "FRI"
    weights = bootstrap_weights(len(las))  # the same draws for every statistic
    rows = []
    for name, res in results.items():
        both = frii | fri
        auc = roc_auc(res["fr_ratio"][both], frii[both])
        auc_edge = roc_auc(res["edge_brightening"][both], frii[both])
        ci = {"auc": auc_interval(res["fr_ratio"], frii, weights, both),
              "auc_edge": auc_interval(res["edge_brightening"], frii, weights, both)}
        for quantity in ("extent_arcsec", "peak_separation_arcsec"):
            row = {"method": name, "quantity": quantity.replace("_arcsec", ""), "auc": auc, "auc_edge": auc_edge,
                   "truncated": int(np.nansum(res["truncated"])),
                   "failed": int(np.isnan(res["extent_arcsec"]).sum()), "ci": dict(ci)}
            for group, selected in groups.items():
                row[group] = agreement(las[selected], res[quantity][selected])
                row["ci"][group] = pearson_interval(las, res[quantity], weights, selected)
            rows.append(row)
    return rows


def _rst(header, lines):
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([rule, fmt(header), rule, *(fmt(line) for line in lines), rule])


def _with_ci(value, ci):
    return f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def rst_table(rows):
    """Three reStructuredText tables: the correlations, the scatter, bias, class
    separation and counts, then the Pearson r and AUCs with their 95% bootstrap
    intervals (one table would be too wide to read)."""
    groups = ("FRI", "FRII", "all")
    correlations = _rst(
        ["method", "size", "r FRI", "r FRII", "r all", "r log FRI", "r log FRII", "r log all", "rho FRI",
         "rho FRII", "rho all"],
        [[row["method"], row["quantity"], *(f"{row[g]['pearson']:.2f}" for g in groups),
          *(f"{row[g]['pearson_log']:.2f}" for g in groups), *(f"{row[g]['spearman']:.2f}" for g in groups)]
         for row in rows])
    scatter = _rst(
        ["method", "size", "rms log FRI", "rms log FRII", "rms log all", "ratio all", "AUC FR", "AUC edge", "n",
         "trunc."],
        [[row["method"], row["quantity"], *(f"{row[g]['rms_log']:.2f}" for g in groups), f"{row['all']['ratio']:.2f}",
          f"{row['auc']:.2f}", f"{row['auc_edge']:.2f}", str(row["all"]["n"]), str(row["truncated"])]
         for row in rows])
    intervals = _rst(
        ["method", "size", "r FRI", "r FRII", "r all", "AUC FR", "AUC edge"],
        [[row["method"], row["quantity"], *(_with_ci(row[g]["pearson"], row["ci"][g]) for g in groups),
          _with_ci(row["auc"], row["ci"]["auc"]), _with_ci(row["auc_edge"], row["ci"]["auc_edge"])]
         for row in rows])
    return correlations + "\n\n" + scatter + "\n\n" + intervals


def pretty(name):
    """A method's name for a figure: 'integrated_gradients_logit' -> 'integrated gradients (logit)'."""
    return name.replace("integrated_gradients_logit", "integrated gradients (logit)").replace(
        "integrated_gradients", "integrated gradients")


def scatter_plots(las, fr_class, results, path, title=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The ones worth a picture: the table has the rest (whose sizes do not track LAS).
    names = [n for n in ("integrated_gradients_logit", "integrated_gradients", "integrated_gradients (compact rule)",
                         "flux (image)", "flux (enclosed rule)") if n in results]
    fig, axes = plt.subplots(2, len(names), figsize=(3.2 * len(names), 6.6), sharex=True, sharey=True)
    for col, name in enumerate(names):
        for row, quantity in enumerate(("extent_arcsec", "peak_separation_arcsec")):
            ax = axes[row, col]
            for cls, colour in (("FRI", "tab:blue"), ("FRII", "tab:red"), ("hybrid", "tab:green")):
                sel = fr_class == cls
                ax.scatter(las[sel], results[name][quantity][sel], s=7, c=colour, label=cls, alpha=0.7)
            ax.plot([5, 400], [5, 400], "k:", lw=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(5, 400)
            ax.set_ylim(3, 600)
            r_all = agreement(las, results[name][quantity])["pearson"]
            r_ii = agreement(las[fr_class == "FRII"], results[name][quantity][fr_class == "FRII"])["pearson"]
            label = pretty(name)
            ax.set_title(f"{label}\n{quantity.replace('_arcsec', '')}: r={r_all:.2f} (FRII {r_ii:.2f})", fontsize=8)
            if row == 1:
                ax.set_xlabel("catalogue LAS (arcsec)")
            if col == 0:
                ax.set_ylabel(f"{quantity.replace('_arcsec', '')} (arcsec)")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ratio_plot(fr_class, results, path, title=""):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in results if "compact" not in n]
    fig, ax = plt.subplots(figsize=(1.5 * len(names) + 2, 3.6))
    both = np.isin(fr_class, ("FRI", "FRII"))
    for i, name in enumerate(names):
        for offset, cls, colour in ((-0.18, "FRI", "tab:blue"), (0.18, "FRII", "tab:red")):
            values = results[name]["edge_brightening"][fr_class == cls]
            jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(values))
            ax.scatter(i + offset + jitter, values, s=5, c=colour, alpha=0.6, label=cls if i == 0 else None)
        auc = roc_auc(results[name]["edge_brightening"][both], fr_class[both] == "FRII")
        ax.text(i, 1.0, f"AUC {auc:.2f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(names)), [pretty(n).replace(" (", "\n(").replace("integrated ", "integrated\n")
                                      for n in names], fontsize=7)
    ax.set_ylabel("edge brightening\n(mean distance of the weight\nfrom the host) / reach", fontsize=8)
    ax.set_ylim(-0.03, 1.08)
    ax.legend(fontsize=8, loc="upper center", ncol=2, bbox_to_anchor=(0.5, 1.16), frameon=False, title=title,
              title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def example_plot(table, cutouts, maps, method, path, per_class=3):
    """A few sources: the image with the flux baseline's region and line, and the
    ``method`` map with its salient region, extent line and Fanaroff-Riley points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    las = np.asarray(table["las_arcsec"], dtype=float)
    fr_class = np.asarray(table["fr_class"]).astype(str)
    # The first confidently classified standard sources of each class between 40" and 160".
    chosen = [i for cls in ("FRI", "FRII") for i in np.flatnonzero(
        (fr_class == cls) & (np.asarray(table["confidence"]) == "confident")
        & (np.asarray(table["morphology"]) == "standard") & (las > 40) & (las < 160))[:per_class]]
    fig, axes = plt.subplots(2, len(chosen), figsize=(2.6 * len(chosen), 5.4))
    for col, i in enumerate(chosen):
        image, wcs = model_field(cutouts[i])
        flux = flux_extent(image, wcs=wcs)
        salient = salient_extent(maps[method][i], pixel_scale_arcsec=MODEL_PIXEL_ARCSEC)
        ax = axes[0, col]
        ax.imshow(np.arcsinh(image / flux["threshold"]), origin="lower", cmap="gray_r", vmin=0, vmax=6)
        ax.contour(flux["mask"], [0.5], colors="tab:blue", linewidths=0.7)
        ax.contour(salient["mask"], [0.5], colors="tab:red", linewidths=0.7)
        (x0, y0), (x1, y1) = flux["line_xy"]
        ax.plot([x0, x1], [y0, y1], color="tab:blue", lw=1.2)
        ax.set_title(f"{fr_class[i]} LAS {las[i]:.0f}\"\nflux {flux['extent_arcsec']:.0f}\" PA {flux['pa_deg']:.0f}",
                     fontsize=8)
        ax = axes[1, col]
        relevance = np.maximum(maps[method][i], 0)
        ax.imshow(relevance, origin="lower", cmap="magma", vmax=np.percentile(relevance[relevance > 0], 99))
        ax.contour(salient["mask"], [0.5], colors="w", linewidths=0.7)
        (x0, y0), (x1, y1) = salient["line_xy"]
        ax.plot([x0, x1], [y0, y1], color="tab:cyan", lw=1.2)
        points = [p for p in salient["fr_points_xy"] if p is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], "o", mfc="none", mec="lime", ms=7)
        ax.plot([74.5], [74.5], "+", color="w", ms=8)  # the host: the cutout's centre
        ax.set_title(f"{pretty(method)}: {salient['extent_arcsec']:.0f}\" PA {salient['pa_deg']:.0f}\n"
                     f"edge brightening {salient['edge_brightening']:.2f}", fontsize=8)
        for ax in axes[:, col]:
            ax.set_xlim(20, 130)  # the middle 200": every chosen source fits
            ax.set_ylim(20, 130)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def fraction_sensitivity(las, fr_class, relevance_maps, fractions=(0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99)):
    """How much the numbers depend on the enclosed fraction, and an honest check of the
    choice: the fraction that would be picked (best Pearson r over all sources) on the
    even-numbered sources, scored on the odd-numbered ones, which took no part in it."""
    frii, fri = fr_class == "FRII", fr_class == "FRI"
    both = frii | fri
    halves = {"even": np.arange(len(las)) % 2 == 0, "odd": np.arange(len(las)) % 2 == 1}
    lines = ["enclosed fraction  r FRII  r all  AUC edge  | r all even  r all odd  AUC edge even  AUC edge odd"]
    scores = {}
    for fraction in fractions:
        res = measure_maps(relevance_maps, enclosed_fraction=fraction)
        extent, edge = res["extent_arcsec"], res["edge_brightening"]
        half = {name: (agreement(las[sel], extent[sel])["pearson"],
                       roc_auc(edge[sel & both], frii[sel & both])) for name, sel in halves.items()}
        scores[fraction] = half
        lines.append(f"{fraction:<17g}  {agreement(las[frii], extent[frii])['pearson']:.2f}    "
                     f"{agreement(las, extent)['pearson']:.2f}   {roc_auc(edge[both], frii[both]):.3f}     | "
                     f"{half['even'][0]:.2f}        {half['odd'][0]:.2f}       {half['even'][1]:.3f}          "
                     f"{half['odd'][1]:.3f}")
    picked = max(fractions, key=lambda f: scores[f]["even"][0])
    lines.append(f"picked on the even half: {picked:g}; on the odd half it gives r all = {scores[picked]['odd'][0]:.2f}, "
                 f"AUC edge = {scores[picked]['odd'][1]:.3f}")
    return "\n".join(lines)


def run(methods=METHODS, plots=True, model_name="mirabest-fr", part="report", **options):
    """Compute (or load) the maps of all sources, keep those of ``part``, measure, print
    the tables and draw the figures."""
    start = time.perf_counter()
    table, cutouts = load_sources()
    maps = compute_maps(cutouts, methods, model_name=model_name)  # cached for all 260 sources
    keep = part_indices(table, part)
    table, cutouts = table[keep], [cutouts[i] for i in keep]
    maps = {name: values[keep] for name, values in maps.items()}
    las = np.asarray(table["las_arcsec"], dtype=float)
    fr_class = np.asarray(table["fr_class"]).astype(str)
    print(f"model {model_name}, {part} part: {len(keep)} sources ({(fr_class == 'FRI').sum()} FRI, "
          f"{(fr_class == 'FRII').sum()} FRII, {(fr_class == 'hybrid').sum()} hybrid); 95% intervals from "
          f"{BOOTSTRAP_DRAWS} bootstrap draws of the sources (seed {BOOTSTRAP_SEED})")
    results = {m: measure_maps(maps[m], **options) for m in methods}
    if "integrated_gradients" in methods:
        # The earlier threshold rule, kept for comparison (see the docs).
        results["integrated_gradients (compact rule)"] = measure_maps(maps["integrated_gradients"], rule="compact")
    results["flux (image)"] = measure_flux(cutouts)
    results["flux (enclosed rule)"] = measure_flux(cutouts, rule="enclosed")
    rows = table_rows(las, fr_class, results)
    print(f"{len(las)} sources; catalogue LAS > field of view ({FIELD_ARCSEC:.0f}\"): {(las > FIELD_ARCSEC).sum()}, "
          f"> half the field (can reach past its edge if not centred): {(las > FIELD_ARCSEC / 2).sum()}")
    predicted = np.where(maps["predict"][:, 1] > 0.5, "FRII", "FRI")
    both = np.isin(fr_class, ("FRI", "FRII"))
    print(f"model accuracy on the FRI/FRII sources: {(predicted[both] == fr_class[both]).mean():.3f}; "
          f"LIME options: {METHOD_OPTIONS.get('lime')}")
    print(rst_table(rows))
    for name in ("integrated_gradients_logit", "integrated_gradients"):
        if name in methods:
            print(f"\n{pretty(name)}, enclosed rule:")
            print(fraction_sensitivity(las, fr_class, maps[name]))
    if plots:
        IMAGES.mkdir(parents=True, exist_ok=True)
        title = f"{model_name}, {part} part of the dev split: {len(las)} sources"
        scatter_plots(las, fr_class, results, IMAGES / "measure_scatter.png", title)
        ratio_plot(fr_class, results, IMAGES / "measure_fr_ratio.png", title)
        if "integrated_gradients_logit" in maps:
            example_plot(table, cutouts, maps, "integrated_gradients_logit", IMAGES / "measure_examples.png")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return las, fr_class, results, rows


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        help="explanation methods to measure (LIME is the slow one)")
    parser.add_argument("--no-plots", action="store_true", help="print the table only")
    parser.add_argument("--model", default="mirabest-fr", help="shipped model whose maps are measured")
    parser.add_argument("--part", default="report", choices=PARTS,
                        help="sources of the dev split to measure: report (the numbers the docs quote), tune "
                             "(where methods and thresholds are chosen) or all")
    args = parser.parse_args(argv)
    # The docs' figures show the report part of the shipped model only.
    plots = not args.no_plots and args.model == "mirabest-fr" and args.part == "report"
    run(methods=tuple(args.methods), plots=plots, model_name=args.model, part=args.part)


if __name__ == "__main__":
    main()
