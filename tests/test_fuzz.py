"""The public calls over bad inputs: each raises a ValueError, TypeError or OSError whose
message names the argument or the file, or returns a result. Never another exception, and
never a traceback from the command line."""
import json
import re
import zipfile

import numpy as np
import pytest

import glue_xai as gx
from glue_xai.cli import main
from glue_xai.data.catalogue import read_catalogue, read_catalogue_cutouts
from glue_xai.data.cutouts import read_cutout
from glue_xai.data.demo import demo_folder
from glue_xai.methods.explanation import Explanation

from helpers import patch_classifier, scene_with_decoys

CLEAR = (ValueError, TypeError, OSError)
SCENE = scene_with_decoys()


@pytest.fixture(scope="module")
def model():
    return patch_classifier()


def outcome(call):
    """('result', value) or ('error', exception) for a clear error; anything else fails the test."""
    try:
        return "result", call()
    except CLEAR as error:
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return "error", error


# (case, keyword arguments of explain or an image, what the message must name; None: a result is fine)
EXPLAIN_CASES = [
    ("image None", dict(image=None), r"image must be real numeric"),
    ("image a number", dict(image=3.0), r"an image must be \(H, W\) or \(C, H, W\), got shape \(\)"),
    ("image empty 1-D", dict(image=np.zeros(0)), r"image has shape \(0,\), a 1-D array"),
    ("image 0 x 0", dict(image=np.zeros((0, 0))), r"the image has no finite pixels"),
    ("image of text", dict(image=np.full((64, 64), "a")), r"image must be real numeric pixels, got dtype <U1"),
    ("image of objects", dict(image=np.full((64, 64), None)), r"image must be real numeric pixels, got dtype object"),
    ("image complex", dict(image=SCENE.astype(complex)), r"image must be real numeric pixels, got dtype complex"),
    ("image booleans", dict(image=SCENE > 0.5), r"image must be real numeric pixels, got dtype bool"),
    ("image ragged list", dict(image=[[1.0, 2.0], [3.0]]), r"image must be an array of pixels with one shape"),
    ("image 5-D", dict(image=np.zeros((1, 1, 1, 64, 64))), r"an image must be \(H, W\) or \(C, H, W\)"),
    ("image all -inf", dict(image=np.full((64, 64), -np.inf)), r"the image has no finite pixels"),
    ("image constant", dict(image=np.full((64, 64), 2.0)), r"constant"),
    ("image too small", dict(image=SCENE[:20, :20]), r"20x20 pixels .* field of view .*fit='pad'"),
    ("image integers", dict(image=(SCENE * 100).astype(np.int16)), None),
    ("image float16", dict(image=SCENE.astype(np.float16)), None),
    ("image some inf", dict(image=np.where(SCENE > 2, np.inf, SCENE)), None),
    ("image some NaN", dict(image=np.where(SCENE > 2, np.nan, SCENE)), None),
    ("image as a list", dict(image=SCENE.tolist()), None),
    ("model None", dict(model=None), r"model must be a glue_xai Classifier .* got NoneType"),
    ("model a name", dict(model="mirabest-fr"), r"model must be a glue_xai Classifier .*load_model.* got str"),
    ("method None", dict(method=None), r"unknown method None; choose one of"),
    ("method upper case", dict(method="LIME"), r"unknown method 'LIME'"),
    ("method a number", dict(method=3), r"unknown method 3"),
    ("target out of range", dict(target=5), r"class index 5 is out of range for classes \('empty', 'source'\)"),
    ("target negative", dict(target=-1), r"class index -1 is out of range"),
    ("target a float", dict(target=1.5), r"target must be a class name or index, got float"),
    ("target unknown", dict(target="FRIII"), r"unknown class 'FRIII'"),
    ("seed text", dict(seed="0"), r"seed must be an integer, got '0'"),
    ("seed None", dict(seed=None), r"seed must be an integer, got None"),
    ("seed negative", dict(seed=-1), r"seed must be an integer from 0 to 2\*\*32 - 1, got -1"),
    ("seed too large", dict(seed=2 ** 40), r"seed must be an integer from 0 to 2\*\*32 - 1"),
    ("pixel scale negative", dict(pixel_scale_arcsec=-1.8), r"pixel_scale_arcsec must be a positive number"),
    ("pixel scale NaN", dict(pixel_scale_arcsec=np.nan), r"pixel_scale_arcsec must be a positive number, got nan"),
    ("pixel scale text", dict(pixel_scale_arcsec="1.8"), r"pixel_scale_arcsec must be a number, got '1.8'"),
    ("wcs text", dict(wcs="RA---TAN"), r"wcs must be an astropy WCS .* got str"),
    ("fit unknown", dict(fit="stretch"), r"fit must be one of .* got 'stretch'"),
    ("option unknown", dict(n_samples=10), r"method 'saliency' has no option\(s\) \['n_samples'\]"),
    ("lime samples 0", dict(method="lime", n_samples=0), r"n_samples must be at least 2, got 0"),
    ("lime superpixels 0", dict(method="lime", n_segments=0, n_samples=10), r"n_segments must be at least 2"),
    ("smoothgrad noise < 0", dict(method="smoothgrad", noise_level=-1, n_samples=2), r"noise_level must be non-negative"),
    ("integrated gradients 0 steps", dict(method="integrated_gradients", n_steps=0), r"n_steps must be at least 1"),
]


@pytest.mark.parametrize("case, arguments, names", EXPLAIN_CASES, ids=[c[0] for c in EXPLAIN_CASES])
def test_explain(model, case, arguments, names):
    arguments = {"model": model, "image": SCENE, "method": "saliency", **arguments}
    kind, value = outcome(lambda: gx.explain(**arguments))
    if names is None:
        assert kind == "result", value
        assert isinstance(value, Explanation) and value.map.shape == np.shape(arguments["image"])
        assert np.isfinite(value.map).all()
    else:
        assert kind == "error", f"{case}: returned {value!r}"
        assert re.search(names, str(value)), f"{case}: {value}"


PREDICT_CASES = [
    ("None", None, r"images must be \(H, W\), \(N, H, W\) or \(N, C, H, W\), got shape \(\)"),
    ("text", "cutout.fits", r"images must be .* got shape \(\)"),
    ("5-D", np.zeros((1, 1, 1, 64, 64)), r"images must be .* got shape \(1, 1, 1, 64, 64\)"),
    ("objects", np.full((64, 64), None), r"image must be real numeric pixels"),
    ("complex", SCENE.astype(complex), r"image must be real numeric pixels, got dtype complex"),
    ("all NaN", np.full((2, 64, 64), np.nan), r"image 0: the image has no finite pixels"),
    ("second of three all inf", np.stack([SCENE, np.full((64, 64), np.inf), SCENE]), r"image 1: .*no finite"),
    ("too small", np.zeros((10, 10)), r"image 0: the image is 10x10 pixels"),
    ("no images", np.zeros((0, 64, 64)), None),
    ("a list", SCENE.tolist(), None),
    ("NaN borders", np.pad(SCENE, 8, constant_values=np.nan), None),
]


@pytest.mark.parametrize("case, images, names", PREDICT_CASES, ids=[c[0] for c in PREDICT_CASES])
def test_predict_proba(model, case, images, names):
    kind, value = outcome(lambda: model.predict_proba(images))
    if names is None:
        assert kind == "result", value
        assert value.shape[1] == 2 and np.allclose(value.sum(axis=1), 1.0)
        assert value.shape[0] == (0 if np.shape(images)[0] == 0 else 1)
    else:
        assert kind == "error", f"{case}: returned {value!r}"
        assert re.search(names, str(value)), f"{case}: {value}"


def bad_model_files(folder, reference_model):
    """Files a user might hand to load_model by mistake, each with what the message must say."""
    import torch

    from glue_xai.models import save_model

    rng = np.random.default_rng(0)
    good = folder / "good.pt"
    save_model(reference_model, good)
    whole = good.read_bytes()
    files = {
        "empty.pt": (b"", r"is empty \(0 bytes\)"),
        "random.pt": (rng.bytes(4096), r"is not a PyTorch model file \(it starts with"),
        "notes.pt": (b"see the wiki for the weights\n", r"is not a PyTorch model file"),
        "card.pt": (json.dumps(reference_model.card.to_dict()).encode(), r"is not a PyTorch model file"),
        "half.pt": (whole[: len(whole) // 2], r"not a readable PyTorch model file \(a damaged or truncated zip"),
        # A byte flipped in the zip's central directory (a flipped byte among the weights'
        # own data would only change a weight, which no reader can tell).
        "flipped.pt": (whole[:-30] + bytes([whole[-30] ^ 0xFF]) + whole[-29:], r"damaged or truncated"),
        "pickle_junk.pt": (b"\x80\x02" + rng.bytes(64), r"damaged or truncated, or torch.save did not write it"),
    }
    for name, (content, _) in files.items():
        (folder / name).write_bytes(content)
    with zipfile.ZipFile(folder / "other.zip.pt", "w") as archive:
        archive.writestr("readme.txt", "not a model")
    files["other.zip.pt"] = (None, r"torch.save did not write it")
    torch.save([1, 2, 3], folder / "a_list.pt")
    files["a_list.pt"] = (None, r"holds a list, not a model")
    torch.save({"card": {"name": "x"}, "state_dict": {}}, folder / "half_card.pt")
    files["half_card.pt"] = (None, r"the model card inside is not usable: .*'classes' and 'input_shape'")
    torch.save(torch.nn.Linear(3, 2), folder / "pickled.pt")
    files["pickled.pt"] = (None, r"holds pickled Python objects, which can run code")
    return {folder / name: names for name, (_, names) in files.items()}


def test_load_model_over_bad_files_and_arguments(tmp_path, reference_model):
    for path, names in bad_model_files(tmp_path, reference_model).items():
        kind, value = outcome(lambda: gx.load_model(path))
        assert kind == "error", f"{path.name}: loaded {value!r}"
        assert path.name in str(value) and re.search(names, str(value)), f"{path.name}: {value}"
    for argument, names in [("", r"no model given"), ("   ", r"no model given"), (None, r"got NoneType"),
                            (3, r"got int"), (["mirabest-fr"], r"got list"), (tmp_path, r"is a folder"),
                            ("mirabest-FR", r"no shipped model or file called 'mirabest-FR' \(shipped models: "),
                            (tmp_path / "missing.pt", r"missing\.pt")]:
        kind, value = outcome(lambda: gx.load_model(argument))
        assert kind == "error" and re.search(names, str(value)), f"{argument!r}: {value}"
    assert gx.load_model(tmp_path / "good.pt").classes == ("FRI", "FRII")


def bad_catalogues(folder):
    rng = np.random.default_rng(1)
    from astropy.table import Table

    Table({"ra": [1.0, 2.0], "dec": [3.0, 4.0]}).write(folder / "two_rows.fits")
    files = {
        "garbage.fits": rng.bytes(3000), "text.fits": b"hello", "garbage.csv": rng.bytes(3000),
        "ragged.csv": b"a,b\n1,2,3\n4\n", "broken.vot": b"<VOTABLE><RESOURCE>", "notes.txt": b"a,b\n1,2\n",
        "truncated.fits": (folder / "two_rows.fits").read_bytes()[:3000],
    }
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return [folder / name for name in files]


@pytest.mark.filterwarnings("ignore:Error validating header:astropy.io.fits.verify.VerifyWarning")
def test_catalogue_readers_over_bad_files(tmp_path):
    for path in bad_catalogues(tmp_path):
        for reader in (read_catalogue, read_catalogue_cutouts):
            kind, value = outcome(lambda: reader(path))
            assert kind == "error", f"{reader.__name__}({path.name}) returned {value!r}"
            assert str(path) in str(value), f"{reader.__name__}({path.name}): {value}"
    for argument, names in [(None, r"path must be a catalogue file's path, got NoneType"),
                            (3, r"got int"), (tmp_path, r"a folder, not a catalogue file"),
                            (tmp_path / "missing.csv", r"missing\.csv: no such catalogue file")]:
        kind, value = outcome(lambda: read_catalogue(argument))
        assert kind == "error" and re.search(names, str(value)), f"{argument!r}: {value}"
    # An empty CSV or one with only a header is a table with no rows, not an error.
    (tmp_path / "header.csv").write_text("ra,dec\n")
    assert len(read_catalogue(tmp_path / "header.csv")) == 0
    for path in [tmp_path / "garbage.fits", tmp_path / "two_rows.fits", tmp_path / "truncated.fits"]:
        kind, value = outcome(lambda: read_cutout(path))
        assert kind == "error" and str(path) in str(value), f"read_cutout({path.name}): {value}"
    kind, value = outcome(lambda: read_cutout(None))
    assert kind == "error" and "path must be a FITS file's path, got NoneType" in str(value)


def test_the_batch_command_over_bad_input_is_one_line(tmp_path, capsys):
    garbage = bad_catalogues(tmp_path)[0]
    runs = [
        (["--catalogue", str(garbage), "--cutouts", str(demo_folder())], str(garbage)),
        (["--catalogue", str(tmp_path / "missing.csv"), "--cutouts", str(demo_folder())], "missing.csv"),
        (["--catalogue", str(tmp_path / "two_rows.fits"), "--cutouts", str(tmp_path / "no_folder")], "no_folder"),
        (["--catalogue", str(tmp_path / "two_rows.fits"), "--cutouts", str(demo_folder()), "--model",
          str(tmp_path / "nothing.pt")], "nothing.pt"),
    ]
    for i, (arguments, names) in enumerate(runs):
        code = main(["explain", *arguments, "--out", str(tmp_path / f"out{i}.fits"), "--quiet"])
        err = capsys.readouterr().err.strip()
        assert code == 2, (arguments, err)
        assert err.startswith("glue-xai explain: ") and names in err and "Traceback" not in err, err
        assert len(err.splitlines()) == 1, err
