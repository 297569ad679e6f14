"""Many sources' explanations at once.

:func:`explain_many` explains a list of cutouts. For saliency and integrated gradients
of a torch model, the inputs of all the sources go through the network together, many
sources per forward and backward pass; the other methods run source by source through
:func:`glue_xai.explain` (SmoothGrad among them: its noisy copies are the method's own
business, and one source's copies already share a pass). Each source keeps its own seed
(its baseline is made from it alone, as :func:`glue_xai.explain` makes it), and every pass
holds exactly :data:`PASS_ROWS` rows, the last one padded with copies of its last input:
torch's CPU kernels round a row's result differently in passes of different sizes (one
row of a pass of 2 differs from the same row in a pass of 8 by ~1e-7), but not by the
row's place in a pass of a given size. So a source's answer is the same, to the bit,
whichever sources share its pass and however the catalogue was partitioned.
"""
import numpy as np

__all__ = ["explain_many", "BATCHED_METHODS"]

#: Methods computed many sources per pass; the others run one source at a time.
BATCHED_METHODS = ("saliency", "integrated_gradients")
#: Rows of every forward and forward + backward pass (see the module's docstring). A
#: backward pass keeps every layer's activations: 128 FIRST cutouts of 150 x 150 pixels
#: hold hundreds of MB, and on one CPU thread 16 go through as fast per input (faster
#: here, with the activations in cache).
PASS_ROWS = 16


def explain_many(model, images, wcs_list, seeds, method, target, options, sizes_from):
    """One ``(explanation, measured)`` per image (``(Exception, None)`` for a source that
    failed): see :func:`glue_xai.survey.compute.explain_one` for what they are."""
    from glue_xai.survey.columns import MEASURE_OPTIONS

    measured_options = MEASURE_OPTIONS.get(sizes_from, {})
    needs_other = sizes_from is not None and not (
        sizes_from == method and all(options.get(k, _default(method, k)) == v for k, v in measured_options.items()))
    batched = (model.module is not None and method in BATCHED_METHODS
               and (not needs_other or sizes_from in BATCHED_METHODS) and len(images) > 0)
    if not batched:
        return _one_by_one(model, images, wcs_list, seeds, method, target, options, sizes_from)
    prepared = _prepare(model, images, wcs_list)
    usable = [k for k, p in enumerate(prepared) if not isinstance(p, Exception)]
    out = [(p, None) if isinstance(p, Exception) else None for p in prepared]
    if not usable:
        return out
    x = np.stack([prepared[k][0] for k in usable])
    use_seeds = [seeds[k] for k in usable]
    computed = None
    if method == "saliency" and _one_pass_features(model):
        settings = _settings(method, options, use_seeds)
        probabilities, features, maps = _saliency_in_one_pass(model, x, target, settings)
        computed = _saliency_output(maps, settings)
    else:
        probabilities, features = _probabilities_and_features(model, x)
    targets = (probabilities.argmax(axis=1) if target is None
               else np.full(len(usable), model.class_index(target)))
    shown = _explanations(model, method, options, x, targets, use_seeds, probabilities,
                          [prepared[k] for k in usable], target, features, computed)
    measured = (shown if not needs_other else
                _explanations(model, sizes_from, measured_options, x, targets, use_seeds, probabilities,
                              [prepared[k] for k in usable], target, features))
    for k, explanation, other in zip(usable, shown, measured):
        out[k] = (explanation, other)
    return out


def _default(method, name):
    from glue_xai.methods.api import method_options

    return method_options(method).get(name)


def _one_by_one(model, images, wcs_list, seeds, method, target, options, sizes_from):
    from glue_xai.survey.compute import explain_one

    out = []
    for image, wcs, seed in zip(images, wcs_list, seeds):
        try:
            out.append(explain_one(model, image, wcs, seed, method, target, options, sizes_from))
        except (ValueError, RuntimeError, TypeError) as error:
            out.append((error, None))
    return out


def _prepare(model, images, wcs_list):
    """``(x, placement, scale, wcs)`` per image as :func:`glue_xai.explain` prepares it (fit="pad")."""
    from glue_xai.models.preprocess import pixel_scale_from_wcs

    prepared = []
    for image, wcs in zip(images, wcs_list):
        scale = None if wcs is None else pixel_scale_from_wcs(wcs)
        try:
            x, placement = model.prepare(image, pixel_scale_arcsec=scale, fit="pad")
            prepared.append((x, placement, scale, wcs))
        except ValueError as error:
            prepared.append(error)
    return prepared


def _settings(method, options, seeds):
    """The method's settings: its defaults updated by ``options``, checked."""
    from glue_xai.methods.api import method_options
    from glue_xai.methods.arguments import check_settings

    allowed = method_options(method)
    check_settings(method, options, allowed, seeds[0] if seeds else 0)
    return {**allowed, **options}


def _explanations(model, method, options, x, targets, seeds, probabilities, prepared, target, features=None,
                  computed=None):
    """Explanation objects of ``method`` for the model inputs ``x`` (n, C, h, w); ``features``
    (n, d) or None, the network's penultimate features, kept for the assessment;
    ``computed``: the method's ``(maps, params, evals)`` when already computed."""
    from glue_xai.methods.explanation import Explanation

    settings = _settings(method, options, seeds)
    maps, params, evals = computed or METHOD_MAPS[method](model, x, targets, seeds, settings)
    out = []
    for k, (model_map, (x_k, placement, scale, wcs)) in enumerate(zip(maps, prepared)):
        model_map = np.asarray(model_map, dtype=np.float64)
        if not np.isfinite(model_map).all():
            out.append(ValueError(f"{method} produced a non-finite map"))
            continue
        t = int(targets[k])
        out.append(Explanation(
            map=placement.to_input(model_map, fill=0.0), target=t, target_name=model.classes[t],
            probability=float(probabilities[k, t]), method=method,
            params={**settings, **params[k], "seed": int(seeds[k]), "fit": "pad", "pixel_scale_arcsec": scale,
                    "target": target},
            probabilities=probabilities[k], classes=model.classes, model_name=model.name,
            n_model_evals=evals + 1, model_map=model_map, model_input=x_k, placement=placement, wcs=wcs,
            extras={} if features is None else {"penultimate_features": features[k]}))
    return out


def _padded_passes(rows):
    """``(chunk, n)`` over ``rows`` (a numpy array or tensor): chunks of exactly
    :data:`PASS_ROWS` rows, the last padded with copies of its last row; ``n`` real rows."""
    import torch

    for start in range(0, len(rows), PASS_ROWS):
        chunk = rows[start:start + PASS_ROWS]
        n = len(chunk)
        if n < PASS_ROWS:
            pad = [chunk[-1:]] * (PASS_ROWS - n)
            chunk = torch.cat([chunk, *pad]) if isinstance(chunk, torch.Tensor) else np.concatenate([chunk, *pad])
        yield chunk, n


def _probabilities(model, x):
    """Class probabilities of model inputs (n, C, h, w), in fixed-size passes."""
    import torch

    parts = []
    with torch.inference_mode():
        for chunk, n in _padded_passes(x):
            parts.append(model.torch_proba(model.tensor(chunk)).cpu().numpy()[:n])
    return _finite_probabilities(model, parts)


def _finite_probabilities(model, parts):
    """The passes' probabilities as one float64 array, refused when any is not finite."""
    probabilities = np.concatenate(parts).astype(np.float64)
    if not np.isfinite(probabilities).all():
        raise ValueError(f"model {model.name!r} returned non-finite probabilities")
    return probabilities


def _catch_head_inputs(model, caught):
    """Append the head's input of every pass (the features, see :func:`_head_reads_features`)
    to ``caught``; returns the hook's handle, to be removed."""
    return model.module.head.register_forward_hook(lambda layer, inputs, output: caught.append(inputs[0].detach()))


def _probabilities_and_features(model, x):
    """``(probabilities, features)`` of model inputs (n, C, h, w), as :func:`_probabilities`
    and :func:`_features` give them. When the network's head reads ``features(x)`` (its
    forward is marked :func:`~glue_xai.models.architectures.reads_features`) the features
    are the head's input, caught in the probabilities' own passes: the same operations on
    the same passes, so the same bits, for one pass through the network instead of two."""
    if getattr(model, "ood_reference", None) is None or model.module is None or not _head_reads_features(model.module):
        return _probabilities(model, x), _features(model, x)
    caught = []
    hook = _catch_head_inputs(model, caught)
    try:
        probabilities = _probabilities(model, x)
    finally:
        hook.remove()
    n_rows = [min(PASS_ROWS, len(x) - start) for start in range(0, len(x), PASS_ROWS)]
    features = np.concatenate([f[:n].cpu().numpy().astype(np.float64) for f, n in zip(caught, n_rows)])
    return probabilities, features


def _head_reads_features(module):
    import torch

    return (getattr(type(module).forward, "head_reads_features", False) and not module.training
            and isinstance(getattr(module, "head", None), torch.nn.Linear))


def _features(model, x):
    """Penultimate features of model inputs (n, C, h, w), in fixed-size passes, for the
    out-of-distribution check of :func:`glue_xai.models.assess.assess_explanation` (one
    batched pass instead of one per source); None for a model without that check."""
    from glue_xai.models.assess import penultimate_features

    if getattr(model, "ood_reference", None) is None or model.module is None:
        return None
    return np.concatenate([penultimate_features(model, chunk)[:n] for chunk, n in _padded_passes(x)])


def _gradients(model, inputs, row_targets, output):
    """d(score of each row's target)/d(input), (R, C, h, w) float32 numpy, in fixed-size passes."""
    import torch

    from glue_xai.methods.gradients import _scores

    targets = np.asarray(row_targets, dtype=np.int64)
    grads = []
    for (chunk, n), (rows, _) in zip(_padded_passes(inputs), _padded_passes(targets)):
        chunk = model.tensor(chunk).detach().clone().requires_grad_(True)
        scores = _scores(model, chunk, output)
        # Padding rows add their own terms to the sum, never to a real row's gradient.
        picked = scores.gather(1, torch.from_numpy(rows)[:, None].to(scores.device)).sum()
        (grad,) = torch.autograd.grad(picked, chunk)
        grads.append(grad[:n].cpu())
    return torch.cat(grads).numpy()


def _channel_map(grad, signed):
    return grad.sum(axis=-3) if signed else np.abs(grad).max(axis=-3)


def _saliency(model, x, targets, seeds, settings):
    import torch

    return _saliency_output(_gradients(model, torch.from_numpy(x), targets, settings["output"]), settings)


def _saliency_output(grads, settings):
    params = {"signed": bool(settings["signed"]), "output": settings["output"]}
    return [_channel_map(g, settings["signed"]) for g in grads], [params] * len(grads), 1


def _one_pass_features(model):
    """Whether :func:`_saliency_in_one_pass` gives everything a batch needs for this model."""
    return model.module is not None and (getattr(model, "ood_reference", None) is None
                                         or _head_reads_features(model.module))


def _saliency_in_one_pass(model, x, target, settings):
    """``(probabilities, features, gradients)`` of the model inputs ``x`` as
    :func:`_probabilities_and_features` and :func:`_saliency`'s :func:`_gradients` give
    them, from one forward pass per chunk instead of two: the forward pass that the
    gradients go back through also gives the probabilities (the same operations on the same
    chunk; autograd keeps the values, it does not change them, which the tests check), and
    each row's class is picked from them before going back. ``target``: the class name,
    or None for each source's most probable class."""
    import torch

    from glue_xai.methods.gradients import scores_of_outputs

    caught = []
    hook = None
    if getattr(model, "ood_reference", None) is not None:
        hook = _catch_head_inputs(model, caught)
    parts, grads, features = [], [], []
    try:
        for chunk, n in _padded_passes(torch.from_numpy(x)):
            chunk = model.tensor(chunk).detach().clone().requires_grad_(True)
            outputs = model.module(chunk)
            probabilities = model.proba_of_outputs(outputs).detach().cpu().numpy()[:n]
            parts.append(probabilities)
            rows = (probabilities.astype(np.float64).argmax(axis=1) if target is None
                    else np.full(n, model.class_index(target)))
            rows = np.concatenate([rows, np.repeat(rows[-1:], PASS_ROWS - n)]).astype(np.int64)
            scores = scores_of_outputs(model, outputs, settings["output"])
            # Padding rows add their own terms to the sum, never to a real row's gradient.
            picked = scores.gather(1, torch.from_numpy(rows)[:, None].to(scores.device)).sum()
            (grad,) = torch.autograd.grad(picked, chunk)
            grads.append(grad[:n].cpu())
            if caught:
                features.append(caught.pop()[:n].cpu().numpy().astype(np.float64))
    finally:
        if hook is not None:
            hook.remove()
    probabilities = _finite_probabilities(model, parts)
    return probabilities, (np.concatenate(features) if hook is not None else None), torch.cat(grads).numpy()


#: Sources whose integration paths go through the network together (see below).
PATH_SOURCES_AT_ONCE = 16


def _integrated_gradients(model, x, targets, seeds, settings):
    import torch

    from glue_xai.methods.gradients import make_baseline

    n_steps = int(settings["n_steps"])
    if n_steps < 1:
        raise ValueError(f"n_steps must be at least 1, got {n_steps}")
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas, weights = (nodes + 1) / 2, weights / 2
    steps = torch.from_numpy(alphas.astype(np.float32))[:, None, None, None]
    maps = []
    # A few sources' paths at a time: a whole partition's (200 sources x 32 steps of a
    # 150 x 150 input, and as many gradients) took a run to 3.2 GB. Every pass still holds
    # PASS_ROWS rows, so no source's bits change (see the module's docstring).
    for start in range(0, len(x), PATH_SOURCES_AT_ONCE):
        group = range(start, min(start + PATH_SOURCES_AT_ONCE, len(x)))
        refs, paths = [], []
        for k in group:
            ref = make_baseline(x[k], settings["baseline"], seeds[k]).astype(np.float32)
            refs.append(ref)
            paths.append(torch.from_numpy(ref)[None] + steps * torch.from_numpy(x[k] - ref))
        grads = _gradients(model, torch.cat(paths), np.repeat(targets[start:group.stop], n_steps),
                           settings["output"])
        for j, (k, ref) in enumerate(zip(group, refs)):
            attribution = (weights[:, None, None, None] * grads[j * n_steps:(j + 1) * n_steps]).sum(axis=0) * (x[k] - ref)
            maps.append(attribution.sum(axis=0))
    params = {"n_steps": n_steps, "baseline": settings["baseline"], "output": settings["output"]}
    return maps, [params] * len(x), n_steps + 1


METHOD_MAPS = {"saliency": _saliency, "integrated_gradients": _integrated_gradients}
