"""Figures for docs/compare.rst: every method side by side on four report-part FIRST sources.

    python docs/make_compare_figures.py [--model mirabest-fr] [--out-dir docs/images] [--candidates 12]

The sources come from the report part of the dev split (never trained or tuned on): the
first confident standard FR I, FR II and hybrid of the part, and the source among the
first ``--candidates`` confident FR I/II where a gradient method (saliency) and a
perturbation method (occlusion) agree least over the emission: the disagreement the
page discusses. Each figure is ``plot_comparison`` of ``compare_methods`` at the
defaults (seed 0), the same call as the viewer's Compare methods window; the numbers
of each comparison are written next to it as ``compare_<kind>.json``.
"""
import argparse
import json
from pathlib import Path

import numpy as np

KINDS = (("fr1", "100"), ("fr2", "200"), ("hybrid", "300"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mirabest-fr")
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "images"))
    parser.add_argument("--candidates", type=int, default=12)
    parser.add_argument("--keep", default=None, help="also pickle each comparison into this folder (re-plotting)")
    args = parser.parse_args(argv)

    import glue_xai as gx
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.data.mirabest import mirabest_root
    from glue_xai.data.splits import dev_split
    from glue_xai.methods.compare import compare_methods
    from glue_xai.methods.compare_plot import plot_comparison

    root = mirabest_root()
    _, report = dev_split().catalogue_rows()
    model = gx.load_model(args.model)
    out = Path(args.out_dir)

    chosen = []
    for kind, code in KINDS:
        row = next(r for r in report if r["class_code"] == code and r["morphology"] == "standard")
        chosen.append((kind, row))

    # The disagreeing source: lowest saliency-occlusion agreement among the candidates.
    taken = {row["key"] for _, row in chosen}
    candidates = [r for r in report if r["confidence"] == "confident" and r["fr_class"] in ("FRI", "FRII")
                  and r["key"] not in taken][:args.candidates]
    scores = []
    for row in candidates:
        cutout = read_cutout(root / row["fits_file"])
        quick = compare_methods(model, cutout.image, methods=("saliency", "occlusion"), seed=0, wcs=cutout.wcs,
                                randomisation=False)
        rho = quick.agreement[0, 1] if len(quick.methods) == 2 else np.nan
        scores.append(rho)
        print(f"candidate {row['source_id']} {row['fr_class']}: saliency-occlusion rho {rho:.2f}", flush=True)
    chosen.append(("disagree", candidates[int(np.nanargmin(scores))]))

    for kind, row in chosen:
        cutout = read_cutout(root / row["fits_file"])
        comparison = compare_methods(model, cutout.image, seed=0, wcs=cutout.wcs,
                                     progress=lambda done, total, m: print(f"  {done}/{total} {m}", flush=True))
        title = (f"{row['source_id']} ({row['fr_class']}, {row['confidence']} {row['morphology']}): every method "
                 f"explains {comparison.target_name}")
        if args.keep:
            import pickle

            Path(args.keep).mkdir(parents=True, exist_ok=True)
            (Path(args.keep) / f"compare_{kind}.pkl").write_bytes(pickle.dumps((comparison, title)))
        figure = plot_comparison(comparison, title=title)
        figure.savefig(out / f"compare_{kind}.png", dpi=100)
        numbers = {"source_id": row["source_id"], "fr_class": row["fr_class"], "target": comparison.target_name,
                   "probability": float(next(iter(comparison.explanations.values())).probability),
                   "methods": comparison.methods, "quality": comparison.quality,
                   "agreement": np.round(comparison.agreement, 3).tolist(), "failed": comparison.failed}
        (out / f"compare_{kind}.json").write_text(json.dumps(numbers, indent=1))
        print(kind, row["source_id"], {m: {k: round(v, 2) for k, v in q.items()}
                                       for m, q in comparison.quality.items()}, flush=True)


if __name__ == "__main__":
    main()
