"""Build the shipped demo set (glue_xai/data/demo/) from the shared MiraBest FITS cutouts.

    python -m glue_xai.data.make_demo [--root PATH_TO_MIRABEST] [--out FOLDER]

Picks 16 confidently classified standard FR-Is and 16 FR-IIs spread over the range of
sizes, plus 8 hybrid, uncertain or unusual sources (wide-angle and head-tail, a
double-double) so the demo is not all textbook cases. Each 300x300 FIRST cutout is cut to
its central 150x150 pixels with Cutout2D (the WCS follows), written as float32 FITS with
its header (the FIRST copyright text included), and listed in ``catalogue.csv`` with the
``NOTICE`` carrying the FIRST terms of use and the citations. The selection is
deterministic, so rebuilding gives the same files.
"""
import argparse
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from glue_xai.data.catalogue import read_catalogue
from glue_xai.data.cutouts import cut_out, read_cutout
from glue_xai.data.demo import DEMO_FOLDER
from glue_xai.data.mirabest import mirabest_root

DEMO_SIZE = 150
#: Sources larger than this would not fit the 150x150 (270 arcsec) demo cutouts, and
#: smaller ones (under three beams) show too little structure to explain.
MIN_LAS_ARCSEC, MAX_LAS_ARCSEC = 15.0, 200.0
N_PER_CLASS = 16
#: The unusual sources, as (class code, how many): hybrids, a double-double, tailed
#: FR-Is and an uncertain FR-II.
UNUSUAL = ((300, 2), (310, 1), (201, 1), (102, 2), (104, 1), (210, 1))
TERMS = ("Permission is granted for publication and reproduction of this material for scholarly, "
         "educational, and private non-commercial use.")
NOTICE = f"""glue-xai demo data
==================

{{n}} radio galaxies from the VLA FIRST survey at 1.4 GHz (Becker, White & Helfand 1995,
ApJ 450, 559), cut to 150 x 150 pixels (1.8 arcsec/pixel) around each source from the
FIRST cutouts distributed with the MiraBest dataset. Pixel values are in Jy/beam.

FIRST terms of use (The FIRST VLA Survey: Copyright 1994 University of California):
"{TERMS}"
Inquiries for potential commercial uses should be addressed to Robert Becker, Physics
Dept, University of California, Davis, CA 95616.

If you use these data, please cite:
- Miraghaei H. & Best P. N. 2017, MNRAS 466, 4346 (the FR classifications);
- Porter F. A. M. & Scaife A. M. M., MiraBest, Zenodo, doi:10.5281/zenodo.4288837
  (the MiraBest dataset).

The files: catalogue.csv lists each source (source_id, ra_deg, dec_deg, redshift,
las_arcsec, class_code, fr_class, confidence, morphology, fits_file); fits_file is
relative to this folder. Class code digits: FR class (1 FR-I, 2 FR-II, 3 hybrid),
confidence (0 confident, 1 uncertain), morphology (0 standard, 1 double-double,
2 wide-angle tail, 4 head-tail). Rebuilt with: python -m glue_xai.data.make_demo
"""


def _spread(rows, n):
    """``n`` rows spread evenly over the range of LAS (rows sorted by LAS)."""
    if len(rows) <= n:
        return list(rows)
    order = np.argsort([r["las_arcsec"] for r in rows], kind="stable")
    return [rows[order[i]] for i in np.linspace(0, len(rows) - 1, n).round().astype(int)]


def select_sources(catalogue):
    """The demo's rows of the MiraBest catalogue, in demo order (FR-I, FR-II, unusual)."""
    rows = [r for r in catalogue if MIN_LAS_ARCSEC <= r["las_arcsec"] <= MAX_LAS_ARCSEC]
    chosen = []
    for code in (100, 200):
        chosen += _spread([r for r in rows if r["class_code"] == code], N_PER_CLASS)
    for code, n in UNUSUAL:
        chosen += _spread([r for r in rows if r["class_code"] == code], n)
    return chosen


def _demo_header(cutout, source_file):
    header = cutout.header.copy()
    header["BUNIT"] = "JY/BEAM"
    header.add_history(f"glue-xai demo: central {DEMO_SIZE}x{DEMO_SIZE} pixels of {source_file}")
    header.add_history("from the MiraBest dataset (Porter & Scaife, doi:10.5281/zenodo.4288837);")
    header.add_history("classification: Miraghaei & Best 2017, MNRAS 466, 4346")
    return header


def _remove_stale_files(out, keep):
    """Delete the FITS files a previous build listed that the new selection drops (and
    nothing else: ``out`` may be a folder holding other files)."""
    previous = out / "catalogue.csv"
    if not previous.is_file():
        return
    for name in read_catalogue(previous)["fits_file"]:
        if name not in keep and (out / name).is_file():
            (out / name).unlink()


def build_demo(root=None, out=DEMO_FOLDER):
    """Write the demo FITS files, catalogue.csv and NOTICE into ``out``; returns the catalogue."""
    root = mirabest_root(root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = select_sources(read_catalogue(root / "catalogue.csv"))
    _remove_stale_files(out, {Path(r["fits_file"]).name for r in rows})
    columns = ["source_id", "ra_deg", "dec_deg", "redshift", "las_arcsec", "class_code", "fr_class",
               "confidence", "morphology", "fits_file"]
    records = []
    for row in rows:
        original = read_cutout(root / row["fits_file"])
        header_text = " ".join(str(v) for v in original.header["HISTORY"])
        if " ".join(TERMS.split()) not in " ".join(header_text.split()):
            raise ValueError(f"{original.path}: the FIRST terms of use are missing from the header")
        centre = cut_out(original, original.centre, DEMO_SIZE, mode="strict")
        name = Path(row["fits_file"]).name
        hdu = fits.PrimaryHDU(data=centre.image.astype(np.float32), header=_demo_header(centre, name))
        hdu.writeto(out / name, overwrite=True, output_verify="exception")
        records.append([row[c] for c in columns[:-1]] + [name])
    table = Table(rows=records, names=columns)
    table.write(out / "catalogue.csv", format="ascii.csv", overwrite=True)
    (out / "NOTICE").write_text(NOTICE.format(n=len(records)), encoding="utf-8")
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="the MiraBest folder (default: the project's shared copy)")
    parser.add_argument("--out", default=str(DEMO_FOLDER), help="where to write the demo set")
    args = parser.parse_args(argv)
    table = build_demo(args.root, args.out)
    counts = {c: int((table["fr_class"] == c).sum()) for c in sorted(set(table["fr_class"]))}
    print(f"wrote {len(table)} demo sources to {args.out}: {counts}")


if __name__ == "__main__":
    main()
