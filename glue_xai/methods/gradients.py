"""Gradient methods: saliency, SmoothGrad, integrated gradients and Grad-CAM.

All work on the model's input grid and differentiate the *logit* of the target class
(its pre-softmax score; ``output="probability"`` differentiates the probability). The
logit is the default because a confident prediction's softmax saturates: at p = 0.9999
its gradient is 1e-4 of the logit's, and SmoothGrad of the probability of FIRST sources
had a median maximum of 7e-18, numerical dust rather than a picture. Many inputs go through the
network in one batched forward and backward pass.
"""
import numpy as np

BASELINES = ("zero", "blur", "noise")
#: What the gradient methods differentiate: the class's probability, its logit, or its
#: margin, the logit minus the mean of all classes' logits (for two classes half the
#: log-odds, log p / (1 - p): what the decision itself depends on).
OUTPUTS = ("probability", "logit", "margin")


def _scores(model, inputs, output):
    """What the methods differentiate: class probabilities or the network's raw outputs (logits)."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
    if model.module is None:
        from glue_xai.models.classifier import not_differentiable

        raise not_differentiable(model)
    return scores_of_outputs(model, model.module(inputs), output)


def scores_of_outputs(model, outputs, output):
    """:func:`_scores` from the network's outputs for the inputs (a tensor)."""
    if output == "probability":
        return model.proba_of_outputs(outputs)
    return outputs - outputs.mean(dim=1, keepdim=True) if output == "margin" else outputs


def _gradients(model, inputs, target, output="logit"):
    """d(output of target)/d(input) for a (N, C, h, w) tensor, in model.batch_size chunks."""
    import torch

    grads = []
    for start in range(0, len(inputs), model.batch_size):
        chunk = model.tensor(inputs[start:start + model.batch_size]).detach().clone().requires_grad_(True)
        scores = _scores(model, chunk, output)
        (grad,) = torch.autograd.grad(scores[:, target].sum(), chunk)
        grads.append(grad.cpu())
    return torch.cat(grads)


def _channel_map(grad, signed):
    """(..., C, h, w) -> (..., h, w): signed sum over channels, or the largest magnitude."""
    return grad.sum(axis=-3) if signed else np.abs(grad).max(axis=-3)


def band_extras(per_band):
    """For a multi-band input, which band mattered: ``band_maps`` (C, h, w), the relevance
    of each band before the bands are combined, and ``band_relevance``, each band's share
    of the total absolute relevance (sums to 1). Empty for one band."""
    per_band = np.asarray(per_band, dtype=np.float64)
    if per_band.shape[0] < 2:
        return {}
    magnitude = np.abs(per_band).reshape(len(per_band), -1).sum(axis=1)
    total = magnitude.sum()
    shares = magnitude / total if total > 0 else np.full(len(per_band), 1.0 / len(per_band))
    return {"band_maps": per_band, "band_relevance": [float(v) for v in shares]}


def saliency(model, x, target, seed=0, signed=True, output="logit"):
    """Input gradient (Simonyan et al. 2014): signed by default (red: more flux here would
    raise the class's score), its magnitude with ``signed=False``. Chosen on the tune
    part of FIRST cutouts: the signed map puts as much relevance on the source as the
    magnitude, deletes faster and passes the randomisation test (docs/trust.rst)."""
    import torch

    grad = _gradients(model, torch.from_numpy(x[None]), target, output)[0].numpy()
    return {"map": _channel_map(grad, signed), "n_model_evals": 1,
            "params": {"signed": bool(signed), "output": output}, "extras": band_extras(grad)}


NOISES = ("sky", "range")


def sky_sigma(x, clip_sigma=3.0):
    """The sky noise of a model-ready input (C, h, w), in its own units.

    A sigma-clipped radio input (sky set to exactly 0 below ``clip_sigma`` sigmas) keeps
    the clip level as its faintest non-zero pixel, so sigma is a third of that; any other
    input's sky is measured by sigma clipping.
    """
    from glue_xai.models.preprocess import sigma_clipped_background

    x = np.asarray(x, dtype=np.float64)
    if (x == 0).mean() > 0.5 and (x > 0).any():
        return float(x[x > 0].min() / clip_sigma), True
    return float(sigma_clipped_background(x)[1]), False


def noisy_copies(x, n_samples, noise_level, noise, generator):
    """SmoothGrad's noisy copies of one model-ready input (C, h, w), as a torch tensor.

    ``noise="sky"``: other realisations of the sky, ``noise_level`` sky sigmas of
    Gaussian noise on every pixel, then the model's own sky clip (a copy's pixel below
    3 sigma becomes empty sky again), so the copies are inputs the model meets on real
    sky. ``noise="range"``: Smilkov et al.'s recipe, ``noise_level`` times the input's
    data range, nothing clipped. Returns ``(copies, sigma)``.
    """
    import torch

    if noise not in NOISES:
        raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")
    base = torch.from_numpy(np.asarray(x, dtype=np.float32))[None]
    draws = torch.randn((int(n_samples),) + tuple(x.shape), generator=generator)
    if noise == "range":
        sigma = float(noise_level) * float(x.max() - x.min())
        return base + sigma * draws, sigma
    unit, clipped = sky_sigma(x)
    sigma = float(noise_level) * unit
    copies = base + sigma * draws
    if clipped:
        copies = torch.where(copies < 3.0 * unit, torch.zeros_like(copies), copies)
    return copies, sigma


def smoothgrad(model, x, target, seed=0, n_samples=25, noise_level=0.5, noise="sky", signed=True, output="logit"):
    """SmoothGrad (Smilkov et al. 2017): gradients averaged over noisy copies of the input.

    By default the copies are new realisations of the sky (``noise="sky"``,
    ``noise_level`` in sky sigmas; see :func:`noisy_copies`): the map is what stays of
    the gradient when the noise of the observation changes, and it stays on the source.
    Smilkov's noise over the whole image (``noise="range"``, ``noise_level`` a fraction of
    the data range, 0.15 in their paper) lights up every empty-sky pixel of a radio map.
    Signed gradients are averaged by default, magnitudes with ``signed=False``; half a
    sky sigma of noise (chosen on the tune part, docs/trust.rst) moves the faint edge of
    the source without raising new noise peaks above the clip.
    """
    import torch

    n_samples = int(n_samples)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if not noise_level >= 0:
        raise ValueError(f"noise_level must be non-negative, got {noise_level}")
    generator = torch.Generator().manual_seed(int(seed))
    noisy, sigma = noisy_copies(x, n_samples, noise_level, noise, generator)
    grads = _gradients(model, noisy, target, output).numpy()
    maps = _channel_map(grads, signed)
    return {"map": maps.mean(axis=0), "n_model_evals": n_samples,
            "params": {"n_samples": n_samples, "noise_level": float(noise_level), "noise": noise,
                       "noise_sigma": sigma, "signed": bool(signed), "output": output},
            "extras": band_extras(grads.mean(axis=0) if signed else np.abs(grads).mean(axis=0))}


def make_baseline(x, baseline, seed=0):
    """The reference input of integrated gradients: 'zero', 'blur', 'noise' or a number."""
    from glue_xai.methods.substrate import make_substrate

    if isinstance(baseline, (int, float)) and not isinstance(baseline, bool):
        return np.full_like(x, float(baseline))
    if baseline not in BASELINES:
        raise ValueError(f"unknown baseline {baseline!r}; choose one of {BASELINES} or a number")
    return make_substrate(x, baseline, seed=seed)


def integrated_gradients(model, x, target, seed=0, n_steps=32, baseline="zero", output="logit"):
    """Integrated gradients (Sundararajan et al. 2017), signed, Gauss-Legendre quadrature.

    The map sums (over channels) to approximately output(x) - output(baseline);
    ``extras["completeness_gap"]`` says how far the quadrature is from that.
    """
    import torch

    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    ref = make_baseline(x, baseline, seed).astype(np.float32)
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas, weights = (nodes + 1) / 2, weights / 2
    delta = torch.from_numpy(x - ref)
    path = torch.from_numpy(ref)[None] + torch.from_numpy(alphas.astype(np.float32))[:, None, None, None] * delta
    grads = _gradients(model, path, target, output).numpy()
    attribution = (weights[:, None, None, None] * grads).sum(axis=0) * (x - ref)
    with torch.inference_mode():
        ends = model.tensor(np.stack([ref, x]))
        out = _scores(model, ends, output)
        change = float(out[1, target] - out[0, target])
    return {"map": attribution.sum(axis=0), "n_model_evals": n_steps + 2,
            "params": {"n_steps": n_steps, "baseline": baseline, "output": output},
            "extras": {"completeness_gap": float(attribution.sum() - change), **band_extras(attribution)}}


def find_gradcam_layer(module):
    """The layer Grad-CAM looks at: the model's own choice, else the last conv block."""
    import torch

    if hasattr(module, "gradcam_layer"):
        return module.gradcam_layer()
    convs = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    if not convs:
        raise ValueError("Grad-CAM needs a convolutional layer and this model has none; pass layer=...")
    return convs[-1]


WEIGHTINGS = ("channel", "element")


def gradcam(model, x, target, seed=0, layer=None, output="logit", weighting="element"):
    """Grad-CAM (Selvaraju et al. 2017): feature maps of a layer weighted by their
    gradients, ReLU'd and resampled to the input grid.

    ``weighting="element"`` (the default) weighs each position by its own gradient
    (HiResCAM, Draelos & Carin 2020); ``"channel"`` is Selvaraju's one mean gradient per
    map. On FIRST cutouts the mean gradient of a bias-free network's early layer is
    often negative for every channel, so the channel-weighted map is empty on half the
    sources; element weighting is on the source (docs/trust.rst).

    ``layer`` is a module of the network or its dotted name (default: chosen automatically).
    """
    import torch
    import torch.nn.functional as F

    net = model.module
    if net is None:
        from glue_xai.models.classifier import not_differentiable

        raise not_differentiable(model, "Grad-CAM and the other gradient methods")
    if isinstance(layer, str):
        layer_name, layer = layer, dict(net.named_modules()).get(layer)
        if layer is None:
            raise ValueError(f"the model has no layer called {layer_name!r}")
    layer = layer or find_gradcam_layer(net)
    captured = {}
    hook = layer.register_forward_hook(lambda mod, inp, out: captured.__setitem__("maps", out))
    try:
        inp = model.tensor(x[None])
        scores = _scores(model, inp, output)
        maps = captured.get("maps")
        if not isinstance(maps, torch.Tensor) or maps.dim() != 4 or not maps.requires_grad:
            # A layer that did not run, gives no (N, C, h, w) maps, or sits before any weight
            # (its output does not depend on them): torch's own message does not say which.
            names = {m: n for n, m in net.named_modules()}
            raise ValueError(f"Grad-CAM cannot use layer {names.get(layer, repr(layer))!r}: it needs a layer "
                             "after the first weights whose output is (batch, channels, height, width) feature maps")
        (grad,) = torch.autograd.grad(scores[0, target], maps)
    finally:
        hook.remove()
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    # "channel": Grad-CAM's one weight per feature map (its mean gradient); "element":
    # each position's own gradient (HiResCAM, Draelos & Carin 2020), which for a network
    # ending in global average pooling and a linear head adds up to the class's score.
    weights = grad.mean(dim=(2, 3), keepdim=True) if weighting == "channel" else grad
    cam = F.relu((weights * maps).sum(dim=1, keepdim=True))
    # A network that pads its input inside (``input_padding`` pixels of empty sky each
    # side) has feature maps over the padded field: resample to that, then cut the input out.
    pad = int(getattr(net, "input_padding", 0))
    height, width = x.shape[-2:]
    cam = F.interpolate(cam, size=(height + 2 * pad, width + 2 * pad), mode="bilinear", align_corners=False)
    cam = cam[0, 0, pad:pad + height, pad:pad + width]
    names = {m: n for n, m in net.named_modules()}
    return {"map": cam.detach().cpu().numpy().astype(np.float64), "n_model_evals": 1,
            "params": {"layer": names.get(layer, repr(layer)), "output": output, "weighting": weighting}}
