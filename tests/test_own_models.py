"""Models astronomers bring: their own torch networks, ONNX files, scikit-learn estimators,
and models registered by name (in Python or by an installed package), end to end."""
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import glue_xai as gx
from glue_xai.models import Classifier, ModelCard
from glue_xai.models import architectures
from glue_xai.models.registry import registered_models, unregister_model

SIZE = 32
#: Where the synthetic sources' class is decided: one cell of a 4 x 4 grid of 8 x 8 cells.
PATCH = (slice(8, 16), slice(16, 24))
FAST = {"lime": {"n_samples": 64, "n_segments": 16}, "elime": {"generations": 3, "population": 8, "n_segments": 16},
        "smoothgrad": {"n_samples": 4}, "integrated_gradients": {"n_steps": 4}, "rise": {"n_masks": 64, "grid": 4},
        "shapley": {"budget": 64, "n_segments": 16}, "occlusion": {"patch": 8, "stride": 4}}
MODEL_AGNOSTIC = ("lime", "elime", "occlusion", "rise", "shapley")
GRADIENT_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "gradcam")


class OwnNet(nn.Module):
    """An astronomer's own small network, unknown to glue-xai."""

    def __init__(self, width=4, n_classes=2):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.pool = nn.AvgPool2d(4)
        self.head = nn.Linear(width * (SIZE // 4) ** 2, n_classes)

    def forward(self, x):
        return self.head(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


def own_card(name="own-net", architecture=None, output="logits"):
    return ModelCard(name=name, classes=("FRI", "FRII"), input_shape=(1, SIZE, SIZE), architecture=architecture,
                     preprocessing={"background": "none", "scale": "max"}, output=output)


def own_network(seed=0):
    torch.manual_seed(seed)
    return OwnNet().eval()


def source(seed=0, in_patch=True):
    """Noise, a bright decoy somewhere, and (``in_patch``) a source inside the deciding patch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    image = 0.05 * rng.standard_normal((SIZE, SIZE))
    if in_patch:
        image += np.exp(-((yy - 11.5) ** 2 + (xx - 19.5) ** 2) / (2 * 2.0 ** 2))
    cy, cx = rng.choice([3.5, 27.5]), rng.uniform(3, 29)  # never in the patch's rows
    image += rng.uniform(0.5, 2.0) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 2.0 ** 2))
    return image


def grid_segments(cell=8):
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    return (yy // cell) * (SIZE // cell) + xx // cell


def explain_with_every(model, methods, image):
    maps = {}
    for method in methods:
        e = gx.explain(model, image, method=method, target="FRII", seed=1, **FAST.get(method, {}))
        assert e.map.shape == image.shape and np.isfinite(e.map).all(), method
        assert e.model_name == model.name and e.target_name == "FRII"
        maps[method] = e.map
    return maps


@pytest.fixture
def clean_registry(monkeypatch):
    """Registrations and architectures made by a test end with it."""
    monkeypatch.setattr(architectures, "ARCHITECTURES", dict(architectures.ARCHITECTURES))
    before = set(registered_models())
    yield
    for name in set(registered_models()) - before:
        unregister_model(name)


# --- (a) a torch network of one's own, saved and loaded safely ----------------------------------
def test_own_torch_network_round_trips_through_a_weights_file_and_every_method(tmp_path, clean_registry):
    architectures.register_architecture("own-net", OwnNet)
    model = Classifier(own_network(), own_card(architecture="own-net"))
    path = tmp_path / "own.pt"
    gx.models.save_model(model, path)
    loaded = gx.load_model(path)  # torch.load(weights_only=True): nothing in the file runs
    image = source(3)
    np.testing.assert_array_equal(loaded.predict_proba(image), model.predict_proba(image))
    assert loaded.card == model.card and loaded.is_differentiable
    maps = explain_with_every(loaded, MODEL_AGNOSTIC + GRADIENT_METHODS, image)
    np.testing.assert_array_equal(maps["saliency"], gx.explain(model, image, method="saliency", target=1).map)


def test_a_card_naming_an_unknown_architecture_lists_the_known_ones(tmp_path):
    model = Classifier(own_network(), own_card(architecture="not-installed-net"))
    gx.models.save_model(model, tmp_path / "own.pt")
    with pytest.raises(ValueError, match=r"unknown architecture 'not-installed-net'; known: \[.*'radio_cnn'.*"
                                         r"glue_xai.architectures"):
        gx.load_model(tmp_path / "own.pt")


# --- an installed package declaring architectures and models by entry point --------------------
PACKAGE = '''
    import numpy as np
    from torch import nn

    from glue_xai.models import Classifier, ModelCard


    class PackagedNet(nn.Module):
        def __init__(self, n_classes=2):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.head = nn.Linear(2, n_classes)

        def forward(self, x):
            return self.head(self.conv(x).mean(dim=(2, 3)))


    CARD = ModelCard(name="packaged-constant", classes=("FRI", "FRII"), input_shape=(1, 32, 32))
    CALLS = []


    def constant_model():
        CALLS.append(1)
        return Classifier(lambda x: np.tile([0.25, 0.75], (len(x), 1)), CARD)
'''


@pytest.fixture
def installed_package(tmp_path, monkeypatch, clean_registry):
    """A package on sys.path with entry points in both of glue-xai's groups, as pip installs one."""
    (tmp_path / "own_xai_package.py").write_text(textwrap.dedent(PACKAGE))
    info = tmp_path / "own_xai_package-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: own-xai-package\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[glue_xai.architectures]\npackaged-net = own_xai_package:PackagedNet\n\n"
                                           "[glue_xai.models]\npackaged-constant = own_xai_package:constant_model\n"
                                           "mirabest-fr = own_xai_package:constant_model\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registered_models(refresh=True)
    yield tmp_path
    monkeypatch.undo()
    sys.modules.pop("own_xai_package", None)
    registered_models(refresh=True)


def test_an_installed_packages_architecture_loads_its_weights_file(installed_package, tmp_path):
    from own_xai_package import PackagedNet

    card = own_card(architecture="packaged-net")
    model = Classifier(PackagedNet(), card)
    gx.models.save_model(model, tmp_path / "packaged.pt")
    loaded = gx.load_model(tmp_path / "packaged.pt")
    assert type(loaded.module).__name__ == "PackagedNet"
    np.testing.assert_array_equal(loaded.predict_proba(source()), model.predict_proba(source()))


def test_an_installed_packages_model_is_listed_without_building_it_and_loads_by_name(installed_package):
    import own_xai_package

    from glue_xai.viewer.model_store import model_names

    assert "packaged-constant" in registered_models() and "packaged-constant" in model_names()
    assert own_xai_package.CALLS == []  # listing reads the metadata only
    model = gx.load_model("packaged-constant")
    assert own_xai_package.CALLS == [1]
    assert model.predict_proba(source())[0].tolist() == [0.25, 0.75]
    # A package cannot take a shipped model's name.
    assert model_names().count("mirabest-fr") == 1 and gx.load_model("mirabest-fr").module is not None


# --- (b) ONNX ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small torch network and the ONNX file exported from it (opset 17, which onnx2torch knows)."""
    network = own_network(seed=5)
    path = tmp_path_factory.mktemp("onnx") / "own.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on its older (TorchScript) exporter
        torch.onnx.export(network, (torch.zeros(2, 1, SIZE, SIZE),), str(path), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}})
    return network, path


def test_onnx_model_gives_the_torch_networks_probabilities_and_model_agnostic_maps(exported):
    network, path = exported
    onnx_model = gx.models.from_onnx(path, own_card("own-onnx"), gradients=False)
    torch_model = Classifier(network, own_card("own-torch"))
    images = np.stack([source(seed) for seed in range(5)])
    np.testing.assert_allclose(onnx_model.predict_proba(images), torch_model.predict_proba(images), rtol=0, atol=1e-5)
    onnx_maps = explain_with_every(onnx_model, MODEL_AGNOSTIC, images[0])
    for method in ("lime", "occlusion"):
        reference = gx.explain(torch_model, images[0], method=method, target="FRII", seed=1, **FAST[method]).map
        np.testing.assert_allclose(onnx_maps[method], reference, atol=1e-4 * np.abs(reference).max())


def test_onnx_gradient_methods_refuse_clearly_without_a_torch_copy(exported, monkeypatch):
    import glue_xai.models.onnx as onnx_models

    def not_installed():
        raise ImportError("No module named 'onnx2torch'")

    monkeypatch.setattr(onnx_models, "_import_onnx2torch", not_installed)
    model = gx.models.from_onnx(exported[1], own_card("own-onnx"))
    assert not model.is_differentiable
    for method in GRADIENT_METHODS:
        with pytest.raises(ValueError, match="gradient methods need a differentiable model: install onnx2torch"):
            gx.explain(model, source(), method=method)
    with pytest.raises(TypeError, match="not a torch module"):  # still the TypeError it always was
        gx.explain(model, source(), method="saliency")


def test_onnx_saliency_runs_through_onnx2torch(exported):
    from glue_xai.models.onnx import _import_onnx2torch

    try:  # optional: its declared torchvision requirement keeps it out of the test extra
        _import_onnx2torch()
    except ImportError as error:
        pytest.skip(f"onnx2torch is not installed ({error})")
    network, path = exported
    model = gx.models.from_onnx(path, own_card("own-onnx"))
    assert model.is_differentiable
    image = source(2)
    ours = explain_with_every(model, GRADIENT_METHODS, image)
    reference = gx.explain(Classifier(network, own_card()), image, method="saliency", target="FRII").map
    np.testing.assert_allclose(ours["saliency"], reference, rtol=0, atol=1e-5 * np.abs(reference).max())
    assert "torchvision" not in sys.modules or sys.modules["torchvision"].__spec__ is not None


def test_onnx_file_that_does_not_match_its_card_is_refused(exported, tmp_path):
    with pytest.raises(ValueError, match=r"takes inputs of shape .*card says"):
        gx.models.from_onnx(exported[1], ModelCard(name="x", classes=("a", "b"), input_shape=(1, 64, 64)))
    (tmp_path / "broken.onnx").write_bytes(b"not onnx")
    with pytest.raises(ValueError, match="cannot be read as an ONNX model"):
        gx.models.from_onnx(tmp_path / "broken.onnx", own_card())


# --- (c) scikit-learn --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted_logistic():
    """A logistic regression told FR II from FR I by a source in PATCH, with decoys elsewhere."""
    from sklearn.linear_model import LogisticRegression

    labels = np.array(["FRI", "FRII"] * 60)
    images = np.stack([source(seed, in_patch=label == "FRII") for seed, label in enumerate(labels)])
    images = images / images.max(axis=(1, 2), keepdims=True)  # as the card's "max" scaling prepares them
    return LogisticRegression(C=1.0, max_iter=500).fit(images.reshape(len(images), -1), labels)


def test_sklearn_model_finds_the_deciding_patch_and_refuses_gradients(fitted_logistic):
    model = gx.models.from_sklearn_image(fitted_logistic, own_card("own-logistic"))
    image = source(1000)
    assert model.predict(image) == ["FRII"] and model.predict(source(1001, in_patch=False)) == ["FRI"]
    segments = grid_segments()
    e = gx.explain(model, image, method="shapley", target="FRII", budget=200, segments=segments, seed=0)
    patch_cell = segments[PATCH][0, 0]
    assert int(np.argmax(e.weights)) == patch_cell
    explain_with_every(model, ("lime", "occlusion"), image)
    with pytest.raises(ValueError, match="gradient methods need a differentiable model: LogisticRegression is a "
                                         "scikit-learn model, which has no gradients"):
        gx.explain(model, image, method="gradcam")


def test_sklearn_columns_follow_the_cards_class_order(fitted_logistic):
    card = ModelCard(name="reversed", classes=("FRII", "FRI"), input_shape=(1, SIZE, SIZE),
                     preprocessing={"background": "none", "scale": "max"})
    forward = gx.models.from_sklearn_image(fitted_logistic, own_card("own-logistic"))
    backward = gx.models.from_sklearn_image(fitted_logistic, card)
    np.testing.assert_array_equal(backward.predict_proba(source()), forward.predict_proba(source())[:, ::-1])
    with pytest.raises(ValueError, match="fitted on 1024 features"):
        gx.models.from_sklearn_image(fitted_logistic, ModelCard(name="x", classes=("FRI", "FRII"),
                                                                input_shape=(1, 16, 16)))


# --- (d) register_model: by name in Python and in the viewer -----------------------------------
def test_registered_model_loads_by_name_and_is_offered_by_the_viewer(clean_registry):
    from glue_xai.viewer.image_state import XAIImageViewerState, _model_label
    from glue_xai.viewer.model_store import ModelStore, model_classes, model_names

    model = Classifier(own_network(), own_card("my-net"))
    gx.register_model("my-net", model)
    built = []
    gx.register_model("my-lazy-net", lambda: built.append(1) or Classifier(own_network(1), own_card("my-lazy-net")))
    assert built == []  # registering builds nothing
    assert gx.load_model("my-net") is model
    assert gx.load_model("my-lazy-net").name == "my-lazy-net" and built == [1]
    names = model_names()
    assert names[:len(gx.models.shipped_models())] == gx.models.shipped_models()
    assert {"my-net", "my-lazy-net"} <= set(names)
    assert ModelStore().get("my-net") is model and model_classes("my-net") == ("FRI", "FRII")
    # The viewer names it, and a session that names it comes back with it.
    state = XAIImageViewerState()
    assert "my-net" in XAIImageViewerState.model.get_choices(state) and _model_label("my-net") == "my-net"
    assert state.restore_settings({"model": "my-net", "target": "FRII", "method": "occlusion"}) == []
    assert (state.model, state.target) == ("my-net", "FRII")


def test_unknown_and_bad_registrations_say_what_is_wrong(clean_registry):
    gx.register_model("my-net", Classifier(own_network(), own_card("my-net")))
    with pytest.raises(FileNotFoundError, match=r"no shipped model or file called 'my-nett' \(shipped models: "
                                                r"mirabest-fr.*registered models: my-net"):
        gx.load_model("my-nett")
    with pytest.raises(ValueError, match="'mirabest-fr' is a shipped model's name"):
        gx.register_model("mirabest-fr", Classifier(own_network(), own_card()))
    with pytest.raises(TypeError, match=r"not a bare torch module: register_model\('x', Classifier\(module, card\)\)"):
        gx.register_model("x", own_network())
    gx.register_model("returns-a-network", own_network)
    with pytest.raises(TypeError, match="'returns-a-network' gave a OwnNet, not a glue_xai Classifier"):
        gx.load_model("returns-a-network")
    from glue_xai.viewer.image_state import XAIImageViewerState

    state = XAIImageViewerState()
    notes = state.restore_settings({"model": "gone-net"})
    assert notes and "model 'gone-net' is not known here" in notes[0]


def test_load_model_and_the_viewer_read_an_onnx_file_with_its_card_beside_it(exported):
    from glue_xai.viewer.model_store import ModelStore

    network, path = exported
    own_card("own-onnx").save(path.with_suffix(".json"))
    model = gx.load_model(str(path))
    torch_model = Classifier(network, own_card("own-torch"))
    image = source(3)
    np.testing.assert_allclose(model.predict_proba(image), torch_model.predict_proba(image), rtol=0, atol=1e-5)
    # The viewer's model store loads what its file chooser picked the same way.
    assert ModelStore().get(str(path)).classes == model.classes
