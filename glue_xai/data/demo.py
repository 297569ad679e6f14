"""The demo set shipped with glue-xai: 40 FIRST radio galaxies with a catalogue.

16 FR-Is, 16 FR-IIs and 8 hybrid or unusual sources from the MiraBest dataset, each a
150 x 150 pixel (1.8 arcsec/pixel) FIRST cutout centred on the source, in Jy/beam with
its WCS. The data carry the FIRST terms of use and citations in ``demo/NOTICE``; built
by :mod:`glue_xai.data.make_demo`.
"""
from pathlib import Path

from glue_xai.data.catalogue import read_catalogue_cutouts
from glue_xai.data.cutouts import CutoutStack

DEMO_FOLDER = Path(__file__).resolve().parent / "demo"


def demo_folder():
    """The folder holding the demo FITS files, ``catalogue.csv`` and ``NOTICE``."""
    return DEMO_FOLDER


def demo_catalogue_path():
    """Path of the demo catalogue (CSV; its ``fits_file`` column is relative to its folder)."""
    path = DEMO_FOLDER / "catalogue.csv"
    if not path.is_file():
        raise FileNotFoundError(f"the demo catalogue is missing at {path}; the installation is incomplete "
                                "(rebuild it with python -m glue_xai.data.make_demo)")
    return path


def demo_notice():
    """The demo data's terms of use and citations (the text of ``demo/NOTICE``)."""
    return (DEMO_FOLDER / "NOTICE").read_text(encoding="utf-8")


def load_demo():
    """The demo catalogue (astropy Table) and its cutouts (CutoutStack), row i <-> cutout i."""
    table, cutouts, match = read_catalogue_cutouts(demo_catalogue_path())
    if len(match.unmatched_rows) or len(match.shared_cutouts):
        raise FileNotFoundError(f"the demo set is incomplete: {match.summary()}")
    # The files were read in first-mention order; put them in row order explicitly.
    return table, CutoutStack(cutouts[int(i)] for i in match.cutout_index)


def demo_cutouts():
    """The demo cutouts (CutoutStack) in catalogue order."""
    return load_demo()[1]
