"""Sources per second of the catalogue batch (``glue-xai explain``): one process vs Dask workers.

Run by hand (not in CI):  python benchmarks/bench_batch.py [--saliency 40] [--lime 8] [--workers 2]

On the shared MiraBest catalogue and FIRST cutouts (150 x 150 pixel stacks, the
shipped mirabest-fr model), for saliency and LIME (1000 samples, its default):

* 1 process: ``run_batch`` in this process (one torch thread, as every worker uses);
* N Dask workers, warm: a LocalCluster started beforehand and warmed up (model loaded
  in every worker), reached by its scheduler address -- the steady-state throughput;
* N Dask workers, cold: ``workers=N`` as the command line does it, start-up included.

Prints sources/second and the speed-up over one process; checks the answers agree.
``--sizes-from`` as in ``glue-xai explain``: by default the size columns measure an
integrated-gradients map computed besides each method's (what a user gets); ``method``
measures the method's own maps, i.e. the throughput of the method alone.
The machine is shared, so numbers move with its load: read the ratio, not the digits.
"""
import argparse
import time
import warnings

import numpy as np
from astropy.table import Table

from glue_xai.batch import run_batch
from glue_xai.data.mirabest import mirabest_root
from glue_xai.viewer.catalogue_stack import CUTOUTS, WCS_META, catalogue_stack, cutout_rows



def load_stack(n):
    """The first ``n`` sources of the shared catalogue, spread over its classes."""
    root = mirabest_root()
    table = Table.read(root / "catalogue.csv")
    table = table[np.linspace(0, len(table) - 1, n).astype(int)]
    table["fits_file"] = [str(root / name) for name in table["fits_file"]]
    stack = catalogue_stack(table, cutouts=list(table["fits_file"])).stack
    return stack[CUTOUTS], stack.meta[WCS_META], cutout_rows(stack)


def timed(label, n, **kwargs):
    started = time.perf_counter()
    result = run_batch(**kwargs)
    elapsed = time.perf_counter() - started
    print(f"  {label:<26s} {n:4d} sources  {elapsed:7.1f} s  {n / elapsed:7.2f} sources/s", flush=True)
    return n / elapsed, result


def bench(method, n, workers, address, sizes_from="integrated_gradients"):
    images, headers, rows = load_stack(n)
    common = dict(images=images, wcs_headers=headers, rows=rows, method=method, seed=0, sizes_from=sizes_from)
    run_batch(**{**common, "images": images[:1], "wcs_headers": headers[:1], "rows": rows[:1]})  # warm-up
    # About four tasks per worker: few enough that task overhead stays small, enough to balance.
    chunk = max(1, n // (4 * workers))
    print(f"{method}, sizes from {sizes_from or 'its own maps'} ({chunk} source(s) per Dask task):")
    one, plain = timed("1 process", n, **common)
    warm, on_dask = timed(f"{workers} Dask workers, warm", n, scheduler=address, chunk_size=chunk, **common)
    cold, _ = timed(f"{workers} Dask workers, cold", n, workers=workers, chunk_size=chunk, **common)
    same = np.array_equal(plain.maps, on_dask.maps)
    print(f"  speed-up over 1 process: {warm / one:.2f}x warm, {cold / one:.2f}x cold "
          f"(ideal {workers}x); maps identical: {same}")
    return {"method": method, "one": one, "warm": warm, "cold": cold, "identical": same}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saliency", type=int, default=40, help="sources explained with saliency")
    parser.add_argument("--lime", type=int, default=8, help="sources explained with LIME")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sizes-from", default="integrated_gradients", choices=["integrated_gradients", "method"],
                        help="what the size columns measure (as glue-xai explain --sizes-from)")
    args = parser.parse_args(argv)
    sizes_from = None if args.sizes_from == "method" else args.sizes_from
    warnings.simplefilter("ignore")
    from dask.distributed import Client, LocalCluster

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: __import__("glue_xai.batch").batch._model("mirabest-fr"))  # load the model everywhere
        results = [bench("saliency", args.saliency, args.workers, cluster.scheduler_address, sizes_from),
                   bench("lime", args.lime, args.workers, cluster.scheduler_address, sizes_from)]
    print("\nsummary (sources/s): method, 1 process, Dask warm, Dask cold, warm speed-up")
    for r in results:
        print(f"  {r['method']:<9s} {r['one']:6.2f} {r['warm']:6.2f} {r['cold']:6.2f}  {r['warm'] / r['one']:.2f}x")


if __name__ == "__main__":
    main()
