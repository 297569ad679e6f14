"""``glue-xai <command> --help`` gives every option a sentence and its default."""
import argparse
import subprocess
import sys

import pytest

from glue_xai.cli import build_parser


def subcommands():
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices


@pytest.mark.parametrize("name", ["demo", "train", "evaluate", "explain"])
def test_every_option_has_a_sentence_and_its_default(name):
    command = subcommands()[name]
    formatter = command._get_formatter()
    options = [a for a in command._actions if not isinstance(a, argparse._HelpAction)]
    assert options
    for action in options:
        text = formatter._expand_help(action) if action.help else ""
        flag = action.option_strings[0]
        assert len(text.split()) >= 3, f"{name} {flag}: {text!r} is not a sentence"
        assert "default" in text.lower() or "required" in text.lower(), f"{name} {flag}: no default in {text!r}"
        if action.default is not None and action.default is not False and "default" not in action.help.lower():
            # The default shown is the option's real default.
            assert text.endswith(f"(default: {action.default})"), f"{name} {flag}: {text!r}"


def test_the_real_entry_point_prints_the_defaults():
    result = subprocess.run([sys.executable, "-m", "glue_xai.cli", "explain", "--help"], capture_output=True,
                            text=True, timeout=120)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    assert "the explanation method run on every source (default: saliency)" in text
    assert "run seed, 0 to 2**31 - 1; each source's seed derives from it and its row (default: 0)" in text
    assert "(required)" in text and "no progress bar (default: a progress bar on stderr)" in text
    assert "(default: 200)" in text  # --partition-size
