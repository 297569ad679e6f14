"""The ``glue-xai`` command line.

    glue-xai demo [--screenshot out.png] [--method lime]   glue on the shipped FIRST demo
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


def _demo(args):
    from glue_xai.qt.demo import run_demo

    if not args.screenshot and _no_display():
        raise ValueError("this machine has no display to open glue on; run `glue-xai demo --screenshot demo.png` "
                         "to render the demo to a PNG instead")

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


def _explain(args):
    from glue_xai.survey.cli import run_explain

    return run_explain(args)


def build_parser():
    from glue_xai.explain.api import METHODS, MODEL_SPECIFIC_METHODS
    from glue_xai.models import evaluate, train

    parser = argparse.ArgumentParser(prog="glue-xai", description="Explain astronomical classifiers in glue")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="open glue with the plugin on the shipped FIRST demo data")
    demo.add_argument("--screenshot", metavar="PNG", help="render to this PNG without a display, then exit")
    demo.add_argument("--model", default="mirabest-fr-smooth", help="shipped model to explain")
    demo.add_argument("--method", default="smoothgrad",
                      choices=[m for m in METHODS if m not in MODEL_SPECIFIC_METHODS])
    demo.set_defaults(run=_demo)
    trainer = commands.add_parser("train", help="train the MiraBest FR-I/FR-II classifier")
    train.add_arguments(trainer)
    trainer.set_defaults(run=_train)
    evaluator = commands.add_parser("evaluate", help="re-measure the shipped model's card numbers")
    evaluate.add_arguments(evaluator)
    evaluator.set_defaults(run=_evaluate)
    explainer = commands.add_parser("explain", help="classify and explain every source of a catalogue, "
                                                    "writing a table and a cube of maps (streamed, resumable)")
    from glue_xai.survey.cli import add_arguments

    add_arguments(explainer, METHODS)
    explainer.set_defaults(run=_explain)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError) as err:
        print(f"glue-xai {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
