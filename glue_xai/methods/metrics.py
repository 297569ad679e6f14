"""Explanation quality as numbers: faithfulness, sanity, stability and localisation.

Every metric works on any model (a glue_xai Classifier) and any method's map, given
either an :class:`~glue_xai.methods.explanation.Explanation` or raw arrays (a model-ready
input and a relevance map on the model's grid).

* faithfulness: :func:`deletion_curve`, :func:`insertion_curve`
* sanity: :func:`randomisation_test`
* stability: :func:`stability`, :func:`top_k_agreement`
* localisation: :func:`pointing_game`, :func:`relevance_mass_inside`
* all a viewer shows at once: :func:`quality_summary`
"""
import time

from glue_xai.methods.metrics_faithfulness import deletion_curve, insertion_curve, relevance_order
from glue_xai.methods.metrics_localisation import pointing_game, relevance_mass_inside
from glue_xai.methods.metrics_sanity import randomisation_layers, randomisation_test, spearman
from glue_xai.methods.metrics_stability import jaccard, stability, top_k_agreement, top_k_set

__all__ = ["deletion_curve", "insertion_curve", "relevance_order", "pointing_game", "relevance_mass_inside",
           "randomisation_layers", "randomisation_test", "spearman", "jaccard", "stability",
           "top_k_agreement", "top_k_set", "quality_summary"]


def quality_summary(model, explanation, seeds=(0, 1, 2), n_steps=20, substrate="noise", top_k=0.05, seed=0,
                    support="changed"):
    """Faithfulness and stability of one explanation, for display (no Qt needed).

    Costs ``2 * (n_steps + 1)`` model evaluations for the curves plus one explanation
    per seed other than the explanation's own (none when ``seeds`` is empty or None).
    Returns ``{"deletion": curve, "insertion": curve, "stability": dict or None,
    "n_model_evals", "elapsed_s"}`` where a curve is ``{"fractions", "probabilities",
    "area", ...}`` (see :func:`deletion_curve`).
    """
    start = time.perf_counter()
    deletion = deletion_curve(model, explanation, substrate=substrate, n_steps=n_steps, seed=seed, support=support)
    insertion = insertion_curve(model, explanation, substrate=substrate, n_steps=n_steps, seed=seed, support=support)
    n_evals = deletion["n_model_evals"] + insertion["n_model_evals"]
    agreement = None
    if seeds is not None and len(set(seeds)) >= 2:
        agreement = stability(model, explanation, seeds=seeds, top_k=top_k)
        n_evals += agreement["n_model_evals"]
    return {"deletion": deletion, "insertion": insertion, "stability": agreement,
            "n_model_evals": n_evals, "elapsed_s": time.perf_counter() - start}
