"""Can an astronomer trust what the default model shows on real FIRST sky?

For every image method at its defaults, on the default model, over real FIRST cutouts
(300x300 px, Jy/beam, straight from the survey, through the model wrapper):

* on-source share: the fraction of the map's positive relevance on the emission
  (pixels above the sigma-clipped sky median + 3 sigma, grown by one beam, 3 px);
  a map spreading relevance at random scores the mask's area fraction (~0.07);
* pointing game: the map's maximum lies on the emission;
* deletion area: mean probability as the most relevant pixels are hidden (lower = the
  map found what the model needs);
* randomisation test: |Spearman| between the map and the map of a fully randomised
  network (cascade down to the input), over all pixels and over the emission only;
* run time per source.

Plus the model's accuracy (with recall per class), its expected calibration error
before and after temperature scaling, and :func:`glue_xai.assess`'s flags on real
sources and on empty sky (real FIRST noise: the inverted cutouts and their corners, and
beam-correlated Gaussian noise at FIRST's rms).

Everything here is measured on one part of the project's one development split
(``glue_xai.data.splits``): ``--part tune`` is where defaults and thresholds were
chosen; ``--part report`` (the default) is what the docs quote. Intervals are 95%
bootstrap intervals over sources.

    python benchmarks/bench_trust.py                      # report part, full table
    python benchmarks/bench_trust.py --part tune --quick  # while choosing defaults
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam", "lime", "elime")
BEAM_GROW_PIXELS = 3
N_BOOT = 2000
FIRST_RMS_JY = 1.5e-4


def bootstrap(values, statistic=np.median, seed=0):
    """(statistic, low, high): 95% bootstrap interval over the values (NaNs dropped)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.size, size=(N_BOOT, values.size))
    stats = np.array([statistic(values[d]) for d in draws])
    return float(statistic(values)), float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def fmt(triple, digits=2):
    v, lo, hi = triple
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def emission_mask_on_model_grid(model, image, placement):
    """The issue's emission mask on the model grid: above sky + 3 sigma, grown by a beam
    (the same mask as the Compare methods view)."""
    from glue_xai.methods.compare import emission_mask

    return emission_mask(model, image, placement, grow_pixels=BEAM_GROW_PIXELS)


def expected_calibration_error(probabilities, labels, n_bins=10):
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == labels
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        sel = bins == b
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - confidence[sel].mean())
    return float(ece)


def model_quality(model, part, split, data, rows, sources):
    """Accuracy, recall and calibration on the part's batch images and FITS cutouts."""
    tune, report = split.batch_indices(data)
    idx = report if part == "report" else tune
    labels = data.labels[idx]
    x = model.prepare_many(data.images[idx])
    logits = model_logits(model, x)
    out = {}
    for name, temperature in (("before temperature scaling", 1.0),
                              (f"after (T = {model.card.temperature:.2f})", model.card.temperature)):
        p = softmax(logits / temperature)
        out[name] = expected_calibration_error(p, labels)
    correct = (logits.argmax(1) == labels).astype(float)
    result = {"batch_images": len(idx), "accuracy_batch": bootstrap(correct, np.mean),
              "recall_batch": {c: bootstrap(correct[labels == k], np.mean) for k, c in enumerate(model.classes)},
              "ece": {k: v for k, v in out.items()},
              "ece_interval_after": bootstrap_ece(softmax(logits / model.card.temperature), labels)}
    # The raw FITS cutouts: confident FR I/II, and all FR I/II (uncertain ones included).
    fr = [(r, s) for r, s in zip(rows, sources) if r["class_code"][0] in "12"]
    truth = np.array([int(r["class_code"][0]) - 1 for r, _ in fr])
    confident = np.array([r["class_code"][1] == "0" for r, _ in fr])
    probs = np.concatenate([model.predict_proba(s.image, pixel_scale_arcsec=s.pixel_scale_arcsec) for _, s in fr])
    hit = (probs.argmax(1) == truth).astype(float)
    result.update({"fits_confident_n": int(confident.sum()), "fits_all_n": len(fr),
                   "accuracy_fits_confident": bootstrap(hit[confident], np.mean),
                   "accuracy_fits_all": bootstrap(hit, np.mean),
                   "recall_fits_all": {c: bootstrap(hit[truth == k], np.mean) for k, c in enumerate(model.classes)}})
    return result


def bootstrap_ece(probabilities, labels, seed=0):
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(labels), len(labels)) for _ in range(500)]
    stats = [expected_calibration_error(probabilities[d], labels[d]) for d in draws]
    return (expected_calibration_error(probabilities, labels), float(np.quantile(stats, 0.025)),
            float(np.quantile(stats, 0.975)))


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def model_logits(model, x):
    import torch

    with torch.inference_mode():
        return model.module(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy().astype(np.float64)


def empty_sky_fields(sources, seed=0):
    """Fields of real FIRST sky with no source to classify, and simulated noise.

    * inverted cutouts: minus the image. FIRST noise is symmetric, so the negative of a
      real cutout is real noise with real correlations and artefacts, and its sources
      become holes (radio astronomers count false detections this way);
    * corners of the inverted cutouts (150x150 of each 300x300, four per cutout);
    * beam-correlated Gaussian noise at FIRST's rms, 300x300.
    """
    from scipy import ndimage

    fields = {"inverted cutouts": [], "inverted corners": [], "Gaussian noise (FIRST rms, beam-correlated)": []}
    for s in sources:
        inverted = -s.image
        fields["inverted cutouts"].append(inverted)
        for y0 in (0, 150):
            for x0 in (0, 150):
                corner = np.full_like(inverted, np.nan)
                corner[75:225, 75:225] = inverted[y0:y0 + 150, x0:x0 + 150]
                fields["inverted corners"].append(corner)
    rng = np.random.default_rng(seed)
    sigma_beam = 5.4 / 2.3548 / 1.8
    for _ in range(len(sources)):
        white = rng.standard_normal((300, 300))
        noise = ndimage.gaussian_filter(white, sigma_beam)
        fields["Gaussian noise (FIRST rms, beam-correlated)"].append(FIRST_RMS_JY * noise / noise.std())
    return fields


def trust_flags(model, rows, sources):
    """How often assess() flags real sources and empty sky."""
    import glue_xai as gx

    out = {}
    confident = [s for r, s in zip(rows, sources) if r["class_code"][:2] in ("10", "20")]
    for name, group in (("confident FR I/II sources", confident),
                        ("all sources of the part", sources)):
        a = [gx.assess(model, s.image, pixel_scale_arcsec=s.pixel_scale_arcsec) for s in group]
        out[name] = {"n": len(a), "no_source": bootstrap([not x.has_source for x in a], np.mean),
                     "unlike_training": bootstrap([x.has_source and not x.in_distribution for x in a], np.mean),
                     "flagged": bootstrap([not x.trusted for x in a], np.mean)}
    for name, fields in empty_sky_fields(sources).items():
        a = [gx.assess(model, f, pixel_scale_arcsec=1.8) for f in fields]
        out[name] = {"n": len(a), "no_source": bootstrap([not x.has_source for x in a], np.mean),
                     "unlike_training": bootstrap([x.has_source and not x.in_distribution for x in a], np.mean),
                     "flagged": bootstrap([not x.trusted for x in a], np.mean),
                     "max_probability_median": float(np.median([x.probabilities.max() for x in a]))}
    return out


def method_table(model, sources, methods, options, n_randomise, log, informative=False):
    import glue_xai as gx
    from glue_xai.methods.metrics_faithfulness import deletion_curve
    from glue_xai.methods.metrics_localisation import pointing_game, relevance_mass_inside
    from glue_xai.methods.api import SIGNED_METHODS
    from glue_xai.methods.metrics_sanity import randomisation_test

    table = {}
    for method in methods:
        share, point, deletion, seconds, rand_all, rand_source, area = [], [], [], [], [], [], []
        for i, s in enumerate(sources):
            e = gx.explain(model, s.image, method=method, seed=0, pixel_scale_arcsec=s.pixel_scale_arcsec,
                           **options.get(method, {}))
            mask = emission_mask_on_model_grid(model, s.image, e.placement)
            share.append(relevance_mass_inside(e.model_map, mask))
            point.append(pointing_game(e.model_map, mask))
            area.append(mask.mean())
            seconds.append(e.elapsed_s)
            deletion.append(deletion_curve(model, e)["area"])
            if i < n_randomise and informative:
                # The last step of the cascade (every layer re-initialised), over the pixels
                # where either map is not exactly 0 (glue_xai.methods.compare.informative_pixels).
                from glue_xai.methods.compare import randomised_correlation

                rand_all.append(randomised_correlation(model, e, np.ones(mask.shape, bool)))
                rand_source.append(randomised_correlation(model, e, mask))
            elif i < n_randomise:
                # Compare what the viewer shows: signed maps by their signs, magnitudes as magnitudes.
                absolute = not (method in SIGNED_METHODS or e.params.get("signed"))
                r = randomisation_test(model, e, absolute=absolute)
                rand_all.append(abs(r["correlations"][-1]))
                r = randomisation_test(model, e, absolute=absolute, region=mask)
                rand_source.append(abs(r["correlations"][-1]))
        table[method] = {"on_source_share": bootstrap(share), "pointing_game": bootstrap(point, np.mean),
                         "deletion_area": bootstrap(deletion), "seconds": bootstrap(seconds),
                         "randomisation_all_pixels": bootstrap(rand_all),
                         "randomisation_on_source": bootstrap(rand_source),
                         "mask_area_fraction": float(np.median(area)), "n": len(sources),
                         "n_randomised": len(rand_all), "options": options.get(method, {})}
        log(f"{method:22s} share {fmt(table[method]['on_source_share'])}  "
            f"pointing {fmt(table[method]['pointing_game'])}  deletion {fmt(table[method]['deletion_area'])}  "
            f"rand(all) {fmt(table[method]['randomisation_all_pixels'])}  "
            f"rand(source) {fmt(table[method]['randomisation_on_source'])}  "
            f"{table[method]['seconds'][0]:.2f} s")
    return table


def load_part(part, limit=None):
    from glue_xai.data.cutouts import read_cutout
    from glue_xai.data.mirabest import load_mirabest_batches, mirabest_root
    from glue_xai.data.splits import dev_split

    root = mirabest_root()
    data = load_mirabest_batches(root)
    split = dev_split(root)
    tune_rows, report_rows = split.catalogue_rows(root)
    rows = report_rows if part == "report" else tune_rows
    if limit:
        rows = rows[::max(1, len(rows) // limit)][:limit]
    sources = [read_cutout(root / r["fits_file"]) for r in rows]
    return split, data, rows, sources


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mirabest-fr", help="shipped model name or model file")
    parser.add_argument("--part", default="report", choices=("report", "tune"))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--options", default="{}", help='JSON: {"method": {"option": value}} overrides')
    parser.add_argument("--randomise", type=int, default=10, help="sources given the randomisation test")
    parser.add_argument("--limit", type=int, default=None, help="only this many sources (quick looks)")
    parser.add_argument("--skip", nargs="*", default=(), choices=("methods", "quality", "flags"))
    parser.add_argument("--informative", action="store_true",
                        help="randomisation: only the last step (all layers re-initialised), over the pixels where "
                             "either map is not exactly 0, as the Compare methods view computes it")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--card", nargs="*", default=None, metavar="JSON",
                        help="store the report part's results (this run's, or these JSON files') in the shipped "
                             "model's card under info['report_part']")
    args = parser.parse_args(argv)

    import torch

    import glue_xai as gx

    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = gx.load_model(args.model)
    split, data, rows, sources = load_part(args.part, args.limit)
    print(f"model {model.name}  part {args.part}: {len(sources)} FITS cutouts", flush=True)
    results = {"model": model.name, "part": args.part, "n_sources": len(sources)}
    start = time.time()
    if "quality" not in args.skip:
        results["quality"] = model_quality(model, args.part, split, data, rows, sources)
        q = results["quality"]
        print(f"accuracy: batch images {fmt(q['accuracy_batch'], 3)} (n={q['batch_images']}), "
              f"FITS confident {fmt(q['accuracy_fits_confident'], 3)} (n={q['fits_confident_n']}), "
              f"FITS all FR I/II {fmt(q['accuracy_fits_all'], 3)} (n={q['fits_all_n']})")
        print("recall (batch):", {c: fmt(v, 3) for c, v in q["recall_batch"].items()})
        print("ECE:", {k: round(v, 3) for k, v in q["ece"].items()}, "after:", fmt(q["ece_interval_after"], 3),
              flush=True)
    if "flags" not in args.skip:
        results["flags"] = trust_flags(model, rows, sources)
        for name, f in results["flags"].items():
            print(f"{name:45s} n={f['n']:4d} flagged {fmt(f['flagged'], 3)}  no source {fmt(f['no_source'], 3)}"
                  f"  unlike training {fmt(f['unlike_training'], 3)}", flush=True)
    if "methods" not in args.skip:
        results["methods"] = method_table(model, sources, args.methods, json.loads(args.options), args.randomise,
                                          lambda m: print(m, flush=True), informative=args.informative)
    results["seconds"] = round(time.time() - start, 1)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    if args.card is not None:
        write_card(args.model, [results] + [json.loads(Path(p).read_text()) for p in args.card])
    return results


def write_card(model_name, runs):
    """Merge report-part results into the shipped card (``info["report_part"]``)."""
    from glue_xai.models.loading import SHIPPED, WEIGHTS_DIR, shipped_card

    if any(r["part"] != "report" for r in runs):
        raise SystemExit("only report-part numbers go into a model card")
    card = shipped_card(model_name)
    summary = {"what": "report part of glue_xai.data.splits (never trained or tuned on); "
                       "value [95% bootstrap interval]; benchmarks/bench_trust.py"}
    for run in runs:
        for key in ("quality", "flags"):
            if key in run:
                summary[key] = run[key]
        summary.setdefault("methods", {}).update(run.get("methods", {}))
    card.info["report_part"] = json.loads(json.dumps(summary, default=float))
    card.save(WEIGHTS_DIR / f"{SHIPPED[model_name]}.json")


if __name__ == "__main__":
    sys.exit(main() and 0)
