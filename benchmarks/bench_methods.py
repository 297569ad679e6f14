"""Speed of glue-xai's methods against the `lime` package, captum and the model-evaluation floor.

Run by hand (not in CI):  python benchmarks/bench_methods.py [--repeats 3] [--rst docs/benchmark_table.rst]

Everything is measured in one run, on the shipped MiraBest model and one real FIRST
cutout, with the same number of samples for every implementation. The *floor* is the
bare cost of the model evaluations a method makes: N forward passes for LIME, N forward
and backward passes for the gradient methods. Ratios are printed beside the times.
"""
import argparse
import glob
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import glue_xai as gx
from glue_xai.methods import gradients, lime as our_lime
from glue_xai.data.mirabest import mirabest_root
from glue_xai.methods.segmentation import segment

FITS = sorted(glob.glob(str(mirabest_root() / "fits" / "2*.fits")))


def run_rounds(entries, repeats):
    """Time every entry once per round, rounds interleaved, so that load from other work
    on the machine falls on all implementations alike; returns (best, median) per entry."""
    times = {name: [] for name, _ in entries}
    for _ in range(repeats):
        for name, fn in entries:
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(t), statistics.median(t)) for name, t in times.items()}


def load_cutout():
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fits.getdata(FITS[0]).astype(np.float64)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--rst", default=None, help="also write the table as reStructuredText here")
    args = parser.parse_args(argv)

    from captum.attr import IntegratedGradients, Lime, NoiseTunnel, Saliency
    from lime.lime_image import LimeImageExplainer

    model = gx.load_model("mirabest-fr")
    net = model.module
    raw = load_cutout()
    x, _ = model.prepare(raw)
    target = int(model.proba_of_inputs(x[None])[0].argmax())
    n = args.samples
    segments = segment(x, "slic", n_segments=64)
    entries, floors = [], {}

    def add(name, fn, floor=None):
        entries.append((name, fn))
        floors[name] = floor
        return name

    # --- floors -------------------------------------------------------------------------
    batch = np.repeat(x[None], n, axis=0)
    forward_floor = add(f"floor: {n} forward passes", lambda: model.proba_of_inputs(batch))

    def grad_floor(k):
        inputs = torch.from_numpy(np.repeat(x[None], k, axis=0)).requires_grad_(True)
        torch.softmax(net(inputs), 1)[:, target].sum().backward()

    sg_floor = add("floor: 25 forward+backward", lambda: grad_floor(25))
    ig_floor = add("floor: 32 forward+backward", lambda: grad_floor(32))

    # --- LIME -----------------------------------------------------------------------------
    ours = add(f"glue-xai lime ({n} samples, slic 64)",
               lambda: our_lime.lime(model, x, target, seed=0, n_samples=n, segments=segments), forward_floor)
    add("glue-xai explain(method='lime') incl. preprocessing+segmentation",
        lambda: gx.explain(model, raw, method="lime", seed=0, n_samples=n), forward_floor)

    rgb = np.repeat(x[0][..., None], 3, axis=2).astype(np.float64)

    def classifier_fn(images):
        return model.proba_of_inputs(np.asarray(images, dtype=np.float32).mean(axis=3)[:, None])

    explainer = LimeImageExplainer(random_state=0)
    lime_default = add(f"lime package, defaults (quickshift, batch 10, {n} samples)",
                       lambda: explainer.explain_instance(rgb, classifier_fn, num_samples=n, random_seed=0),
                       forward_floor)
    lime_100 = add(f"lime package, batch_size=100 ({n} samples)",
                   lambda: explainer.explain_instance(rgb, classifier_fn, num_samples=n, batch_size=100,
                                                      random_seed=0), forward_floor)
    lime_same = add("lime package, batch_size=100, our slic segments",
                    lambda: explainer.explain_instance(rgb, classifier_fn, num_samples=n, batch_size=100,
                                                       segmentation_fn=lambda _: segments, random_seed=0),
                    forward_floor)

    def prob_fn(inp):
        return torch.softmax(net(inp), 1)

    x_t = torch.from_numpy(x[None])
    mask_t = torch.from_numpy(segments[None, None].astype(np.int64))
    captum_lime = add(f"captum Lime (perturbations_per_eval=128, {n} samples)",
                      lambda: Lime(prob_fn).attribute(x_t, target=target, feature_mask=mask_t, n_samples=n,
                                                      perturbations_per_eval=128), forward_floor)

    # --- gradient methods -------------------------------------------------------------------
    sigma = 0.15 * float(x.max() - x.min())
    our_sg = add("glue-xai smoothgrad (25 samples)",
                 lambda: gradients.smoothgrad(model, x, target, n_samples=25), sg_floor)
    captum_sg = add("captum NoiseTunnel(Saliency) smoothgrad (25, one batch)",
                    lambda: NoiseTunnel(Saliency(prob_fn)).attribute(
                        x_t, target=target, nt_type="smoothgrad", nt_samples=25, nt_samples_batch_size=25,
                        stdevs=sigma), sg_floor)
    our_ig = add("glue-xai integrated gradients (32 steps)",
                 lambda: gradients.integrated_gradients(model, x, target, n_steps=32), ig_floor)
    captum_ig = add("captum IntegratedGradients (32 steps, one batch)",
                    lambda: IntegratedGradients(prob_fn).attribute(x_t, target=target, n_steps=32,
                                                                   internal_batch_size=32), ig_floor)
    add("glue-xai saliency", lambda: gradients.saliency(model, x, target))
    add("glue-xai gradcam", lambda: gradients.gradcam(model, x, target))

    for _, fn in entries:  # warm-up: first calls pay for imports and allocations
        fn()
    timed = run_rounds(entries, args.repeats)
    best = {name: t[0] for name, t in timed.items()}
    rows = []
    for name, _ in entries:
        floor_name = floors[name]
        floor = best[floor_name] if floor_name else None
        rows.append((name, best[name], timed[name][1], floor))
        print(f"{name:66s} {best[name]:8.3f} s  (median {timed[name][1]:.3f})"
              + (f"  {best[name] / floor:5.2f}x floor" if floor else ""))
    forward_floor = best[forward_floor]
    ours, our_sg, our_ig = best[ours], best[our_sg], best[our_ig]
    captum_sg, captum_ig = best[captum_sg], best[captum_ig]
    fastest_library = min(best[lime_default], best[lime_100], best[lime_same], best[captum_lime])
    summary = [
        ("our LIME / fastest library LIME", ours / fastest_library, "<= 1.0"),
        ("our LIME / its model-evaluation floor", ours / forward_floor, "<= 1.3"),
        ("our SmoothGrad / captum", our_sg / captum_sg, "<= 1.1"),
        ("our integrated gradients / captum", our_ig / captum_ig, "<= 1.1"),
    ]
    print()
    for name, ratio, goal in summary:
        print(f"{name:45s} {ratio:6.2f}   target {goal}")
    if args.rst:
        write_rst(args.rst, rows, summary, n)


def write_rst(path, rows, summary, n):
    lines = [".. list-table:: Best of repeated runs, seconds (generated by benchmarks/bench_methods.py)",
             "   :header-rows: 1", "", "   * - implementation", "     - best (s)", "     - median (s)",
             "     - x floor"]
    for name, best, median, floor in rows:
        lines += [f"   * - {name}", f"     - {best:.3f}", f"     - {median:.3f}",
                  f"     - {best / floor:.2f}" if floor else "     - "]
    lines += ["", ".. list-table:: Ratios", "   :header-rows: 1", "", "   * - comparison", "     - ratio",
              "     - target"]
    for name, ratio, goal in summary:
        lines += [f"   * - {name}", f"     - {ratio:.2f}", f"     - {goal}"]
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
