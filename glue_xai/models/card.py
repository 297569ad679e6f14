"""The model card: everything needed to feed a model the pixels it was trained on."""
import json
from dataclasses import asdict, dataclass, field


@dataclass
class ModelCard:
    """What a model expects and what is known about it.

    ``input_shape`` is ``(channels, height, width)`` of the network input; ``pixel_scale_arcsec``
    the angular size of one input pixel (None when the model has no sky scale).
    ``preprocessing`` holds the steps :mod:`glue_xai.models.preprocess` applies, e.g.
    ``{"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"}``.
    Everything else (training data, scores, citations, terms of use) goes in ``info``.
    ``temperature`` divides the logits before the softmax (calibration).

    A regression model (``output="values"``) predicts numbers, not classes: ``classes``
    then names its outputs (one or more, e.g. ``("bulge_to_total",)``) and ``units``
    gives each output's unit (``{"bar_length": "arcsec"}``; astropy unit strings).
    """

    name: str
    classes: tuple
    input_shape: tuple
    pixel_scale_arcsec: float = None
    preprocessing: dict = field(default_factory=lambda: {"background": "none", "scale": "none"})
    architecture: str = None
    architecture_options: dict = field(default_factory=dict)
    output: str = "logits"
    info: dict = field(default_factory=dict)
    #: Logits are divided by this before the softmax (temperature scaling, fitted on
    #: held-out tune data): calibrated probabilities, the same predictions.
    temperature: float = 1.0
    units: dict = field(default_factory=dict)

    def __post_init__(self):
        self.classes = tuple(str(c) for c in self.classes)
        self.input_shape = tuple(int(s) for s in self.input_shape)
        if len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), got {self.input_shape}")
        if self.output not in ("logits", "probabilities", "values"):
            raise ValueError(f"output must be 'logits', 'probabilities' or 'values' (regression), "
                             f"got {self.output!r}")
        if self.output == "values" and len(self.classes) < 1:
            raise ValueError("a regression model needs at least one output name in classes")
        if self.output != "values" and len(self.classes) < 2:
            raise ValueError(f"a classifier needs at least two classes, got {self.classes}")
        self.units = {str(k): str(v) for k, v in dict(self.units or {}).items()}
        if set(self.units) - set(self.classes):
            raise ValueError(f"units name outputs the model does not have: {sorted(set(self.units) - set(self.classes))}"
                             f" (outputs: {self.classes})")
        self.temperature = float(self.temperature)
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    @property
    def is_regression(self):
        """True for a model predicting numbers (``output="values"``)."""
        return self.output == "values"

    @property
    def band_names(self):
        """The bands' names (``info["bands"]``), or ``band 1``... when the card names none."""
        names = list((self.info or {}).get("bands") or [])
        if len(names) != self.n_channels:
            names = [f"band {k + 1}" for k in range(self.n_channels)]
        return [str(n) for n in names]

    @property
    def n_channels(self):
        return self.input_shape[0]

    @property
    def image_size(self):
        return self.input_shape[1:]

    def to_dict(self):
        d = asdict(self)
        d["classes"] = list(self.classes)
        d["input_shape"] = list(self.input_shape)
        return d

    @classmethod
    def from_dict(cls, d):
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2)
            f.write("\n")

    @classmethod
    def load(cls, path):
        """Read a card saved by :meth:`save`; a file that is not one raises ValueError naming it."""
        with open(path, encoding="utf-8") as f:
            try:
                content = json.load(f)
            except json.JSONDecodeError as error:
                raise ValueError(f"model card {path} is not valid JSON: {error}") from None
        if not isinstance(content, dict):
            raise ValueError(f"model card {path} holds a JSON {type(content).__name__}, not an object")
        try:
            return cls.from_dict(content)
        except (TypeError, ValueError) as error:  # a missing field, or a field out of range
            raise ValueError(f"model card {path}: {error}") from None
