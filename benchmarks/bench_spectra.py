"""Speed of the spectrum explanations: exact gradients against finite differences.

Run by hand (not in CI):  python benchmarks/bench_spectra.py [--repeats 3]

On the shipped "agn-spectra" RBF SVM (1824 pixels, 110 support vectors) and one
synthetic type 1 spectrum: each method with exact (closed-form autograd) gradients,
the same with finite differences (2 x 1824 model calls per gradient), and a black-box
model (a random forest) that only finite differences can explain. One CPU thread.
"""
import argparse
import time

import numpy as np
import torch

from glue_xai.data.spectra import synthetic_agn_spectra
from glue_xai.methods.spectral import explain_spectrum
from glue_xai.models.spectral import from_sklearn, load_spectrum_model


def best_time(fn, repeats):
    """Fastest of ``repeats`` runs (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    model = load_spectrum_model("agn-spectra")
    sample = synthetic_agn_spectra(30, seed=5)
    spectrum = sample.flux[0]
    explain_spectrum(model, spectrum, "saliency")  # imports and first-call set-up out of the timings

    from sklearn.ensemble import RandomForestClassifier

    shapes = sample.flux / sample.flux.mean(1, keepdims=True) - 1
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(shapes, sample.labels)
    black_box = from_sklearn(forest, sample.wavelength, classes=model.classes, normalisation_window=(4600, 7000))

    runs = [
        ("saliency", model, {}),
        ("saliency", model, {"gradient": "finite_differences"}),
        ("smoothgrad", model, {}),
        ("smoothgrad", model, {"gradient": "finite_differences", "n_samples": 10}),
        ("integrated_gradients", model, {}),
        ("lime", model, {}),
        ("saliency", black_box, {}),
        ("lime", black_box, {}),
    ]
    print(f"{'method':22s} {'model':10s} {'gradient':18s} {'options':28s} {'time':>9s} {'model calls':>12s}")
    for method, which, options in runs:
        seconds, e = best_time(lambda: explain_spectrum(which, spectrum, method, **options), args.repeats)
        shown = {k: v for k, v in options.items() if k != "gradient"}
        print(f"{method:22s} {which.backend.kind:10s} {str(e.params.get('gradient', '-')):18s} {str(shown):28s} "
              f"{seconds * 1000:8.1f}ms {e.n_model_evals:12d}")
    exact = explain_spectrum(model, spectrum, "saliency").map
    numeric = explain_spectrum(model, spectrum, "saliency", gradient="finite_differences").map
    print(f"max |finite differences - exact| / max |exact| = {np.abs(numeric - exact).max() / np.abs(exact).max():.2e}")


if __name__ == "__main__":
    main()
