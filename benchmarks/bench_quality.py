"""The numbers of docs/quality.rst: faithfulness, stability and sanity of every image
method at its defaults, on the default model, over real FIRST cutouts of the report part.

* deletion and insertion areas (:func:`glue_xai.methods.metrics.quality_summary`: noise
  substrate, 20 steps, over the pixels that differ from the substrate);
* stability: mean pairwise Jaccard index of the top 5% (pixels, or superpixels for the
  LIME family) over seeds 0, 1 and 2;
* the cascading randomisation test, layer by layer (``--randomise`` sources, the first
  of the part): Spearman correlation with the original map over all pixels and over the
  emission (sky + 3 sigma grown by a beam, as in bench_trust), signed maps compared by
  sign, magnitude maps by magnitude.

Medians (and for the randomisation test, medians per layer) with 95% bootstrap intervals
over sources. The report part is never trained or tuned on (glue_xai.data.splits).

    python benchmarks/bench_quality.py                         # all 130 report cutouts
    python benchmarks/bench_quality.py --limit 10 --randomise 3  # a quick look
    python benchmarks/bench_quality.py --hotspots              # the synthetic localisation table
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_trust import bootstrap, emission_mask_on_model_grid, fmt, load_part

METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime")


def faithfulness_table(model, sources, methods, log):
    import glue_xai as gx
    from glue_xai.methods.metrics import quality_summary

    table = {}
    for method in methods:
        deletion, insertion, agreement, seconds, evals = [], [], [], [], []
        for s in sources:
            e = gx.explain(model, s.image, method=method, seed=0, pixel_scale_arcsec=s.pixel_scale_arcsec)
            summary = quality_summary(model, e, seeds=(0, 1, 2))
            deletion.append(summary["deletion"]["area"])
            insertion.append(summary["insertion"]["area"])
            agreement.append(summary["stability"]["mean_jaccard"])
            seconds.append(e.elapsed_s)
            evals.append(e.n_model_evals)
        level = summary["stability"]["level"]
        table[method] = {"deletion_area": bootstrap(deletion), "insertion_area": bootstrap(insertion),
                         "stability": bootstrap(agreement), "stability_level": level,
                         "seconds": bootstrap(seconds), "model_evals": bootstrap(evals), "n": len(sources)}
        log(f"{method:22s} deletion {fmt(table[method]['deletion_area'])}  "
            f"insertion {fmt(table[method]['insertion_area'])}  stability {fmt(table[method]['stability'])} "
            f"({level})  evals {table[method]['model_evals'][0]:.0f}  {table[method]['seconds'][0]:.2f} s")
    return table


def randomisation_cascade(model, sources, methods, log, seed=0):
    """Per method: the layers and, per region, a (sources, layers + 1) array of
    correlations (column 0: the control, the map recomputed on the untouched copy).

    The cascade of :func:`glue_xai.methods.metrics.randomisation_test` (same layers,
    order, re-initialisation and seed), with each randomised map compared over both
    regions at once, so that LIME's 1000 samples are paid once per layer, not twice.
    """
    import copy

    import torch

    import glue_xai as gx
    from glue_xai.methods.api import SIGNED_METHODS, method_function
    from glue_xai.methods.metrics_inputs import method_settings, resolve
    from glue_xai.methods.metrics_sanity import randomisation_layers, reinitialise, spearman
    from glue_xai.models.classifier import Classifier

    out = {}
    for method in methods:
        rows = {"all pixels": [], "on the emission": []}
        for s in sources:
            e = gx.explain(model, s.image, method=method, seed=0, pixel_scale_arcsec=s.pixel_scale_arcsec)
            absolute = not (method in SIGNED_METHODS or e.params.get("signed"))
            mask = emission_mask_on_model_grid(model, s.image, e.placement)
            regions = {"all pixels": np.ones(mask.shape, bool), "on the emission": mask}
            name, settings = method_settings(e, None, None)
            function = method_function(name)
            network = copy.deepcopy(model.module)
            copy_model = Classifier(network, model.card, batch_size=model.batch_size, device=model.device)
            x, original, target = resolve(model, e)

            def correlations():
                new = np.asarray(function(copy_model, x, target, seed=0, **settings)["map"], dtype=np.float64)
                return {k: spearman(original[r], new[r], absolute) for k, r in regions.items()}

            per_layer = [correlations()]
            layers = ["none"]
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                for layer_name, layer in randomisation_layers(network):
                    reinitialise(layer)
                    layers.append(layer_name)
                    per_layer.append(correlations())
            for k in rows:
                rows[k].append([c[k] for c in per_layer])
        out[method] = {"layers": layers, **{k: np.array(v) for k, v in rows.items()}}
        for region_name in rows:
            medians = np.nanmedian(out[method][region_name], axis=0)
            last = bootstrap(np.abs(out[method][region_name][:, -1]))
            log(f"{method:22s} {region_name:16s} median rho per layer {np.round(medians, 2).tolist()}  "
                f"|rho| all layers {fmt(last)}")
    return out


def hotspot_table(log):
    """Localisation on the synthetic FR II sources of tests/test_metrics.py, where the
    hand-made model looks at the hotspots only; every method at its defaults."""
    import glue_xai as gx
    from glue_xai.methods import metrics

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from test_metrics import hotspot_case

    rng = np.random.default_rng(0)
    for seed in (1, 2):
        image, mask, model = hotspot_case(seed)
        random_map = rng.random(mask.shape)
        log(f"source seed {seed}: hotspot mask {100 * mask.mean():.2f}% of the image; random map "
            f"{metrics.relevance_mass_inside(random_map, mask):.3f} {metrics.pointing_game(random_map, mask)}")
        for method in METHODS:
            e = gx.explain(model, image, method=method, target="hotspot")
            line = (f"  {method:22s} mass {metrics.relevance_mass_inside(e, mask):.2f} "
                    f"pointing {metrics.pointing_game(e, mask)}")
            if e.segments is not None:
                top = int(np.argmax(e.weights))
                line += (f"  superpixels {len(e.weights)}, top one touches a hotspot: {bool(mask[e.segments == top].any())},"
                         f" its pixels in the mask {mask[e.segments == top].mean():.2f}")
            log(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mirabest-fr")
    parser.add_argument("--part", default="report", choices=("report", "tune"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--limit", type=int, default=None, help="only this many sources, spread over the part")
    parser.add_argument("--randomise", type=int, default=10, help="sources given the randomisation cascade")
    parser.add_argument("--skip", nargs="*", default=(), choices=("faithfulness", "randomisation"))
    parser.add_argument("--hotspots", action="store_true", help="only the synthetic hotspot localisation table")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)

    def log(text):
        print(text, flush=True)

    if args.hotspots:
        hotspot_table(log)
        return

    import torch

    import glue_xai as gx

    if args.threads:
        torch.set_num_threads(args.threads)  # a shared machine: leave cores to others
    model = gx.load_model(args.model)
    start = time.perf_counter()
    results = {"model": args.model, "part": args.part}
    if "faithfulness" not in args.skip:
        _, _, _, sources = load_part(args.part, args.limit)
        log(f"faithfulness and stability: {len(sources)} {args.part}-part cutouts")
        results["faithfulness"] = faithfulness_table(model, sources, args.methods, log)
    if "randomisation" not in args.skip and args.randomise:
        _, _, _, sources = load_part(args.part)
        log(f"randomisation cascade: the first {args.randomise} {args.part}-part cutouts")
        cascade = randomisation_cascade(model, sources[:args.randomise], args.methods, log)
        results["randomisation"] = {m: {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in c.items()}
                                    for m, c in cascade.items()}
    log(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
