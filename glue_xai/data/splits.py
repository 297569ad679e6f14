"""The one split of the development data: a *tune* part and a *report* part.

Everything that is chosen (network design, training levers, epochs, method defaults,
detection and out-of-distribution thresholds) is chosen on the tune part. Every number
the README, docs and model cards quote comes from the report part, which no training
run and no tuning loop ever sees.

The split is by *source*, so a source's batch image and its raw FITS cutout always land
in the same part. The 260 FITS cutouts (real noise, real neighbours, WCS) are what the
on-sky measurements need, so half of them go to the report part; of the 504 sources
that exist only as dataset images, 15% do, which leaves most of them to train on.
Both draws are stratified by class code and come from one fixed seed: the split is
made once and never redrawn.
"""
import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from glue_xai.data.mirabest import load_mirabest_batches, mirabest_root

#: The seed of the one split (never change it: the report part must stay unseen).
SPLIT_SEED = 20261201
REPORT_FRACTION_FITS = 0.5
REPORT_FRACTION_BATCH_ONLY = 0.15


def fits_source_key(fits_name):
    """``"<code>_<ra>±<dec>"`` of a MiraBest FITS file name, as in the batches' file names."""
    name = str(fits_name).rsplit("/", 1)[-1]
    return "_".join(name.split("_")[:2])


def _stratified_pick(keys, codes, fraction, rng):
    picked = set()
    for code in sorted(set(codes)):
        members = sorted(k for k, c in zip(keys, codes) if c == code)
        n = int(round(fraction * len(members)))
        picked.update(rng.permutation(members)[:n].tolist())
    return picked


@dataclass
class DevSplit:
    """Source keys of the report part; everything else is the tune part."""

    report_keys: frozenset

    def is_report(self, key):
        return key in self.report_keys

    def batch_indices(self, data):
        """(tune, report) indices into loaded MiraBest batches."""
        keys = data.source_keys()
        report = np.array([k in self.report_keys for k in keys])
        return np.flatnonzero(~report), np.flatnonzero(report)

    def catalogue_rows(self, root=None):
        """(tune, report) lists of the FITS catalogue's rows (dicts, with ``key`` added)."""
        tune, report = [], []
        with open(mirabest_root(root) / "catalogue.csv", newline="") as f:
            for row in csv.DictReader(f):
                row["key"] = fits_source_key(row["fits_file"])
                (report if row["key"] in self.report_keys else tune).append(row)
        return tune, report


def dev_split(root=None):
    """The project's one tune/report split of the MiraBest sources (deterministic)."""
    return _dev_split(str(mirabest_root(root)))


@lru_cache(maxsize=4)
def _dev_split(root):
    root = Path(root)
    batch_keys = load_mirabest_batches(root).source_keys()  # always all eight batches
    with open(root / "catalogue.csv", newline="") as f:
        fits_rows = list(csv.DictReader(f))
    fits_keys = [fits_source_key(r["fits_file"]) for r in fits_rows]
    fits_codes = [r["class_code"] for r in fits_rows]
    in_fits = set(fits_keys)
    only_batch = [k for k in batch_keys if k not in in_fits]
    rng = np.random.default_rng(SPLIT_SEED)
    report = _stratified_pick(fits_keys, fits_codes, REPORT_FRACTION_FITS, rng)
    report |= _stratified_pick(only_batch, [k.split("_")[0] for k in only_batch], REPORT_FRACTION_BATCH_ONLY, rng)
    return DevSplit(frozenset(report))
