"""Synthetic optical spectra of active galactic nuclei (AGN), with the truth attached.

Each spectrum is a power-law continuum plus Gaussian emission lines at their rest
wavelengths, sampled like an SDSS spectrum: pixels equally spaced in log10(wavelength)
(1e-4 dex, 69 km/s per pixel), lines blurred to a resolving power R ~ 2000, Gaussian
noise at a chosen continuum signal-to-noise. Three kinds, following AGN unification:

* **type 1**: broad Balmer lines (Hα, Hβ; FWHM 2000-6000 km/s) on top of the narrow
  lines, and a bright AGN continuum that dilutes the narrow lines' equivalent widths;
* **type 2**: narrow lines only (FWHM 200-500 km/s), the broad-line region hidden;
* **intermediate**: a weak broad component, stronger in Hα than in Hβ (type 1.8-1.9).

The narrow-line region is the same kind of object in all three, so its line ratios are
drawn from the same ranges. What the generator does not model: host-galaxy starlight
and its absorption lines, Fe II blends, redshift, sky residuals.
"""
from dataclasses import dataclass, field

import numpy as np
from scipy.special import erf

#: speed of light in km/s
C_KMS = 299792.458

#: rest (air) wavelengths in Angstrom of the lines the generator draws
REST_LINES = {
    "Hβ": 4861.3,
    "[O III] 4959": 4958.9,
    "[O III] 5007": 5006.8,
    "[O I] 6300": 6300.3,
    "[N II] 6548": 6548.0,
    "Hα": 6562.8,
    "[N II] 6584": 6583.5,
    "[S II] 6716": 6716.4,
    "[S II] 6731": 6730.8,
}
BALMER_LINES = ("Hβ", "Hα")
AGN_TYPES = ("type 1", "intermediate", "type 2")

#: SDSS pixel: 1e-4 in log10(wavelength)
SDSS_LOG10_STEP = 1e-4
RESOLVING_POWER = 2000.0

# Half-widths of the truth windows, km/s. Narrow lines: a few FWHM of the widest narrow
# line plus the resolution; Balmer lines: the reach of the broadest wings (FWHM 6000
# km/s has sigma 2550 km/s, so +-7000 km/s holds > 99% of its flux).
NARROW_WINDOW_KMS = 800.0
BROAD_WINDOW_KMS = 7000.0
# Core and wings of a Balmer line. The wings start beyond [N II] 6584 (+944 km/s from
# Hα) plus its width, so the wings hold broad-line light and little narrow-line light.
CORE_KMS = 350.0
WINGS_KMS = (1600.0, 5000.0)


def log_wavelength_grid(lam_min=4600.0, lam_max=7000.0, log10_step=SDSS_LOG10_STEP):
    """Pixel centres in Angstrom, equally spaced in log10(wavelength) like SDSS spectra."""
    if not 0 < lam_min < lam_max:
        raise ValueError(f"need 0 < lam_min < lam_max, got {lam_min}, {lam_max}")
    n = int(np.floor(np.log10(lam_max / lam_min) / log10_step)) + 1
    return lam_min * 10.0 ** (log10_step * np.arange(n))


def pixel_edges(wavelength):
    """Edges of the pixels around centres ``wavelength`` (geometric midpoints)."""
    wavelength = np.asarray(wavelength, dtype=float)
    mid = np.sqrt(wavelength[1:] * wavelength[:-1])
    first = wavelength[0] ** 2 / mid[0]
    last = wavelength[-1] ** 2 / mid[-1]
    return np.concatenate([[first], mid, [last]])


def emission_line(wavelength, centre, flux, fwhm_kms, resolving_power=RESOLVING_POWER):
    """A Gaussian line of total ``flux`` (flux density x Angstrom), as mean flux density per pixel.

    The intrinsic FWHM and the instrument's (c / R) add in quadrature; the Gaussian is
    integrated over each pixel so a line narrower than a pixel keeps its flux.
    """
    fwhm_total = np.hypot(fwhm_kms, C_KMS / resolving_power)
    sigma = centre * fwhm_total / C_KMS / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    edges = pixel_edges(wavelength)
    cdf = 0.5 * (1.0 + erf((edges - centre) / (np.sqrt(2.0) * sigma)))
    return flux * np.diff(cdf) / np.diff(edges)


def velocity_window(centre, v_lo, v_hi):
    """Wavelength interval (Angstrom) between velocities ``v_lo`` and ``v_hi`` (km/s) from ``centre``."""
    return (centre * (1.0 + v_lo / C_KMS), centre * (1.0 + v_hi / C_KMS))


@dataclass
class LineTruth:
    """Where the information is: wavelength intervals (Angstrom) per line.

    ``line_windows``: every line, the Balmer lines wide enough for their broad wings.
    ``core_windows`` / ``wing_windows``: Balmer line cores (narrow component) and wings
    (broad component only), the wings as two intervals, blue and red.
    """

    line_windows: dict
    core_windows: dict
    wing_windows: dict

    def mask(self, wavelength, which="lines"):
        """Boolean mask of the pixels inside the ``"lines"``, ``"cores"`` or ``"wings"`` windows."""
        groups = {"lines": [[w] for w in self.line_windows.values()],
                  "cores": [[w] for w in self.core_windows.values()],
                  "wings": list(self.wing_windows.values())}
        if which not in groups:
            raise ValueError(f"which must be one of {sorted(groups)}, got {which!r}")
        wavelength = np.asarray(wavelength)
        mask = np.zeros(wavelength.shape, bool)
        for intervals in groups[which]:
            for lo, hi in intervals:
                mask |= (wavelength >= lo) & (wavelength <= hi)
        return mask


def line_truth():
    """The line, core and wing windows of :data:`REST_LINES`."""
    lines = {}
    for name, centre in REST_LINES.items():
        half = BROAD_WINDOW_KMS if name in BALMER_LINES else NARROW_WINDOW_KMS
        lines[name] = velocity_window(centre, -half, half)
    cores = {name: velocity_window(REST_LINES[name], -CORE_KMS, CORE_KMS) for name in BALMER_LINES}
    wings = {name: [velocity_window(REST_LINES[name], -WINGS_KMS[1], -WINGS_KMS[0]),
                    velocity_window(REST_LINES[name], WINGS_KMS[0], WINGS_KMS[1])]
             for name in BALMER_LINES}
    return LineTruth(lines, cores, wings)


@dataclass
class SyntheticSpectra:
    """A set of synthetic AGN spectra.

    ``flux``: (n_spectra, n_pixels) flux density, continuum near 1 at 5100 Å before the
    random overall scale; ``noise``: the per-pixel 1-sigma noise that was added;
    ``wavelength``: (n_pixels,) Angstrom, rest frame; ``labels``: index into ``classes``;
    ``properties``: per-spectrum parameters (line widths, fluxes, SNR, ...);
    ``truth``: the line windows.
    """

    flux: np.ndarray
    noise: np.ndarray
    wavelength: np.ndarray
    labels: np.ndarray
    classes: tuple = AGN_TYPES
    properties: dict = field(default_factory=dict)
    truth: LineTruth = field(default_factory=line_truth)

    @property
    def class_names(self):
        return [self.classes[i] for i in self.labels]

    def __len__(self):
        return len(self.labels)


def _narrow_line_fluxes(rng):
    """Narrow-line fluxes relative to narrow Hα, as in Seyfert 2 and LINER-like nebulae."""
    hb = 1.0 / rng.uniform(2.86, 4.0)  # Balmer decrement: case B plus a little dust
    o3 = hb * rng.uniform(2.0, 10.0)
    n2 = rng.uniform(0.5, 1.5)
    s2 = rng.uniform(0.2, 0.6)
    return {
        "Hα": 1.0, "Hβ": hb,
        "[O III] 5007": o3, "[O III] 4959": o3 / 2.98,
        "[N II] 6584": n2, "[N II] 6548": n2 / 3.05,
        "[S II] 6716": s2 * rng.uniform(0.5, 0.6), "[S II] 6731": s2 * rng.uniform(0.4, 0.5),
        "[O I] 6300": rng.uniform(0.05, 0.3),
    }


def _one_spectrum(kind, wavelength, rng, snr):
    """Noiseless flux and properties of one AGN of type ``kind``."""
    # The continuum: a power law normalised to 1 at 5100 Å. Type 1 AGN add their own
    # bright continuum, which lowers the narrow lines' equivalent widths.
    slope = rng.uniform(-2.0, 0.0) if kind == "type 1" else rng.uniform(-1.0, 1.0)
    continuum = (wavelength / 5100.0) ** slope
    dilution = {"type 1": rng.uniform(0.2, 0.5), "intermediate": rng.uniform(0.5, 0.9),
                "type 2": 1.0}[kind]
    narrow_fwhm = rng.uniform(200.0, 500.0)
    ha_narrow_ew = rng.uniform(20.0, 60.0) * dilution
    flux = continuum.copy()
    for name, ratio in _narrow_line_fluxes(rng).items():
        flux += emission_line(wavelength, REST_LINES[name], ha_narrow_ew * ratio, narrow_fwhm)
    broad_fwhm, ha_broad_ew, hb_broad_ratio = 0.0, 0.0, 0.0
    if kind != "type 2":
        broad_fwhm = rng.uniform(2000.0, 6000.0)
        if kind == "type 1":
            ha_broad_ew, hb_broad_ratio = rng.uniform(150.0, 500.0), 1.0 / rng.uniform(2.7, 3.5)
        else:
            # weak broad Hα, broad Hβ weaker still (reddened broad-line region)
            ha_broad_ew, hb_broad_ratio = rng.uniform(20.0, 60.0), 1.0 / rng.uniform(5.0, 15.0)
        flux += emission_line(wavelength, REST_LINES["Hα"], ha_broad_ew, broad_fwhm)
        flux += emission_line(wavelength, REST_LINES["Hβ"], ha_broad_ew * hb_broad_ratio, broad_fwhm)
    props = {"continuum_slope": slope, "narrow_fwhm_kms": narrow_fwhm, "broad_fwhm_kms": broad_fwhm,
             "halpha_narrow_ew": ha_narrow_ew, "halpha_broad_ew": ha_broad_ew, "snr": snr}
    return flux, continuum, props


def synthetic_agn_spectra(n_per_type=100, wavelength=None, snr=(8.0, 30.0), seed=0,
                          types=AGN_TYPES, scale=(0.5, 50.0)):
    """Draw ``n_per_type`` spectra of each AGN type in ``types``.

    ``wavelength``: pixel centres in Angstrom (default :func:`log_wavelength_grid`,
    4600-7000 Å); ``snr``: range of the continuum signal-to-noise per pixel, drawn per
    spectrum (noise grows as the square root of the flux above the continuum, as photon
    noise does); ``scale``: range of the overall flux scale (log-uniform), so a model
    cannot classify by brightness; ``seed`` makes the draw reproducible.
    """
    rng = np.random.default_rng(seed)
    wavelength = log_wavelength_grid() if wavelength is None else np.asarray(wavelength, dtype=float)
    if wavelength.ndim != 1 or len(wavelength) < 2 or np.any(np.diff(wavelength) <= 0):
        raise ValueError("wavelength must be a 1-D increasing array of pixel centres")
    unknown = set(types) - set(AGN_TYPES)
    if unknown:
        raise ValueError(f"unknown AGN types {sorted(unknown)}; known: {AGN_TYPES}")
    kinds = [kind for kind in types for _ in range(int(n_per_type))]
    order = rng.permutation(len(kinds))
    fluxes, noises, props = [], [], []
    for i in order:
        this_snr = rng.uniform(*snr)
        model, continuum, p = _one_spectrum(kinds[i], wavelength, rng, this_snr)
        sigma = continuum / this_snr * np.sqrt(np.maximum(model / continuum, 1.0))
        overall = np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1])))
        fluxes.append(overall * (model + sigma * rng.standard_normal(len(wavelength))))
        noises.append(overall * sigma)
        props.append(dict(p, scale=overall))
    labels = np.array([AGN_TYPES.index(kinds[i]) for i in order], dtype=int)
    properties = {key: np.array([p[key] for p in props]) for key in props[0]} if props else {}
    return SyntheticSpectra(np.array(fluxes), np.array(noises), wavelength, labels,
                            classes=AGN_TYPES, properties=properties)
