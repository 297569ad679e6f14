"""A glue data factory for FITS files glue's own reader refuses (Qt-free).

FIRST cutouts from SkyView carry tab characters in COMMENT cards; glue's "FITS file"
reader calls ``verify('fix')``, which gives up on them (``VerifyError: Unprintable
string``). This factory claims exactly those files, at a priority above glue's reader,
cleans the commentary cards (:func:`glue_xai.data.cutouts.read_clean_hdulist`) and
hands the cleaned HDUs to glue's reader, so the data come out as glue would make them
from a tidy file: same label, components and celestial WCS. Every other file is left
to glue.
"""
from pathlib import Path

__all__ = ["register_fits_factory", "is_fits_with_unprintable_comments", "read_fits_with_unprintable_comments",
           "FACTORY_LABEL", "FACTORY_PRIORITY"]

FACTORY_LABEL = "FITS file with tabs in its comments (FIRST/SkyView cutout)"
#: Above glue's "FITS file" reader (100): the identifier only says yes to files that reader refuses.
FACTORY_PRIORITY = 200


def is_fits_with_unprintable_comments(filename, **kwargs):
    from glue_xai.data.cutouts import has_unprintable_commentary

    return has_unprintable_commentary(filename)


def read_fits_with_unprintable_comments(filename, **kwargs):
    from glue.core.data_factories.fits import fits_reader

    from glue_xai.data.cutouts import read_clean_hdulist

    hdulist = read_clean_hdulist(filename)
    name = Path(filename).name
    return fits_reader(hdulist, label=name.rpartition(".")[0] or name, **kwargs)


def register_fits_factory():
    """Add the factory to glue's registry once (glue's File > Open and ``load_data`` then use it)."""
    from glue.config import data_factory

    if any(f.function is read_fits_with_unprintable_comments for f in data_factory.members):
        return
    data_factory.add(data_factory.item(read_fits_with_unprintable_comments, FACTORY_LABEL,
                                       is_fits_with_unprintable_comments, FACTORY_PRIORITY, False))
