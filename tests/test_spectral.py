"""Spectra: synthetic AGN, the spectrum classifier wrapper, and explanations along wavelength."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

from glue_xai.data.spectra import (AGN_TYPES, C_KMS, REST_LINES, emission_line,  # noqa: E402
                                   log_wavelength_grid, synthetic_agn_spectra)
from glue_xai.methods.spectral import explain_spectrum  # noqa: E402
from glue_xai.models.spectral import SpectrumClassifier, from_sklearn, load_spectrum_model  # noqa: E402


def fit_quietly(estimator, x, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # probability=True is deprecated in scikit-learn 1.9; convergence chatter
        return estimator.fit(x, y)


@pytest.fixture(scope="module")
def agn_spectra():
    return synthetic_agn_spectra(8, seed=11)


@pytest.fixture(scope="module")
def broad_vs_narrow():
    """Spectra whose Hα has the same flux and either a broad (FWHM 3000-5000 km/s) or a
    narrow (300-500 km/s) profile: only the line's width tells the classes apart."""
    rng = np.random.default_rng(5)
    wavelength = log_wavelength_grid(6300.0, 6850.0)
    flux, labels = [], []
    for i in range(120):
        broad = i % 2
        fwhm = rng.uniform(3000, 5000) if broad else rng.uniform(300, 500)
        spectrum = 1.0 + emission_line(wavelength, REST_LINES["Hα"], rng.uniform(40, 80), fwhm)
        flux.append(spectrum + 0.03 * rng.standard_normal(len(wavelength)))
        labels.append(broad)
    return wavelength, np.array(flux), np.array(labels)


# --- synthetic spectra ---------------------------------------------------------------------
def test_grid_is_sdss_like():
    wavelength = log_wavelength_grid(3800.0, 9200.0)
    velocity_step = np.diff(np.log(wavelength)) * C_KMS
    np.testing.assert_allclose(velocity_step, 69.0, rtol=2e-3)
    assert wavelength[0] == 3800.0 and 9190.0 < wavelength[-1] <= 9200.0


def test_emission_line_keeps_its_flux():
    wavelength = log_wavelength_grid(6400.0, 6700.0)
    widths = np.diff(np.concatenate([[wavelength[0]], np.sqrt(wavelength[1:] * wavelength[:-1]), [wavelength[-1]]]))
    for fwhm in (100.0, 400.0, 4000.0):
        line = emission_line(wavelength, REST_LINES["Hα"], 50.0, fwhm)
        assert abs((line * widths).sum() - 50.0) < 0.5
        assert abs(wavelength[np.argmax(line)] - REST_LINES["Hα"]) < 1.5


def test_synthetic_spectra_types_and_truth():
    spectra = synthetic_agn_spectra(20, seed=3)
    again = synthetic_agn_spectra(20, seed=3)
    np.testing.assert_array_equal(spectra.flux, again.flux)
    assert spectra.flux.shape == (60, len(spectra.wavelength))
    assert np.bincount(spectra.labels).tolist() == [20, 20, 20]
    broad = spectra.properties["broad_fwhm_kms"]
    is_type2 = spectra.labels == AGN_TYPES.index("type 2")
    assert np.all(broad[is_type2] == 0) and np.all((broad[~is_type2] >= 2000) & (broad[~is_type2] <= 6000))
    narrow = spectra.properties["narrow_fwhm_kms"]
    assert narrow.min() >= 200 and narrow.max() <= 500
    lines = spectra.truth.mask(spectra.wavelength)
    for centre in REST_LINES.values():
        assert lines[np.argmin(abs(spectra.wavelength - centre))]
    cores, wings = (spectra.truth.mask(spectra.wavelength, which) for which in ("cores", "wings"))
    assert not (cores & wings).any() and (wings <= lines).all()
    # the broad-line excess shows in the Hα wings of type 1s, not in type 2s
    scale = spectra.flux.mean(1)
    in_wings = (spectra.flux[:, wings] / scale[:, None]).mean(1)
    assert in_wings[spectra.labels == 0].mean() > 1.3 * in_wings[is_type2].mean()


# --- exact gradients ------------------------------------------------------------------------
def test_linear_gradient_is_the_weights_through_the_probability(agn_spectra):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    x = agn_spectra.flux / agn_spectra.flux.mean(1, keepdims=True)
    binary = (agn_spectra.labels == 0).astype(int)
    spectrum = x[3]
    for estimator in (LogisticRegression(C=0.1, max_iter=3000), LinearSVC(C=0.01, max_iter=20000)):
        fit_quietly(estimator, x, binary)
        model = from_sklearn(estimator, agn_spectra.wavelength)
        w = estimator.coef_[0]
        p1 = 1.0 / (1.0 + np.exp(-(spectrum @ w + estimator.intercept_[0])))
        for target, sign in ((1, 1.0), (0, -1.0)):
            e = explain_spectrum(model, spectrum, "saliency", target=target)
            assert e.params["gradient"] == "exact"
            np.testing.assert_allclose(e.map, sign * p1 * (1 - p1) * w, rtol=1e-9, atol=1e-15)
    multiclass = fit_quietly(LogisticRegression(C=0.1, max_iter=3000), x, agn_spectra.labels)
    model = from_sklearn(multiclass, agn_spectra.wavelength)
    p = multiclass.predict_proba(spectrum[None])[0]
    for k in range(3):
        expected = p[k] * (multiclass.coef_[k] - p @ multiclass.coef_)  # softmax Jacobian row
        np.testing.assert_allclose(explain_spectrum(model, spectrum, "saliency", target=k).map, expected,
                                   rtol=1e-8, atol=1e-15)


def test_rbf_svm_gradient_is_the_kernel_expansion(broad_vs_narrow):
    from sklearn.svm import SVC

    wavelength, flux, labels = broad_vs_narrow
    svm = fit_quietly(SVC(C=10.0, gamma="scale"), flux, labels)
    model = from_sklearn(svm, wavelength)
    assert model.backend.kind == "rbf_svm"
    x = flux[7]
    diff = x - svm.support_vectors_
    kernel = np.exp(-svm._gamma * (diff ** 2).sum(1))
    decision = svm.dual_coef_[0] @ kernel + svm.intercept_[0]
    np.testing.assert_allclose(decision, svm.decision_function(x[None])[0], rtol=1e-10)
    decision_gradient = (svm.dual_coef_[0] * kernel) @ (-2.0 * svm._gamma * diff)
    p1 = 1.0 / (1.0 + np.exp(-decision))
    e = explain_spectrum(model, x, "saliency", target=1)
    np.testing.assert_allclose(e.map, p1 * (1 - p1) * decision_gradient, rtol=1e-8,
                               atol=1e-10 * np.abs(decision_gradient).max())


@pytest.mark.parametrize("kind", ["shipped 3-class Platt SVM", "binary Platt SVM", "logistic regression"])
def test_finite_differences_agree_with_exact_gradients(kind, agn_model, agn_spectra, broad_vs_narrow):
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    if kind == "shipped 3-class Platt SVM":
        model, spectrum = agn_model, agn_spectra.flux[1]
    else:
        wavelength, flux, labels = broad_vs_narrow
        estimator = SVC(C=10.0, probability=True, random_state=0) if "SVM" in kind \
            else LogisticRegression(C=1.0, max_iter=3000)
        model, spectrum = from_sklearn(fit_quietly(estimator, flux, labels), wavelength), flux[4]
    exact = explain_spectrum(model, spectrum, "saliency")
    numeric = explain_spectrum(model, spectrum, "saliency", gradient="finite_differences")
    assert (exact.params["gradient"], numeric.params["gradient"]) == ("exact", "finite_differences")
    assert numeric.n_model_evals == 2 * len(spectrum) + 1
    scale = np.abs(exact.map).max()
    assert scale > 0
    np.testing.assert_allclose(numeric.map, exact.map, rtol=1e-4, atol=1e-4 * scale)


def test_platt_closed_form_matches_scikit_learn(agn_spectra):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import SVC

    x = agn_spectra.flux / agn_spectra.flux.mean(1, keepdims=True) - 1
    for labels in (agn_spectra.labels, (agn_spectra.labels == 0).astype(int)):
        svm = fit_quietly(SVC(C=10.0, probability=True, random_state=1), x, labels)
        model = from_sklearn(svm, agn_spectra.wavelength, normalisation_window=(4600, 7000))
        assert model.backend.kind == "rbf_svm" and model.exact_gradients
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = svm.predict_proba(x)
        # libsvm stops its coupling iteration at a tolerance; the exact solution is within 5e-3
        assert np.abs(model.predict_proba(agn_spectra.flux) - reference).max() < 5e-3
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, agn_spectra.labels)
    model = from_sklearn(forest, agn_spectra.wavelength)
    assert model.backend.kind == "black_box"
    e = explain_spectrum(model, x[0], "saliency")
    assert e.params["gradient"] == "finite_differences"
    with pytest.raises(ValueError, match="finite differences"):
        explain_spectrum(model, x[0], "saliency", gradient="exact")


def test_torch_classifier_with_a_spectrum_card(agn_spectra):
    from glue_xai.models import Classifier, ModelCard

    n = len(agn_spectra.wavelength)
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv1d(1, 4, 9, padding=4), torch.nn.Tanh(), torch.nn.Flatten(),
                                 torch.nn.Linear(4 * n, 3)).double()
    card = ModelCard(name="tiny-cnn", classes=AGN_TYPES, input_shape=(1, 1, n),
                     preprocessing={"normalisation_window_A": [4600.0, 7000.0]},
                     info={"wavelength_A": agn_spectra.wavelength.tolist()})
    classifier = Classifier(module, card)
    spectrum = agn_spectra.flux[2]
    exact = explain_spectrum(classifier, spectrum, "saliency", target="type 2")
    numeric = explain_spectrum(classifier, spectrum, "saliency", target="type 2", gradient="finite_differences")
    assert exact.params["gradient"] == "exact" and exact.target_name == "type 2"
    np.testing.assert_allclose(numeric.map, exact.map, rtol=1e-4, atol=1e-4 * np.abs(exact.map).max())


# --- what the saliency shows -------------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "smoothgrad", "integrated_gradients"])
def test_saliency_falls_on_the_emission_lines(method, agn_model, agn_spectra):
    lines = agn_spectra.truth.mask(agn_spectra.wavelength)
    assert lines.mean() < 0.3  # the windows are a minority of pixels: chance would give < 30%
    fractions = {name: [] for name in AGN_TYPES}
    for spectrum, label in zip(agn_spectra.flux[:12], agn_spectra.labels[:12]):
        e = explain_spectrum(agn_model, spectrum, method, seed=0)
        strength = np.abs(e.map)
        top = strength >= np.quantile(strength, 0.95)
        fractions[AGN_TYPES[label]].append(lines[top].mean())
    for name, values in fractions.items():
        assert np.mean(values) >= 0.8, (name, values)


@pytest.mark.parametrize("kind", ["logistic regression", "smooth RBF SVM"])
def test_width_classifier_weighs_core_and_wings_oppositely(kind, broad_vs_narrow):
    """The model measures the line's width: more flux in the wings argues for "broad",
    more in the core against it. (With gamma="scale", 0.01 here, a rougher RBF SVM has
    the right core sign for 80% of these spectra only: its gradient is more local.)"""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    wavelength, flux, labels = broad_vs_narrow
    estimator = LogisticRegression(C=1.0, max_iter=3000) if kind == "logistic regression" \
        else SVC(C=10.0, gamma=1e-3, probability=True, random_state=0)
    model = from_sklearn(fit_quietly(estimator, flux[:80], labels[:80]), wavelength, classes=("narrow", "broad"))
    assert (model.predict_proba(flux[80:]).argmax(1) == labels[80:]).mean() >= 0.95
    truth = synthetic_agn_spectra(1).truth
    core = truth.mask(wavelength, "cores")
    wings = truth.mask(wavelength, "wings")
    for spectrum in flux[80:]:
        e = explain_spectrum(model, spectrum, "saliency", target="broad")
        assert e.map[core].mean() < 0 < e.map[wings].mean()


def test_integrated_gradients_add_up_to_the_probability_change(agn_model, agn_spectra):
    e = explain_spectrum(agn_model, agn_spectra.flux[0], "integrated_gradients", n_steps=64)
    baseline = e.extras["baseline_spectrum"]
    change = e.probability - agn_model.predict_proba(baseline)[0, e.target]
    assert abs(change) > 0.1
    assert abs(e.map.sum() - change) < 0.02 * abs(change)
    assert e.params["baseline"] == "continuum"


def test_lime_windows(agn_model, agn_spectra):
    e = explain_spectrum(agn_model, agn_spectra.flux[5], "lime", n_windows=40, n_samples=400, seed=2)
    assert e.segments.shape == agn_spectra.flux[5].shape
    assert np.all(np.diff(e.segments) >= 0) and len(np.unique(e.segments)) == 40
    np.testing.assert_array_equal(e.map, e.weights[e.segments])
    best = e.weights.argmax()
    lines = agn_spectra.truth.mask(agn_spectra.wavelength)
    assert lines[e.segments == best].mean() > 0.5
    assert e.n_model_evals == 401


# --- reproducibility and inputs ------------------------------------------------------------------
@pytest.mark.parametrize("method", ["smoothgrad", "lime"])
def test_same_seed_same_map(method, agn_model, agn_spectra):
    spectrum = agn_spectra.flux[4]
    options = {"n_samples": 20} if method == "smoothgrad" else {"n_samples": 200}
    first = explain_spectrum(agn_model, spectrum, method, seed=3, **options)
    second = explain_spectrum(agn_model, spectrum, method, seed=3, **options)
    other = explain_spectrum(agn_model, spectrum, method, seed=4, **options)
    np.testing.assert_array_equal(first.map, second.map)
    assert not np.array_equal(first.map, other.map)
    assert first.params["seed"] == 3


def test_bad_inputs_are_refused_clearly(agn_model, agn_spectra):
    spectrum = agn_spectra.flux[0]
    with pytest.raises(ValueError, match="pixels but the wavelength array has"):
        explain_spectrum(agn_model, spectrum[:-3], "saliency", wavelength=agn_spectra.wavelength)
    with pytest.raises(ValueError, match="pixels but the model's grid has"):
        explain_spectrum(agn_model, spectrum[:-3], "saliency")
    with pytest.raises(ValueError, match="no finite pixel"):
        explain_spectrum(agn_model, np.full_like(spectrum, np.nan), "saliency")
    with pytest.raises(ValueError, match="unknown method"):
        explain_spectrum(agn_model, spectrum, "gradcam")
    with pytest.raises(ValueError, match="no option"):
        explain_spectrum(agn_model, spectrum, "saliency", n_samples=3)
    with pytest.raises(ValueError, match="needs 4600"):
        explain_spectrum(agn_model, spectrum[100:], "saliency", wavelength=agn_spectra.wavelength[100:])
    with pytest.raises(ValueError, match="1-D"):
        explain_spectrum(agn_model, agn_spectra.flux[:2], "saliency")


def test_nan_pixels_and_other_wavelength_grids(agn_model, agn_spectra):
    spectrum = agn_spectra.flux[6].copy()
    spectrum[300:305] = np.nan
    e = explain_spectrum(agn_model, spectrum, "saliency")
    assert np.all(e.map[300:305] == 0) and np.isfinite(e.map).all()
    # the same source on a wider SDSS-like grid: resampled onto the model's, same answer
    wide = log_wavelength_grid(3800.0, 9200.0)
    source = synthetic_agn_spectra(1, wavelength=wide, seed=2, types=("type 1",))
    on_model_grid = np.interp(agn_model.wavelength, wide, source.flux[0])
    p_wide = agn_model.predict_proba(source.flux[0], wavelength=wide)
    np.testing.assert_allclose(p_wide, agn_model.predict_proba(on_model_grid), atol=1e-6)
    e = explain_spectrum(agn_model, source.flux[0], "saliency", wavelength=wide)
    outside = (wide < agn_model.wavelength[0] - 1) | (wide > agn_model.wavelength[-1] + 1)
    assert e.map.shape == wide.shape and np.all(e.map[outside] == 0) and np.abs(e.map[~outside]).max() > 0


def test_explain_routes_spectra(agn_model, agn_spectra):
    import glue_xai as gx

    e = gx.explain(agn_model, agn_spectra.flux[0], method="saliency")
    np.testing.assert_array_equal(e.map, explain_spectrum(agn_model, agn_spectra.flux[0], "saliency").map)


# --- the shipped model -------------------------------------------------------------------------
def test_shipped_model_is_small_and_scores_as_its_card_says(agn_model):
    from glue_xai.models.spectral import SHIPPED_SPECTRUM_MODELS, WEIGHTS_DIR

    stem = WEIGHTS_DIR / SHIPPED_SPECTRUM_MODELS["agn-spectra"]
    assert stem.with_suffix(".npz").stat().st_size < 500_000
    assert isinstance(agn_model, SpectrumClassifier) and agn_model.classes == AGN_TYPES
    info = agn_model.info
    per_type, seed = 100, info["seed"]
    test = synthetic_agn_spectra(per_type, wavelength=agn_model.wavelength, seed=seed + 1000)
    accuracy = (agn_model.predict_proba(test.flux).argmax(1) == test.labels).mean()
    assert accuracy == pytest.approx(info["test_accuracy"], abs=1e-12)
    assert accuracy >= 0.95
