"""Evolved LIME: finds a known sufficient set, is seeded, counts its model evaluations."""
import numpy as np
import pytest

from glue_xai.methods.elime import elime
from glue_xai.models.card import ModelCard
from glue_xai.models.classifier import Classifier

SIDE, CELL = 40, 10  # a 4 x 4 grid of superpixels
SUFFICIENT = (3, 7)


def grid_segments():
    rows, cols = np.mgrid[0:SIDE, 0:SIDE] // CELL
    return (rows * (SIDE // CELL) + cols).astype(np.int32)


class TwoSuperpixelModel:
    """Probability of class 1 is high only when superpixels 3 and 7 both show the image.

    Counts every image it is shown, and every call, to check the bookkeeping.
    """

    def __init__(self):
        self.segments = grid_segments()
        self.n_images = 0
        self.n_calls = 0

    def __call__(self, images):
        self.n_images += len(images)
        self.n_calls += 1
        shown = [images[:, 0][:, self.segments == k].mean(axis=1) for k in SUFFICIENT]
        logit = 40.0 * (shown[0] + shown[1] - 1.5)
        p1 = 1.0 / (1.0 + np.exp(-logit))
        return np.stack([1 - p1, p1], axis=1)


def two_superpixel_classifier():
    card = ModelCard(name="two-superpixels", classes=("no", "yes"), input_shape=(1, SIDE, SIDE),
                     output="probabilities")
    function = TwoSuperpixelModel()
    return Classifier(function, card), function


def run(seed=0, **options):
    model, function = two_superpixel_classifier()
    x = np.ones((1, SIDE, SIDE), dtype=np.float32)
    result = elime(model, x, 1, seed=seed, segments=grid_segments(), substrate="zero", **options)
    return result, function


def test_finds_the_known_sufficient_set():
    result, _ = run()
    assert set(np.flatnonzero(result["extras"]["best_subset"])) == set(SUFFICIENT)
    assert result["extras"]["best_probability"] > 0.99
    # Every elite chromosome keeps both: their elite frequency is 1, and they lead the map.
    frequency = result["extras"]["elite_frequency"]
    assert frequency[list(SUFFICIENT)].min() == 1.0
    assert set(np.argsort(-result["weights"])[:2]) == set(SUFFICIENT)
    assert np.array_equal(result["map"], result["weights"][grid_segments()])


def test_tie_break_only_orders_superpixels_of_equal_elite_frequency():
    result, _ = run(seed=2)
    elite = result["params"]["elite"]
    frequency = result["extras"]["elite_frequency"]
    assert np.array_equal(np.floor(result["weights"] * elite + 1e-9) / elite, frequency)
    assert len(np.unique(result["weights"])) > len(np.unique(frequency))
    plain, _ = run(seed=2, tie_break=False)
    assert np.array_equal(plain["weights"], frequency)


def test_best_fitness_never_falls_and_search_stops_when_stale():
    result, _ = run(generations=200, patience=5)
    history = result["extras"]["fitness_history"]
    assert np.all(np.diff(history) >= -1e-12)  # elitism
    assert len(history) < 200
    assert np.all(history[-5:] == history[-1])


def test_same_seed_same_answer_and_seed_matters():
    a, _ = run(seed=3)
    b, _ = run(seed=3)
    c, _ = run(seed=4)
    assert np.array_equal(a["map"], b["map"])
    assert np.array_equal(a["extras"]["fitness_history"], b["extras"]["fitness_history"])
    assert a["n_model_evals"] == b["n_model_evals"]
    assert not np.array_equal(a["extras"]["fitness_history"], c["extras"]["fitness_history"]) \
        or a["n_model_evals"] != c["n_model_evals"]


def test_model_evaluations_are_counted_and_batched_per_generation():
    result, function = run()
    assert result["n_model_evals"] == function.n_images
    # One forward call per generation at most (a generation of known chromosomes needs none).
    assert function.n_calls <= result["extras"]["n_generations"]
    # Chromosomes already seen are not evaluated again.
    assert function.n_images < result["params"]["population"] * result["extras"]["n_generations"]


def test_through_explain_records_settings():
    import glue_xai as gx

    model, _ = two_superpixel_classifier()
    image = np.ones((SIDE, SIDE)) + 0.01 * np.random.default_rng(0).standard_normal((SIDE, SIDE))
    e = gx.explain(model, image, method="elime", target="yes", seed=1, segmentation="grid", n_segments=16,
                   substrate="zero", population=20)
    assert e.method == "elime" and e.params["population"] == 20 and e.params["seed"] == 1
    assert e.segments.shape == image.shape and len(e.weights) == 16
    assert e.extras["best_subset"].dtype == bool
    assert e.n_model_evals > 1


@pytest.mark.parametrize("options", [dict(population=2), dict(elite=32), dict(elite=0), dict(tournament=1),
                                     dict(crossover=1.5), dict(mutation=-0.1), dict(penalty=-1.0),
                                     dict(generations=0), dict(patience=0)])
def test_bad_settings_raise(options):
    with pytest.raises(ValueError):
        run(**options)


def test_segments_of_the_wrong_shape_raise():
    model, _ = two_superpixel_classifier()
    with pytest.raises(ValueError):
        elime(model, np.ones((1, SIDE, SIDE), np.float32), 1, segments=np.zeros((5, 5), np.int32))
