"""What the perturbation methods (occlusion, RISE, Shapley values) read off the model
for many perturbed copies of one input: class probabilities (any model, through the
wrapper) or, for torch models, the network's raw outputs (logits)."""
import numpy as np

#: ``probability`` works for every model (torch, ONNX, scikit-learn); ``logit`` needs torch.
SCORE_OUTPUTS = ("probability", "logit")


def check_output(model, output):
    if output not in SCORE_OUTPUTS:
        raise ValueError(f"output must be one of {SCORE_OUTPUTS}, got {output!r}")
    if output == "logit" and getattr(model, "module", None) is None:
        raise ValueError(f"output='logit' needs a torch model; model {model.name!r} gives only probabilities "
                         "(use output='probability')")


def scores(model, inputs, output="probability"):
    """(N, n_classes) float64 scores of model-ready inputs (N, C, h, w), ``model.batch_size``
    inputs per forward pass."""
    inputs = np.asarray(inputs, dtype=np.float32)
    if output == "probability":
        return np.asarray(model.proba_of_inputs(inputs), dtype=np.float64)
    import torch

    out = []
    with torch.inference_mode():
        for start in range(0, len(inputs), model.batch_size):
            out.append(model.module(model.tensor(inputs[start:start + model.batch_size])).cpu())
    return torch.cat(out).numpy().astype(np.float64)


def blend(x, hidden, keep):
    """Perturbed copies of ``x`` (C, h, w): ``keep`` (N, h, w) in [0, 1] shows ``x``, 1 - keep
    shows ``hidden`` (the substrate)."""
    keep = np.asarray(keep, dtype=np.float32)[:, None]
    return hidden[None] + keep * (x - hidden)[None]


def in_batches(n, model):
    """``(start, stop)`` of forward batches over ``n`` perturbed copies (memory: one batch)."""
    size = max(1, int(model.batch_size))
    return [(s, min(s + size, n)) for s in range(0, n, size)]
