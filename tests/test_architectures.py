"""Architecture choices that matter for explanations."""
import torch

from glue_xai.models.architectures import build_architecture


def test_architectures_are_built_by_name_and_unknown_names_refused():
    model = build_architecture("radio_cnn", double_last=2)
    assert model(torch.zeros(3, 1, 150, 150)).shape == (3, 2)
    assert model.features(torch.zeros(3, 1, 150, 150)).shape == (3, 64)
    import pytest

    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_architecture("resnet")
