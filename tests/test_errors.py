"""Errors that name the problem (issue 14): each input of the issue's table, in Python and
from the command line, gets a message saying what is wrong and where, never a traceback."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import glue_xai as gx
from glue_xai.cli import main
from glue_xai.data.demo import demo_catalogue_path, demo_folder
from glue_xai.methods.arguments import SettingError
from glue_xai.models import ModelCard, save_model

from helpers import patch_classifier, scene_with_decoys


@pytest.fixture(scope="module")
def model():
    return patch_classifier()


def test_a_1d_array_given_to_an_image_model(model):
    with pytest.raises(ValueError, match=r"shape \(64,\), a 1-D array, but model 'patch-test' classifies images "
                                         r"of \(channels, height, width\) \(1, 64, 64\)"):
        gx.explain(model, np.ones(64), method="saliency")


@pytest.mark.parametrize("seed", [-1, 2 ** 32])
def test_a_seed_out_of_range(model, seed):
    with pytest.raises(SettingError, match=f"seed must be an integer from 0 to 2\\*\\*32 - 1, got {seed}"):
        gx.explain(model, scene_with_decoys(), method="lime", seed=seed, n_samples=10)
    assert issubclass(SettingError, ValueError)
    # The largest seed works and gives a result.
    assert gx.explain(model, scene_with_decoys(), method="lime", seed=2 ** 32 - 1, n_samples=10).params["seed"] \
        == 2 ** 32 - 1


def test_an_empty_or_text_file_named_pt(tmp_path):
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=f"{empty} is empty \\(0 bytes\\): not a model file"):
        gx.load_model(empty)
    text = tmp_path / "notes.pt"
    text.write_text("weights: see the wiki\n")
    with pytest.raises(ValueError, match=f"{text} is not a PyTorch model file \\(it starts with b'weig'"):
        gx.load_model(text)


def test_a_truncated_model_file(tmp_path, reference_model):
    whole = tmp_path / "model.pt"
    save_model(reference_model, whole)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"{cut} is not a readable PyTorch model file \\(a damaged or truncated"):
        gx.load_model(cut)
    assert gx.load_model(whole).classes == reference_model.classes  # the whole file still loads


def test_a_malformed_model_card_names_its_file(tmp_path, reference_model):
    card = tmp_path / "card.json"
    card.write_text('{"name": "fr", "classes": ["FRI", "FRII"],')
    with pytest.raises(ValueError, match=f"model card {card} is not valid JSON: .*line 1 column"):
        ModelCard.load(card)
    # Beside a weights file, as load_model finds it.
    weights = tmp_path / "weights.pt"
    import torch

    torch.save(reference_model.module.state_dict(), weights)
    sidecar = tmp_path / "weights.json"
    sidecar.write_text("[1, 2]")
    with pytest.raises(ValueError, match=f"model card {sidecar} holds a JSON list, not an object"):
        gx.load_model(weights)
    sidecar.write_text(json.dumps({"name": "fr"}))
    with pytest.raises(ValueError, match=f"model card {sidecar}: .*'classes' and 'input_shape'"):
        gx.load_model(weights)
    sidecar.write_text(json.dumps(reference_model.card.to_dict()))
    assert gx.load_model(weights).classes == ("FRI", "FRII")


def test_load_model_of_nothing_a_folder_or_not_a_name(tmp_path):
    with pytest.raises(ValueError, match=r"no model given \(name_or_path is ''\): pass a shipped model's name "
                                         r"\(mirabest-fr"):
        gx.load_model("")
    with pytest.raises(IsADirectoryError, match=f"{tmp_path} is a folder, not a model file"):
        gx.load_model(tmp_path)
    with pytest.raises(TypeError, match="name_or_path must be a shipped model's name or a model file's path, "
                                        "got NoneType"):
        gx.load_model(None)


def catalogue_without_sky_columns(tmp_path):
    from glue_xai.data.catalogue import read_catalogue

    table = read_catalogue(demo_catalogue_path())[:2]
    table.remove_columns(["ra_deg", "dec_deg"])
    path = tmp_path / "no_positions.csv"
    table.write(path)
    return path


def test_a_catalogue_without_ra_dec_from_the_command_line_advises_the_options(tmp_path, capsys):
    from glue_xai.data.catalogue import find_sky_columns, read_catalogue

    path = catalogue_without_sky_columns(tmp_path)
    # In Python the advice is the keyword arguments ...
    with pytest.raises(ValueError, match=r"no RA and Dec column found .*name them with ra=\.\.\. and dec=\.\.\."):
        find_sky_columns(read_catalogue(path))
    # ... on the command line the options.
    code = main(["explain", "--catalogue", str(path), "--cutouts", str(demo_folder()), "--out",
                 str(tmp_path / "out.fits"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == ("glue-xai explain: no RA and Dec column found among the catalogue's columns "
                           "['source_id', 'redshift', 'las_arcsec', 'class_code', 'fr_class', 'confidence', "
                           "'morphology', 'fits_file']; name them with --ra COLUMN and --dec COLUMN")


def test_features_with_a_model_that_is_not_an_sfnet_is_one_line(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-m", "glue_xai.cli", "explain", "--catalogue", str(demo_catalogue_path()),
                             "--cutouts", str(demo_folder()), "--out", str(tmp_path / "out.fits"),
                             "--method", "features", "--model", "mirabest-fr", "--quiet"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == ("glue-xai explain: --method features needs a Sparse Feature Network "
                                     "(architecture 'sfnet', e.g. --model mirabest-sfnet); --model mirabest-fr "
                                     "is a 'emission_cnn' network")
    assert not (tmp_path / "out.fits").exists() and not (tmp_path / "out.fits.parts").exists()


@pytest.mark.parametrize("where", ["missing", "read-only"])
def test_a_screenshot_where_it_cannot_be_written_is_refused_up_front(tmp_path, capsys, where):
    folder = tmp_path / "shots"
    if where == "read-only":
        folder.mkdir()
        folder.chmod(0o500)
        if os.access(folder, os.W_OK):  # root may write anyway: then the folder is writable
            folder.chmod(0o700)
            folder = tmp_path / "file_not_folder"
            folder.write_text("")
    code = main(["demo", "--screenshot", str(folder / "demo.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--screenshot" in err and str(folder) in err
    assert "wrote" not in capsys.readouterr().out


def test_the_readmes_example_keeps_the_cutouts_wcs_and_a_map_without_one_warns(tmp_path, mirabest_root,
                                                                                 monkeypatch):
    import shutil
    from pathlib import Path

    from astropy.io import fits
    from astropy.wcs import WCS

    from glue_xai.data.cutouts import read_cutout

    shutil.copy(mirabest_root / "fits/100_016.236+000.073_0.2797_0058.67.fits", tmp_path / "first_cutout.fits")
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    example = readme.split("## Python in three lines")[1].split("```python")[1].split("```")[0]
    example = example.replace('method="lime"', 'method="lime", n_samples=50')  # fewer samples: a fast test
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(example, namespace)  # the README's own code
    written = WCS(fits.getheader(tmp_path / "lime.fits"))
    cutout = read_cutout(tmp_path / "first_cutout.fits")
    assert list(written.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    assert written.pixel_to_world(10, 20).separation(cutout.wcs.pixel_to_world(10, 20)).arcsec < 1e-6
    bare = gx.explain(namespace["gx"].load_model("mirabest-fr"), cutout.image, method="saliency")
    with pytest.warns(UserWarning, match="has no WCS .*pass wcs=cutout.wcs"):
        bare.to_fits(tmp_path / "bare.fits")
    assert "CTYPE1" not in fits.getheader(tmp_path / "bare.fits")
