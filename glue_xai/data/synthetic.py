"""Synthetic FR-I and FR-II radio galaxies with ground-truth masks of their components.

Explanations can only be checked against a truth, and real images have none. These
sources are simple, FIRST-like, and come with the answer: which pixels belong to the
core, the jets, the lobes and the hotspots.

* **FR-I** (edge-darkened): a bright core, two jets that widen and fade outwards, and
  diffuse plumes ("lobes") around their outer halves, fading to their ends.
* **FR-II** (edge-brightened): a faint core, faint narrow jets, and lobes that brighten
  towards compact hotspots at their outer ends.

Each component is drawn on the sky, convolved with a FIRST-like Gaussian beam (5.4 arcsec
FWHM) and the sum gets beam-correlated Gaussian noise (0.15 mJy/beam rms), so images are
in Jy/beam like FIRST cutouts. A component's mask is where its own noiseless, convolved
emission exceeds ``mask_threshold_sigma`` (3) times the noise rms; ``"source"`` is the
union of the component masks.

Conventions
-----------
Images follow the FITS convention used by glue and the FIRST cutouts: array row ``y``,
column ``x``, displayed with ``origin="lower"``; the WCS is RA---TAN/DEC--TAN with north
up (+y) and east to the left (-x). The position angle (PA) of the source axis is measured
east of north, i.e. from the +y axis towards the -x axis, in [0, 180) degrees because the
sources are two-sided. The largest angular size (LAS) is the largest distance between two
pixel centres of the ``"source"`` mask (the 3-sigma outline an astronomer would measure);
the generator tunes the source's length so that this equals the requested LAS to within
about a pixel.
"""
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage
from scipy.special import erf
from scipy.spatial.distance import pdist

KINDS = ("FRI", "FRII")
COMPONENTS = ("core", "jets", "lobes", "hotspots")
FIRST_BEAM_FWHM_ARCSEC = 5.4
FIRST_NOISE_JY = 1.5e-4
_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


@dataclass
class SyntheticSource:
    """One synthetic radio galaxy: the noisy ``image`` (Jy/beam), its noiseless version,
    each component's noiseless image and mask, and the truths: ``las_arcsec``,
    ``position_angle_deg`` (east of north) and the sky position of the centre (the core)."""

    kind: str
    image: np.ndarray
    noiseless: np.ndarray
    components: dict
    masks: dict
    las_arcsec: float
    position_angle_deg: float
    ra_deg: float
    dec_deg: float
    pixel_scale_arcsec: float
    beam_fwhm_arcsec: float
    noise_rms: float
    params: dict = field(default_factory=dict, repr=False)

    @property
    def label(self):
        """0 for FR-I, 1 for FR-II (the MiraBest labels)."""
        return KINDS.index(self.kind)

    @property
    def wcs(self):
        """RA---TAN/DEC--TAN WCS centred on the core, north up, east left."""
        ny, nx = self.image.shape
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = [self.ra_deg, self.dec_deg]
        wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
        wcs.wcs.cdelt = [-self.pixel_scale_arcsec / 3600.0, self.pixel_scale_arcsec / 3600.0]
        wcs.wcs.radesys = "ICRS"
        return wcs

    def header(self):
        """A FITS header describing the image (WCS, beam, units and the truths)."""
        header = self.wcs.to_header()
        beam_deg = self.beam_fwhm_arcsec / 3600.0
        header["BUNIT"] = "JY/BEAM"
        header["BMAJ"], header["BMIN"], header["BPA"] = beam_deg, beam_deg, 0.0
        header["OBJECT"] = f"synthetic {self.kind}"
        header["LAS"] = (round(self.las_arcsec, 3), "[arcsec] true largest angular size")
        header["SRC_PA"] = (round(self.position_angle_deg, 3), "[deg] source axis PA, east of north")
        header["NOISE"] = (self.noise_rms, "[Jy/beam] rms of the added noise")
        return header

    def to_cutout(self):
        """The noisy image as a :class:`~glue_xai.data.cutouts.Cutout`."""
        from glue_xai.data.cutouts import Cutout

        return Cutout(image=self.image.copy(), wcs=self.wcs, header=self.header(), path=None)


@dataclass
class SyntheticSample:
    """A batch of synthetic sources with ``images`` (N, H, W) and ``labels`` (0 FR-I, 1 FR-II)."""

    sources: list

    def __len__(self):
        return len(self.sources)

    def __getitem__(self, index):
        return self.sources[index]

    def __iter__(self):
        return iter(self.sources)

    @property
    def images(self):
        return np.stack([s.image for s in self.sources])

    @property
    def labels(self):
        return np.array([s.label for s in self.sources])

    @property
    def kinds(self):
        return [s.kind for s in self.sources]


def mask_las_arcsec(mask, pixel_scale_arcsec):
    """Largest distance between two pixel centres of ``mask``, in arcsec (0 for < 2 pixels)."""
    mask = np.asarray(mask, dtype=bool)
    # The farthest pair always lies on the outline, which keeps the pair count small.
    outline = mask & ~ndimage.binary_erosion(mask)
    points = np.argwhere(outline)
    if len(points) < 2:
        return 0.0
    return float(pdist(points).max() * pixel_scale_arcsec)


def _kind(kind):
    name = str(kind).upper().replace("-", "").replace(" ", "").replace("FR2", "FRII").replace("FR1", "FRI")
    if name not in KINDS:
        raise ValueError(f"kind must be 'FRI' or 'FRII', got {kind!r}")
    return name


def _smooth_edge(distance, width):
    """1 inside (distance <= 0), falling smoothly to 0 at ``width`` outside: soft-edged shapes."""
    x = np.clip(distance / width, 0.0, 1.0)
    return 1.0 - x * x * (3.0 - 2.0 * x)


def _draw_parameters(kind, rng):
    """Every random number of one source, drawn in a fixed order so a seed fixes the source
    whichever of them the caller overrides. Brightnesses are peak Jy/beam after the beam."""
    return {
        "las_fraction": rng.uniform(0.0, 1.0),
        "position_angle_deg": rng.uniform(0.0, 180.0),
        "ra_deg": rng.uniform(120.0, 250.0),
        "dec_deg": np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-5.0)), np.sin(np.radians(60.0))))),
        "core_jy": rng.uniform(0.020, 0.080) if kind == "FRI" else rng.uniform(0.001, 0.006),
        "jet_fraction": rng.uniform(0.3, 0.5),           # FRI: inner jet / core peak
        "jet_jy": rng.uniform(0.0012, 0.003),              # FRII: faint jet ridge
        "jet_opening_deg": rng.uniform(4.0, 12.0),
        "lobe_jy": rng.uniform(0.003, 0.010),
        "lobe_width": rng.uniform(0.18, 0.32),             # lobe half-width / half-length
        "lobe_start": rng.uniform(0.3, 0.5),               # where the lobes begin / half-length
        "hotspot_jy": rng.uniform(0.02, 0.12),
        "hotspot_sigma_arcsec": rng.uniform(0.5, 1.5),
        "asymmetry": rng.uniform(0.6, 1.0),                # brightness of one side relative to the other
        "noise_seed": int(rng.integers(2**31)),
    }


def _ridge_gain(width_px, beam_sigma_px):
    """Peak (Jy/beam) of a long Gaussian ridge of unit brightness and ``width_px`` sigma
    after the beam, so ridges can be drawn by the brightness they should show."""
    return 2.0 * np.pi * width_px * beam_sigma_px ** 2 / np.sqrt(width_px ** 2 + beam_sigma_px ** 2)


def _compact(s, t, position, sigma_arcsec, flux_jy):
    """A compact Gaussian of ``flux_jy`` at ``position`` arcsec along the axis; normalised
    on the pixels themselves, since a sub-pixel Gaussian's samples do not sum to its integral."""
    blob = np.exp(-0.5 * ((s - position) ** 2 + t ** 2) / sigma_arcsec ** 2)
    return flux_jy * blob / blob.sum()


def _intrinsic(kind, half_length, p, s, t, beam_sigma_px, pixel_arcsec):
    """Sky brightness of each component (Jy per pixel before the beam) for a source
    reaching ``half_length`` arcsec either side of the core. ``s``/``t`` are arcsec along
    and across the axis. Brightnesses in ``p`` are the peaks the components show after
    the beam (Jy/beam); broad emission is divided by the beam area to get there."""
    beam_area_px = 2.0 * np.pi * beam_sigma_px ** 2
    L = half_length
    side = np.where(s >= 0, 1.0, p["asymmetry"])
    r = np.abs(s)
    maps = {}
    # An unresolved core exactly at the centre (which lies between pixels for even sizes).
    maps["core"] = _compact(s, t, 0.0, 0.6 * pixel_arcsec, p["core_jy"])
    opening = np.tan(np.radians(p["jet_opening_deg"]))
    if kind == "FRI":
        # Jets from the core outwards, widening and fading to a quarter of their start.
        # Flat-topped across, so no faint wings spill below the noise.
        half_width = 1.5 + r * opening
        along = p["jet_fraction"] * p["core_jy"] * (0.25 + 0.75 * (1.0 - np.clip(r / L, 0, 1)) ** 1.5)
        across = _smooth_edge(np.abs(t) - half_width, 2 * pixel_arcsec)
        gain = beam_area_px * erf(half_width / pixel_arcsec / (np.sqrt(2.0) * beam_sigma_px))
        ends = _smooth_edge(r - L, 2 * pixel_arcsec) * np.clip(r / 3.0, 0, 1)
        maps["jets"] = side * along * across * ends / gain
        # Plumes around the outer jets, fading outwards but ending well above the noise.
        start = p["lobe_start"] * L
        plume_width = p["lobe_width"] * L
        inside = np.hypot((r - (start + L) / 2) / ((L - start) / 2), t / plume_width) - 1.0
        fade = 1.0 - 0.5 * np.clip((r - start) / (L - start), 0, 1)
        maps["lobes"] = side * p["lobe_jy"] * fade * _smooth_edge(inside, 0.08) / beam_area_px
        maps["hotspots"] = np.zeros_like(s)
    else:
        # A faint narrow jet ridge from the core to the hotspots.
        ridge = np.exp(-0.5 * t ** 2) * _smooth_edge(r - L, pixel_arcsec) * np.clip(r / 3.0, 0, 1)
        maps["jets"] = side * p["jet_jy"] * ridge / _ridge_gain(1.0 / pixel_arcsec, beam_sigma_px)
        # Lobes from lobe_start to the hotspot, brightening towards their outer ends.
        start = p["lobe_start"] * L
        half_width = max(p["lobe_width"] * L, 3.0)
        inside = np.hypot((r - (start + L) / 2) / ((L - start) / 2), t / half_width) - 1.0
        rise = 0.4 + 0.6 * np.clip((r - start) / (L - start), 0, 1) ** 1.5
        maps["lobes"] = side * p["lobe_jy"] * rise * _smooth_edge(inside, 0.08) / beam_area_px
        # Compact hotspots at the lobes' outer tips.
        sigma = p["hotspot_sigma_arcsec"]
        maps["hotspots"] = (_compact(s, t, L, sigma, p["hotspot_jy"])
                            + _compact(s, t, -L, sigma, p["asymmetry"] * p["hotspot_jy"]))
    return maps


def _observe(maps, beam_sigma_px):
    """Convolve each component with the beam, normalised so a point source of S Jy peaks at S Jy/beam."""
    area = 2.0 * np.pi * beam_sigma_px ** 2
    return {name: area * ndimage.gaussian_filter(m, beam_sigma_px, mode="constant", truncate=5.0)
            for name, m in maps.items()}


def make_radio_source(kind="FRII", size=150, pixel_scale_arcsec=1.8, las_arcsec=None,
                      position_angle_deg=None, ra_deg=None, dec_deg=None, seed=None,
                      beam_fwhm_arcsec=FIRST_BEAM_FWHM_ARCSEC, noise_rms=FIRST_NOISE_JY,
                      mask_threshold_sigma=3.0):
    """Make one synthetic FR-I or FR-II radio galaxy centred on a ``size`` x ``size`` image.

    Unset geometry is random (``numpy.random.default_rng(seed)``): LAS log-uniform between
    six beams and 60% of the field, any position angle, a position in the FIRST area.
    ``las_arcsec`` must be at least six beams (below that the beam-smeared hotspots alone
    are larger) and leave room for the beam at the edges (at most the field minus four
    beams). Returns a :class:`SyntheticSource`.
    """
    kind = _kind(kind)
    rng = np.random.default_rng(seed)
    p = _draw_parameters(kind, rng)
    field_arcsec = size * pixel_scale_arcsec
    shortest, longest = 6.0 * beam_fwhm_arcsec, field_arcsec - 4.0 * beam_fwhm_arcsec
    if las_arcsec is None:
        requested = shortest * (0.6 * field_arcsec / shortest) ** p["las_fraction"]
    else:
        requested = float(las_arcsec)
    if not shortest - 1e-6 <= requested <= longest + 1e-6:
        raise ValueError(f"las_arcsec={requested:g} is outside what a {size}-pixel image at "
                         f"{pixel_scale_arcsec:g} arcsec/pixel can hold with a {beam_fwhm_arcsec:g} arcsec "
                         f"beam: {shortest:g} to {longest:g} arcsec")
    pa = float(position_angle_deg if position_angle_deg is not None else p["position_angle_deg"]) % 180.0
    beam_sigma_px = beam_fwhm_arcsec * _FWHM_TO_SIGMA / pixel_scale_arcsec

    # Offsets in arcsec from the image centre along (s) and across (t) the source axis,
    # which points from +y towards -x (east of north).
    y, x = np.mgrid[0:size, 0:size].astype(float)
    dx, dy = (x - (size - 1) / 2.0) * pixel_scale_arcsec, (y - (size - 1) / 2.0) * pixel_scale_arcsec
    axis_x, axis_y = -np.sin(np.radians(pa)), np.cos(np.radians(pa))
    s = dx * axis_x + dy * axis_y
    t = dx * axis_y - dy * axis_x

    threshold = mask_threshold_sigma * noise_rms

    def observe(half_length):
        observed = _observe(_intrinsic(kind, half_length, p, s, t, beam_sigma_px, pixel_scale_arcsec),
                            beam_sigma_px)
        masks = {name: img > threshold for name, img in observed.items()}
        masks["source"] = np.logical_or.reduce([masks[n] for n in COMPONENTS])
        return observed, masks, mask_las_arcsec(masks["source"], pixel_scale_arcsec)

    # The 3-sigma outline reaches past the emission's ends by about a beam; shorten the
    # source until the outline's LAS equals the requested one (a few secant steps).
    half_length = requested / 2.0 - beam_fwhm_arcsec / 2.0
    observed, masks, measured = observe(half_length)
    for _ in range(6):
        if abs(measured - requested) <= 0.5 * pixel_scale_arcsec:
            break
        half_length = max(half_length + (requested - measured) / 2.0, 2.0 * pixel_scale_arcsec)
        observed, masks, measured = observe(half_length)

    noiseless = np.sum([observed[n] for n in COMPONENTS], axis=0)
    noise = ndimage.gaussian_filter(np.random.default_rng(p["noise_seed"]).standard_normal((size, size)),
                                    beam_sigma_px, mode="wrap")
    # White noise smoothed by the normalised beam has rms 1 / (2 sqrt(pi) sigma).
    noise *= noise_rms * 2.0 * np.sqrt(np.pi) * beam_sigma_px
    params = dict(p, requested_las_arcsec=float(requested), half_length_arcsec=float(half_length),
                  mask_threshold_jy=float(threshold), seed=seed)
    return SyntheticSource(
        kind=kind,
        image=(noiseless + noise).astype(np.float32),
        noiseless=noiseless.astype(np.float32),
        components={n: observed[n].astype(np.float32) for n in COMPONENTS},
        masks=masks,
        las_arcsec=measured,
        position_angle_deg=pa,
        ra_deg=float(ra_deg if ra_deg is not None else p["ra_deg"]),
        dec_deg=float(dec_deg if dec_deg is not None else p["dec_deg"]),
        pixel_scale_arcsec=float(pixel_scale_arcsec),
        beam_fwhm_arcsec=float(beam_fwhm_arcsec),
        noise_rms=float(noise_rms),
        params=params,
    )


def make_radio_sample(n, seed=0, **options):
    """``n`` synthetic sources, half FR-I and half FR-II (FR-II gets the odd one), in a
    seeded random order; ``options`` go to :func:`make_radio_source` (e.g. ``size``)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    kinds = ["FRI"] * (n // 2) + ["FRII"] * (n - n // 2)
    kinds = [kinds[i] for i in rng.permutation(n)]
    seeds = np.random.SeedSequence(seed).spawn(n)
    return SyntheticSample([make_radio_source(k, seed=np.random.default_rng(s), **options)
                            for k, s in zip(kinds, seeds)])
