"""What the XAI image viewer and its explanation layers remember (Qt-free).

Every setting is an echo callback property, so glue saves it with the session and the
Qt widgets stay in step with it. The viewer state holds *what* to explain (model,
method, target class and the method's settings); each explanation layer's state holds
*how it looks* (opacity, colour maps, contours, superpixels, legend). The maps
themselves are never stored: they are recomputed (or taken from the cache) on restore.

A session always comes back: a saved value this installation cannot use (an unknown
method or model, "abc" for a number, a class of a model file that has gone) is replaced
by its default, and ``restore_notes`` says what was replaced and why, for the viewer to
show under the image.
"""
from pathlib import Path

from echo import CallbackProperty, SelectionCallbackProperty, delay_callback
from glue.viewers.image.state import ImageSubsetLayerState, ImageViewerState
from glue.viewers.matplotlib.state import DeferredDrawCallbackProperty as DDCProperty
from glue.viewers.matplotlib.state import DeferredDrawSelectionCallbackProperty as DDSCProperty

from glue_xai.methods.api import METHODS, SIGNED_METHODS, method_options
from glue_xai.methods.segmentation import SEGMENTATIONS
from glue_xai.viewer.model_store import is_named_model, model_classes, model_names

__all__ = ["XAIImageViewerState", "XAIExplanationLayerState", "available_methods", "PREDICTED",
           "SIGNED_CMAPS", "MAGNITUDE_CMAPS", "NUMBER_SETTINGS"]

#: The target choice meaning "whatever class the model predicts".
PREDICTED = "predicted class"

METHOD_LABELS = {"lime": "LIME", "elime": "evolved LIME", "saliency": "saliency", "smoothgrad": "SmoothGrad",
                 "integrated_gradients": "integrated gradients", "gradcam": "Grad-CAM",
                 "features": "SFNet features"}

#: Diverging maps for signed relevance (red pushes towards the class, blue against it).
SIGNED_CMAPS = ("RdBu_r", "coolwarm", "PuOr_r", "seismic")
#: Sequential maps for magnitudes (saliency, SmoothGrad, Grad-CAM).
MAGNITUDE_CMAPS = ("inferno", "magma", "viridis", "hot", "YlOrRd_r")

_LIME = method_options("lime")
#: The viewer's LIME default: half of ``explain``'s 1000. Measured on 20 FIRST cutouts
#: (docs/quality.rst), LIME reaches the `lime` package's deletion score (1000 samples)
#: with at most 100 samples on 17 of them and 400 on all, and 500 samples keep an
#: interactive answer near one second on a 2-core CPU.
VIEWER_LIME_SAMPLES = 500
_SMOOTHGRAD = method_options("smoothgrad")
_IG = method_options("integrated_gradients")
#: What the gradient methods differentiate; the logit is ``explain``'s default (it does
#: not saturate when the model is confident).
GRADIENT_OUTPUTS = ("logit", "probability")
GRADIENT_OUTPUT_METHODS = ("saliency", "smoothgrad", "integrated_gradients")


#: Numeric explanation settings: (type, smallest, largest). The option panel's spin boxes
#: take the same ranges, and a restored session's values are checked against them.
NUMBER_SETTINGS = {
    "lime_samples": (int, 10, 100000),
    "n_segments": (int, 2, 2000),
    "segment_scale": (float, 0.0, 1000.0),
    "smoothgrad_samples": (int, 1, 1000),
    "noise_level": (float, 0.0, 1.0),
    "ig_steps": (int, 1, 1000),
    "seed": (int, 0, 2 ** 31 - 1),
    "sfnet_feature": (int, 0, 64),
}
#: How the restore notes name each setting (as the option panels label them).
SETTING_LABELS = {
    "model_file": "model file", "model": "model", "method": "method", "target": "class",
    "lime_samples": "LIME samples", "segmentation": "superpixels", "n_segments": "number of superpixels",
    "segment_scale": "superpixel scale", "smoothgrad_samples": "SmoothGrad noisy copies",
    "noise_level": "SmoothGrad noise", "ig_steps": "integrated-gradients steps",
    "gradient_output": "differentiate", "seed": "seed", "sfnet_feature": "SFNet feature",
    "opacity": "opacity", "signed_cmap": "signed colour map", "magnitude_cmap": "magnitude colour map",
    "top_k": "outline top-k", "contour_percentiles": "contour percentiles",
    "show_heatmap": "heat map", "show_contours": "contours", "show_boundaries": "superpixel boundaries",
    "show_extent": "extent line", "show_legend": "legend",
}


def _as_number(value, kind, smallest, largest):
    """``value`` as a ``kind`` number within [smallest, largest], or the reason it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None, "is not a number"
    try:
        number = float(value)
    except ValueError:
        return None, "is not a number"
    if kind is int and not number.is_integer():
        return None, "is not a whole number"
    if not smallest <= number <= largest:
        return None, f"is outside {smallest}..{largest}"
    return kind(number), None


def _restore_values(state, values, numbers=(), flags=(), texts=()):
    """Set each saved value on ``state``, keeping the default of any it cannot take.

    Selections are checked against their choices, ``numbers`` (name -> (type, min, max))
    against their ranges, ``flags`` must be booleans and ``texts`` strings. Returns
    the notes saying what was replaced and why.
    """
    notes = []
    for name, value in values.items():
        label = SETTING_LABELS.get(name, name)
        if name in numbers:
            value, problem = _as_number(value, *numbers[name])
        elif name in flags:
            problem = None if isinstance(value, bool) else "is not on or off"
        elif name in texts:
            problem = None if isinstance(value, str) else "is not text"
        else:
            choices = getattr(type(state), name).get_choices(state)
            problem = None if value in choices else "is not known here"
        if problem is None:
            setattr(state, name, value)
        else:
            notes.append(f"{label} {values[name]!r} {problem}, using {getattr(state, name)!r}")
    return notes


def missing_model_file(model):
    """The path of ``model`` when it names a model file that is not there, else None."""
    if not model or is_named_model(model):
        return None
    return None if Path(model).is_file() else model


def available_methods():
    """The explanation methods this installation can run.

    Evolved LIME lives in its own module, written separately; it is offered only when
    that module imports cleanly.
    """
    methods = []
    for method in METHODS:
        if method == "elime":
            try:
                import glue_xai.methods.elime  # noqa: F401
            except Exception:  # a missing or half-written module must not break the viewer
                continue
        methods.append(method)
    return methods


def is_signed(method, params=None):
    """Whether a map is signed (diverging colour map) or a magnitude.

    The map's own ``signed`` setting when it has one (saliency, SmoothGrad), else as
    :data:`glue_xai.methods.SIGNED_METHODS` says: evolved LIME's map is how often a
    superpixel is in the elite, a magnitude, unlike LIME's signed weights.
    """
    if params and "signed" in params:
        return bool(params["signed"])
    return method in SIGNED_METHODS


class XAIImageViewerState(ImageViewerState):
    """The image viewer's state plus what to explain and how to compute it."""

    model_file = CallbackProperty("", docstring="Path of a model file loaded by the user ('' for none)")
    model = SelectionCallbackProperty(docstring="The classifier: a shipped or registered model's name, or a model "
                                                "file's path")
    method = SelectionCallbackProperty(docstring="The explanation method")
    target = SelectionCallbackProperty(docstring="The class to explain, or the predicted class")
    lime_samples = CallbackProperty(VIEWER_LIME_SAMPLES, docstring="LIME: number of perturbed images")
    segmentation = SelectionCallbackProperty(docstring="LIME: how the image is cut into superpixels")
    n_segments = CallbackProperty(_LIME["n_segments"], docstring="LIME: roughly how many superpixels")
    segment_scale = CallbackProperty(0.0, docstring="LIME: the segmentation's size knob "
                                                    "(SLIC compactness, Felzenszwalb scale); 0 = its default")
    smoothgrad_samples = CallbackProperty(_SMOOTHGRAD["n_samples"], docstring="SmoothGrad: number of noisy copies")
    noise_level = CallbackProperty(_SMOOTHGRAD["noise_level"], docstring="SmoothGrad: noise as a fraction of the "
                                                                         "image's range")
    ig_steps = CallbackProperty(_IG["n_steps"], docstring="Integrated gradients: steps along the path")
    gradient_output = SelectionCallbackProperty(docstring="Saliency, SmoothGrad, integrated gradients: "
                                                          "differentiate the class's probability or its logit "
                                                          "(pre-softmax score, which does not saturate)")
    seed = CallbackProperty(0, docstring="The one random seed of the method")
    sfnet_feature = CallbackProperty(0, docstring="SFNet features: 0 shows all active features, r the r-th "
                                                  "strongest contribution")

    bands = CallbackProperty("", docstring="Multi-band models: the components holding the model's bands, in its "
                                           "order ('g_img, r_img, z_img'); empty = the model card's band names")

    #: Settings that change the explanation (anything else only changes the view).
    EXPLANATION_SETTINGS = ("model", "method", "target", "lime_samples", "segmentation", "n_segments",
                            "segment_scale", "smoothgrad_samples", "noise_level", "ig_steps", "seed",
                            "sfnet_feature", "bands")

    def __init__(self, **kwargs):
        # Choices first, then the values (which a restored session may hand in).
        super().__init__()
        self.restore_notes = []
        XAIImageViewerState.method.set_choices(self, available_methods())
        XAIImageViewerState.method.set_display_func(self, lambda m: METHOD_LABELS.get(m, m))
        XAIImageViewerState.segmentation.set_choices(self, list(SEGMENTATIONS))
        XAIImageViewerState.model.set_display_func(self, _model_label)
        self._update_model_choices()
        self.add_callback("model_file", self._update_model_choices, priority=1000)
        self.add_callback("model", self._update_target_choices, priority=1000)
        self.method = "saliency"
        XAIImageViewerState.gradient_output.set_choices(self, list(GRADIENT_OUTPUTS))
        self.gradient_output = GRADIENT_OUTPUTS[0]
        self.update_from_dict(kwargs)

    #: Viewer settings restored from a session only after checking (see :meth:`restore_settings`).
    RESTORED_SETTINGS = ("model_file", "model", "method", "target", "segmentation", "gradient_output",
                         *NUMBER_SETTINGS)

    @classmethod
    def __setgluestate__(cls, rec, context):
        values = rec["values"]
        glue_values = {name: value for name, value in values.items() if name not in cls.RESTORED_SETTINGS}
        state = super().__setgluestate__({**rec, "values": glue_values}, context)
        state.restore_notes = state.restore_settings(
            {name: context.object(values[name]) for name in cls.RESTORED_SETTINGS if name in values})
        return state

    def restore_settings(self, values):
        """Apply saved explanation settings; one this installation cannot use keeps its default.

        Returns notes saying what was replaced and why. A model file that has gone stays
        the model (so the viewer can say "model file not found"), but a class of it picked
        in the session cannot be checked and becomes the predicted class.
        """
        notes = []
        model_file = values.get("model_file", "")
        if not isinstance(model_file, str):
            notes.append(f"model file {model_file!r} is not a path, using none")
            model_file = ""
        model = values.get("model", self.model)
        if isinstance(model, str) and not is_named_model(model) and not model_file \
                and Path(model).suffix in (".pt", ".pth", ".onnx"):
            model_file = model  # a file chosen as the model but not saved as the loaded file
        self.model_file = model_file
        selections = {name: values[name] for name in ("model", "method", "segmentation", "gradient_output")
                      if name in values}
        notes += _restore_values(self, selections)
        notes += _restore_values(self, {name: values[name] for name in NUMBER_SETTINGS if name in values},
                                 numbers=NUMBER_SETTINGS)
        if "target" in values:
            missing = missing_model_file(self.model)
            if missing and values["target"] not in (None, PREDICTED):
                notes.append(f"class {values['target']!r} is the missing model file's, using {PREDICTED!r}")
            else:
                notes += _restore_values(self, {"target": values["target"]})
        return notes

    def _update_priority(self, name):
        # A restored session sets the model file before the model, and the model before
        # the target class: each one's choices depend on the one before.
        order = {"model_file": 1.9, "model": 1.8, "target": 1.7}
        if name in order:
            return order[name]
        return super()._update_priority(name)

    def _update_model_choices(self, *args):
        names = model_names()
        if self.model_file:
            names.append(self.model_file)
        current = self.model
        with delay_callback(self, "model"):
            XAIImageViewerState.model.set_choices(self, names)
            if current in names:
                self.model = current
        self._update_target_choices()

    def _update_target_choices(self, *args):
        current = self.target
        try:
            classes = list(model_classes(self.model)) if self.model else []
        except (OSError, ValueError):  # an unreadable model file: its error shows when computing
            classes = []
        choices = [PREDICTED] + classes
        with delay_callback(self, "target"):
            XAIImageViewerState.target.set_choices(self, choices)
            self.target = current if current in choices else PREDICTED

    def method_settings(self, method=None):
        """The options handed to :func:`glue_xai.explain` for the current method (or for
        ``method``, as if it were chosen: the comparison of every method uses this).

        Only the options the method takes are passed, so a method added later (evolved
        LIME) receives the settings it shares with LIME and nothing it would refuse.
        """
        method = method or self.method
        candidates = {
            "n_samples": self.smoothgrad_samples if method == "smoothgrad" else self.lime_samples,
            "segmentation": self.segmentation,
            "n_segments": int(self.n_segments),
            "scale": float(self.segment_scale) if self.segment_scale else None,
            "noise_level": float(self.noise_level),
            "n_steps": int(self.ig_steps),
            "feature": int(self.sfnet_feature),
        }
        if method in GRADIENT_OUTPUT_METHODS:  # Grad-CAM keeps its own default (the logit)
            candidates["output"] = self.gradient_output
        accepted = method_options(method)
        return {name: value for name, value in candidates.items() if name in accepted}

    @property
    def explained_class(self):
        """The ``target`` for :func:`glue_xai.explain`: None for the predicted class."""
        return None if self.target in (None, PREDICTED) else self.target


def _model_label(name):
    """Shipped and registered models by name, files by their file name."""
    from pathlib import Path

    return name if is_named_model(name) else f"{Path(name).name} (file)"


class XAIExplanationLayerState(ImageSubsetLayerState):
    """How one subset's explanation is drawn over the image."""

    opacity = DDCProperty(0.6, docstring="Opacity of the heat map where relevance is largest")
    show_heatmap = DDCProperty(True, docstring="Draw the relevance map as a heat map")
    signed_cmap = DDSCProperty(docstring="Colour map for signed maps (LIME, integrated gradients)")
    magnitude_cmap = DDSCProperty(docstring="Colour map for magnitude maps (saliency, SmoothGrad, Grad-CAM)")
    show_contours = DDCProperty(False, docstring="Draw contours of the relevance map")
    contour_percentiles = DDCProperty("90, 99", docstring="Contour levels: percentiles of |relevance|")
    show_boundaries = DDCProperty(True, docstring="LIME: draw the superpixel boundaries")
    top_k = DDCProperty(3, docstring="LIME: outline the k most positive and k most negative superpixels")
    show_extent = DDCProperty(False, docstring="Draw the salient region's measured extent and position angle "
                                               "as a line (glue_xai.methods.measure.salient_extent)")
    show_legend = DDCProperty(True, docstring="Write the class, its probability and the method by the region")
    band = DDCProperty("", docstring="Multi-band models: draw this band's part of the map ('' = all bands)")

    #: Look settings checked when a session is restored: numbers, switches, free text.
    _NUMBERS = {"opacity": (float, 0.0, 1.0), "top_k": (int, 0, 50)}
    _FLAGS = ("show_heatmap", "show_contours", "show_boundaries", "show_extent", "show_legend")
    _TEXTS = ("contour_percentiles", "band")
    _CHOICES = ("signed_cmap", "magnitude_cmap")

    def __init__(self, layer=None, viewer_state=None, **kwargs):
        super().__init__(layer=layer, viewer_state=viewer_state)
        self.restore_notes = []
        XAIExplanationLayerState.signed_cmap.set_choices(self, list(SIGNED_CMAPS))
        XAIExplanationLayerState.magnitude_cmap.set_choices(self, list(MAGNITUDE_CMAPS))
        self.update_from_dict(kwargs)

    @classmethod
    def __setgluestate__(cls, rec, context):
        checked = (*cls._NUMBERS, *cls._FLAGS, *cls._TEXTS, *cls._CHOICES)
        values = rec["values"]
        state = super().__setgluestate__(
            {**rec, "values": {name: value for name, value in values.items() if name not in checked}}, context)
        saved = {name: context.object(values[name]) for name in checked if name in values}
        state.restore_notes = _restore_values(state, saved, numbers=cls._NUMBERS, flags=cls._FLAGS,
                                              texts=cls._TEXTS)
        return state

    def contour_levels(self):
        """The contour percentiles as numbers in (0, 100); unreadable entries are skipped."""
        levels = []
        for part in str(self.contour_percentiles).replace(";", ",").split(","):
            try:
                value = float(part)
            except ValueError:
                continue
            if 0 < value < 100:
                levels.append(value)
        return sorted(set(levels))
