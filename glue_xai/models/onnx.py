"""ONNX models: probabilities from onnxruntime, gradients from a torch copy of the graph.

A network exported to ONNX (from PyTorch, TensorFlow, Keras, ...) becomes an ordinary
:class:`~glue_xai.models.Classifier`. onnxruntime computes every prediction, so the
model-agnostic methods (LIME, evolved LIME, occlusion, RISE, Shapley values) work on any
graph. Gradient methods (saliency, SmoothGrad, integrated gradients, Grad-CAM) need a
differentiable copy: when ``onnx2torch`` is installed and converts the graph, and the copy
gives onnxruntime's probabilities, they differentiate it; otherwise they refuse, saying why.

``onnx2torch`` declares a dependency on torchvision, which pip would install (and with it
perhaps another torch) although only two object-detection operators use it: install it
with ``pip install --no-deps onnx2torch``; glue-xai imports it without torchvision.
"""
import sys
import types

import numpy as np

from glue_xai.models.classifier import Classifier

__all__ = ["from_onnx"]

#: Largest difference in probability allowed between onnxruntime and the torch copy.
AGREEMENT = 1e-4

_INSTALL_HINT = ("install onnx2torch (pip install --no-deps onnx2torch) so glue-xai can convert the ONNX graph "
                 "to torch, or load the network in PyTorch")
_ONNX_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}


def from_onnx(path, card=None, gradients=True, batch_size=128, providers=None):
    """The ONNX model in file ``path`` as a :class:`~glue_xai.models.Classifier`.

    ``card``: a :class:`~glue_xai.models.ModelCard`, a dict or the path of a card JSON
    (default: ``<file>.json`` beside the model) giving classes, input shape, pixel scale
    and preprocessing, and ``output``: ``"logits"`` (softmax applied, after dividing by
    ``temperature``) or ``"probabilities"``. The graph takes one (N, C, h, w) input.
    ``gradients=False`` skips the torch conversion (model-agnostic methods only).
    ``providers``: onnxruntime execution providers (default: the CPU).
    """
    from pathlib import Path

    import onnxruntime

    from glue_xai.models.loading import _resolve_card

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no ONNX model file at {path}")
    card = _resolve_card(card, path)
    try:
        session = onnxruntime.InferenceSession(str(path), providers=providers or ["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own classes for damaged or foreign files
        raise ValueError(f"{path.name} cannot be read as an ONNX model: {error}") from None
    run = _OnnxRunner(session, card, path.name)
    if gradients:
        module, hint = _torch_copy(path, run, card)
    else:
        module, hint = None, "from_onnx(..., gradients=False) left the graph unconverted"
    return Classifier(run, card, batch_size=batch_size, differentiable=module,
                      gradient_hint=None if module is not None else hint)


class _OnnxRunner:
    """(N, C, h, w) model inputs -> (N, n_classes) probabilities through onnxruntime."""

    def __init__(self, session, card, file_name):
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ValueError(f"{file_name} takes {len(inputs)} inputs ({[i.name for i in inputs]}); "
                             "glue-xai feeds a model one image tensor")
        self.session, self.card, self.input_name = session, card, inputs[0].name
        shape = inputs[0].shape
        expected = (None, *card.input_shape)
        if len(shape) != 4 or any(isinstance(s, int) and s != e for s, e in zip(shape[1:], expected[1:])):
            raise ValueError(f"{file_name} takes inputs of shape {shape}, but its card says (N, C, h, w) = "
                             f"(N, {', '.join(map(str, card.input_shape))})")
        # A graph exported with a fixed batch (often 1) is fed that many images per run.
        self.fixed_batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        self.dtype = _ONNX_TYPES.get(inputs[0].type, np.float32)

    def __call__(self, x):
        x = np.asarray(x, dtype=self.dtype)
        step = self.fixed_batch or len(x)
        parts = []
        for start in range(0, len(x), step):
            chunk = x[start:start + step]
            n = len(chunk)
            if n < step:  # pad a short last chunk with copies of its last image
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], step - n, axis=0)])
            parts.append(np.asarray(self.session.run(None, {self.input_name: chunk})[0], dtype=np.float64)[:n])
        out = np.concatenate(parts)
        if self.card.output == "probabilities":
            return out
        out = out / self.card.temperature
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)


def _torch_copy(path, run, card):
    """(torch module, None) when onnx2torch converts the graph faithfully, else (None, why not)."""
    try:
        convert = _import_onnx2torch()
    except ImportError as error:
        return None, f"{_INSTALL_HINT} (onnx2torch is not importable: {error})"
    import onnx
    import torch

    try:
        module = convert(onnx.load(str(path))).eval()
    except Exception as error:  # an operator or opset onnx2torch does not know
        return None, (f"onnx2torch could not convert this graph ({type(error).__name__}: {error}): export it with "
                      "an opset onnx2torch knows (e.g. opset_version=17) or load the network in PyTorch")
    probe = np.random.default_rng(0).standard_normal((2, *card.input_shape)).astype(np.float32)
    with torch.no_grad():
        out = module(torch.from_numpy(probe)).double()
    copied = torch.softmax(out / card.temperature, dim=1).numpy() if card.output == "logits" else out.numpy()
    expected = run(probe)
    difference = np.abs(copied - expected).max() if copied.shape == expected.shape else np.inf
    if not difference <= AGREEMENT:
        return None, (f"onnx2torch's torch copy of the graph disagrees with onnxruntime (probabilities differ by "
                      f"{difference:.2g}); load the network in PyTorch")
    return module, None


def _import_onnx2torch():
    """``onnx2torch.convert``; importable without torchvision, which only its NonMaxSuppression
    and RoiAlign converters (object detection, never a classifier) use."""
    if "onnx2torch" in sys.modules:
        return sys.modules["onnx2torch"].convert
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass
    else:
        from onnx2torch import convert

        return convert
    import torch  # noqa: F401  (imported before the stand-in exists, so torch never sees it)

    def unavailable(*args, **kwargs):
        raise ImportError("this ONNX operator needs torchvision, which is not installed")

    ops = types.ModuleType("torchvision.ops")
    ops.nms = ops.box_convert = ops.roi_align = unavailable
    stand_in = types.ModuleType("torchvision")
    stand_in.ops = ops
    # The stand-in exists only while onnx2torch imports: nothing else can ever see it.
    sys.modules.update({"torchvision": stand_in, "torchvision.ops": ops})
    try:
        from onnx2torch import convert
    finally:
        del sys.modules["torchvision"], sys.modules["torchvision.ops"]
    return convert
