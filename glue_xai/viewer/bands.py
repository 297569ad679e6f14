"""Which glue components feed a multi-band model's bands (Qt-free).

A model taking C bands (a 3-band g, r, z galaxy classifier) is fed C images on the pixel
grid of the image the viewer is aligned to. In glue those are either C components of
that dataset (a multi-extension FITS file opens that way, and *Data > Merge Data* joins
images on the same WCS), or C datasets shown in the viewer (``g.fits``, ``r.fits``,
``z.fits`` dragged into it), whose pixels glue resamples onto the aligned image through
their links (WCS autolinking), exactly as it does to draw them.

The bands are matched by name: the viewer's *Bands* setting when given
(``"g_img, r_img, z_img"``, in the model's band order), otherwise the model card's band
names (``info["bands"]``), compared without case. A name is looked for first among the
aligned image's components, then among the labels of the other datasets in the viewer
(the component shown for that dataset feeds the band).
"""
from functools import lru_cache

__all__ = ["model_card", "band_components"]


@lru_cache(maxsize=None)
def _shipped_card(name):
    from glue_xai.models.loading import shipped_card

    return shipped_card(name)


def model_card(name):
    """The card of model ``name``, cheaply: the viewer asks on every request (a region
    moved), on the GUI thread, so a shipped card is read from disk once per session and a
    file's or registered model's comes from the model store's memory."""
    from glue_xai.models.loading import SHIPPED
    from glue_xai.viewer.model_store import ModelStore, _FILE_CARDS

    if name in SHIPPED:
        return _shipped_card(name)
    if name not in _FILE_CARDS:
        ModelStore().get(name)
    return _FILE_CARDS[name]


def band_components(data, card, mapping="", shown=()):
    """The components holding the model's bands, in the model's order, or None for a
    one-band model (the viewer's shown component is used). ``shown`` is the other datasets
    in the viewer with the component each shows, ``[(dataset, component), ...]``: a band
    not among ``data``'s components is the shown component of the dataset labelled after
    it. Raises ValueError naming what is missing when the bands cannot all be found."""
    if card.n_channels == 1:
        return None
    wanted = [part.strip() for part in str(mapping or "").replace(";", ",").split(",") if part.strip()]
    source = "the Bands setting" if wanted else f"model {card.name!r}'s band names"
    if not wanted:
        wanted = card.band_names
    if len(wanted) != card.n_channels:
        raise ValueError(f"model {card.name!r} takes {card.n_channels} bands but the Bands setting names "
                         f"{len(wanted)} ({', '.join(wanted)})")
    by_name = {}
    for other, component in shown:  # the aligned image's own components come first
        if component is not None:
            by_name.setdefault(other.label.lower(), component)
    by_name.update({c.label.lower(): c for c in data.main_components})
    missing = [w for w in wanted if w.lower() not in by_name]
    if missing:
        have = ", ".join(c.label for c in data.main_components)
        raise ValueError(f"model {card.name!r} takes {card.n_channels} bands ({', '.join(card.band_names)}); "
                         f"{data.label} has no component {', '.join(repr(m) for m in missing)} named in {source} "
                         f"(its components: {have}), and no dataset of that name is in the viewer. Give the "
                         "bands' component names in the Bands setting, add each band's image to the viewer "
                         "under the band's name, or merge the band images into one dataset (Data > Merge Data)")
    return [by_name[w.lower()] for w in wanted]
