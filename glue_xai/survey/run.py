"""A catalogue explained at survey scale: streamed, resumable, in this process or on Dask.

:func:`run_survey` splits the catalogue into partitions of consecutive rows. Each
partition is one task: it reads its own cutouts (from the files the plan names), explains
them and writes a table part (and a maps part) as soon as it is done. Nothing but file
names, positions and a few counts travels between processes. When every partition is
done the parts are merged into ``out``. Rerunning the same call skips the partitions
already written, so an interrupted run (Ctrl-C, a killed job) loses only the partitions
in flight, and the resumed table equals an uninterrupted one.
"""
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from glue_xai.survey.columns import MEASURE_METHOD, STATUS, is_computed, merge_columns, status_counts
from glue_xai.survey.parts import PartsFolder, merge_maps, read_table_parts, write_atomically, write_table_part

__all__ = ["run_survey", "SurveyResult", "SurveyInterrupted", "compute_partition", "DEFAULT_PARTITION"]

DEFAULT_PARTITION = 200


class SurveyInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (or ``cancelled()``); says how far it got."""

    def __init__(self, done, total, parts):
        super().__init__(f"stopped after {done} of {total} sources; the finished partitions are kept in {parts}")
        self.done, self.total, self.parts = done, total, parts


@dataclass
class SurveyResult:
    """What a finished run wrote and how its sources fared."""

    out: Path
    maps: Path
    n_rows: int
    ok: int
    flagged: int
    failed: int
    failures: Path
    n_maps: int
    resumed_partitions: int
    seconds: float
    settings: dict = field(default_factory=dict)
    first_failures: list = field(default_factory=list)  # (row, status) of the first few sources not ok

    def summary(self):
        text = f"{self.ok} ok, {self.flagged} flagged, {self.failed} failed"
        if self.failures is not None:
            text += f"; the sources not ok are listed in {self.failures}"
        return text


def compute_partition(part, index, parts_path, model_name, method, seed, target, options, sizes_from, keep_maps,
                      settings, device="auto"):
    """Read, explain and write one partition (``part``: see :meth:`SourcePlan.part`); returns
    ``(n_sources, statuses)``. Runs on Dask workers too."""
    from glue_xai.survey.compute import explain_sources, model_once
    from glue_xai.survey.output import write_maps
    from glue_xai.survey.sources import read_sources

    folder = PartsFolder(path=parts_path)
    rows = part["rows"]
    per_row = [None] * len(rows)
    images, headers, readable = [], [], []
    shared = len(set(part["paths"])) < len(rows)  # a survey image cut many times: keep it open
    for k, reason in enumerate(part["reasons"]):
        if not part["paths"][k]:
            per_row[k] = ({STATUS: f"no cutout: {reason or 'none found'}"}, None)
    named = [k for k, path in enumerate(part["paths"]) if path]
    cut = read_sources([part["paths"][k] for k in named], [part["ra"][k] for k in named],
                       [part["dec"][k] for k in named], part["size_arcsec"], keep_open=shared, wcs_text=False)
    for k, answer in zip(named, cut):
        if isinstance(answer, Exception):  # a SourceProblem
            per_row[k] = ({STATUS: str(answer)}, None)
            continue
        images.append(answer[0])
        headers.append(answer[1])
        readable.append(k)
    if readable:
        explained = explain_sources(model_once(model_name, device), images, headers, [rows[k] for k in readable], method,
                                    seed, target, options, sizes_from)
        for k, result in zip(readable, explained):
            per_row[k] = result
    if keep_maps:
        kept = [k for k in readable if per_row[k][1] is not None]
        maps = np.stack([per_row[k][1] for k in kept]) if kept else np.zeros((0, 1, 1), dtype=np.float32)
        write_atomically(lambda p: write_maps(maps, [headers[readable.index(k)].to_header_string() for k in kept],
                                              [rows[k] for k in kept], p, settings), folder.maps_part(index))
    columns = {"source_index": np.asarray(rows, dtype=np.int64)}
    columns.update({name: np.asarray(values) for name, values in merge_columns([c for c, _ in per_row]).items()})
    write_table_part(columns, folder.table_part(index))
    return len(rows), [c[STATUS] for c, _ in per_row]


def _card(model):
    from glue_xai.models.loading import SHIPPED, load_model, shipped_card

    return shipped_card(model) if model in SHIPPED else load_model(model, trust=False).card


def _check_outputs(out, maps, overwrite):
    from glue_xai.survey.output import table_format

    table_format(out)
    targets = [Path(out)] + ([Path(maps)] if maps else [])
    if maps and Path(maps).suffix.lower() not in (".fits", ".fit"):
        raise ValueError(f"{maps}: the maps cube is a FITS file: give it a .fits name")
    for path in targets:
        if not path.parent.is_dir():
            raise ValueError(f"{path.parent}: no such folder for {path.name}")
        if path.exists() and not overwrite:
            raise ValueError(f"{path} exists: pass --overwrite to replace it (or choose another name)")


def run_survey(catalogue, out, cutouts=None, survey=None, maps=None, model="mirabest-fr", method="saliency", seed=0,
               target=None, options=None, sizes_from=MEASURE_METHOD, ra=None, dec=None, size_arcsec=None,
               partition_size=DEFAULT_PARTITION, workers=None, scheduler=None, overwrite=False, progress=None,
               log=None, cancelled=None, device="auto"):
    """Explain every row of ``catalogue`` (a file) and write the table ``out`` (format from its
    suffix: .fits, .parquet, .csv, .ecsv) and, with ``maps``, a FITS cube of the maps.

    ``cutouts`` (a folder, one file per source) or ``survey`` (images to cut from): see
    :func:`~glue_xai.survey.sources.plan_sources`. ``workers=N``: a local Dask cluster of N
    processes; ``scheduler``: a running Dask scheduler's address (or a Client / cluster
    object, e.g. from dask-jobqueue); neither: this process. ``progress(done, total)``
    after each partition; ``log(text)`` for messages; ``cancelled()`` returning True stops
    like Ctrl-C. Raises :class:`SurveyInterrupted` when stopped; rerun to resume.
    ``device``: where each worker runs the network, ``"auto"`` (its GPU if it has one),
    ``"cpu"`` or ``"cuda"``; checked here first for local runs.
    """
    from glue_xai.data.catalogue import read_catalogue
    from glue_xai.methods.api import METHODS
    from glue_xai.survey.engines import check_where
    from glue_xai.survey.sources import plan_sources

    started = time.perf_counter()
    log = log or (lambda text: None)
    check_where(workers, scheduler)
    if scheduler is None:  # local workers see this machine's devices
        from glue_xai.models.device import resolve_device

        resolve_device(device)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if sizes_from is not None and sizes_from not in METHODS:
        raise ValueError(f"sizes_from must be one of {METHODS} or None, got {sizes_from!r}")
    if int(partition_size) < 1:
        raise ValueError(f"the partition size must be at least 1, got {partition_size}")
    out, maps = Path(out), (Path(maps) if maps else None)
    _check_outputs(out, maps, overwrite)
    folder = PartsFolder(out)
    if overwrite:
        folder.remove()
    folder.check_writable()

    catalogue_path = Path(catalogue)
    table = read_catalogue(catalogue_path)
    if len(table) == 0:
        raise ValueError(f"{catalogue_path}: the catalogue has no rows")
    plan = plan_sources(table, catalogue_dir=catalogue_path.parent, cutouts=cutouts, survey=survey, ra=ra, dec=dec,
                        size_arcsec=size_arcsec, card=_card(model))
    options = dict(options or {})
    settings = {"model": model, "method": method, "seed": int(seed), "target": target, "sizes_from": sizes_from,
                **options}
    stat = catalogue_path.stat()
    run_key = {**settings, "catalogue": str(catalogue_path.resolve()), "catalogue_bytes": stat.st_size,
               "catalogue_mtime": stat.st_mtime, "rows": len(table), "cutouts": str(cutouts),
               "survey": [str(p) for p in survey or []], "size_arcsec": plan.size_arcsec,
               "partition_size": int(partition_size), "maps": bool(maps)}
    finished = set(folder.start(run_key))
    n_parts = max(1, math.ceil(len(table) / int(partition_size)))
    todo = [i for i in range(n_parts) if i not in finished]
    done_rows = sum(min(len(table), (i + 1) * partition_size) - i * partition_size for i in finished)
    if finished:
        log(f"resuming: {len(finished)} of {n_parts} partitions ({done_rows} sources) already done in {folder.path}")
    tasks = [(plan.part(i * partition_size, min(len(table), (i + 1) * partition_size)), i) for i in todo]
    args = (str(folder.path), model, method, int(seed), target, options, sizes_from, bool(maps), settings, device)
    if progress is not None:
        progress(done_rows, len(table))
    if workers is None and scheduler is None:
        _run_here(tasks, args, done_rows, len(table), folder, progress, cancelled)
    else:
        _run_on_dask(tasks, args, done_rows, len(table), folder, progress, cancelled, workers, scheduler, log)
    return _merge(table, folder, n_parts, out, maps, settings, len(finished), started)


def _run_here(tasks, args, done, total, folder, progress, cancelled):
    from glue_xai.survey.compute import one_torch_thread

    try:
        with one_torch_thread():
            for part, index in tasks:
                if cancelled is not None and cancelled():
                    raise KeyboardInterrupt
                n, _ = compute_partition(part, index, *args)
                done += n
                if progress is not None:
                    progress(done, total)
    except KeyboardInterrupt:
        raise SurveyInterrupted(done, total, folder.path) from None


def _run_on_dask(tasks, args, done, total, folder, progress, cancelled, workers, scheduler, log):
    from dask.distributed import as_completed

    from glue_xai.survey.engines import dask_client

    with dask_client(workers, scheduler) as client:
        if scheduler is not None and getattr(client, "dashboard_link", None):
            log(f"Dask dashboard: {client.dashboard_link}")
        futures = [client.submit(compute_partition, part, index, *args, pure=False) for part, index in tasks]
        try:
            for future in as_completed(futures):
                if cancelled is not None and cancelled():
                    raise KeyboardInterrupt
                n, _ = future.result()
                done += n
                if progress is not None:
                    progress(done, total)
        except KeyboardInterrupt:
            client.cancel(futures)
            raise SurveyInterrupted(done, total, folder.path) from None


def _merge(table, folder, n_parts, out, maps, settings, resumed, started):
    from glue_xai.survey.output import catalogue_with_columns, table_format, write_catalogue

    columns = read_table_parts([folder.table_part(i) for i in range(n_parts)])
    rows = columns.pop("source_index")
    statuses = [str(s) for s in columns[STATUS]]
    computed = np.array([is_computed(s) for s in statuses], dtype=bool)
    result_table = catalogue_with_columns(table, columns, rows, computed=computed)
    if "source_index" not in result_table.colnames:  # what the maps cube's SOURCES table refers to
        result_table.add_column(np.arange(len(result_table)), name="source_index", index=0)
    # Written whole or not at all: a run killed while merging still resumes (its parts are kept).
    write_atomically(lambda path: write_catalogue(result_table, path, settings, format=table_format(out)), out)
    ok, flagged, failed = status_counts(statuses)
    failures, first = None, []
    out.with_name(out.name + ".failures.csv").unlink(missing_ok=True)  # an earlier run's
    if ok < len(statuses):
        from astropy.table import Table

        failures = out.with_name(out.name + ".failures.csv")
        bad = np.flatnonzero(np.array(statuses) != "ok")
        Table({"source_index": rows[bad], STATUS: np.array(statuses)[bad]}).write(failures, format="ascii.csv",
                                                                                   overwrite=True)
        first = [(int(rows[k]), statuses[k]) for k in bad[:5]]
    n_maps = merge_maps([folder.maps_part(i) for i in range(n_parts)], maps) if maps else 0
    folder.remove()
    return SurveyResult(out, maps, len(table), ok, flagged, failed, failures, n_maps, resumed,
                        time.perf_counter() - started, settings, first)
