"""Training recipe for the shipped AGN spectrum classifier ("agn-spectra").

An RBF-kernel support-vector machine with Platt-scaled probabilities, as in the SVM
classifications of SDSS AGN spectra that glue-xai's spectral saliency follows, trained
on :func:`glue_xai.data.spectra.synthetic_agn_spectra`. Seeded and quick (seconds):

    python -m glue_xai.models.train_spectra                      # the shipped model
    python -m glue_xai.models.train_spectra --out /tmp/agn --per-type 30

The support vectors are rounded to half precision before the model is evaluated and
saved, so the shipped file is small (~0.4 MB) and the scores on the card are those of
the rounded model.
"""
import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

from glue_xai.data.spectra import AGN_TYPES, log_wavelength_grid, synthetic_agn_spectra
from glue_xai.models.spectral import RBFSVMBackend, SpectrumClassifier, WEIGHTS_DIR, from_sklearn

#: every spectrum is divided by its mean flux in this window (Angstrom): the whole range
NORMALISATION_WINDOW = (4600.0, 7000.0)


def normalised(flux, wavelength, window=NORMALISATION_WINDOW):
    """Flux divided by its mean in ``window``, minus 1, as SpectrumClassifier prepares it."""
    inside = (wavelength >= window[0]) & (wavelength <= window[1])
    return flux / flux[:, inside].mean(1, keepdims=True) - 1.0


def train(out=WEIGHTS_DIR, per_type=100, seed=0, C=100.0):
    """Train, round, evaluate and save; returns the saved :class:`SpectrumClassifier`."""
    from sklearn import __version__ as sklearn_version
    from sklearn.svm import SVC

    started = time.perf_counter()
    wavelength = log_wavelength_grid()
    training = synthetic_agn_spectra(per_type, wavelength=wavelength, seed=seed)
    test = synthetic_agn_spectra(per_type, wavelength=wavelength, seed=seed + 1000)
    with warnings.catch_warnings():
        # scikit-learn 1.9 deprecates probability=True; Platt scaling is the point here
        warnings.simplefilter("ignore", FutureWarning)
        svm = SVC(C=C, kernel="rbf", gamma="scale", probability=True, random_state=seed)
        svm.fit(normalised(training.flux, wavelength), training.labels)
    fitted = from_sklearn(svm, wavelength, classes=AGN_TYPES, normalisation_window=NORMALISATION_WINDOW)
    if not isinstance(fitted.backend, RBFSVMBackend):
        raise RuntimeError("the SVM's closed form did not reproduce scikit-learn's probabilities")
    rounded = RBFSVMBackend(**dict(fitted.backend.arrays(), gamma=fitted.backend.gamma))
    rounded.support_vectors = rounded.support_vectors.astype(np.float16).astype(np.float64)
    model = SpectrumClassifier(rounded, AGN_TYPES, wavelength, NORMALISATION_WINDOW, name="agn-spectra")

    predicted = model.predict_proba(test.flux).argmax(1)
    confusion = np.zeros((len(AGN_TYPES), len(AGN_TYPES)), dtype=int)
    np.add.at(confusion, (test.labels, predicted), 1)
    model.info = {
        "description": "RBF support-vector machine with Platt-scaled probabilities classifying rest-frame "
                       "optical AGN spectra as type 1, intermediate or type 2",
        "input": "flux on the wavelength grid stored with the model (log-lambda, 1e-4 dex per pixel, "
                 f"{wavelength[0]:.1f}-{wavelength[-1]:.1f} Å rest frame); other grids are resampled",
        "training_data": f"glue_xai.data.spectra.synthetic_agn_spectra(n_per_type={per_type}, seed={seed}); "
                         "synthetic, not real SDSS spectra",
        "svm": {"C": C, "gamma": float(svm._gamma), "n_support": [int(n) for n in svm.n_support_],
                "support_vectors_dtype": "float16 (rounded before evaluation)"},
        "probabilities": "libsvm's pairwise Platt sigmoids coupled exactly (Wu, Lin & Weng 2004, method 2); "
                         "scikit-learn's iterative coupling agrees to ~2e-3",
        "test_accuracy": float((predicted == test.labels).mean()),
        "test_confusion_matrix": {"rows": "true class", "columns": "predicted class", "counts": confusion.tolist()},
        "test_data": f"synthetic_agn_spectra(n_per_type={per_type}, seed={seed + 1000})",
        "seed": seed,
        "sklearn_version": sklearn_version,
        "training_seconds": round(time.perf_counter() - started, 2),
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "agn_spectra")
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(WEIGHTS_DIR), help="folder for agn_spectra.npz/.json")
    parser.add_argument("--per-type", type=int, default=100, help="training spectra per AGN type")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--C", type=float, default=100.0, help="SVM regularisation")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)  # a shared machine; the SVM is small
    model = train(args.out, args.per_type, args.seed, args.C)
    print(json.dumps({k: model.info[k] for k in ("svm", "test_accuracy", "test_confusion_matrix")}, indent=1))


if __name__ == "__main__":
    main()
