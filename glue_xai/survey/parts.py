"""A run's parts folder: one table part (and one maps part) per finished partition.

``<out>.parts/`` beside the ``--out`` file holds ``run.json`` (the run's settings: a
rerun with other settings is refused rather than mixed in), ``table-00000.fits`` for
every finished partition and, when maps are kept, ``maps-00000.fits``. Each part is
written under a temporary name and renamed when complete, so a part on disk is always
whole: a killed run loses only the partitions in flight.
"""
import json
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from glue_xai.survey.columns import missing_value

__all__ = ["PartsFolder"]


class PartsFolder:
    """The parts of the run writing ``out``."""

    def __init__(self, out=None, path=None):
        self.out = None if out is None else Path(out)
        self.path = Path(path) if path is not None else self.out.parent / f"{self.out.name}.parts"

    @property
    def manifest(self):
        return self.path / "run.json"

    def table_part(self, index):
        return self.path / f"table-{index:05d}.fits"

    def maps_part(self, index):
        return self.path / f"maps-{index:05d}.fits"

    def check_writable(self):
        """Make the folder and write a file in it, so an unwritable place is found before any computing."""
        try:
            self.path.mkdir(parents=False, exist_ok=True)
            probe = self.path / ".probe"
            probe.write_text("ok")
            probe.unlink()
        except OSError as error:
            raise ValueError(f"cannot write the output beside {self.out} ({error.strerror or error}); "
                             "choose another --out") from None

    def start(self, settings):
        """Record the run's settings, or check them against the parts already there; returns the
        indices of the finished partitions."""
        settings = json.loads(json.dumps(settings, default=str))
        if self.manifest.exists():
            before = json.loads(self.manifest.read_text())
            differ = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            if differ:
                raise ValueError(f"{self.path} holds parts of a run with other settings ({', '.join(differ)} "
                                 "differ); rerun with those settings to resume it, or pass --overwrite to start "
                                 "again")
        else:
            self.manifest.write_text(json.dumps(settings, indent=1))
        return sorted(int(p.name[6:11]) for p in self.path.glob("table-?????.fits"))

    def remove(self):
        for path in self.path.glob("*"):
            path.unlink()
        if self.path.exists():
            self.path.rmdir()


def write_atomically(write, path):
    """``write(temporary_path)``, then rename to ``path``: the file is there whole or not at all."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    os.replace(temporary, path)


def write_table_part(columns, path):
    """One partition's columns (name -> values, ``source_index`` among them) as a FITS table."""
    table = Table({name: _fits_safe(values) for name, values in columns.items()})
    write_atomically(lambda p: table.write(p, format="fits"), path)


def _fits_safe(values):
    values = np.asarray(values)
    if values.dtype.kind in "USO":  # FITS text is ASCII
        return np.array([str(v).encode("ascii", "replace").decode() for v in values])
    return values


def read_table_parts(paths):
    """The parts' columns joined in order: name -> array (a column missing from a part gets
    the missing value of its kind)."""
    parts = [Table.read(path, format="fits") for path in paths]
    names, examples = {}, {}
    for part in parts:
        for name in part.colnames:
            names.setdefault(name, None)
            if len(part):
                examples.setdefault(name, part[name][0])
    columns = {}
    for name in names:
        pieces = []
        for part in parts:
            if name in part.colnames:
                pieces.append(np.asarray(part[name]))
            else:
                example = examples.get(name)
                value = missing_value(name, str(example) if isinstance(example, (str, np.str_, bytes)) else example)
                pieces.append(np.full(len(part), value))
        kinds = {p.dtype.kind for p in pieces if len(p)}
        if kinds & set("US"):
            pieces = [p.astype(str) for p in pieces]
        columns[name] = np.concatenate(pieces) if pieces else np.array([])
    return columns


def merge_maps(paths, out):
    """Stream the maps parts into one FITS cube at ``out`` (slices in part order) with a
    ``SOURCES`` table; returns the number of slices (0: nothing written)."""
    total, first = 0, None
    for path in paths:
        header = fits.getheader(path)
        slices = header.get("NAXIS3", 0) if header.get("NAXIS", 0) == 3 else 0
        total += slices
        first = first if first is not None or not slices else header
    if total == 0:
        return 0
    header = first.copy()
    header["NAXIS3"] = total
    sources = []

    def write(temporary):
        stream = fits.StreamingHDU(temporary, header)
        for path in paths:
            with fits.open(path, memmap=True) as hdus:
                if hdus[0].data is not None:
                    stream.write(np.asarray(hdus[0].data, dtype=np.float32))
                sources.append(Table(hdus["SOURCES"].data))
        stream.close()
        table = Table({"slice": np.arange(total),
                       "source_index": np.concatenate([np.asarray(t["source_index"]) for t in sources]),
                       "wcs_header": np.concatenate([np.asarray(t["wcs_header"]).astype(str) for t in sources])})
        fits.append(temporary, fits.BinTableHDU(table, name="SOURCES").data,
                    fits.BinTableHDU(table, name="SOURCES").header)

    write_atomically(write, out)
    return total
