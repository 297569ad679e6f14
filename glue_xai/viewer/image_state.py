"""What the XAI image viewer and its explanation layers remember (Qt-free).

Every setting is an echo callback property, so glue saves it with the session and the
Qt widgets stay in step with it. The viewer state holds *what* to explain (model,
method, target class and the method's settings); each explanation layer's state holds
*how it looks* (opacity, colour maps, contours, superpixels, legend). The maps
themselves are never stored: they are recomputed (or taken from the cache) on restore.
"""
from echo import CallbackProperty, SelectionCallbackProperty, delay_callback
from glue.viewers.image.state import ImageSubsetLayerState, ImageViewerState
from glue.viewers.matplotlib.state import DeferredDrawCallbackProperty as DDCProperty
from glue.viewers.matplotlib.state import DeferredDrawSelectionCallbackProperty as DDSCProperty

from glue_xai.explain.api import METHODS, SIGNED_METHODS, method_options
from glue_xai.explain.segmentation import SEGMENTATIONS
from glue_xai.viewer.model_store import model_classes, shipped_model_names

__all__ = ["XAIImageViewerState", "XAIExplanationLayerState", "available_methods", "PREDICTED",
           "SIGNED_CMAPS", "MAGNITUDE_CMAPS"]

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
#: What the gradient methods differentiate; the probability is ``explain``'s default.
GRADIENT_OUTPUTS = ("probability", "logit")
GRADIENT_OUTPUT_METHODS = ("saliency", "smoothgrad", "integrated_gradients")


def available_methods():
    """The explanation methods this installation can run.

    Evolved LIME lives in its own module, written separately; it is offered only when
    that module imports cleanly.
    """
    methods = []
    for method in METHODS:
        if method == "elime":
            try:
                import glue_xai.explain.elime  # noqa: F401
            except Exception:  # a missing or half-written module must not break the viewer
                continue
        methods.append(method)
    return methods


def is_signed(method):
    """Whether a method's maps are signed (diverging colour map) or magnitudes.

    As :data:`glue_xai.explain.SIGNED_METHODS` says: evolved LIME's map is how often a
    superpixel is in the elite, a magnitude, unlike LIME's signed weights.
    """
    return method in SIGNED_METHODS


class XAIImageViewerState(ImageViewerState):
    """The image viewer's state plus what to explain and how to compute it."""

    model_file = CallbackProperty("", docstring="Path of a model file loaded by the user ('' for none)")
    model = SelectionCallbackProperty(docstring="The classifier: a shipped model's name or a model file's path")
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

    #: Settings that change the explanation (anything else only changes the view).
    EXPLANATION_SETTINGS = ("model", "method", "target", "lime_samples", "segmentation", "n_segments",
                            "segment_scale", "smoothgrad_samples", "noise_level", "ig_steps", "seed",
                            "sfnet_feature")

    def __init__(self, **kwargs):
        # Choices first, then the values (which a restored session may hand in).
        super().__init__()
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

    def _update_priority(self, name):
        # A restored session sets the model file before the model, and the model before
        # the target class: each one's choices depend on the one before.
        order = {"model_file": 1.9, "model": 1.8, "target": 1.7}
        if name in order:
            return order[name]
        return super()._update_priority(name)

    def _update_model_choices(self, *args):
        names = shipped_model_names()
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

    def method_settings(self):
        """The options handed to :func:`glue_xai.explain` for the current method.

        Only the options the method takes are passed, so a method added later (evolved
        LIME) receives the settings it shares with LIME and nothing it would refuse.
        """
        candidates = {
            "n_samples": self.smoothgrad_samples if self.method == "smoothgrad" else self.lime_samples,
            "segmentation": self.segmentation,
            "n_segments": int(self.n_segments),
            "scale": float(self.segment_scale) if self.segment_scale else None,
            "noise_level": float(self.noise_level),
            "n_steps": int(self.ig_steps),
            "feature": int(self.sfnet_feature),
        }
        if self.method in GRADIENT_OUTPUT_METHODS:  # Grad-CAM keeps its own default (the logit)
            candidates["output"] = self.gradient_output
        accepted = method_options(self.method)
        return {name: value for name, value in candidates.items() if name in accepted}

    @property
    def explained_class(self):
        """The ``target`` for :func:`glue_xai.explain`: None for the predicted class."""
        return None if self.target in (None, PREDICTED) else self.target


def _model_label(name):
    """Shipped models by name, files by their file name."""
    from pathlib import Path

    return name if name in shipped_model_names() else f"{Path(name).name} (file)"


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
                                               "as a line (glue_xai.explain.measure.salient_extent)")
    show_legend = DDCProperty(True, docstring="Write the class, its probability and the method by the region")

    def __init__(self, layer=None, viewer_state=None, **kwargs):
        super().__init__(layer=layer, viewer_state=viewer_state)
        XAIExplanationLayerState.signed_cmap.set_choices(self, list(SIGNED_CMAPS))
        XAIExplanationLayerState.magnitude_cmap.set_choices(self, list(MAGNITUDE_CMAPS))
        self.update_from_dict(kwargs)

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
