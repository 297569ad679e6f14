"""Bar lengths from a bar classifier's explanation maps vs a CNN trained to predict them.

A paper on Galaxy Zoo DECaLS images measured bar lengths from the saliency maps of a
barred/unbarred CNN and found them closer to the experts' lengths (Pearson r = 0.76) than
those of a CNN trained on the lengths themselves (r = 0.59). This benchmark repeats the
comparison on *simulated* galaxies (glue_xai.data.galaxies), where the true length is
known exactly; the numbers say what the method does on these simulations, not on real
galaxies.

* **From the maps**: the shipped ``galaxy-bars`` classifier explains each barred galaxy
  (class "barred") by saliency, SmoothGrad and Grad-CAM at the output of its second
  convolution block (a 32x32 grid of 0.52" cells: the classifier's first convolution runs
  on the 0.262" pixels; resampled to the image), the last also
  averaged over the eight turns and flips of the galaxy. The positive part of the map
  (as it is, or times the pixel's flux), optionally smoothed, around the galaxy's
  light-weighted centre gives a length (a second-moment length or the extent of the map
  above a fraction of its peak along its major axis), turned into arcsec by a straight
  line. For each method, the weighting, smoothing, rule, threshold and line are chosen on
  the TUNE part's barred galaxies; the method with the best tune r is the benchmark's
  answer, and every method's tune-chosen rule is also scored on the report part.
* **Direct**: the same architecture (:class:`~glue_xai.models.galaxy_cnn.GalaxyCNN`,
  one output) trained here, seeded, on the TRAIN part's barred galaxies to predict the
  half-length, for each budget of ``--direct-epochs``, its epoch chosen on the tune part;
  the budget with the lowest tune RMSE is the comparison. Not shipped.

Both are scored on the REPORT part's barred galaxies: Pearson r, RMSE (arcsec) and the
partial r given the disc's scale length (which the simulator ties to the bar's length)
with 95% bootstrap intervals (1000 seeded resamplings of the galaxies), and the paired
difference of r between the two.

    python benchmarks/bench_bar_length.py --data /tmp/galaxies.fits --save /tmp/bar_length.npz
"""
import argparse
import json
import time

import numpy as np

from glue_xai.data.galaxies import PIXEL_SCALE_ARCSEC, split_parts
from glue_xai.models.train_galaxies import (bootstrap_interval, fit, galaxy_dataset, pearson_r, predict,
                                            rmse)

#: The maps compared, as options of ``gx.explain``. Grad-CAM (element-weighted, of the
#: barred-minus-mean margin) looks at the output of the second convolution block, found
#: per model by :func:`block_output`. On the tune part (one view, best rule each), the
#: shipped galaxy-bars (no input pool): 4th block (8x8 cells of 2.1") r 0.18, 3rd 0.82,
#: 2nd 0.86, 1st 0.86 (its 8-symmetry map not measured); the earlier pooled model, whose
#: 2nd block was chosen: 4th 0.50, 1st 0.63, 2nd 0.76 (docs/galaxies.rst). ``symmetries``: the
#: mean of the maps of the galaxy turned by multiples of 90 degrees and flipped (each map
#: turned back; :func:`symmetric_map`), not an option of ``gx.explain``.
METHODS = {"saliency": {"method": "saliency"},
           "smoothgrad": {"method": "smoothgrad"},
           "gradcam_block2": {"method": "gradcam", "layer": "block 2", "output": "margin"},
           "gradcam_block2_8_symmetries": {"method": "gradcam", "layer": "block 2", "output": "margin",
                                           "symmetries": 8}}
RULES = ("moment", "extent")
#: ``map``: the gradient as it is (per nanomaggy, largest where the galaxy is faint, as
#: the network's asinh stretch amplifies faint light); ``map_x_flux``: times the pixel's
#: flux summed over bands (gradient x input: the logit's change per fractional change of
#: the light there; for Grad-CAM, the light where the classifier looks).
WEIGHTINGS = ("map", "map_x_flux")
#: Fractions of the map's peak. 1-3% were added when the earlier pooled classifier's best
#: Grad-CAM rule sat at the grid's lowest fraction (5%; its 8-symmetry map then peaked at
#: 1-2%, tune r 0.826-0.834). The shipped finer-grid model's 8-symmetry map, best tune r
#: over weighting, smoothing and rule per fraction: 1% 0.80, 2% 0.80, 3% 0.82, 5% 0.87,
#: 10% 0.89 (chosen), 20% 0.85, 30% 0.78, 50% 0.77.
FRACTIONS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)
#: Gaussian smoothing (sigma, image pixels) of the map before a rule reads it: 1-3 pixels
#: (0.26-0.8") join the pixels of one bar without merging it with the disc (1-1.6" seeing).
SMOOTHINGS = (0.0, 1.0, 2.0, 3.0)
#: Only the map within this radius of the centre counts (the largest bars end at 6").
APERTURE_ARCSEC = 7.0
PAPER = {"saliency": 0.76, "direct_cnn": 0.59}
#: Training budgets of the direct CNN. At 30 epochs (the classifier's) it was still
#: improving at its last epoch; on the tune part 60 epochs gave r 0.88, 120 epochs 0.93
#: and 200 epochs 0.96 (scratch runs of :func:`train_direct_cnn`). A comparison with a
#: direct CNN stopped early would flatter the maps.
DIRECT_EPOCHS = (30, 120, 200)


def centroid(image):
    """Light-weighted centre (y, x) of the r band's positive pixels: no truth needed."""
    r = np.clip(np.asarray(image[1], float), 0, None)
    y, x = np.indices(r.shape)
    return float((r * y).sum() / r.sum()), float((r * x).sum() / r.sum())


def map_length(saliency_map, centre, rule="moment", fraction=0.2, aperture_arcsec=APERTURE_ARCSEC,
               smooth_pixels=0.0):
    """A length in pixels from the positive part of a map, within the aperture.

    ``moment``: sqrt(3 x the largest eigenvalue of the second-moment tensor of the map
    above ``fraction`` of its peak (a uniform line of half-length L gives L);
    ``extent``: the largest distance from the centre, along the map's major axis, of
    a pixel above ``fraction`` of the peak (in the region connected to the peak).
    ``smooth_pixels``: sigma of a Gaussian smoothing of the map first (0: none).
    """
    from scipy import ndimage

    m = np.asarray(saliency_map, float)
    if smooth_pixels > 0:
        m = ndimage.gaussian_filter(m, smooth_pixels)
    m = np.clip(m, 0, None)
    y, x = np.indices(m.shape)
    dy, dx = y - centre[0], x - centre[1]
    m = np.where(np.hypot(dy, dx) <= aperture_arcsec / PIXEL_SCALE_ARCSEC, m, 0.0)
    if m.max() <= 0:
        return 0.0
    keep = m >= fraction * m.max()
    labels, _ = ndimage.label(keep)
    keep = labels == labels[np.unravel_index(np.argmax(m), m.shape)]
    w = np.where(keep, m, 0.0)
    w = w / w.sum()
    cy, cx = (w * dy).sum(), (w * dx).sum()
    tensor = np.array([[(w * (dx - cx) ** 2).sum(), (w * (dx - cx) * (dy - cy)).sum()],
                       [(w * (dx - cx) * (dy - cy)).sum(), (w * (dy - cy) ** 2).sum()]])
    values, vectors = np.linalg.eigh(tensor)
    if rule == "moment":
        return float(np.sqrt(3 * max(values[-1], 0.0)))
    if rule == "extent":
        along = dx * vectors[0, -1] + dy * vectors[1, -1]
        return float(np.abs(along[keep]).max())
    raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


def block_output(module, k):
    """Dotted name of the output (its ReLU) of the ``k``-th convolution block of a network."""
    import torch

    relus = [name for name, layer in module.named_modules() if isinstance(layer, torch.nn.ReLU)]
    if len(relus) < k:
        raise ValueError(f"the network has {len(relus)} ReLU blocks, not {k}")
    return relus[k - 1]


def turned(array, k):
    """Symmetry ``k`` (0-7) of the square applied to the last two axes: ``k % 4`` quarter
    turns, then a left-right flip when ``k >= 4``."""
    out = np.rot90(array, k % 4, axes=(-2, -1))
    return np.flip(out, axis=-1) if k >= 4 else out


def turned_back(array, k):
    """The inverse of :func:`turned`."""
    out = np.flip(array, axis=-1) if k >= 4 else array
    return np.rot90(out, -(k % 4), axes=(-2, -1))


def symmetric_map(explain_one, image, symmetries=8):
    """Mean of ``explain_one``'s maps of the image turned by each of the first
    ``symmetries`` symmetries of the square, each map turned back.

    Why: the classifier was trained on every turn and flip of its galaxies (a galaxy has no
    preferred orientation), yet its map of one image depends on how the bar sits on the
    pooling grid; the mean keeps what all eight views agree on. Its map of a turned image
    is the turned map, exactly."""
    return np.mean([turned_back(explain_one(np.ascontiguousarray(turned(image, k))), k)
                    for k in range(symmetries)], axis=0)


def explanation_maps(model, images, options, seed=0):
    """The image-grid maps of class "barred" for each image; ``options`` as in METHODS."""
    import glue_xai as gx

    options = dict(options)
    method = options.pop("method")
    symmetries = int(options.pop("symmetries", 1))
    if str(options.get("layer", "")).startswith("block "):
        options["layer"] = block_output(model.module, int(options["layer"].split()[1]))

    def explain_one(image):
        return gx.explain(model, image, method=method, target="barred", seed=seed, **options).map

    return np.stack([symmetric_map(explain_one, image, symmetries) for image in images])


def weighted(maps, images, weighting):
    return maps * images.sum(axis=1) if weighting == "map_x_flux" else maps


def measure_lengths(maps, images, centres, rule):
    """Lengths (pixels) read off the maps by one rule (a dict as :func:`choose_rule` gives)."""
    return np.array([map_length(m, c, rule["rule"], rule["fraction"], smooth_pixels=rule["smooth_pixels"])
                     for m, c in zip(weighted(maps, images, rule["weighting"]), centres)])


def candidate_rules():
    """Every (weighting, smoothing, rule, fraction) a map length may be read by, in a fixed
    order (the first of equally good rules wins)."""
    return [{"weighting": w, "smooth_pixels": s, "rule": r, "fraction": f}
            for w in WEIGHTINGS for s in SMOOTHINGS for r in RULES for f in FRACTIONS]


def length_table(maps, images, centres, rules):
    """(galaxies, rules) lengths in pixels: each map read by each candidate rule, once,
    so choosing a rule on any subset of galaxies is a look-up
    (benchmarks/bar_length_label_budget.py chooses on many)."""
    return np.stack([measure_lengths(maps, images, centres, rule) for rule in rules], axis=1)


def choose_from_table(table, lengths, rules):
    """The rule whose column of ``table`` correlates best with ``lengths`` (the first if
    tied; a rule giving constant lengths never wins), with its line to arcsec and its
    ``column``."""
    r = np.array([pearson_r(column, lengths) for column in table.T])
    best = int(np.argmax(np.where(np.isnan(r), -np.inf, r)))
    slope, intercept = np.polyfit(table[:, best], lengths, 1)
    return {**rules[best], "tune_r": float(r[best]), "slope": float(slope), "intercept": float(intercept),
            "column": best}


def choose_rule(maps, images, centres, lengths):
    """The (weighting, smoothing, rule, fraction) whose map length correlates best with the
    true length on these (tune) galaxies, with the line turning it into arcsec."""
    rules = candidate_rules()
    best = choose_from_table(length_table(maps, images, centres, rules), lengths, rules)
    best.pop("column")
    return best


def train_direct_cnn(images, lengths, parts_barred, epochs=30, seed=0, log=print):
    """A GalaxyCNN with one output trained on the train part's barred galaxies to predict
    the bar half-length (arcsec); epoch chosen on the tune part's RMSE. Returns the
    network, its best epoch, its tune RMSE there and the training time."""
    import torch

    from glue_xai.models.galaxy_cnn import GalaxyCNN

    x = torch.from_numpy(images)
    y = torch.from_numpy(np.asarray(lengths, np.float32))[:, None]
    tr, tu = parts_barred["train"], parts_barred["tune"]
    torch.manual_seed(seed)
    module = GalaxyCNN(in_channels=3, n_classes=1)
    best_epoch, history, seconds = fit(module, x[tr], y[tr], x[tu], y[tu], torch.nn.MSELoss(),
                                       lambda out, target: -rmse(out[:, 0], target[:, 0]), epochs, seed, log=log)
    return module, best_epoch, -history[best_epoch - 1]["tune_score"], seconds


def barred_parts(truth, seed=0):
    """``(parts_barred, lengths, disc_scale)``: the barred galaxies' indices in each part of
    :func:`~glue_xai.data.galaxies.split_parts` (train, tune, report), and every galaxy's
    true bar half-length and disc scale length (arcsec)."""
    barred = np.asarray(truth["barred"], bool)
    parts = split_parts(len(truth), seed)
    return ({name: idx[barred[idx]] for name, idx in parts.items()},
            np.asarray(truth["bar_length_arcsec"], float), np.asarray(truth["disc_scale_arcsec"], float))


def partial_r(measured, true, control):
    """Pearson r of ``measured`` and ``true`` once both are freed of their linear
    dependence on ``control`` (here the disc's scale length, which the simulator ties to
    the bar's length)."""
    r_mt, r_mc, r_tc = pearson_r(measured, true), pearson_r(measured, control), pearson_r(true, control)
    return float((r_mt - r_mc * r_tc) / np.sqrt((1 - r_mc ** 2) * (1 - r_tc ** 2)))


def scores(measured, true, control):
    """Pearson r, RMSE (arcsec) and partial r given ``control``, each with its interval."""
    return {"pearson_r": bootstrap_interval(pearson_r, measured, true),
            "rmse_arcsec": bootstrap_interval(rmse, measured, true),
            "partial_r_given_disc_scale": bootstrap_interval(partial_r, measured, true, control)}


def run(data=None, model="galaxy-bars", direct_epochs=DIRECT_EPOCHS, seed=0, log=print):
    import torch

    import glue_xai as gx

    torch.set_num_threads(1)
    images, truth = galaxy_dataset(data, log=log)
    parts_barred, lengths, disc_scale = barred_parts(truth, seed)
    classifier = gx.load_model(model, device="cpu")
    start = time.time()
    tune, report = parts_barred["tune"], parts_barred["report"]
    centres = {"tune": [centroid(images[i]) for i in tune], "report": [centroid(images[i]) for i in report]}
    true, control = lengths[report], disc_scale[report]
    from_maps, arrays = {}, {"true": true, "report_index": report}
    for method, options in METHODS.items():
        # Tune first: the rule is fixed before the report part's maps are read.
        rule = choose_rule(explanation_maps(classifier, images[tune], options, seed), images[tune],
                           centres["tune"], lengths[tune])
        report_maps = explanation_maps(classifier, images[report], options, seed)
        measured = rule["slope"] * measure_lengths(report_maps, images[report], centres["report"], rule) \
            + rule["intercept"]
        from_maps[method] = {"rule": rule, **scores(measured, true, control)}
        arrays[f"from_maps_{method}"] = measured
        log(f"{method}: tune r {rule['tune_r']:.3f} ({time.time() - start:.0f} s)")
    chosen = max(from_maps, key=lambda m: from_maps[m]["rule"]["tune_r"])
    arrays["from_maps"] = arrays[f"from_maps_{chosen}"]
    # The direct CNN is trained for each budget in ``direct_epochs``; the one with the
    # lowest tune RMSE is the comparison (the others are reported too).
    direct_runs = {}
    for epochs in direct_epochs:
        module, best_epoch, tune_rmse, seconds = train_direct_cnn(images, lengths, parts_barred, epochs, seed,
                                                                  log=log)
        predicted = predict(module, torch.from_numpy(images[report]))[:, 0]
        direct_runs[int(epochs)] = {**scores(predicted, true, control), "tune_rmse_arcsec": tune_rmse,
                                    "best_epoch": best_epoch, "epochs": int(epochs), "training_seconds": seconds}
        arrays[f"direct_{epochs}_epochs"] = predicted
        log(f"direct CNN, {epochs} epochs: tune RMSE {tune_rmse:.3f} ({time.time() - start:.0f} s)")
    best_epochs = min(direct_runs, key=lambda e: direct_runs[e]["tune_rmse_arcsec"])
    arrays["direct"] = direct = arrays[f"direct_{best_epochs}_epochs"]
    result = {
        "n_report_barred": int(len(true)), "n_tune_barred": int(len(tune)),
        "n_train_barred": int(len(parts_barred["train"])),
        "chosen_on_tune": chosen,
        "from_maps": from_maps[chosen],
        "every_method": from_maps,
        "direct_cnn": direct_runs[best_epochs],
        "every_direct_cnn": direct_runs,
        # Paired over the same resampled galaxies: > 0 when the maps' length is ahead.
        "maps_minus_direct_r": bootstrap_interval(
            lambda m, d, t: pearson_r(m, t) - pearson_r(d, t), arrays["from_maps"], direct, true),
        "disc_scale_alone_r": bootstrap_interval(pearson_r, control, true),
        "paper_real_galaxy_zoo": PAPER,
    }
    return result, arrays


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FITS file of the simulated set (read, or written if missing)")
    parser.add_argument("--model", default="galaxy-bars", help="bar classifier (default: the shipped galaxy-bars)")
    parser.add_argument("--direct-epochs", type=int, nargs="+", default=list(DIRECT_EPOCHS),
                        help="training budgets (epochs) of the direct CNN; the best on the tune part is the "
                             f"comparison (default {' '.join(map(str, DIRECT_EPOCHS))})")
    parser.add_argument("--seed", type=int, default=0, help="seed of split, maps and training (default 0)")
    parser.add_argument("--save", default=None, help="write the report part's lengths to this .npz")
    parser.add_argument("--json", default=None, help="write the numbers to this JSON file")
    args = parser.parse_args(argv)
    result, arrays = run(args.data, args.model, args.direct_epochs, args.seed)
    rows = {f"maps: {m}": v for m, v in result["every_method"].items()}
    rows.update({f"direct_cnn, {e} epochs": v for e, v in result["every_direct_cnn"].items()})
    for name, numbers in rows.items():
        r, e = numbers["pearson_r"], numbers["rmse_arcsec"]
        p = numbers["partial_r_given_disc_scale"]
        tune = (f"   tune r {numbers['rule']['tune_r']:.2f}" if "rule" in numbers
                else f"   tune RMSE {numbers['tune_rmse_arcsec']:.2f}")
        print(f"{name:22s} r = {r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}]   RMSE = {e[0]:.2f} [{e[1]:.2f}, {e[2]:.2f}] "
              f"arcsec   partial r {p[0]:.2f} [{p[1]:.2f}, {p[2]:.2f}]{tune}")
    print(f"chosen on the tune part: {result['chosen_on_tune']}, {result['from_maps']['rule']}; "
          f"{result['n_report_barred']} barred report galaxies (SIMULATED, not Galaxy Zoo; paper's r: {PAPER})")
    if args.save:
        np.savez_compressed(args.save, **arrays)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
