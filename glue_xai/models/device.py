"""Where a torch model runs: ``"auto"`` (a CUDA GPU when torch sees one, else the CPU),
``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

Pixels are prepared in numpy on the CPU; they cross to the device only at the network's
door (:meth:`glue_xai.models.classifier.Classifier.tensor`) and every result comes back
through :func:`to_numpy`. Random draws (SmoothGrad's noise, LIME's masks) are made on
the CPU from the explanation's seed, so a seed gives the same draws on every device.
"""

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device="auto"):
    """The ``torch.device`` to run on; a clear error for a device this machine lacks."""
    import torch

    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be one of {DEVICES} (or 'cuda:N'), got {device!r}") from err
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be one of {DEVICES} (or 'cuda:N'), got {device!r}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was asked for, but this torch sees no CUDA GPU "
                             f"(torch {torch.__version__}, torch.cuda.is_available() is False): "
                             "use device='cpu', or 'auto' to take a GPU only when there is one")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"device {device!r} was asked for, but this machine has "
                             f"{torch.cuda.device_count()} CUDA GPU(s)")
    return resolved


def to_numpy(tensor):
    """A tensor from any device as a numpy array (detached, on the CPU)."""
    return tensor.detach().cpu().numpy()
