"""The D4-symmetric radio CNN: the same answer, and turned maps, for a turned cutout."""
import numpy as np
import pytest
import torch

from glue_xai.data.cutouts import read_cutout
from glue_xai.methods.gradients import gradcam, saliency
from glue_xai.models import Classifier, ModelCard
from glue_xai.models.architectures import EmissionCNN, build_architecture
from glue_xai.models.symmetric_cnn import COMPOSE, INVERSE, SymmetricEmissionCNN, turn

CUTOUT = "fits/200_003.845+000.156_0.4401_0024.05.fits"
PREPROCESSING = {"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"}


def orientations(image):
    """The eight orientations of an (..., H, W) numpy array, in SYMMETRIES order."""
    return [turn(torch.from_numpy(np.ascontiguousarray(image)), s).numpy() for s in range(8)]


def classifier(module, name="d4"):
    card = ModelCard(name, ("FRI", "FRII"), (1, 150, 150), 1.8, dict(PREPROCESSING), output="logits")
    return Classifier(module.eval(), card)


@pytest.fixture
def first_source(mirabest_root):
    """A real FIRST cutout, model-ready (sky clipped to 0, peak 1), shape (1, 150, 150)."""
    torch.manual_seed(0)
    model = classifier(SymmetricEmissionCNN())
    x, _ = model.prepare(read_cutout(mirabest_root / CUTOUT).image, pixel_scale_arcsec=1.8)
    return x


def test_the_eight_symmetries_form_a_group():
    probe = torch.rand(5, 5)
    for a in range(8):
        assert torch.equal(turn(turn(probe, a), INVERSE[a]), probe)
        for b in range(8):
            assert torch.equal(turn(turn(probe, b), a), turn(probe, COMPOSE[a][b]))


def test_a_turned_or_mirrored_source_gets_the_same_probabilities(first_source):
    torch.manual_seed(0)
    symmetric = classifier(SymmetricEmissionCNN())
    torch.manual_seed(0)
    plain = classifier(EmissionCNN())
    views = np.stack(orientations(first_source))
    p_symmetric = symmetric.predict_proba(views)
    p_plain = plain.predict_proba(views)
    assert np.abs(p_symmetric - p_symmetric[0]).max() < 1e-5
    # An ordinary CNN with random weights answers differently for the turned source, so
    # the check above can tell the two designs apart.
    assert np.abs(p_plain - p_plain[0]).max() > 1e-3


def test_empty_sky_gives_exactly_zero_features():
    torch.manual_seed(0)
    net = SymmetricEmissionCNN().eval()
    assert torch.count_nonzero(net.features(torch.zeros(2, 1, 150, 150))) == 0


@pytest.mark.parametrize("method", [saliency, gradcam])
def test_maps_of_a_turned_source_are_the_turned_maps(first_source, method):
    torch.manual_seed(0)
    model = classifier(SymmetricEmissionCNN())
    reference = method(model, first_source, target=1)["map"]
    assert np.abs(reference).max() > 0
    for s, view in enumerate(orientations(first_source)):
        turned = method(model, view, target=1)["map"]
        expected = orientations(reference)[s]
        # exact in arithmetic; float32 sums taken in another order differ by ~1e-4 of the peak
        assert np.abs(turned - expected).max() < 1e-3 * np.abs(reference).max()


def test_gradcam_lands_on_an_off_centre_source():
    """The network pads its input; Grad-CAM must cut the same field back out, or the map
    would slide towards the centre (5 of 160 pixels each side)."""
    torch.manual_seed(0)
    net = SymmetricEmissionCNN().eval()
    # A hand-set head that reads every feature positively: the class score is the source's
    # total feature response, so Grad-CAM should peak where the source is.
    with torch.no_grad():
        for m in net.trunk:
            if hasattr(m, "weight"):
                m.weight.abs_()
        net.head.weight.copy_(torch.tensor([[-1.0], [1.0]]).expand_as(net.head.weight))
    x = np.zeros((1, 150, 150), np.float32)
    yy, xx = np.mgrid[:150, :150]
    x[0] = np.exp(-((yy - 20) ** 2 + (xx - 128) ** 2) / (2 * 2.0 ** 2))
    cam = gradcam(classifier(net), x, target=1)["map"]
    peak = np.unravel_index(np.argmax(cam), cam.shape)
    assert abs(peak[0] - 20) <= 2 and abs(peak[1] - 128) <= 2


def test_saved_symmetric_model_reloads_with_the_same_answers(tmp_path, first_source):
    import glue_xai as gx
    from glue_xai.models import save_model

    torch.manual_seed(0)
    model = classifier(build_architecture("emission_cnn_d4"))
    model.card.architecture = "emission_cnn_d4"
    model.card.architecture_options = {"in_channels": 1, "n_classes": 2}
    save_model(model, tmp_path / "d4.pt")
    again = gx.load_model(tmp_path / "d4.pt")
    assert isinstance(again.module, SymmetricEmissionCNN)
    assert np.array_equal(again.predict_proba(first_source[None]), model.predict_proba(first_source[None]))
