"""Survey-scale runs of ``glue-xai explain`` (glue_xai.survey.run_survey) against the model's own speed.

Run by hand (not in CI):  python benchmarks/bench_survey.py [--sources 256] [--rss 1000 20000] [--dask 2]
[--only-throughput] [--only-rss] [--only-rss-default N] [--only-per-source]

On a synthetic survey made of the shared MiraBest catalogue's real FIRST cutouts, reused
(row k is the real source k mod 260, with its own row and so its own seed), with the
shipped mirabest-fr model, one torch thread per process as every run uses. Prints:

* throughput of saliency-only (``--sizes-from method``) and of the default columns
  (saliency + the integrated-gradients size columns) against their model-evaluation
  floors: batched forward + backward passes on prepared inputs, nothing else;
* peak RSS of whole runs at 1k and at 20k sources (each in a fresh process);
* the Dask speed-up with 2 local workers over this process;
* the time a resumed run takes after a kill, and whether its table equals an
  uninterrupted run's.
* (``--only-rss-default N``) peak RSS of a default-columns run of N sources;
* (``--only-per-source``) SmoothGrad and LIME, which run one source at a time, against
  their floors (25 forward + backward passes, 1000 forward passes per source).

The machine is shared, so numbers move with its load: read the ratios, not the digits.
"""
import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.table import Table

from glue_xai.data.mirabest import mirabest_root

#: The environment before any Dask cluster ran here (a LocalCluster sets OMP_NUM_THREADS,
#: MALLOC_TRIM_THRESHOLD_, ... in its parent's environment), for the child processes.
ENVIRONMENT = dict(os.environ)


def synthetic_survey(n, folder):
    """A catalogue of ``n`` rows reusing the 260 real FIRST cutouts (absolute file paths)."""
    root = mirabest_root()
    real = Table.read(root / "catalogue.csv")
    table = real[np.arange(n) % len(real)]
    table["source_id"] = [f"SYN{k:07d}" for k in range(n)]
    table["fits_file"] = [str(root / name) for name in table["fits_file"]]
    path = Path(folder) / f"survey_{n}.csv"
    table.write(path, overwrite=True)
    return path


def model_floor(n_steps=None, n=64, repeats=3):
    """Sources per second of the model evaluations alone: one batched forward for the
    probabilities and one forward + backward for saliency, plus ``n_steps`` forward +
    backward passes per source for integrated gradients when given."""
    import torch

    import glue_xai as gx
    from glue_xai.survey.batched import _gradients, _probabilities
    from glue_xai.survey.sources import read_source

    model = gx.load_model("mirabest-fr")
    root = mirabest_root()
    table = Table.read(root / "catalogue.csv")[:n]
    x = np.stack([model.prepare(read_source(root / name, ra, dec, 270.0)[0], fit="pad")[0]
                  for name, ra, dec in zip(table["fits_file"], table["ra_deg"], table["dec_deg"])])
    targets = np.zeros(n, dtype=int)
    best, best_cpu = np.inf, np.inf
    torch.set_num_threads(1)
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        _probabilities(model, x)
        _gradients(model, torch.from_numpy(x), targets, "probability")
        if n_steps:
            path = torch.from_numpy(np.repeat(x, n_steps, axis=0))
            _gradients(model, path, np.repeat(targets, n_steps), "logit")
        best = min(best, time.perf_counter() - started)
        best_cpu = min(best_cpu, time.process_time() - started_cpu)
    return n / best, n / best_cpu


def timed_run(catalogue, out, **kwargs):
    from glue_xai.survey import run_survey

    started, started_cpu = time.perf_counter(), time.process_time()
    result = run_survey(catalogue, out, cutouts=mirabest_root() / "fits", overwrite=True, **kwargs)
    timed_run.cpu_seconds = time.process_time() - started_cpu  # this process's CPU time (local runs)
    return result, time.perf_counter() - started


def peak_rss_mb(n, folder, default_columns=False):
    """Peak RSS (MB) and seconds of a whole run of ``n`` sources in a fresh process, in
    partitions of 200 (the default): saliency only, or with ``default_columns`` the default
    columns (saliency + integrated-gradients sizes, whose paths are a run's largest arrays)."""
    catalogue = synthetic_survey(n, folder)
    out = Path(folder) / f"rss_{'default' if default_columns else 'saliency'}_{n}.fits"
    sizes = "" if default_columns else "sizes_from=None, "
    code = (f"import resource; from glue_xai.survey import run_survey; "
            f"run_survey({str(catalogue)!r}, {str(out)!r}, cutouts={str(mirabest_root() / 'fits')!r}, "
            f"{sizes}overwrite=True, partition_size=200); "
            f"print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=ENVIRONMENT)
    return int(done.stdout.split()[-1]) / 1024.0, time.perf_counter() - started


def print_rss(sizes, folder):
    small, big = sizes
    rss_small, t_small = peak_rss_mb(small, folder)
    print(f"peak RSS {small:6d} sources: {rss_small:7.1f} MB ({t_small:.0f} s)", flush=True)
    rss_big, t_big = peak_rss_mb(big, folder)
    print(f"peak RSS {big:6d} sources: {rss_big:7.1f} MB ({t_big:.0f} s); ratio {rss_big / rss_small:.3f}")


def resume_after_kill(n, folder):
    """Kill ``glue-xai explain`` once a third of its partitions are written, rerun it, and
    compare with an uninterrupted run; returns (resumed seconds, whole seconds, equal)."""
    catalogue = synthetic_survey(n, folder)
    out, uninterrupted = Path(folder) / "killed.fits", Path(folder) / "whole.fits"

    def command(path):
        return [sys.executable, "-m", "glue_xai.cli", "explain", "--catalogue", str(catalogue), "--cutouts",
                str(mirabest_root() / "fits"), "--out", str(path), "--sizes-from", "method", "--partition-size",
                "10", "--quiet"]

    process = subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT)
    parts = Path(folder) / "killed.fits.parts"
    while len(list(parts.glob("table-*.fits"))) < n // 30 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(list(parts.glob("table-*.fits")))
    started = time.perf_counter()
    subprocess.run(command(out), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT)
    resumed = time.perf_counter() - started
    started = time.perf_counter()
    subprocess.run(command(uninterrupted), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=ENVIRONMENT)
    whole = time.perf_counter() - started
    a, b = Table.read(out), Table.read(uninterrupted)
    equal = a.colnames == b.colnames and all(
        np.array_equal(np.ma.filled(a[c], 0) if a[c].dtype.kind != "f" else np.ma.filled(a[c], np.nan),
                       np.ma.filled(b[c], 0) if b[c].dtype.kind != "f" else np.ma.filled(b[c], np.nan),
                       equal_nan=a[c].dtype.kind == "f") for c in a.colnames)
    return kept * 10, resumed, whole, equal


def per_source_methods(folder, n_smoothgrad=48, n_lime=16):
    """SmoothGrad and LIME, which a survey runs one source at a time, against their floors:
    SmoothGrad's is the probabilities, saliency and 25 forward + backward passes per source;
    LIME's is 1000 forward passes (its samples) per source."""
    import glue_xai as gx

    timed_run(synthetic_survey(2, folder), Path(folder) / "warm_per_source.fits", sizes_from=None, method="lime")
    _, seconds = timed_run(synthetic_survey(n_smoothgrad, folder), Path(folder) / "smoothgrad.fits", sizes_from=None,
                           method="smoothgrad")
    floor, _ = model_floor(n_steps=25)  # wall clock (the CPU-time floor is not needed here)
    print(f"SmoothGrad         {n_smoothgrad / seconds:7.2f} sources/s  floor {floor:7.2f}  "
          f"ratio {n_smoothgrad / seconds / floor:.3f}")
    _, seconds = timed_run(synthetic_survey(n_lime, folder), Path(folder) / "lime.fits", sizes_from=None, method="lime")
    model = gx.load_model("mirabest-fr")
    samples = np.random.default_rng(0).random((1000,) + tuple(model.card.input_shape)).astype(np.float32)
    started = time.perf_counter()
    model.proba_of_inputs(samples)
    floor = 1.0 / (time.perf_counter() - started)
    print(f"LIME               {n_lime / seconds:7.2f} sources/s  floor {floor:7.2f}  ratio {n_lime / seconds / floor:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=256, help="sources of the throughput runs")
    parser.add_argument("--rss", type=int, nargs=2, default=(1000, 20000), help="the two sizes of the RSS runs")
    parser.add_argument("--dask", type=int, default=2, help="local Dask workers for the speed-up")
    parser.add_argument("--resume-sources", type=int, default=150)
    parser.add_argument("--skip-rss", action="store_true")
    parser.add_argument("--only-rss", action="store_true", help="only the two peak-RSS runs")
    parser.add_argument("--only-throughput", action="store_true",
                        help="only the saliency-only and default-columns throughput against their floors")
    parser.add_argument("--only-rss-default", type=int, default=None, metavar="N",
                        help="only the peak RSS of a default-columns run of N sources (one partition of 200 when N <= 200)")
    parser.add_argument("--only-per-source", action="store_true",
                        help="only SmoothGrad and LIME (run one source at a time) against their floors")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    if args.only_rss:
        with tempfile.TemporaryDirectory() as folder:
            print_rss(args.rss, folder)
        return
    if args.only_rss_default:
        with tempfile.TemporaryDirectory() as folder:
            rss, _ = peak_rss_mb(args.only_rss_default, folder, default_columns=True)
        print(f"peak RSS, default columns, {args.only_rss_default} sources: {rss:.0f} MB")
        return
    if args.only_per_source:
        with tempfile.TemporaryDirectory() as folder:
            per_source_methods(folder)
        print(f"load average {os.getloadavg()[0]:.1f} at the end")
        return
    with tempfile.TemporaryDirectory() as folder:
        catalogue = synthetic_survey(args.sources, folder)
        timed_run(synthetic_survey(8, folder), Path(folder) / "warm.fits", sizes_from=None)  # model loaded
        # The floors are measured before and after the runs and the faster kept: on a shared
        # machine a floor measured in a quiet moment would otherwise flatter the ratios.
        (floor_saliency, cpu_floor_saliency), (floor_default, cpu_floor_default) = model_floor(), model_floor(32)
        _, seconds_saliency = timed_run(catalogue, Path(folder) / "saliency.fits", sizes_from=None)
        saliency, cpu_saliency = args.sources / seconds_saliency, args.sources / timed_run.cpu_seconds
        _, seconds = timed_run(catalogue, Path(folder) / "default.fits")
        default, cpu_default = args.sources / seconds, args.sources / timed_run.cpu_seconds
        (again, cpu_again), (again_default, cpu_again_default) = model_floor(), model_floor(n_steps=32)
        floor_saliency, floor_default = max(floor_saliency, again), max(floor_default, again_default)
        cpu_floor_saliency = max(cpu_floor_saliency, cpu_again)
        cpu_floor_default = max(cpu_floor_default, cpu_again_default)
        # The same ratios from this process's CPU time: on a shared machine the wall clock
        # also counts the time other jobs held the cores, unevenly between run and floor.
        print(f"saliency only      {saliency:7.1f} sources/s  floor {floor_saliency:7.1f}  "
              f"ratio {saliency / floor_saliency:.3f}  (CPU time: ratio {cpu_saliency / cpu_floor_saliency:.3f})")
        print(f"default columns    {default:7.1f} sources/s  floor {floor_default:7.1f}  "
              f"ratio {default / floor_default:.3f}  (CPU time: ratio {cpu_default / cpu_floor_default:.3f})")
        print(f"  FIRST (~950,000 sources) at these rates on one core: {950000 / saliency / 3600:.1f} h saliency "
              f"only, {950000 / default / 3600:.1f} h default columns")
        if args.only_throughput:
            print(f"load average {os.getloadavg()[0]:.1f} at the end")
            return

        one = seconds_saliency
        partition = max(1, args.sources // (4 * args.dask))
        _, cold = timed_run(catalogue, Path(folder) / "cold.fits", sizes_from=None, workers=args.dask,
                            partition_size=partition)
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.dask, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            timed_run(synthetic_survey(8, folder), Path(folder) / "warm_dask.fits", sizes_from=None, scheduler=client,
                      partition_size=1)  # the model loaded in every worker
            _, warm = timed_run(catalogue, Path(folder) / "dask.fits", sizes_from=None, scheduler=client,
                                partition_size=partition)
        print(f"Dask, {args.dask} workers: {args.sources / warm:.1f} sources/s warm, {args.sources / cold:.1f} with the "
              f"cluster's start, vs {args.sources / one:.1f} in this process: speed-up {one / warm:.2f}x warm, "
              f"{one / cold:.2f}x cold")

        lost, resumed, whole, equal = resume_after_kill(args.resume_sources, folder)
        print(f"resume after a kill at {lost} of {args.resume_sources} sources: {resumed:.1f} s vs {whole:.1f} s "
              f"uninterrupted ({resumed / whole:.2f}); tables identical: {equal}")

        if not args.skip_rss:
            print_rss(args.rss, folder)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; this process peaked at "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
