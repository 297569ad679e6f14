"""``glue-xai explain``: a catalogue classified and explained from the command line.

The cutouts are made exactly as glue's "cutout stack from a catalogue" does (cut at each
row's position to the model's field of view), so the columns equal those the glue
action writes for the same settings.
"""
import sys
import time

from glue_xai.batch import DEFAULT_CHUNK

__all__ = ["add_arguments", "run_explain", "ProgressBar"]


def add_arguments(parser, methods):
    parser.add_argument("--catalogue", required=True, help="catalogue file (FITS, VOTable, CSV, ECSV)")
    images = parser.add_mutually_exclusive_group(required=True)
    images.add_argument("--cutouts", help="folder of FITS cutouts, one per source (matched by the catalogue's "
                                          "file column, else by position)")
    images.add_argument("--survey", nargs="+", help="large FITS image(s) to cut each source out of")
    parser.add_argument("--out", required=True, help="FITS table to write: the catalogue plus xai_* columns")
    parser.add_argument("--maps", help="FITS cube of the explanation maps to write")
    parser.add_argument("--method", default="saliency", choices=methods)
    parser.add_argument("--sizes-from", default="integrated_gradients", choices=[*methods, "method"],
                        help="method whose maps the size columns (xai_saliency_extent_arcsec, ...) measure: "
                             "integrated_gradients (default; the one that tracks source sizes, computed besides "
                             "--method's) or 'method' to measure --method's own maps at no extra cost")
    parser.add_argument("--model", default="mirabest-fr", help="a shipped model's name or a model file")
    parser.add_argument("--target", default=None, help="class to explain (default: the predicted class)")
    parser.add_argument("--seed", type=int, default=0, help="run seed; each source's seed derives from it and "
                                                            "its row")
    parser.add_argument("--ra", help="RA column (found by name when not given)")
    parser.add_argument("--dec", help="Dec column (found by name when not given)")
    parser.add_argument("--size-arcsec", type=float, default=None, help="cutout side (default: the model's "
                                                                        "field of view)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of N processes")
    where.add_argument("--scheduler", default=None, help="run on the Dask scheduler at this address")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK, help="sources per Dask task")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


class ProgressBar:
    """``[#####.....] 12/40  3.1 sources/s`` on stderr, rewritten in place."""

    def __init__(self, stream=sys.stderr, width=30):
        self.stream, self.width, self.start = stream, width, time.perf_counter()

    def __call__(self, done, total):
        filled = int(self.width * done / max(total, 1))
        rate = done / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total}  {rate:.2f} sources/s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def run_explain(args):
    """Run the batch the parsed ``args`` describe and write its files."""
    from glue_xai.batch import run_batch
    from glue_xai.batch_output import catalogue_with_columns, write_catalogue, write_maps
    from glue_xai.models.loading import SHIPPED, load_model, shipped_card
    from glue_xai.viewer.catalogue_stack import CUTOUTS, WCS_META, catalogue_stack, catalogue_table, cutout_rows

    # The cutouts need only the model's card; run_batch loads the model where it runs.
    card = shipped_card(args.model) if args.model in SHIPPED else load_model(args.model, trust=False).card
    built = catalogue_stack(args.catalogue, cutouts=args.cutouts, survey=args.survey, ra=args.ra, dec=args.dec,
                            size_arcsec=args.size_arcsec, model=card)
    if len(built.match.unmatched_rows):
        print(built.match.summary(), file=sys.stderr)
    rows = cutout_rows(built.stack)
    result = run_batch(built.stack.get_component(CUTOUTS).data, built.stack.meta[WCS_META], rows, model=args.model,
                       method=args.method, seed=args.seed, target=args.target, workers=args.workers,
                       scheduler=args.scheduler, chunk_size=args.chunk_size,
                       sizes_from=None if args.sizes_from == "method" else args.sizes_from,
                       progress=None if args.quiet else ProgressBar())
    table = catalogue_with_columns(catalogue_table(args.catalogue), result.columns, rows)
    if "source_index" not in table.colnames:  # what the maps cube's SOURCES table refers to
        table.add_column(list(range(len(table))), name="source_index", index=0)
    write_catalogue(table, args.out, result.settings)
    print(f"wrote {args.out}: {len(table)} rows, {len(result.columns)} xai_* columns for {len(rows)} sources")
    if args.maps:
        write_maps(result.maps, built.stack.meta[WCS_META], rows, args.maps, result.settings)
        print(f"wrote {args.maps}: {result.maps.shape[0]} maps of {result.maps.shape[2]} x {result.maps.shape[1]} "
              "pixels")
