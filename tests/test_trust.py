"""Trust on real sky: a network blind to empty sky, radio superpixels, logit gradients, assess()."""
import numpy as np
import pytest
import torch
from scipy import ndimage

import glue_xai as gx
from glue_xai.data.cutouts import read_cutout
from glue_xai.methods.segmentation import SKY_BLOCKS, segment
from glue_xai.models import Classifier, ModelCard
from glue_xai.models.architectures import EmissionCNN
from glue_xai.models.assess import DETECTION, detection, fit_ood_reference

FIRST_RMS = 1.5e-4


def beam_noise(shape, seed, rms=FIRST_RMS):
    """Gaussian noise correlated over FIRST's 5.4" beam at 1.8"/px, at FIRST's rms."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), 5.4 / 2.3548 / 1.8)
    return rms * noise / noise.std()


def double_source(size=150, seed=0):
    """A core and two lobes (Gaussians, in Jy/beam) on FIRST-like noise."""
    yy, xx = np.mgrid[:size, :size]
    c = size // 2
    blobs = {"core": (c, c, 2.0, 0.01), "left": (c, c - 30, 3.0, 0.02), "right": (c, c + 30, 3.0, 0.02)}
    image = beam_noise((size, size), seed)
    for y, x, sigma, peak in blobs.values():
        image += peak * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * sigma ** 2))
    return image, {k: (v[0], v[1]) for k, v in blobs.items()}


def test_emission_network_is_blind_to_empty_sky():
    torch.manual_seed(0)
    net = EmissionCNN().eval()
    assert torch.count_nonzero(net.features(torch.zeros(2, 1, 150, 150))) == 0
    x = torch.zeros(1, 1, 150, 150)
    x[0, 0, 60:66, 40:46] = 1.0
    x.requires_grad_(True)
    net(x)[0, 1].backward()
    grad = x.grad[0, 0].abs().numpy()
    # A first-layer unit is active only when its 3x3 patch touches emission, and its
    # gradient reaches its own 3x3 patch: two pixels from the emission at most.
    near = ndimage.binary_dilation(x.detach()[0, 0].numpy() > 0, np.ones((3, 3), bool), iterations=2)
    assert grad[near].sum() > 0
    assert grad[~near].max() == 0.0


def test_radio_superpixels_part_core_and_lobes():
    image, centres = double_source()
    model = gx.load_model("mirabest-fr")
    x, _ = model.prepare(image, pixel_scale_arcsec=1.8)
    labels = segment(x, "radio")
    ids = {name: labels[c] for name, c in centres.items()}
    assert len(set(ids.values())) == 3  # core, left lobe and right lobe are separate features
    assert min(ids.values()) >= SKY_BLOCKS ** 2  # ... and none of them is a sky block
    emission_sizes = np.bincount(labels.ravel())[SKY_BLOCKS ** 2:]
    assert 3 <= emission_sizes.size <= 64 - SKY_BLOCKS ** 2
    # Empty sky is a few large blocks; an image without emission is the sky grid alone.
    assert segment(np.zeros((1, 150, 150)), "radio").max() + 1 == SKY_BLOCKS ** 2


def test_lime_with_radio_superpixels_finds_the_deciding_lobe():
    """A hand-made model that looks only at the left lobe: LIME ranks that lobe first."""
    image, centres = double_source()
    (y, x) = centres["left"]

    class LeftLobe(torch.nn.Module):
        def forward(self, inputs):
            evidence = 0.1 * inputs[:, :, y - 4:y + 5, x - 4:x + 5].sum(dim=(1, 2, 3)) - 2.0
            return torch.stack([-evidence, evidence], 1)

    card = ModelCard("left-lobe", ("off", "on"), (1, 150, 150), 1.8,
                     {"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"})
    e = gx.explain(Classifier(LeftLobe(), card), image, method="lime", target="on", seed=0, n_samples=300)
    evidence = np.zeros(e.model_segments.shape, bool)
    evidence[y - 4:y + 5, x - 4:x + 5] = True
    for best in np.argsort(e.weights)[::-1][:3]:  # the three strongest superpixels all overlap the evidence
        assert evidence[e.model_segments == best].any()
    # ... and the core's and the right lobe's superpixels carry next to nothing.
    for name in ("core", "right"):
        assert abs(e.weights[e.model_segments[centres[name]]]) < 0.05 * e.weights.max()


def test_gradients_of_a_confident_model_are_not_dust(reference_model, mirabest_root):
    path = sorted((mirabest_root / "fits").glob("200_*.fits"))[0]
    cutout = read_cutout(path)
    e = gx.explain(reference_model, cutout.image, method="smoothgrad", wcs=cutout.wcs)
    assert e.params["output"] == "logit"
    # The logit's gradient is of order one per unit input; the probability's underflowed to 1e-18.
    assert e.model_map.max() > 1e-3


def test_assess_real_source_and_empty_sky(reference_model, mirabest_root):
    path = sorted((mirabest_root / "fits").glob("200_*.fits"))[0]
    cutout = read_cutout(path)
    real = gx.assess(reference_model, cutout.image, wcs=cutout.wcs)
    assert real.has_source and real.in_distribution and real.trusted
    assert real.peak_snr > DETECTION["peak_snr"]
    for seed in range(5):
        empty = gx.assess(reference_model, beam_noise((300, 300), seed), pixel_scale_arcsec=1.8)
        assert not empty.has_source
        assert empty.verdict == "no source" and "no source" in empty.reason
    columns = real.columns()
    assert columns["xai_has_source"] is True and np.isfinite(columns["xai_ood_score"])


def test_detection_counts_signal_to_noise_per_beam():
    image = beam_noise((150, 150), 1)
    peak, island = detection(image, 1.8)
    assert peak < 6 and island < 6
    image[70:80, 70:80] += 20 * FIRST_RMS  # a 20-sigma square of 100 pixels, about ten beams
    peak, island = detection(image, 1.8)
    assert 17 < peak < 24
    # 100 pixels of ~20 sigma over sqrt(100 * 10.2 pixels per beam) sigma: about 63.
    assert 50 < island < 75


def test_ood_reference_flags_features_far_from_training():
    """A hand-made network whose features are the image's mean in two halves."""

    class Halves(torch.nn.Module):
        def features(self, x):
            return torch.stack([x[:, 0, :, :8].mean((1, 2)), x[:, 0, :, 8:].mean((1, 2))], 1)

        def forward(self, x):
            return self.features(x)

    card = ModelCard("halves", ("a", "b"), (1, 16, 16))
    model = Classifier(Halves(), card)
    rng = np.random.default_rng(0)
    inputs = rng.normal(0, 1, (400, 1, 16, 16)).astype(np.float32)
    labels = np.repeat([0, 1], 200)
    inputs[labels == 1] += 2.0
    reference = fit_ood_reference(model, inputs, labels, quantile=0.99)
    distances = reference.distances(np.array([[0.0, 0.0], [2.0, 2.0], [10.0, -10.0]]))
    assert distances[0] < reference.threshold and distances[1] < reference.threshold
    assert distances[2] > 10 * reference.threshold
