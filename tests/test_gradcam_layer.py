"""Grad-CAM's layer choice: a layer that cannot carry a Grad-CAM map is named in the error."""
import numpy as np
import pytest
from torch import nn

import glue_xai as gx
from glue_xai.models import Classifier, ModelCard

from helpers import PatchModel, scene_with_decoys


class WithInputStage(PatchModel):
    """PatchModel behind a weightless input stage (its output does not depend on any weight)."""

    def __init__(self):
        super().__init__()
        self.stage = nn.Identity()

    def forward(self, x):
        return super().forward(self.stage(x))


def model():
    card = ModelCard(name="stage-test", classes=("empty", "source"), input_shape=(1, 64, 64),
                     preprocessing={"background": "none", "scale": "none"})
    return Classifier(WithInputStage(), card)


def test_a_layer_before_any_weight_is_refused_by_name():
    with pytest.raises(ValueError, match="Grad-CAM cannot use layer 'stage': it needs a layer after the first weights"):
        gx.explain(model(), scene_with_decoys(), method="gradcam", layer="stage")


def test_the_convolution_still_finds_the_patch():
    e = gx.explain(model(), scene_with_decoys(), method="gradcam", layer="conv", target="source")
    peak = np.unravel_index(np.argmax(e.model_map), e.model_map.shape)
    assert 10 <= peak[0] < 22 and 40 <= peak[1] < 52
