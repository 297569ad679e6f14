"""The Classifier: a model plus its card, taking images as astronomers have them."""
import numpy as np

from glue_xai.models.card import ModelCard
from glue_xai.models.device import resolve_device, to_numpy
from glue_xai.models.preprocess import check_finite, fit_to_model, normalise

#: What a model without gradients can still be explained with.
MODEL_AGNOSTIC_METHODS = ("lime", "elime", "occlusion", "rise", "shapley")
#: Images per forward pass by default. A torch network on a CPU is faster in small passes:
#: the shipped CNN took 0.93 s for 1000 FIRST inputs in passes of 16 and 2.2 s in passes
#: of 128 on the 2-core development machine (a pass of 16 keeps its activations in
#: cache). A GPU, and a callable model (scikit-learn, onnxruntime) with its own per-call
#: overhead, want large passes.
CPU_BATCH_SIZE = 16
LARGE_BATCH_SIZE = 128


class NotDifferentiableError(TypeError, ValueError):
    """A gradient method asked of a model without gradients (a TypeError, and a ValueError
    as a wrong choice of method for this model)."""


def not_differentiable(model, what="gradient methods"):
    """The error saying why ``model`` cannot give ``what`` gradients, and what to do instead."""
    hint = getattr(model, "gradient_hint", None) or "wrap a torch.nn.Module in the Classifier instead"
    return NotDifferentiableError(
        f"model {model.name!r} is not a torch module: {what} need a differentiable model: {hint}; "
        f"without one, explain it with {', '.join(MODEL_AGNOSTIC_METHODS)}")


class Classifier:
    """A classifier of images with its model card.

    ``model`` is a ``torch.nn.Module`` returning logits (or probabilities, as the card
    says) for ``(N, C, h, w)`` float32 tensors, or any callable taking a numpy array of
    that shape and returning ``(N, n_classes)`` probabilities, e.g.
    ``lambda x: sklearn_model.predict_proba(x.reshape(len(x), -1))``.
    Gradient methods need the torch module; LIME-family methods work with both.
    ``differentiable``: a torch module computing the same function as a callable ``model``
    (e.g. an ONNX graph converted to torch): gradient methods differentiate it, while
    probabilities still come from ``model``. ``gradient_hint`` says what to do when a
    gradient method is asked of a model without one.

    ``device``: where a torch module runs, ``"auto"`` (a CUDA GPU when torch sees one,
    else the CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``. Images are prepared on the CPU
    and every result comes back as numpy, whatever the device. ``batch_size``: images per
    forward pass (default: :data:`CPU_BATCH_SIZE` for a torch network on a CPU, else
    :data:`LARGE_BATCH_SIZE`).
    """

    def __init__(self, model, card, batch_size=None, device="auto", differentiable=None, gradient_hint=None):
        if not isinstance(card, ModelCard):
            raise TypeError(f"card must be a ModelCard, got {type(card).__name__}")
        if not callable(model):
            raise TypeError(f"model must be a torch module or a callable, got {type(model).__name__}")
        self.card = card
        self._module = None
        self._fn = None
        self.device = resolve_device(device)
        self._auto_batch = batch_size is None
        self.batch_size = LARGE_BATCH_SIZE if batch_size is None else int(batch_size)
        #: Training-feature statistics for :func:`glue_xai.assess` (None: no such check).
        self.ood_reference = None
        self.gradient_hint = gradient_hint
        try:
            import torch

            if isinstance(model, torch.nn.Module):
                self._module = model.eval().to(self.device)
            elif differentiable is not None:
                if not isinstance(differentiable, torch.nn.Module):
                    raise TypeError(f"differentiable must be a torch module, got {type(differentiable).__name__}")
                self._module = differentiable.eval().to(self.device)
        except ImportError:  # pragma: no cover - torch is a dependency
            pass
        if self._module is not model:  # a callable gives the probabilities
            self._fn = model
        if self._auto_batch:
            self.batch_size = self._default_batch_size()

    # --- what the model is -------------------------------------------------------------
    @property
    def classes(self):
        return self.card.classes

    @property
    def name(self):
        return self.card.name

    @property
    def module(self):
        """The torch module (a callable's ``differentiable`` twin), or None for a plain callable."""
        return self._module

    def to(self, device):
        """Move the torch module to ``device`` (see :mod:`glue_xai.models.device`); returns self."""
        self.device = resolve_device(device)
        if self._module is not None:
            self._module.to(self.device)
        if self._auto_batch:
            self.batch_size = self._default_batch_size()
        return self

    def _default_batch_size(self):
        torch_on_cpu = self._fn is None and str(self.device).startswith("cpu")
        return CPU_BATCH_SIZE if torch_on_cpu else LARGE_BATCH_SIZE

    def tensor(self, x):
        """Model inputs (numpy or a CPU tensor) as a float32 tensor on the model's device."""
        import torch

        if not isinstance(x, torch.Tensor):
            x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return x.to(self.device)

    @property
    def is_differentiable(self):
        return self._module is not None

    def class_index(self, target):
        """Index of ``target`` given as an index or a class name."""
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if not 0 <= target < len(self.classes):
                raise ValueError(f"class index {target} is out of range for classes {self.classes}")
            return int(target)
        if isinstance(target, str):
            if target in self.classes:
                return self.classes.index(target)
            raise ValueError(f"unknown class {target!r}; this model's classes are {self.classes}")
        raise TypeError(f"target must be a class name or index, got {type(target).__name__}")

    # --- from the caller's pixels to the model's ----------------------------------------
    def _as_channels(self, image):
        """One image as (C, H, W) float64, checking the channel count."""
        image = np.asarray(image)
        if not np.issubdtype(image.dtype, np.number) or np.iscomplexobj(image):
            raise TypeError(f"image must be real numeric pixels, got dtype {image.dtype}")
        if image.ndim == 2:
            image = image[None]
        if image.ndim != 3:
            raise ValueError(f"an image must be (H, W) or (C, H, W), got shape {image.shape}")
        if image.shape[0] != self.card.n_channels:
            raise ValueError(f"the image has {image.shape[0]} channel(s) but model {self.name!r} "
                             f"takes {self.card.n_channels}")
        return image.astype(np.float64, copy=False)

    def prepare(self, image, pixel_scale_arcsec=None, fit="crop"):
        """One image, (H, W) or (C, H, W), as the model's input (an image without a single
        finite pixel is refused; a blank one can be scored, and explanations refuse it).

        Returns ``(x, placement)``: ``x`` a float32 (C, h, w) array and ``placement`` the
        :class:`~glue_xai.models.preprocess.Placement` mapping model pixels back to the image.
        """
        image = self._as_channels(image)
        check_finite(image)
        placement = fit_to_model(image.shape[1:], self.card.image_size, self.card.pixel_scale_arcsec,
                                 pixel_scale_arcsec, fit=fit)
        channels = [normalise(placement.sample_input(c), self.card.preprocessing, noise_image=c)
                    for c in image]
        return np.stack(channels).astype(np.float32), placement

    def prepare_many(self, images, pixel_scale_arcsec=None, fit="crop"):
        """A stack of images, (H, W), (N, H, W) or (N, C, H, W), as an (N, C, h, w) array."""
        images = np.asarray(images)
        if images.ndim in (3, 4) and len(images) == 0:  # no images: no rows of probabilities
            return np.zeros((0, *self.card.input_shape), dtype=np.float32)
        if images.ndim == 2:
            images = images[None]
        if images.ndim == 3:
            images = images[:, None] if self.card.n_channels == 1 or images.shape[0] != self.card.n_channels \
                else images[None]
        if images.ndim != 4:
            raise ValueError(f"images must be (H, W), (N, H, W) or (N, C, H, W), got shape {images.shape}")
        out = []
        for i, image in enumerate(images):
            try:
                out.append(self.prepare(image, pixel_scale_arcsec, fit)[0])
            except ValueError as err:
                raise ValueError(f"image {i}: {err}") from None
        return np.stack(out)

    # --- predictions ----------------------------------------------------------------------
    def predict_proba(self, images, pixel_scale_arcsec=None, fit="crop"):
        """Class probabilities, (N, n_classes), for images in their own pixels (NaNs allowed)."""
        return self.proba_of_inputs(self.prepare_many(images, pixel_scale_arcsec, fit))

    def predict(self, images, **kwargs):
        """Predicted class names, one per image; for a regression model (N, n_outputs)
        predicted values."""
        out = self.predict_proba(images, **kwargs)
        return out if self.is_regression else [self.classes[i] for i in out.argmax(1)]

    @property
    def is_regression(self):
        """True when the model predicts numbers (card ``output="values"``): its
        "probabilities" are then the predicted values themselves."""
        return self.card.is_regression

    def unit(self, output):
        """The unit of output ``output`` (name or index), '' when none is given."""
        return self.card.units.get(self.classes[self.class_index(output)], "")

    def proba_of_inputs(self, x):
        """Probabilities for model-ready inputs (N, C, h, w), batched, without gradients."""
        x = np.asarray(x, dtype=np.float32)
        if len(x) == 0:
            return np.zeros((0, len(self.classes)))
        parts = []
        for start in range(0, len(x), self.batch_size):
            chunk = x[start:start + self.batch_size]
            if self._fn is None:
                import torch

                with torch.inference_mode():
                    parts.append(to_numpy(self.torch_proba(self.tensor(chunk))))
            else:
                parts.append(np.asarray(self._fn(chunk), dtype=np.float64))
        probs = np.concatenate(parts).astype(np.float64)
        self._check_output(probs)
        return probs

    def torch_proba(self, x):
        """Differentiable probabilities of a (N, C, h, w) tensor (torch models only); a
        regression model's values."""
        if self._module is None:
            raise not_differentiable(self)
        return self.proba_of_outputs(self._module(x))

    def proba_of_outputs(self, out):
        """:meth:`torch_proba` from the network's outputs ``out`` (a tensor), for a caller
        that also needs the outputs themselves (the survey's one-pass saliency)."""
        import torch

        return torch.softmax(out / self.card.temperature, dim=1) if self.card.output == "logits" else out

    def _check_output(self, probs):
        if probs.ndim != 2 or probs.shape[1] != len(self.classes):
            raise ValueError(f"model {self.name!r} returned shape {probs.shape}, expected (N, {len(self.classes)})")
        if not np.isfinite(probs).all():
            raise ValueError(f"model {self.name!r} returned non-finite probabilities (NaN or inf)")

    def __repr__(self):
        return f"<Classifier {self.name!r} classes={self.classes} input={self.card.input_shape} device={self.device}>"
