"""Spectra as glue data: wavelength coordinates, saliency components, a linked catalogue.

A single spectrum becomes a 1-D :class:`~glue.core.data.Data` with components
``flux`` and ``saliency``; a set of spectra a 2-D one (source x wavelength) plus a
catalogue with one row per source (predicted type, probabilities, t-SNE coordinates),
joined on ``source_index`` so that selecting sources in the catalogue selects their
spectra, and glue's profile viewer shows their (mean) spectrum and saliency.
No Qt here.
"""
from inspect import isgeneratorfunction

import numpy as np
from glue.core import Data
from glue.core.coordinates import Coordinates
from glue.core.exceptions import IncompatibleAttribute
from glue.core.subset import MaskSubsetState

from glue_xai.methods.spectral import explain_spectrum
from glue_xai.viewer.catalogue_stack import SOURCE_INDEX, link_stack

FLUX = "flux"
SALIENCY = "saliency"


class WavelengthCoordinates(Coordinates):
    """World coordinates of spectra: wavelength (Angstrom) along the last array axis,
    read from a table of pixel centres (so any grid works, log-lambda or not), and the
    plain source index along the first axis of a stack."""

    def __init__(self, wavelength, n_dim=1):
        self.wavelength = np.asarray(wavelength, dtype=np.float64)
        if self.wavelength.ndim != 1 or np.any(np.diff(self.wavelength) <= 0):
            raise ValueError("wavelength must be 1-D and increasing")
        super().__init__(pixel_n_dim=n_dim, world_n_dim=n_dim)
        self._pixels = np.arange(len(self.wavelength), dtype=np.float64)

    @property
    def world_axis_names(self):
        # pixel (x, y) order: wavelength first
        return ["Wavelength", "Source"][:self.pixel_n_dim]

    @property
    def world_axis_units(self):
        return ["Angstrom", ""][:self.pixel_n_dim]

    @property
    def world_axis_physical_types(self):
        return ["em.wl", None][:self.pixel_n_dim]

    @property
    def axis_correlation_matrix(self):
        return np.identity(self.pixel_n_dim, dtype=bool)

    def _to_world(self, pixel):
        pixel = np.asarray(pixel, dtype=np.float64)
        # linear inside the table, extrapolated with the end pixels' spacing outside
        inside = np.interp(pixel, self._pixels, self.wavelength)
        low = self.wavelength[0] + (pixel - 0) * (self.wavelength[1] - self.wavelength[0])
        high = self.wavelength[-1] + (pixel - self._pixels[-1]) * (self.wavelength[-1] - self.wavelength[-2])
        return np.where(pixel < 0, low, np.where(pixel > self._pixels[-1], high, inside))

    def _to_pixel(self, world):
        world = np.asarray(world, dtype=np.float64)
        inside = np.interp(world, self.wavelength, self._pixels)
        low = (world - self.wavelength[0]) / (self.wavelength[1] - self.wavelength[0])
        high = self._pixels[-1] + (world - self.wavelength[-1]) / (self.wavelength[-1] - self.wavelength[-2])
        return np.where(world < self.wavelength[0], low, np.where(world > self.wavelength[-1], high, inside))

    def pixel_to_world_values(self, *pixel):
        world = [self._to_world(pixel[0])] + [np.asarray(p, dtype=np.float64) for p in pixel[1:]]
        return world[0] if self.pixel_n_dim == 1 else tuple(world)

    def world_to_pixel_values(self, *world):
        pixel = [self._to_pixel(world[0])] + [np.asarray(w, dtype=np.float64) for w in world[1:]]
        return pixel[0] if self.pixel_n_dim == 1 else tuple(pixel)

    def __gluestate__(self, context):
        return {"wavelength": self.wavelength.tolist(), "n_dim": self.pixel_n_dim}

    @classmethod
    def __setgluestate__(cls, rec, context):
        return cls(rec["wavelength"], n_dim=rec["n_dim"])


class SpectraData(Data):
    """glue data for spectra whose profiles follow selections made in a joined catalogue.

    glue's profile viewer collapses data with ``compute_statistic``, which evaluates a
    subset directly and so ignores :meth:`~glue.core.data.Data.join_on_key` joins (only
    ``get_mask`` follows them). Here a subset that cannot be evaluated directly is turned
    into its mask through the joins and evaluated as that.
    """

    @classmethod
    def __setgluestate__(cls, rec, context):
        """Restore from a glue session as plain Data is restored, then as this class."""
        from glue.core.state import GlueUnSerializer

        load = GlueUnSerializer.dispatch.get_version(Data, rec.get("_protocol", 1))
        if isgeneratorfunction(load):
            steps = load(rec, context)
            data = next(steps)
            data.__class__ = cls
            yield data
            for _ in steps:  # glue's later loaders finish (key joins) after the first yield
                pass
        else:
            data = load(rec, context)
            data.__class__ = cls
            yield data

    def compute_statistic(self, statistic, cid, subset_state=None, **kwargs):
        try:
            return super().compute_statistic(statistic, cid, subset_state=subset_state, **kwargs)
        except IncompatibleAttribute:
            if subset_state is None or not self._key_joins:
                raise
            mask = MaskSubsetState(self.get_mask(subset_state), self.pixel_component_ids)
            return super().compute_statistic(statistic, cid, subset_state=mask, **kwargs)


def spectrum_data(flux, wavelength, label="spectrum", flux_unit=""):
    """One spectrum as 1-D glue data with a ``flux`` component and wavelength coordinates."""
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim != 1 or len(flux) != len(wavelength):
        raise ValueError(f"flux must be 1-D with one value per wavelength, got {flux.shape} for {len(wavelength)}")
    data = SpectraData(label=label, coords=WavelengthCoordinates(wavelength, n_dim=1))
    data.add_component(flux, FLUX)
    data.get_component(FLUX).units = flux_unit
    return data


def spectra_data(flux, wavelength, label="spectra", flux_unit=""):
    """A stack of spectra, (n_sources, n_pixels), as 2-D glue data with ``flux`` and ``source_index``."""
    flux = np.asarray(flux, dtype=np.float64)
    if flux.ndim != 2 or flux.shape[1] != len(wavelength):
        raise ValueError(f"flux must be (n_sources, {len(wavelength)}), got {flux.shape}")
    data = SpectraData(label=label, coords=WavelengthCoordinates(wavelength, n_dim=2))
    data.add_component(flux, FLUX)
    data.get_component(FLUX).units = flux_unit
    data.add_component(np.repeat(np.arange(len(flux))[:, None], flux.shape[1], axis=1), SOURCE_INDEX)
    return data


def wavelength_of(data):
    """The wavelength grid (Angstrom) of spectra made by :func:`spectrum_data` or :func:`spectra_data`."""
    if not isinstance(data.coords, WavelengthCoordinates):
        raise ValueError(f"{data.label!r} has no wavelength coordinates (make it with spectrum_data/spectra_data)")
    return data.coords.wavelength


def add_saliency(data, model, method="saliency", target=None, seed=0, **options):
    """Explain every spectrum in ``data`` and store the maps as its ``saliency`` component.

    Returns the :class:`~glue_xai.methods.explanation.Explanation` objects, one per
    spectrum. The settings go into ``data.meta["saliency"]`` so the map can be redone
    (the spectrum viewer does, when its method is changed).
    """
    maps, explanations = saliency_maps(data[FLUX], wavelength_of(data), model, method, target, seed, **options)
    store_saliency(data, maps.reshape(data.shape), {"method": method, "target": target, "seed": seed,
                                                    "options": options, "model": explanations[0].model_name})
    return explanations


def saliency_maps(flux, wavelength, model, method="saliency", target=None, seed=0, **options):
    """The maps of every spectrum in ``flux`` (1-D or (n, n_pixels)), as an (n, n_pixels)
    array, and the explanations. Touches no glue data, so it may run in a worker thread."""
    flux = np.atleast_2d(np.asarray(flux, dtype=np.float64))
    explanations = [explain_spectrum(model, row, method=method, target=target, seed=seed,
                                     wavelength=wavelength, **options) for row in flux]
    return np.array([e.map for e in explanations]), explanations


def store_saliency(data, maps, settings):
    """Write ``maps`` (shaped like ``data``) as its ``saliency`` component, replacing any,
    and ``settings`` (method, target, seed, options, model) as ``data.meta["saliency"]``."""
    if SALIENCY in [c.label for c in data.main_components]:
        data.update_components({data.id[SALIENCY]: maps})
    else:
        data.add_component(maps, SALIENCY)
    data.meta["saliency"] = dict(settings)


def tsne_coordinates(flux, seed=0, perplexity=30.0):
    """A 2-D t-SNE map of spectra, (n, 2), each spectrum divided by its mean flux first
    so that brightness does not separate sources, only spectral shape."""
    from glue_xai.viewer.catalogue_columns import tsne_2d

    flux = np.asarray(flux, dtype=np.float64)
    shapes = flux / np.nanmean(flux, axis=1, keepdims=True)
    return tsne_2d(np.nan_to_num(shapes - 1.0), seed, perplexity)


def spectra_catalogue(flux, wavelength, model=None, seed=0, label="spectra catalogue", true_types=None):
    """One catalogue row per spectrum: ``source_index``, t-SNE coordinates (``tsne_x``,
    ``tsne_y``), and with a ``model`` its predicted type and class probabilities."""
    flux = np.asarray(flux, dtype=np.float64)
    catalogue = Data(label=label)
    catalogue.add_component(np.arange(len(flux)), SOURCE_INDEX)
    tsne = tsne_coordinates(flux, seed=seed)
    catalogue.add_component(tsne[:, 0], "tsne_x")
    catalogue.add_component(tsne[:, 1], "tsne_y")
    if true_types is not None:
        catalogue.add_component(np.asarray(true_types, dtype=str), "true_type")
    if model is not None:
        from glue_xai.models.spectral import as_spectrum_classifier

        classifier = as_spectrum_classifier(model, wavelength)
        probabilities = classifier.predict_proba(flux, wavelength=wavelength)
        catalogue.add_component(np.array([classifier.classes[i] for i in probabilities.argmax(1)]), "predicted_type")
        for k, name in enumerate(classifier.classes):
            catalogue.add_component(probabilities[:, k], "p_" + name.replace(" ", "_"))
    return catalogue


def link_catalogue(catalogue, spectra):
    """Join ``catalogue`` and ``spectra`` on ``source_index`` in both directions, so a
    selection in either selects the same sources in the other (as for cutout stacks)."""
    link_stack(catalogue, spectra)
