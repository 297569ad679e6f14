"""The MiraBest FR-I/FR-II dataset (Porter & Scaife 2020) in its pickled-batch form.

The batches are Python pickles, and unpickling runs code from the file: only load the
trusted MiraBest files this way, never a file a user hands you.
"""
import os
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Where the project keeps the shared copy, relative to a checkout (CI has it too).
DEFAULT_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mirabest"
PIXEL_SCALE_ARCSEC = 1.8
CLASSES = ("FRI", "FRII")
_NAME = re.compile(r"(?P<code>\d{3})_(?P<ra>\d+\.\d+)_?(?P<dec>[+-]\d+\.\d+)")


@dataclass
class MiraBestBatches:
    """Images (N, 150, 150) uint8, labels (N,) 0=FRI 1=FRII, and each image's source."""

    images: np.ndarray
    labels: np.ndarray
    filenames: list
    batch: np.ndarray

    @property
    def ra_deg(self):
        return np.array([float(_NAME.search(f).group("ra")) for f in self.filenames])

    @property
    def dec_deg(self):
        return np.array([float(_NAME.search(f).group("dec")) for f in self.filenames])

    def source_keys(self):
        """``"<code>_<ra>±<dec>"`` for each image, as in the FITS file names."""
        return [f"{m.group('code')}_{m.group('ra')}{m.group('dec')}" for m in map(_NAME.search, self.filenames)]


def mirabest_root(root=None):
    """The MiraBest folder: ``root``, ``$GLUE_XAI_MIRABEST``, or the project's shared copy."""
    root = Path(root or os.environ.get("GLUE_XAI_MIRABEST") or DEFAULT_ROOT)
    if not (root / "batches").is_dir():
        raise FileNotFoundError(f"no MiraBest batches under {root}; set GLUE_XAI_MIRABEST to the folder "
                                "holding batches/, fits/ and catalogue.csv")
    return root


def load_mirabest_batches(root=None, batches=None):
    """Load the trusted MiraBest training batches (``data_batch_1`` ... ``_8``).

    These files are pickles: only ever load the genuine MiraBest batches with this.
    """
    folder = mirabest_root(root) / "batches"
    names = sorted(p.name for p in folder.glob("data_batch_*"))
    if batches is not None:
        names = [f"data_batch_{b}" for b in batches]
    images, labels, files, batch_ids = [], [], [], []
    for name in names:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="latin1")
        images.extend(np.asarray(x, dtype=np.uint8) for x in d["data"])
        labels.extend(int(v) for v in d["labels"])
        files.extend(os.path.basename(str(fn)) for fn in d["filenames"])
        batch_ids.extend([int(name.rsplit("_", 1)[1])] * len(d["labels"]))
    return MiraBestBatches(np.stack(images), np.array(labels), files, np.array(batch_ids))


def validation_split(labels, fraction=0.2, seed=0):
    """Seeded stratified split of indices into (train, validation)."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(fraction * len(idx)))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.sort(train), np.sort(val)
