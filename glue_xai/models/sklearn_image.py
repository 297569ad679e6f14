"""scikit-learn classifiers of images: an estimator fitted on flattened model-grid pixels."""
import numpy as np

from glue_xai.models.classifier import Classifier

__all__ = ["from_sklearn_image"]


def from_sklearn_image(estimator, card, batch_size=128):
    """A fitted scikit-learn classifier (anything with ``predict_proba``) as a
    :class:`~glue_xai.models.Classifier`.

    The estimator was fitted on images as the card prepares them (cropped or resampled to
    ``card.input_shape``, then preprocessed), each flattened to one row of
    ``C * h * w`` features in numpy's (C, h, w) order. ``card.classes`` names the
    estimator's ``classes_`` in that order; when ``classes_`` are themselves the names,
    the card may list them in any order. LIME, evolved LIME, occlusion, RISE and Shapley
    values explain it; gradient methods refuse (a scikit-learn model has no gradients).
    """
    from glue_xai.models.loading import _resolve_card

    if card is None:
        raise TypeError("a scikit-learn model needs a card (a ModelCard, dict or card JSON) giving its classes "
                        "and input shape")
    card = _resolve_card(card, None)
    if not hasattr(estimator, "predict_proba"):
        raise TypeError(f"{type(estimator).__name__} has no predict_proba: glue-xai explains class "
                        "probabilities (e.g. SVC(probability=True) or a calibrated classifier)")
    n_features = int(np.prod(card.input_shape))
    fitted = getattr(estimator, "n_features_in_", None)
    if fitted is not None and fitted != n_features:
        raise ValueError(f"{type(estimator).__name__} was fitted on {fitted} features, but the card's input "
                         f"{card.input_shape} flattens to {n_features}")
    columns = _class_columns(estimator, card)

    def probabilities(x):
        return estimator.predict_proba(np.asarray(x).reshape(len(x), -1))[:, columns]

    hint = (f"{type(estimator).__name__} is a scikit-learn model, which has no gradients; "
            "train a torch network for saliency, SmoothGrad, integrated gradients or Grad-CAM")
    return Classifier(probabilities, card, batch_size=batch_size, gradient_hint=hint)


def _class_columns(estimator, card):
    """Column of ``predict_proba`` for each of the card's classes."""
    fitted = getattr(estimator, "classes_", None)
    if fitted is None:
        return list(range(len(card.classes)))
    fitted = [str(c) for c in fitted]
    if len(fitted) != len(card.classes):
        raise ValueError(f"the estimator knows {len(fitted)} classes {fitted}, the card {len(card.classes)} "
                         f"{list(card.classes)}")
    if set(fitted) == set(card.classes):
        return [fitted.index(name) for name in card.classes]
    return list(range(len(fitted)))  # labels such as 0, 1: the card names them in order
