"""The ``glue-xai`` command line.

    glue-xai demo [--screenshot out.png] [--method lime]   glue on the shipped FIRST demo
    glue-xai demo --galaxies                              glue on simulated barred galaxies
    glue-xai train [--epochs 60] [--out folder]              train the MiraBest model
    glue-xai evaluate [--write]                              re-measure its model card numbers
    glue-xai explain --catalogue cat.csv --cutouts folder/ --out result.fits [--maps maps.fits]
                     [--method saliency] [--workers N | --scheduler ADDRESS]
                                                             classify and explain a catalogue
"""
import argparse
import sys


def _no_display():
    """True on a Linux machine with no screen, where Qt would abort instead of opening glue."""
    import os

    return (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"))


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default: "(required)", "(default: off)" for a
    switch, the value otherwise, unless the sentence already says what the default does
    (as it must for an option whose default is None)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or "required" in text.lower() or action.default is argparse.SUPPRESS:
            return text
        if action.required:
            return f"{text} (required)"
        if action.default is False and action.nargs == 0:
            return f"{text} (default: off)"
        if action.default is None:
            return text
        return super()._get_help_string(action)


def _check_screenshot_folder(path):
    """Refuse, before glue starts, a screenshot path whose folder is missing or read-only."""
    import os
    from pathlib import Path

    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise ValueError(f"--screenshot {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--screenshot {path}: the folder {folder} is not writable")


def _demo(args):
    from glue_xai.qt.demo import run_demo

    if args.screenshot:
        _check_screenshot_folder(args.screenshot)
    if not args.screenshot and _no_display():
        raise ValueError("this machine has no display to open glue on; run `glue-xai demo --screenshot demo.png` "
                         "to render the demo to a PNG instead")

    if args.galaxies:
        from glue_xai.qt.galaxy_demo import run_galaxy_demo

        messages = run_galaxy_demo(screenshot=args.screenshot)
    else:
        messages = run_demo(screenshot=args.screenshot, method=args.method, model=args.model)
    if args.screenshot:
        print(f"wrote {args.screenshot}")
        for message in messages or []:
            print(message)


def _train(args):
    from glue_xai.models import train

    train.run(args)


def _evaluate(args):
    from glue_xai.models import evaluate

    evaluate.run(args)


def _check_model_has_method(model, method):
    """``--method features`` needs a Sparse Feature Network: say so before any source is read."""
    from glue_xai.methods.api import MODEL_SPECIFIC_METHODS
    from glue_xai.models.loading import SHIPPED, load_model, shipped_card

    if method not in MODEL_SPECIFIC_METHODS:
        return
    card = shipped_card(model) if model in SHIPPED else load_model(model, trust=False).card
    if card.architecture != "sfnet":
        sfnets = [name for name in SHIPPED if shipped_card(name).architecture == "sfnet"]
        raise ValueError(f"--method {method} needs a Sparse Feature Network (architecture 'sfnet', e.g. --model "
                         f"{sfnets[0] if sfnets else 'mirabest-sfnet'}); --model {model} is a "
                         f"{card.architecture!r} network")


def _explain(args):
    from glue_xai.survey.cli import run_explain

    _check_model_has_method(args.model, args.method)
    return run_explain(args)


def build_parser():
    from glue_xai.methods.api import METHODS, MODEL_SPECIFIC_METHODS
    from glue_xai.models import evaluate, train

    parser = argparse.ArgumentParser(prog="glue-xai", description="Explain astronomical classifiers in glue")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_command(name, help):
        return commands.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                   formatter_class=_HelpFormatter)

    demo = add_command("demo", "open glue with the plugin on the shipped FIRST demo data")
    demo.add_argument("--screenshot", metavar="PNG", help="render glue to this PNG without a display, then exit "
                                                          "(default: open glue on the screen)")
    demo.add_argument("--model", default="mirabest-fr", help="the shipped model whose decisions are "
                                                                    "explained")
    demo.add_argument("--method", default="saliency", choices=[m for m in METHODS if m not in MODEL_SPECIFIC_METHODS],
                      help="the explanation drawn over each source")
    demo.add_argument("--galaxies", action="store_true",
                      help="instead, simulated barred galaxies in g, r, z (GalSim) explained by the shipped 3-band "
                           "bar classifier and bulge-to-total SFNet (default: the FIRST radio demo)")
    demo.set_defaults(run=_demo)
    trainer = add_command("train", "train the MiraBest FR-I/FR-II classifier")
    train.add_arguments(trainer)
    trainer.set_defaults(run=_train)
    evaluator = add_command("evaluate", "re-measure the shipped model's card numbers")
    evaluate.add_arguments(evaluator)
    evaluator.set_defaults(run=_evaluate)
    explainer = add_command("explain", "classify and explain every source of a catalogue, writing a table and "
                                       "a cube of maps (streamed, resumable)")
    from glue_xai.survey.cli import add_arguments

    add_arguments(explainer, METHODS)
    explainer.set_defaults(run=_explain)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from glue_xai.data.catalogue import MissingSkyColumns

    try:
        return args.run(args) or 0
    except MissingSkyColumns as err:
        print(f"glue-xai {args.command}: {err.advice('--ra COLUMN and --dec COLUMN')}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError) as err:  # bad input: one line, no traceback
        print(f"glue-xai {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
