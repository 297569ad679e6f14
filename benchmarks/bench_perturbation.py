"""Speed of glue-xai's occlusion, RISE and Shapley values against captum, xaitk-saliency and shap.

Run by hand (not in CI):

    python benchmarks/bench_perturbation.py [--cutouts 8] [--repeats 3] [--masks 500] [--budget 500]

Everything is measured in one run, on the shipped ``mirabest-fr`` model and real FIRST
cutouts from the *report* part of :func:`glue_xai.data.splits.dev_split` (spread evenly
over it), explaining the predicted class. Every pair runs at equal settings on the same
model input ``x`` (``model.prepare`` of the FITS cutout) with the same substrate:

* occlusion: glue-xai ``occlusion(only_changed=False)`` against captum ``Occlusion``
  (same patch, stride and baseline, ``perturbations_per_eval`` = the model's batch);
* RISE: glue-xai ``rise(debiased=False)`` against xaitk-saliency's ``RISEStack``
  (``debiased=False``, fill = the substrate) with the same number of masks, grid and
  keep probability; both draw their own masks (that is part of the cost);
* Shapley values: glue-xai ``shapley`` against shap on the same superpixels and the same
  players, with the same evaluation budget (shap ``Permutation`` for a sampled game,
  shap ``Exact`` when glue-xai plays the game exactly).

The *floor* of each method is the bare cost of its model evaluations: the same number of
perturbed inputs (built beforehand) through ``model.proba_of_inputs`` in the model's
batches. Every entry is timed once per round, rounds and the order within a round
interleaved so that load from other work on the machine falls on all alike; the table
gives the median over rounds of the seconds per cutout. Agreement of the maps (max abs
difference, correlation) is computed from the first round's outputs.
"""
import argparse
import datetime
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import glue_xai as gx
from glue_xai.data.mirabest import mirabest_root
from glue_xai.data.splits import dev_split
from glue_xai.methods.lime import superpixels_of
from glue_xai.methods.occlusion import occlusion, patch_positions
from glue_xai.methods.rise import rise, rise_masks
from glue_xai.methods.scores import blend
from glue_xai.methods.shapley import shapley
from glue_xai.methods.substrate import make_substrate

METHODS = ("occlusion", "rise", "shapley")


def report_cutouts(n):
    """``n`` report-part FITS cutouts, evenly spread over the part (sorted by file name),
    read as the package reads a user's file."""
    from glue_xai.data.cutouts import read_image

    _, report = dev_split().catalogue_rows()
    report = sorted(report, key=lambda r: r["fits_file"])
    picks = [report[int(i * len(report) / n)] for i in range(n)]
    return [(row["fits_file"], read_image(mirabest_root() / row["fits_file"], require_wcs=False)[0].astype(np.float64))
            for row in picks]


def reference_rise(model, n_masks, grid, keep_probability):
    """(name, fn(x, hidden, target) -> map) of xaitk-saliency's RISE, or of the plain
    'loop over mask batches through the model' RISE when xaitk-saliency is missing."""
    try:
        from smqtk_classifier.interfaces.classify_image import ClassifyImage
        from xaitk_saliency.impls.gen_image_classifier_blackbox_sal.rise import RISEStack
    except ImportError:
        def plain(x, hidden, target):
            masks = rise_masks(n_masks, x.shape[1:], grid, keep_probability, seed=0)
            total = np.zeros(x.shape[1:])
            for start in range(0, n_masks, model.batch_size):
                m = masks[start:start + model.batch_size]
                s = model.proba_of_inputs(hidden[None] + m[:, None] * (x - hidden)[None])[:, target]
                total += np.tensordot(s, m, axes=1)
            return total / (n_masks * keep_probability)
        return "plain RISE loop (xaitk-saliency not installed)", plain, None

    class Blackbox(ClassifyImage):
        """The model as xaitk sees a classifier: images (h, w) in, {class: probability} out,
        ``model.batch_size`` images per forward pass."""

        def get_labels(self):
            return list(range(len(model.classes)))

        def classify_images(self, img_iter):
            chunk = []
            for image in img_iter:
                chunk.append(image)
                if len(chunk) == model.batch_size:
                    yield from self._score(chunk)
                    chunk = []
            if chunk:
                yield from self._score(chunk)

        @staticmethod
        def _score(chunk):
            probs = model.proba_of_inputs(np.stack(chunk)[:, None])
            return [dict(enumerate(p)) for p in probs]

        def get_config(self):
            return {}

    blackbox = Blackbox()

    def xaitk(x, hidden, target):
        stack = RISEStack(n=n_masks, s=grid, p1=keep_probability, seed=0, threads=0, debiased=False)
        stack.fill = hidden[0]
        return stack(x[0], blackbox)[target]

    def xaitk_masks(x):
        from xaitk_saliency.impls.perturb_image.rise import RISEGrid

        return RISEGrid(n=n_masks, s=grid, p1=keep_probability, seed=0, threads=0).perturb(x[0])

    import xaitk_saliency

    return f"xaitk-saliency RISEStack ({xaitk_saliency.__version__})", xaitk, xaitk_masks


def shap_values(model, x, hidden, segments, players, target, budget, exact):
    """shap's Shapley values of the same game (players shown or replaced by the substrate)
    and the number of model evaluations it made."""
    import shap

    calls = [0]

    def value(z):
        calls[0] += len(z)
        keep = np.zeros((len(z), int(segments.max()) + 1), np.float32)
        keep[:, players] = z
        return model.proba_of_inputs(blend(x, hidden, keep[:, segments]))[:, target]

    masker = shap.maskers.Independent(np.zeros((1, len(players))), max_samples=1)
    if exact:
        explainer = shap.explainers.Exact(value, masker)
        values = explainer(np.ones((1, len(players))), silent=True).values[0]
    else:
        np.random.seed(0)  # shap's permutations come from numpy's global generator
        explainer = shap.explainers.Permutation(value, masker)
        values = explainer(np.ones((1, len(players))), max_evals=budget, silent=True).values[0]
    return values, calls[0]


def corr(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutouts", type=int, default=8, help="report-part FITS cutouts (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; the median is reported")
    parser.add_argument("--patch", type=int, default=10)
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--masks", type=int, default=500, help="RISE masks (both implementations)")
    parser.add_argument("--grid", type=int, default=8)
    parser.add_argument("--budget", type=int, default=500, help="Shapley model evaluations (both)")
    parser.add_argument("--rst", default=None, help="also write the table as reStructuredText here")
    args = parser.parse_args(argv)

    from captum.attr import Occlusion
    import shap

    started = time.perf_counter()
    load_start = os.getloadavg()
    model = gx.load_model("mirabest-fr")
    rise_name, rise_reference, rise_reference_masks = reference_rise(model, args.masks, args.grid, 0.5)
    print(f"glue-xai {getattr(gx, '__version__', '?')}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"captum {__import__('captum').__version__}, shap {shap.__version__}, RISE reference: {rise_name}")
    print(f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"{datetime.datetime.now().isoformat(timespec='minutes')}, load average at start "
          f"{load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f}")

    cases = []
    for name, raw in report_cutouts(args.cutouts):
        x, _ = model.prepare(raw)
        target = int(model.proba_of_inputs(x[None])[0].argmax())
        hidden = make_substrate(x, "noise", seed=0)
        segments, _ = superpixels_of(x, None, "radio", 64, None, 0)
        probe = shapley(model, x, target, seed=0, budget=args.budget, segments=segments)
        n_patches = len(patch_positions(x.shape[1], args.patch, args.stride)) * len(
            patch_positions(x.shape[2], args.patch, args.stride))
        cases.append({"name": name, "x": x, "target": target, "hidden": hidden, "segments": segments,
                      "players": probe["extras"]["players"], "exact": probe["extras"]["estimate"] == "exact",
                      "evals": {"occlusion": n_patches + 1, "rise": args.masks,
                                "shapley": probe["n_model_evals"]}})
    print(f"{len(cases)} report-part cutouts; substrate all zero (clipped sky): "
          f"{all(not c['hidden'].any() for c in cases)}; Shapley players per cutout "
          f"{[len(c['players']) for c in cases]}")
    print(f"settings: occlusion patch {args.patch} stride {args.stride}; RISE {args.masks} masks, grid {args.grid}, "
          f"p 0.5; Shapley budget {args.budget} evaluations, radio superpixels (64)")

    # --- the entries: (method, who, setup, fn) per cutout; setup is not timed -------------------
    def occlusion_entries(c):
        x, t, hidden = c["x"], c["target"], c["hidden"]
        x_t, hidden_t = torch.from_numpy(x)[None], torch.from_numpy(hidden)[None]
        p, s = args.patch, args.stride

        def ours():
            return occlusion(model, x, t, seed=0, patch=p, stride=s, only_changed=False)

        def reference():
            return Occlusion(model.torch_proba).attribute(
                x_t, sliding_window_shapes=(1, p, p), strides=(1, s, s), baselines=hidden_t, target=t,
                perturbations_per_eval=model.batch_size)[0, 0].double().numpy()

        def floor_inputs():
            starts = [(r, q) for r in patch_positions(x.shape[1], p, s) for q in patch_positions(x.shape[2], p, s)]
            keep = np.ones((len(starts) + 1, *x.shape[1:]), np.float32)
            for k, (r, q) in enumerate(starts, 1):
                keep[k, r:r + p, q:q + p] = 0.0
            return blend(x, hidden, keep)

        return ours, reference, floor_inputs

    def rise_entries(c):
        x, t, hidden = c["x"], c["target"], c["hidden"]

        def ours():
            return rise(model, x, t, seed=0, n_masks=args.masks, grid=args.grid, keep_probability=0.5,
                        debiased=False)

        def floor_inputs():
            return blend(x, hidden, rise_masks(args.masks, x.shape[1:], args.grid, 0.5, seed=1))

        return ours, lambda: rise_reference(x, hidden, t), floor_inputs

    def shapley_entries(c):
        x, t, hidden, segments, players = c["x"], c["target"], c["hidden"], c["segments"], c["players"]

        def ours():
            return shapley(model, x, t, seed=0, budget=args.budget, segments=segments)

        def reference():
            return shap_values(model, x, hidden, segments, players, t, args.budget, c["exact"])

        def floor_inputs():
            n_evals = c["evals"]["shapley"]
            rng = np.random.default_rng(1)
            keep = np.zeros((n_evals, int(segments.max()) + 1), np.float32)
            keep[:, players] = rng.random((n_evals, len(players))) < 0.5
            return blend(x, hidden, keep[:, segments])

        return ours, reference, floor_inputs

    builders = {"occlusion": occlusion_entries, "rise": rise_entries, "shapley": shapley_entries}
    for c in cases:
        c["fns"] = {m: builders[m](c) for m in METHODS}

    # warm-up on the first cutout (imports, allocations, first calls of each library)
    for m in METHODS:
        ours, reference, _ = cases[0]["fns"][m]
        ours()
        reference()

    times = {(m, who): [] for m in METHODS for who in ("glue-xai", "reference", "floor")}
    outputs = {}
    for round_ in range(args.repeats):
        totals = {key: 0.0 for key in times}
        for i, c in enumerate(cases):
            for m in METHODS:
                ours, reference, floor_inputs = c["fns"][m]
                order = [("glue-xai", ours), ("reference", reference), ("floor", None)]
                shift = (round_ + i) % 3
                for who, fn in order[shift:] + order[:shift]:
                    if who == "floor":
                        inputs = floor_inputs()  # as many as glue-xai evaluates (not timed)
                        assert len(inputs) == c["evals"][m]
                        start = time.perf_counter()
                        model.proba_of_inputs(inputs)
                        totals[(m, who)] += time.perf_counter() - start
                        del inputs
                        continue
                    start = time.perf_counter()
                    out = fn()
                    totals[(m, who)] += time.perf_counter() - start
                    if round_ == 0:
                        outputs[(i, m, who)] = out
                        if who == "glue-xai":
                            assert out["n_model_evals"] == c["evals"][m]
        for key in times:
            times[key].append(totals[key] / len(cases))
        print(f"round {round_ + 1}/{args.repeats} done at {time.perf_counter() - started:.0f} s, load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)

    # --- agreement, from the first round's outputs ------------------------------------------------
    agreement = {m: [] for m in METHODS}
    evals = {m: [] for m in METHODS}
    for i, c in enumerate(cases):
        x, t, hidden = c["x"], c["target"], c["hidden"]
        ours, ref = outputs[(i, "occlusion", "glue-xai")]["map"], outputs[(i, "occlusion", "reference")]
        agreement["occlusion"].append((np.abs(ours - ref).max(), np.abs(ref).max(), corr(ours, ref)))
        evals["occlusion"].append((c["evals"]["occlusion"], c["evals"]["occlusion"] - 1))
        # RISE: each draws its own masks, so the timed maps differ by sampling noise; on
        # xaitk's own masks glue-xai's map, scaled as xaitk scales it, must equal xaitk's.
        ours, ref = outputs[(i, "rise", "glue-xai")]["map"], outputs[(i, "rise", "reference")]
        same = np.nan
        if rise_reference_masks is not None:
            on_theirs = rise(model, x, t, masks=rise_reference_masks(x), keep_probability=0.5, debiased=False)["map"]
            same = np.abs(on_theirs / np.abs(on_theirs).max() - ref).max()
        agreement["rise"].append((same, corr(ours, ref)))
        evals["rise"].append((args.masks, args.masks))
        # Shapley values: sampled estimates of the same values; their correlation beside
        # that of two glue-xai runs with different seeds (the sampling noise at this budget).
        ours_result = outputs[(i, "shapley", "glue-xai")]
        ref_values, ref_evals = outputs[(i, "shapley", "reference")]
        ours_values = ours_result["weights"][c["players"]]
        other_seed = shapley(model, x, t, seed=1, budget=args.budget, segments=c["segments"])["weights"][c["players"]]
        gap = ours_result["extras"]["score_all"] - ours_result["extras"]["score_none"]
        agreement["shapley"].append((np.abs(ours_values - ref_values).max(), np.abs(ref_values).max(),
                                     corr(ours_values, ref_values), corr(ours_values, other_seed),
                                     abs(ours_values.sum() - gap), abs(ref_values.sum() - gap)))
        evals["shapley"].append((c["evals"]["shapley"], ref_evals))

    median = {key: statistics.median(t) for key, t in times.items()}
    rows = []
    labels = {"occlusion": "captum Occlusion", "rise": rise_name.split(" (")[0],
              "shapley": {0: "shap Permutation", len(cases): "shap Exact"}.get(
                  sum(c["exact"] for c in cases), "shap Permutation/Exact")}
    for m in METHODS:
        ours, ref, floor = median[(m, "glue-xai")], median[(m, "reference")], median[(m, "floor")]
        rows.append((m, labels[m], ours, ref, floor, ours / ref, ours / floor))
    load_end = os.getloadavg()
    print()
    print(f"{'method':10s} {'reference':28s} {'glue-xai s/cutout':>17s} {'reference s/cutout':>18s} "
          f"{'floor s/cutout':>14s} {'x reference':>11s} {'x floor':>8s}")
    for m, label, ours, ref, floor, r_ref, r_floor in rows:
        print(f"{m:10s} {label:28s} {ours:17.2f} {ref:18.2f} {floor:14.2f} {r_ref:11.2f} {r_floor:8.2f}")
    print("(median over rounds; per-round seconds per cutout: "
          + "; ".join(f"{m} {who} " + "/".join(f"{v:.2f}" for v in times[(m, who)])
                      for m in METHODS for who in ("glue-xai", "reference", "floor")) + ")")
    print()
    print("model evaluations per cutout (glue-xai, reference), mean:",
          ", ".join(f"{m} {np.mean([e[0] for e in evals[m]]):.0f} / {np.mean([e[1] for e in evals[m]]):.0f}"
                    for m in METHODS))
    a = np.array(agreement["occlusion"])
    print(f"occlusion vs captum: max |difference| {a[:, 0].max():.1e} (map max {a[:, 1].min():.2f}..{a[:, 1].max():.2f}),"
          f" correlation min {a[:, 2].min():.6f}")
    a = np.array(agreement["rise"])
    print(f"RISE vs {labels['rise']}: on the same masks max |difference| of the max-abs scaled maps "
          f"{np.nanmax(a[:, 0]):.1e}; own masks (independent draws), correlation median {np.median(a[:, 1]):.3f} "
          f"min {a[:, 1].min():.3f}")
    a = np.array(agreement["shapley"])
    print(f"Shapley vs shap: correlation over players median {np.median(a[:, 2]):.3f} min {a[:, 2].min():.3f} "
          f"(glue-xai seed 0 vs seed 1: median {np.median(a[:, 3]):.3f} min {a[:, 3].min():.3f}); max |difference| "
          f"/ max |value| median {np.median(a[:, 0] / a[:, 1]):.3f}; efficiency error glue-xai {a[:, 4].max():.1e}, "
          f"shap {a[:, 5].max():.1e}")
    fastest = {m: min(r[3] for r in rows if r[0] == m) for m in METHODS}
    print()
    for m, _, ours, ref, floor, r_ref, r_floor in rows:
        print(f"{m:10s} target <= 1.0 x fastest reference: {'met' if ours <= fastest[m] else 'MISSED'} "
              f"({r_ref:.2f});  <= 1.3 x floor: {'met' if r_floor <= 1.3 else 'MISSED'} ({r_floor:.2f})")
    print(f"\nwall time {time.perf_counter() - started:.0f} s; load average at end {load_end[0]:.1f} / "
          f"{load_end[1]:.1f} / {load_end[2]:.1f}")
    if args.rst:
        write_rst(args.rst, rows)


def write_rst(path, rows):
    lines = [".. list-table:: Seconds per cutout, median of rounds (generated by benchmarks/bench_perturbation.py)",
             "   :header-rows: 1", "", "   * - method", "     - reference", "     - glue-xai (s)",
             "     - reference (s)", "     - floor (s)", "     - x reference", "     - x floor"]
    for m, label, ours, ref, floor, r_ref, r_floor in rows:
        lines += [f"   * - {m}", f"     - {label}", f"     - {ours:.2f}", f"     - {ref:.2f}", f"     - {floor:.2f}",
                  f"     - {r_ref:.2f}", f"     - {r_floor:.2f}"]
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
