"""How many measured bar lengths does a CNN trained on them need to beat the map measure?

``bench_bar_length.py`` compares bar lengths read off ``galaxy-bars``' explanation maps
with a CNN trained on the lengths themselves, and there the direct CNN, fitted to 921
exact simulated lengths, wins. But the two need different labels: the classifier learns
from cheap barred/unbarred labels, and the map measure needs only a few measured lengths
to choose its rule and the straight line that turns it into arcsec; the direct CNN needs
many measured lengths. This benchmark gives both the same small budget of measured
lengths and asks where the direct CNN overtakes the maps.

For each budget ``n`` and each of a few seeded draws (nested: draw ``d`` at ``n = 50``
holds its ``n = 25`` galaxies):

* **direct**: :func:`bench_bar_length.train_direct_cnn` (GalaxyCNN, one output) fitted
  to ``n`` barred galaxies of the TRAIN part, its epoch chosen on ``n`` barred galaxies
  of the TUNE part. It runs for a fixed number of optimiser steps, :func:`training_steps`
  (at least ``MIN_STEPS``, as many as the full-budget CNN's 200 epochs), not epochs:
  200 epochs of 25 galaxies are 200 steps, which leaves the network untrained, not
  data-limited.
* **maps**: the benchmark's map (Grad-CAM at the second block, mean of the 8 turns and
  flips) of the shipped (or ``--model``) classifier; its weighting, smoothing, rule,
  fraction and line chosen as :func:`bench_bar_length.choose_rule` does, on the same
  ``n`` tune galaxies. (The direct CNN thus sees 2n lengths, n fitted and n to stop on;
  the row "maps, rule on 2n" gives the maps the same 2n.)

Both are scored on the REPORT part's barred galaxies (r, RMSE, partial r given the
disc's scale length, 95% bootstrap intervals) with the paired difference of r; the
summary per ``n`` is the mean over draws with its interval (the report galaxies
resampled together for every draw) and the range over draws. The full-budget row (921 /
311) is run the same way, the direct CNN exactly as the benchmark's 200-epoch one.

``--noise 0.2`` adds a condition where every measured length (train and tune, both
sides) carries a 20% Gaussian fractional error, an ASSUMED stand-in for hand
measurement, not a measured property of human classifiers; scoring is against the
true lengths.

Direct CNN predictions and the maps are cached in ``--cache``, so after a new
``galaxy-bars`` the maps side is rerun alone (``--no-train`` refuses to train)::

    python benchmarks/bar_length_label_budget.py --data /tmp/galaxies.fits --cache /tmp/budget \\
        --json /tmp/budget.json
    python docs/make_bar_budget_figure.py --json /tmp/budget.json
"""
import argparse
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_bar_length import (METHODS, barred_parts, candidate_rules, centroid, choose_from_table,  # noqa: E402
                              explanation_maps, length_table, scores, train_direct_cnn)

from glue_xai.models.train_galaxies import bootstrap_interval, galaxy_dataset, pearson_r, predict, rmse  # noqa: E402

#: Measured lengths per part; the tune part has 311 barred galaxies, so 300 is the largest
#: budget below the full one.
BUDGETS = (25, 50, 100, 200, 300)
DRAWS = 3
#: The benchmark's map (its tune-chosen method).
MAP_METHOD = "gradcam_block2_8_symmetries"
#: Optimiser steps of the direct CNN: at least this many, and at least FULL_EPOCHS
#: epochs (the benchmark's chosen budget: 3000 steps for 921 galaxies), so every budget
#: gets the full CNN's steps. 1500 steps (first try) left n >= 100 under-trained on the
#: tune part: twice the steps, draw 0, lowered the RMSE on its n tune galaxies from
#: 0.50 to 0.48 (n = 100), 0.50 to 0.40 (200) and 0.42 to 0.34 (300); n = 25 gained
#: nothing (0.76 to 0.80). ``--check-steps`` repeats that check.
MIN_STEPS = 3000
FULL_EPOCHS = 200
BATCH_SIZE = 64  # train_galaxies.fit's


def training_steps(n, min_steps=MIN_STEPS, epochs=FULL_EPOCHS, batch_size=BATCH_SIZE):
    """Optimiser steps for ``n`` training galaxies: ``epochs`` epochs, but never fewer than
    ``min_steps`` (a small set's epoch is one or two steps)."""
    return max(int(min_steps), int(epochs) * math.ceil(n / batch_size))


def epochs_for_steps(n, steps, batch_size=BATCH_SIZE):
    """Epochs of ``n`` galaxies in batches of ``batch_size`` that make at least ``steps`` steps."""
    return math.ceil(steps / math.ceil(n / batch_size))


def budget_draws(parts_barred, budgets=BUDGETS, draws=DRAWS, seed=0):
    """``{(n, d): {"train": indices, "tune": indices}}``: ``n`` galaxies of each part for
    draw ``d``, the first ``n`` of a seeded shuffle of the part, so a draw's smaller
    budgets are subsets of its larger ones (the curve over ``n`` is not made noisier by
    fresh galaxies at each step)."""
    out = {}
    for d in range(draws):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1616, d]))
        shuffled = {part: rng.permutation(parts_barred[part]) for part in ("train", "tune")}
        for n in budgets:
            if n > min(len(shuffled["train"]), len(shuffled["tune"])):
                raise ValueError(f"budget {n} is larger than a part ({len(shuffled['train'])} train, "
                                 f"{len(shuffled['tune'])} tune barred galaxies)")
            out[(int(n), d)] = {part: np.sort(s[:n]) for part, s in shuffled.items()}
    return out


def training_seed(seed, n, d):
    """The direct CNN's torch seed for budget ``n``, draw ``d``, derived from the one seed."""
    return int(np.random.SeedSequence([int(seed), 1717, int(n), int(d)]).generate_state(1)[0] % 2 ** 31)


def noisy_lengths(lengths, scatter, seed=0):
    """The lengths as a measurer with a ``scatter`` fractional Gaussian error might give
    them (one measurement per galaxy, seeded; kept positive)."""
    lengths = np.asarray(lengths, float)
    if scatter <= 0:
        return lengths
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1818]))
    return np.clip(lengths * (1 + scatter * rng.standard_normal(len(lengths))), 0.05 * lengths, None)


def weights_tag(model):
    """A short hash of a classifier's weights, so cached maps follow the model."""
    digest = hashlib.sha1()
    for name, tensor in sorted(model.module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().numpy().tobytes())
    return digest.hexdigest()[:10]


def cached_maps(model_name, images, parts_barred, cache, seed, log=print):
    """Maps of every barred train, tune and report galaxy and their length table, from
    ``cache`` when the same weights made them."""
    import glue_xai as gx

    model = gx.load_model(model_name, device="cpu")
    tag = weights_tag(model)
    path = Path(cache) / f"maps_{model_name}_{tag}_seed{seed}.npz"
    if path.exists():
        with np.load(path) as f:
            return tag, dict(f)
    index = np.concatenate([parts_barred[p] for p in ("train", "tune", "report")])
    start = time.time()
    maps = explanation_maps(model, images[index], METHODS[MAP_METHOD], seed).astype(np.float32)
    log(f"maps of {len(index)} barred galaxies ({time.time() - start:.0f} s)")
    centres = [centroid(images[i]) for i in index]
    table = length_table(maps, images[index], centres, candidate_rules())
    log(f"length table ({time.time() - start:.0f} s)")
    out = {"index": index, "maps": maps, "table": table}
    np.savez_compressed(path, **out)
    return tag, out


def wait_for_other_run(path, poll_seconds=10):
    """Wait while another live process of this benchmark trains the same direct CNN (its
    ``.running`` marker holds its process id), so two processes sharing a cache split the
    work instead of repeating it."""
    marker = Path(path).with_suffix(".running")
    while marker.exists() and not Path(path).exists():
        try:
            os.kill(int(marker.read_text()), 0)
        except (ProcessLookupError, ValueError, FileNotFoundError):
            return  # a stale marker: its process is gone
        time.sleep(poll_seconds)


def direct_predictions(images, labels, train, tune, report, all_tune, torch_seed, steps, path, allow_train,
                       log=print):
    """Report and (all) tune predictions of a direct CNN, from ``path`` if cached."""
    import torch

    path = Path(path)
    wait_for_other_run(path)
    if path.exists():
        with np.load(path) as f:
            return dict(f)
    if not allow_train:
        raise SystemExit(f"{path} is not cached and --no-train was given")
    epochs = epochs_for_steps(len(train), steps)
    marker = path.with_suffix(".running")
    marker.write_text(str(os.getpid()))
    try:
        module, best_epoch, tune_rmse, seconds = train_direct_cnn(
            images, labels, {"train": train, "tune": tune}, epochs, torch_seed, log=lambda *a: None)
    finally:
        marker.unlink()
    out = {"report": predict(module, torch.from_numpy(images[report]))[:, 0],
           "all_tune": predict(module, torch.from_numpy(images[all_tune]))[:, 0],
           "best_epoch": best_epoch, "epochs": epochs, "steps": epochs * math.ceil(len(train) / BATCH_SIZE),
           "tune_rmse": tune_rmse, "seconds": seconds}
    np.savez(path, **out)
    log(f"  direct CNN n={len(train)}: {epochs} epochs, best {best_epoch}, tune RMSE {tune_rmse:.3f}, "
        f"{seconds:.0f} s")
    return out


def mean_over_draws(statistic, predictions, true):
    """``statistic`` averaged over draws, with its interval over the report galaxies
    resampled together for all draws."""
    return bootstrap_interval(lambda t, *p: float(np.mean([statistic(q, t) for q in p])), true, *predictions)


def summary(maps_by_draw, direct_by_draw, true):
    """Mean over draws with intervals, and each draw's r, for one budget."""
    r_maps = [pearson_r(m, true) for m in maps_by_draw]
    r_direct = [pearson_r(d, true) for d in direct_by_draw]
    return {
        "maps_r": mean_over_draws(pearson_r, maps_by_draw, true),
        "direct_r": mean_over_draws(pearson_r, direct_by_draw, true),
        "maps_rmse": mean_over_draws(rmse, maps_by_draw, true),
        "direct_rmse": mean_over_draws(rmse, direct_by_draw, true),
        "maps_minus_direct_r": bootstrap_interval(
            lambda t, *p: float(np.mean([pearson_r(m, t) - pearson_r(d, t)
                                         for m, d in zip(p[:len(p) // 2], p[len(p) // 2:])])),
            true, *maps_by_draw, *direct_by_draw),
        "maps_r_each_draw": r_maps, "direct_r_each_draw": r_direct,
        "maps_r_median": float(np.median(r_maps)), "direct_r_median": float(np.median(r_direct)),
    }


def run(data=None, model="galaxy-bars", budgets=BUDGETS, draws=DRAWS, seed=0, min_steps=MIN_STEPS, noise=0.0,
        check_steps=(), cache="/tmp/bar_budget", allow_train=True, full=True, noise_budgets=None,
        reverse=False, log=print):
    import torch

    torch.set_num_threads(1)
    Path(cache).mkdir(parents=True, exist_ok=True)
    images, truth = galaxy_dataset(data, log=log)
    parts_barred, lengths, disc_scale = barred_parts(truth, seed)
    report, all_tune = parts_barred["report"], parts_barred["tune"]
    true, control = lengths[report], disc_scale[report]

    tag, maps = cached_maps(model, images, parts_barred, cache, seed, log)
    row_of = {int(i): k for k, i in enumerate(maps["index"])}
    table = maps["table"]
    rules = candidate_rules()

    def rows(idx):
        return table[[row_of[int(i)] for i in idx]]

    def maps_measure(choose_on, labels):
        rule = choose_from_table(rows(choose_on), labels[choose_on], rules)
        return rule, rule["slope"] * rows(report)[:, rule["column"]] + rule["intercept"]

    def direct(train, tune, label_set, labels, n_tag, d, torch_seed):
        steps = training_steps(len(train), min_steps)
        path = Path(cache) / f"direct_seed{seed}_{label_set}_n{n_tag}_draw{d}_steps{steps}.npz"
        return direct_predictions(images, labels, train, tune, report, all_tune, torch_seed, steps, path,
                                  allow_train, log)

    selected = budget_draws(parts_barred, sorted({*budgets, *(noise_budgets or ()), *check_steps}), draws, seed)
    conditions = {"exact": lengths}
    if noise > 0:
        conditions[f"noise_{noise:g}"] = noisy_lengths(lengths, noise, seed)
    result = {"model": model, "weights": tag, "map": MAP_METHOD, "seed": seed, "draws": draws,
              "min_steps": min_steps, "n_report_barred": int(len(report)), "conditions": {}}
    arrays = {"true": true, "report_index": report}
    start = time.time()
    for label_set, labels in conditions.items():
        per_budget = {}
        # The full budget first: all train and tune barred galaxies, the direct CNN as the
        # benchmark trains it (its seed, 200 epochs).
        ns = list(budgets if label_set == "exact" or noise_budgets is None else noise_budgets)
        # ``reverse``: a second process sharing the cache starts from the other end.
        for n in (ns[::-1] if reverse else ns) + (["all"] if full and label_set == "exact" else []):
            runs, maps_runs, maps_2n_runs, direct_runs = [], [], [], []
            order = range(1 if n == "all" else draws)
            for d in (order[::-1] if reverse else order):
                if n == "all":
                    train, tune, torch_seed = parts_barred["train"], parts_barred["tune"], seed
                else:
                    train, tune, torch_seed = selected[(n, d)]["train"], selected[(n, d)]["tune"], \
                        training_seed(seed, n, d)
                out = direct(train, tune, label_set, labels, n, d, torch_seed)
                rule, from_maps = maps_measure(tune, labels)
                rule_2n, from_maps_2n = maps_measure(np.concatenate([train, tune]), labels)
                runs.append({
                    "draw": d, "maps": {"rule": rule, **scores(from_maps, true, control)},
                    "maps_rule_on_2n": {"rule": rule_2n, **scores(from_maps_2n, true, control)},
                    "direct": {**scores(out["report"], true, control), "best_epoch": int(out["best_epoch"]),
                               "epochs": int(out["epochs"]), "steps": int(out["steps"]),
                               "tune_rmse_on_its_n": float(out["tune_rmse"]),
                               "all_tune_r": pearson_r(out["all_tune"], lengths[all_tune]),
                               "training_seconds": float(out["seconds"])},
                    "maps_minus_direct_r": bootstrap_interval(
                        lambda m, q, t: pearson_r(m, t) - pearson_r(q, t), from_maps, out["report"], true)})
                maps_runs.append(from_maps)
                maps_2n_runs.append(from_maps_2n)
                direct_runs.append(out["report"])
                arrays[f"{label_set}_n{n}_draw{d}_maps"] = from_maps
                arrays[f"{label_set}_n{n}_draw{d}_direct"] = out["report"]
            if reverse:  # back in draw order
                runs, maps_runs, maps_2n_runs, direct_runs = (x[::-1] for x in (runs, maps_runs, maps_2n_runs,
                                                                                direct_runs))
            per_budget[str(n)] = {"draws": runs, **summary(maps_runs, direct_runs, true),
                                  "maps_rule_on_2n_r": mean_over_draws(pearson_r, maps_2n_runs, true)}
            s = per_budget[str(n)]
            log(f"{label_set} n={n}: maps r {s['maps_r'][0]:.3f} {np.round(s['maps_r_each_draw'], 3)}, "
                f"direct r {s['direct_r'][0]:.3f} {np.round(s['direct_r_each_draw'], 3)}, "
                f"maps-direct {np.round(s['maps_minus_direct_r'], 3)} ({time.time() - start:.0f} s)")
        result["conditions"][label_set] = per_budget
    result["crossover"] = {label_set: crossover(per_budget)
                           for label_set, per_budget in result["conditions"].items()}
    result["steps_check"] = steps_check(check_steps, selected, parts_barred, images, lengths, seed, min_steps,
                                        cache, allow_train, log)
    # The longer run against the same draw's map measure, paired over the report galaxies.
    for n, numbers in result["steps_check"].items():
        for steps, entry in numbers.items():
            predicted = entry.pop("report_predictions")
            from_maps = arrays.get(f"exact_n{n}_draw0_maps")
            if from_maps is not None:
                entry["maps_draw0_minus_this_r"] = bootstrap_interval(
                    lambda m, q, t: pearson_r(m, t) - pearson_r(q, t), from_maps, predicted, true)
    result["disc_scale_alone_r"] = bootstrap_interval(pearson_r, control, true)
    return result, arrays


def crossover(per_budget):
    """The smallest budget at which the direct CNN's mean r is above the maps', and the
    smallest at which the paired interval of (maps - direct) lies below zero."""
    budgets = sorted(int(n) for n in per_budget if n != "all")
    ahead = [n for n in budgets if per_budget[str(n)]["maps_minus_direct_r"][0] < 0]
    clearly = [n for n in budgets if per_budget[str(n)]["maps_minus_direct_r"][2] < 0]
    return {"direct_ahead_from_n": min(ahead) if ahead else None,
            "direct_ahead_beyond_interval_from_n": min(clearly) if clearly else None}


def steps_check(check_n, selected, parts_barred, images, lengths, seed, min_steps, cache, allow_train, log):
    """Draw 0 of each budget in ``check_n`` trained with twice the steps: if the longer
    run is not better on the tune part, the chosen steps are enough. The choice is made on
    the tune part (its ``n`` galaxies, and all 311 as a steadier view); the report part's r
    of both runs is kept so that a longer run chosen there can be quoted."""
    out = {}
    all_tune = parts_barred["tune"]
    true = lengths[parts_barred["report"]]
    for n in check_n:
        numbers = {}
        for factor in (1, 2):
            steps = factor * training_steps(n, min_steps)
            path = Path(cache) / f"direct_seed{seed}_exact_n{n}_draw0_steps{steps}.npz"
            pick = selected[(n, 0)]
            run_ = direct_predictions(images, lengths, pick["train"], pick["tune"], parts_barred["report"],
                                      all_tune, training_seed(seed, n, 0), steps, path, allow_train, log)
            numbers[f"steps_{steps}"] = {"tune_rmse_on_its_n": float(run_["tune_rmse"]),
                                         "best_epoch": int(run_["best_epoch"]), "epochs": int(run_["epochs"]),
                                         "all_tune_r": pearson_r(run_["all_tune"], lengths[all_tune]),
                                         "all_tune_rmse": rmse(run_["all_tune"], lengths[all_tune]),
                                         "report_r": bootstrap_interval(pearson_r, run_["report"], true),
                                         "report_rmse": bootstrap_interval(rmse, run_["report"], true)}
            numbers[f"steps_{steps}"]["report_predictions"] = run_["report"]
        out[str(n)] = numbers
        log(f"steps check n={n}: tune RMSE on its n, 1x/2x steps: "
            f"{[v['tune_rmse_on_its_n'] for v in numbers.values()]}")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FITS file of the simulated set (read, or written if missing)")
    parser.add_argument("--model", default="galaxy-bars", help="bar classifier for the maps (default galaxy-bars)")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS),
                        help=f"measured lengths per part (default {' '.join(map(str, BUDGETS))})")
    parser.add_argument("--draws", type=int, default=DRAWS, help=f"random draws per budget (default {DRAWS})")
    parser.add_argument("--seed", type=int, default=0, help="the one seed: split, draws, maps, training")
    parser.add_argument("--min-steps", type=int, default=MIN_STEPS,
                        help=f"fewest optimiser steps of a direct CNN (default {MIN_STEPS})")
    parser.add_argument("--noise", type=float, default=0.0,
                        help="also run with lengths carrying this fractional Gaussian error (an assumption)")
    parser.add_argument("--noise-budgets", type=int, nargs="+", default=None,
                        help="budgets of the noisy condition (default: --budgets)")
    parser.add_argument("--reverse", action="store_true",
                        help="run the budgets and draws from the last (a second process sharing --cache)")
    parser.add_argument("--no-full", action="store_true", help="skip the full-budget row (921 / 311)")
    parser.add_argument("--check-steps", type=int, nargs="*", default=[],
                        help="budgets whose draw 0 is also trained with twice the steps (tune part)")
    parser.add_argument("--cache", default="/tmp/bar_budget", help="folder of cached maps and direct CNN outputs")
    parser.add_argument("--no-train", action="store_true", help="use cached direct CNNs only (maps side rerun)")
    parser.add_argument("--json", default=None, help="write the numbers to this JSON file")
    parser.add_argument("--save", default=None, help="write the report part's lengths to this .npz")
    args = parser.parse_args(argv)
    result, arrays = run(args.data, args.model, args.budgets, args.draws, args.seed, args.min_steps, args.noise,
                         args.check_steps, args.cache, not args.no_train, not args.no_full, args.noise_budgets, args.reverse)
    for label_set, per_budget in result["conditions"].items():
        print(f"{label_set} lengths; report part, {result['n_report_barred']} barred (SIMULATED); "
              f"mean over draws [95% interval], draws' range")
        for n, s in per_budget.items():
            def fmt(v):
                return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"
            print(f"  n={n:>4}: maps r {fmt(s['maps_r'])} ({min(s['maps_r_each_draw']):.3f}-"
                  f"{max(s['maps_r_each_draw']):.3f})  direct r {fmt(s['direct_r'])} "
                  f"({min(s['direct_r_each_draw']):.3f}-{max(s['direct_r_each_draw']):.3f})  "
                  f"maps-direct {fmt(s['maps_minus_direct_r'])}  RMSE maps {fmt(s['maps_rmse'])} "
                  f"direct {fmt(s['direct_rmse'])}  maps rule on 2n r {fmt(s['maps_rule_on_2n_r'])}")
        print(f"  crossover: {result['crossover'][label_set]}")
    if args.save:
        np.savez_compressed(args.save, **arrays)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
