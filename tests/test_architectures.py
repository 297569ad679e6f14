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


def _nyquist_share(model):
    """Share of the input gradient's power on the Nyquist row and column: the checkerboard."""
    import numpy as np

    torch.manual_seed(0)
    x = torch.rand(1, 1, 150, 150, requires_grad=True)
    model.eval()(x)[0, 1].backward()
    power = np.abs(np.fft.fft2(x.grad[0, 0].numpy())) ** 2
    return (power[75, :].sum() + power[:, 75].sum()) / power.sum()


def test_smooth_variant_has_no_checkerboard_in_its_gradients():
    from glue_xai.models.architectures import RadioCNN

    torch.manual_seed(1)
    strided = RadioCNN(double_last=2)
    torch.manual_seed(1)
    smooth = RadioCNN(double_last=2, smooth=True)
    assert _nyquist_share(strided) > 1e-3
    assert _nyquist_share(smooth) < 1e-12
    assert smooth(torch.zeros(2, 1, 150, 150)).shape == (2, 2)


def test_shipped_smooth_model_has_no_checkerboard_on_a_real_cutout(mirabest_root):
    import numpy as np

    import glue_xai as gx
    from glue_xai.data.cutouts import read_cutout

    image = read_cutout(mirabest_root / "fits/200_003.845+000.156_0.4401_0024.05.fits").image

    def share(name):
        relevance = gx.explain(gx.load_model(name), image, method="saliency").model_map
        power = np.abs(np.fft.fft2(relevance)) ** 2
        return (power[75, :].sum() + power[:, 75].sum()) / power.sum()

    assert share("mirabest-fr-0.1") > 0.01  # stride 2 and max pooling: a checkerboard
    assert share("mirabest-fr-smooth") < 1e-12
    # Full-resolution first layer and average pooling: a twentieth of the 0.1 model's checkerboard.
    assert share("mirabest-fr") < 0.05 * share("mirabest-fr-0.1")
