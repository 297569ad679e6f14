"""``glue-xai explain``: a catalogue classified and explained from the command line.

The cutouts are cut as glue's "cutout stack from a catalogue" cuts them (at each row's
position, to the model's field of view), so the columns equal those the glue action
writes for the same settings. The run streams: see :mod:`glue_xai.survey.run`.
"""
import argparse
import sys

from glue_xai.survey.run import DEFAULT_PARTITION, SurveyInterrupted

__all__ = ["add_arguments", "run_explain", "ProgressBar"]

#: Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED = 130


def _seed(text):
    """``--seed``: a whole number from 0 to 2**31 - 1 (what each source's seed derives from)."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 0 <= seed < 2 ** 31:
        raise argparse.ArgumentTypeError(f"must be from 0 to 2**31 - 1, got {seed}")
    return seed


def add_arguments(parser, methods):
    parser.add_argument("--catalogue", required=True, help="catalogue file (FITS, VOTable, CSV, ECSV)")
    images = parser.add_mutually_exclusive_group(required=True)
    images.add_argument("--cutouts", help="folder of FITS cutouts, one per source (matched by the catalogue's "
                                          "file column, else by position); this or --survey is required")
    images.add_argument("--survey", nargs="+", help="large FITS image(s) to cut each source out of; this or "
                                                    "--cutouts is required")
    parser.add_argument("--out", required=True, help="table to write, the catalogue plus xai_* columns; the "
                                                     "format follows the suffix: .fits, .parquet, .csv, .ecsv")
    parser.add_argument("--maps", help="FITS cube of the explanation maps to write (default: no maps written)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out (and --maps) and "
                                                                 "start again instead of resuming")
    parser.add_argument("--method", default="saliency", choices=methods, help="the explanation method run on "
                                                                               "every source")
    parser.add_argument("--sizes-from", default="integrated_gradients", choices=[*methods, "method"],
                        help="method whose maps the size columns (xai_saliency_extent_arcsec, ...) measure: "
                             "integrated_gradients (default; the one that tracks source sizes, computed besides "
                             "--method's) or 'method' to measure --method's own maps at no extra cost")
    parser.add_argument("--model", default="mirabest-fr", help="a shipped model's name or a model file")
    parser.add_argument("--target", default=None, help="class to explain (default: the predicted class)")
    parser.add_argument("--seed", type=_seed, default=0, help="run seed, 0 to 2**31 - 1; each source's seed "
                                                              "derives from it and its row")
    parser.add_argument("--ra", help="RA column (default: found by its name, e.g. ra, RAJ2000)")
    parser.add_argument("--dec", help="Dec column (default: found by its name, e.g. dec, DEJ2000)")
    parser.add_argument("--size-arcsec", type=float, default=None, help="cutout side (default: the model's "
                                                                        "field of view)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of N processes "
                                                                 "(default: in this process)")
    where.add_argument("--scheduler", default=None, help="run on the Dask scheduler at this address (default: "
                                                         "in this process)")
    parser.add_argument("--partition-size", "--chunk-size", dest="partition_size", type=int,
                        default=DEFAULT_PARTITION, help="catalogue rows per partition: one task, one part file, "
                                                        "the most a killed run loses")
    parser.add_argument("--device", default="auto", help="where the network runs: auto (a CUDA GPU when the "
                                                          "worker has one, else the CPU), cpu, cuda or cuda:N")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (default: a progress bar on "
                                                             "stderr)")


class ProgressBar:
    """A tqdm bar of sources on stderr, with rate and time left."""

    def __init__(self, stream=None):
        self.stream, self.bar = stream or sys.stderr, None

    def __call__(self, done, total):
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, initial=done, unit="source", file=self.stream, dynamic_ncols=True,
                            smoothing=0.1)
            return
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _resume_command():
    import shlex

    return shlex.join(["glue-xai", *sys.argv[1:]]) if sys.argv and sys.argv[0].endswith(("glue-xai", "cli.py")) \
        else "the same command"


def run_explain(args):
    """Run the survey the parsed ``args`` describe; returns the exit code."""
    from glue_xai.survey.run import run_survey

    import signal

    bar = None if args.quiet else ProgressBar()
    interrupted = []

    def on_interrupt(signum, frame):
        # Remembered as well as raised: code deep inside a library (a C call, a broad
        # except) may swallow the KeyboardInterrupt, and the run then stops at the next
        # partition boundary instead of running to the end.
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = run_survey(args.catalogue, args.out, cutouts=args.cutouts, survey=args.survey, maps=args.maps,
                            model=args.model, method=args.method, seed=args.seed, target=args.target,
                            sizes_from=None if args.sizes_from == "method" else args.sizes_from, ra=args.ra,
                            dec=args.dec, size_arcsec=args.size_arcsec, partition_size=args.partition_size,
                            workers=args.workers, scheduler=args.scheduler, overwrite=args.overwrite,
                            progress=bar, log=lambda text: print(text, file=sys.stderr),
                            cancelled=lambda: bool(interrupted), device=args.device)
    except SurveyInterrupted as stop:
        if bar is not None:
            bar.close()
        print(f"\nglue-xai explain: {stop}.\nTo resume, run {_resume_command()} again: the finished partitions "
              "are skipped.", file=sys.stderr)
        return INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
        if bar is not None:
            bar.close()
    print(f"wrote {result.out}: {result.n_rows} rows, {result.ok} ok, {result.flagged} flagged, "
          f"{result.failed} failed ({result.seconds:.1f} s)")
    if result.failures is not None:
        for row, status in result.first_failures:
            print(f"  row {row}: {status}", file=sys.stderr)
        print(f"the sources not ok, with the reason, are listed in {result.failures}")
    if result.maps:
        print(f"wrote {result.maps}: {result.n_maps} maps" if result.n_maps else
              f"no map to write to {result.maps}: no source was explained")
    return 0
