"""Evolved LIME: a genetic algorithm looking for the smallest set of superpixels that
is enough for the model to keep its decision.

A chromosome is one bit per superpixel (kept or hidden, hidden superpixels show the
substrate exactly as in LIME). Its fitness is the model's probability of the target
class on that perturbed image minus ``penalty`` times the fraction of superpixels kept,
so that of two sufficient sets the smaller one wins. Each generation is evaluated in one
batched forward pass; chromosomes already evaluated are looked up, not re-evaluated, so
``n_model_evals`` counts forward passes of distinct images only.

The map is each superpixel's frequency in the final elite. That ranks the superpixels
of the sufficient set first but leaves all the others tied at 0 (and the set itself in
a few levels), which makes a poor ordering for deletion curves. With ``tie_break`` the
ties are broken by a linear surrogate fitted, as in LIME, to every chromosome the search
evaluated (no extra model evaluations), scaled to less than half an elite step so that
the elite frequency still decides wherever it differs.
"""
import numpy as np

from glue_xai.methods.lime import perturbed_probabilities, superpixel_map, superpixels_of, weighted_ridge
from glue_xai.methods.substrate import make_substrate


def _check_options(population, generations, penalty, tournament, crossover, mutation, elite, patience):
    if int(population) < 4:
        raise ValueError(f"population must be at least 4, got {population}")
    if int(generations) < 1:
        raise ValueError(f"generations must be at least 1, got {generations}")
    if not 1 <= int(elite) < int(population):
        raise ValueError(f"elite must be between 1 and population - 1, got {elite}")
    if not 2 <= int(tournament) <= int(population):
        raise ValueError(f"tournament must be between 2 and population, got {tournament}")
    if not 0.0 <= float(crossover) <= 1.0:
        raise ValueError(f"crossover must be a probability in [0, 1], got {crossover}")
    if mutation is not None and not 0.0 <= float(mutation) <= 1.0:
        raise ValueError(f"mutation must be a probability in [0, 1] or None, got {mutation}")
    if float(penalty) < 0 or not np.isfinite(float(penalty)):
        raise ValueError(f"penalty must be a finite non-negative number, got {penalty}")
    if int(patience) < 1:
        raise ValueError(f"patience must be at least 1, got {patience}")


def initial_population(size, n_superpixels, rng):
    """Random chromosomes of mixed density, plus the whole image.

    Densities are spread from sparse to dense so that small sufficient sets are in reach
    from the first generation; the all-kept chromosome anchors the search at the
    model's own decision (as LIME's first sample does).
    """
    density = rng.uniform(0.1, 0.9, size=(size, 1))
    chromosomes = rng.random((size, n_superpixels)) < density
    chromosomes[0] = True
    return chromosomes


def tournament_select(fitness, n, size, rng):
    """Indices of ``n`` parents, each the fittest of ``size`` chromosomes drawn at random."""
    contenders = rng.integers(0, len(fitness), size=(n, size))
    return contenders[np.arange(n), np.argmax(fitness[contenders], axis=1)]


def breed(parents_a, parents_b, crossover, mutation, rng):
    """Uniform crossover (with probability ``crossover``) then bit-flip mutation."""
    cross = rng.random(len(parents_a)) < crossover
    take_b = (rng.random(parents_a.shape) < 0.5) & cross[:, None]
    children = np.where(take_b, parents_b, parents_a)
    flips = rng.random(children.shape) < mutation
    return children ^ flips


class _FitnessCache:
    """Fitness of chromosomes, evaluating only those never seen, all in one batch."""

    def __init__(self, model, x, segments, substrate, target, penalty):
        self.model, self.x, self.segments, self.substrate = model, x, segments, substrate
        self.target, self.penalty = target, penalty
        self.known = {}
        self.n_evals = 0

    def __call__(self, chromosomes):
        keys = [c.tobytes() for c in chromosomes]
        new = {}
        for key, chromosome in zip(keys, chromosomes):
            if key not in self.known and key not in new:
                new[key] = chromosome
        if new:
            masks = np.array(list(new.values()), dtype=np.uint8)
            probs = perturbed_probabilities(self.model, self.x, self.segments, masks, self.substrate)
            self.n_evals += len(masks)
            kept = masks.mean(axis=1)
            for key, p, k in zip(new, probs[:, self.target], kept):
                self.known[key] = (float(p), float(p - self.penalty * k))
        probabilities = np.array([self.known[k][0] for k in keys])
        fitness = np.array([self.known[k][1] for k in keys])
        return fitness, probabilities


def surrogate_weights(cache, alpha=1.0):
    """Ridge weights of the target's probability on every evaluated chromosome, and R^2."""
    masks = np.array([np.frombuffer(key, dtype=bool) for key in cache.known], dtype=np.float64)
    probabilities = np.array([value[0] for value in cache.known.values()])
    coef, _, r2 = weighted_ridge(masks, probabilities, np.ones(len(masks)), alpha=alpha)
    return coef, float(r2)


def elime(model, x, target, seed=0, n_segments=64, segmentation="radio", scale=None, substrate="noise",
          population=32, generations=40, penalty=0.05, tournament=3, crossover=0.9, mutation=None,
          elite=4, patience=6, tie_break=True, segments=None):
    """Evolved LIME on a model-ready input ``x`` (C, h, w); returns a dict for the dispatcher.

    ``population`` chromosomes evolve for at most ``generations`` generations and stop
    early when the best fitness has not improved for ``patience`` generations.
    ``penalty`` is subtracted per fraction of superpixels kept; ``tournament`` is the
    tournament size, ``crossover`` the probability that a child mixes two parents
    (uniform crossover), ``mutation`` the per-bit flip probability (default
    1 / number of superpixels) and ``elite`` the number of best chromosomes copied
    unchanged into the next generation. ``segments`` may be given to reuse a segmentation.

    The map is each superpixel's frequency in the final elite (1 for superpixels every
    elite chromosome keeps), plus, with ``tie_break``, less than ``0.5 / elite`` from the
    surrogate (see the module docstring); ``weights`` are the map's per-superpixel values,
    ``extras["elite_frequency"]`` the plain frequencies, ``extras["best_subset"]`` the
    fittest chromosome and ``extras["fitness_history"]`` the best fitness per generation.
    """
    _check_options(population, generations, penalty, tournament, crossover, mutation, elite, patience)
    population, generations, elite = int(population), int(generations), int(elite)
    rng = np.random.default_rng(seed)
    segments, n_superpixels = superpixels_of(x, segments, segmentation, n_segments, scale, seed)
    if n_superpixels < 2:
        raise ValueError("elime needs at least two superpixels")
    mutation_rate = 1.0 / n_superpixels if mutation is None else float(mutation)
    hidden = make_substrate(x, substrate, segments=segments, seed=seed)
    fitness_of = _FitnessCache(model, x, segments, hidden, int(target), float(penalty))

    chromosomes = initial_population(population, n_superpixels, rng)
    fitness, probabilities = fitness_of(chromosomes)
    history = [float(fitness.max())]
    stale = 0
    for _ in range(generations - 1):
        order = np.argsort(-fitness, kind="stable")
        elites = chromosomes[order[:elite]]
        n_children = population - elite
        parents_a = chromosomes[tournament_select(fitness, n_children, tournament, rng)]
        parents_b = chromosomes[tournament_select(fitness, n_children, tournament, rng)]
        children = breed(parents_a, parents_b, crossover, mutation_rate, rng)
        chromosomes = np.concatenate([elites, children])
        fitness, probabilities = fitness_of(chromosomes)
        history.append(float(fitness.max()))
        # Improvement below float noise is not progress: it would keep a flat search alive.
        stale = stale + 1 if history[-1] <= history[-2] + 1e-9 else 0
        if stale >= patience:
            break

    order = np.argsort(-fitness, kind="stable")
    final_elite = chromosomes[order[:elite]]
    frequency = final_elite.mean(axis=0)
    best = chromosomes[order[0]].copy()
    surrogate, r2 = surrogate_weights(fitness_of)
    weights = frequency.copy()
    if tie_break:
        spread = np.ptp(surrogate)
        unit = (surrogate - surrogate.min()) / spread if spread > 0 else np.zeros_like(surrogate)
        weights += 0.45 / elite * unit
    return {
        "map": superpixel_map(weights, segments, x, hidden),
        "segments": segments,
        "weights": weights,
        "n_model_evals": fitness_of.n_evals,
        "params": {"segmentation": segmentation, "n_segments": n_segments, "n_superpixels": n_superpixels,
                   "scale": scale, "substrate": substrate, "population": population, "generations": generations,
                   "penalty": float(penalty), "tournament": int(tournament), "crossover": float(crossover),
                   "mutation": mutation, "mutation_rate": mutation_rate, "elite": elite, "patience": int(patience),
                   "tie_break": bool(tie_break)},
        "extras": {"best_subset": best, "elite_frequency": frequency, "surrogate_weights": surrogate,
                   "surrogate_r2": r2, "best_probability": float(probabilities[order[0]]),
                   "fitness_history": np.array(history), "n_generations": len(history)},
    }
