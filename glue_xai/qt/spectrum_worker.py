"""Recomputing the saliency of spectra off the GUI thread, for the spectrum viewer.

LIME over a stack of spectra takes seconds; the desktop must stay responsive, so the
maps are computed in a :class:`SaliencyRun` thread and written into the glue data on the
GUI thread when they arrive (glue data must only change there).
"""
from qtpy import QtCore

__all__ = ["SaliencyRun", "saliency_request"]


def saliency_request(data, method):
    """The settings to recompute ``data``'s saliency with ``method``, or None when it is
    already of that method. Model, class and seed are those that made it (method-specific
    options are dropped: LIME's do not fit saliency). Raises ValueError when the data has
    no saliency settings to start from."""
    made = dict((getattr(data, "meta", None) or {}).get("saliency") or {})
    if made.get("method") == method:
        return None
    if not made.get("model"):
        raise ValueError(f"{data.label!r} has no saliency settings to recompute from: "
                         "make its saliency once with glue_xai.viewer.spectrum_data.add_saliency")
    return {"method": method, "target": made.get("target"), "seed": made.get("seed", 0), "options": {},
            "model": made["model"]}


class SaliencyRun(QtCore.QThread):
    """Compute the saliency of ``flux`` (the data's spectra) with ``settings``.

    Signals ``done(maps)`` and ``failed(message)``; nothing is written to glue here.
    """

    done = QtCore.Signal(object)
    failed = QtCore.Signal(str)

    def __init__(self, flux, wavelength, settings, parent=None):
        super().__init__(parent)
        self.flux, self.wavelength, self.settings = flux, wavelength, dict(settings)

    def run(self):
        from glue_xai.models.spectral import load_spectrum_model
        from glue_xai.viewer.spectrum_data import saliency_maps

        try:
            model = load_spectrum_model(self.settings["model"])
            maps, _ = saliency_maps(self.flux, self.wavelength, model, self.settings["method"],
                                    self.settings["target"], self.settings["seed"], **self.settings["options"])
        except Exception as error:  # shown in the viewer: a worker thread must never take the desktop down
            self.failed.emit(f"{type(error).__name__}: {error}")
            return
        self.done.emit(maps)
