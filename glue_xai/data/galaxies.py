"""Simulated barred and unbarred disc galaxies in g, r, z, with the truth of every component.

Explanations can only be checked against a truth, and real images have none. These
galaxies come with the answer: whether there is a bar, its half-length and position
angle, and how the light divides between bulge, bar and disc.

Each galaxy is drawn with GalSim (Rowe et al. 2015) at the DECaLS pixel scale
(0.262 arcsec/pixel), 64x64 pixels by default, in nanomaggies per pixel (DECaLS's own
unit: magnitude = 22.5 - 2.5 log10(flux)):

* an exponential **disc**, inclined (axis ratio of a disc of intrinsic thickness 0.2);
* a de Vaucouleurs **bulge**, nearly round, aligned with the disc;
* for a barred galaxy a **bar**: a flattened Sersic profile of index 0.3 (flat-topped,
  ending fast, like the Ferrers profiles bars are fitted with), axis ratio 0.15-0.35,
  at its own position angle, with 10-30% of the light;
* colours: bulge and bar red (g-r about 0.85), the disc blue (g-r about 0.45);
* each band convolved with its own Moffat PSF (beta 3.5; FWHM 1.0-1.6 arcsec in r,
  8% wider in g, 7% narrower in z), then Gaussian sky noise of DECaLS-like depth.

The bar is drawn as it appears on the sky: ``bar_length_arcsec`` is its apparent
half-length, the distance from the centre along the bar's major axis at which the bar's
own surface brightness falls to 1/16 of its central value (1.92 major-axis half-light
radii of the n = 0.3 profile). ``bulge_to_total`` and ``bar_to_total`` are
fractions of the r-band flux.

Conventions (as :mod:`glue_xai.data.synthetic`): array row ``y``, column ``x``, shown
with ``origin="lower"``, north up (+y) and east left (-x); position angles are east of
north (from +y towards -x), in [0, 180) degrees.

One seed controls everything: galaxy ``i`` of ``simulate_galaxies(n, seed)`` is the same
whatever ``n`` is (each galaxy has its own stream, spawned from the seed).

    python -m glue_xai.data.galaxies --n 3000 --seed 0 --out galaxies.fits
"""
import argparse
import time

import numpy as np
from scipy.special import gammaincinv

BANDS = ("g", "r", "z")
PIXEL_SCALE_ARCSEC = 0.262
IMAGE_SIZE = 64
#: Typical DECaLS sky noise per 0.262" pixel, nanomaggies (5-sigma point-source depths
#: of about 24.0, 23.4 and 22.5 mag for a 1.2" PSF).
SKY_SIGMA_NMGY = {"g": 0.004, "r": 0.007, "z": 0.017}
#: PSF FWHM in each band relative to r.
PSF_BAND_FACTOR = {"g": 1.08, "r": 1.0, "z": 0.93}
MOFFAT_BETA = 3.5
#: Intrinsic thickness of the disc (axis ratio seen edge-on).
DISC_THICKNESS = 0.2
#: The bar: a Sersic profile of index 0.3 (GalSim's smallest), flat-topped with a fast
#: fall at its end, like the Ferrers profiles bars are fitted with.
BAR_SERSIC_N = 0.3
#: Where the bar ends, in units of its major-axis half-light radius: its surface
#: brightness there is 1/16 of the centre's, exp(-b_n (r / r_e)^(1/n)) = 1/16.
BAR_LENGTH_PER_HLR = float((np.log(16.0) / gammaincinv(2 * BAR_SERSIC_N, 0.5)) ** BAR_SERSIC_N)

TRUTH_COLUMNS = ("galaxy_id", "barred", "bar_length_arcsec", "bar_pa_deg", "bar_axis_ratio", "bar_to_total",
                 "bulge_to_total", "bulge_hlr_arcsec", "disc_hlr_arcsec", "disc_scale_arcsec", "disc_axis_ratio",
                 "disc_pa_deg", "inclination_deg", "mag_r", "x_offset_pix", "y_offset_pix", "psf_fwhm_r_arcsec",
                 "sky_sigma_g", "sky_sigma_r", "sky_sigma_z", "bulge_g_r", "bulge_r_z", "disc_g_r", "disc_r_z")


def _galsim():
    try:
        import galsim
    except ImportError:  # pragma: no cover - an optional dependency
        raise ImportError("the galaxy simulator needs GalSim: pip install 'glue-xai[galaxies]'") from None
    return galsim


def sample_truth(rng, barred):
    """The parameters of one galaxy, drawn from ``rng`` (a numpy Generator)."""
    cos_i = rng.uniform(np.cos(np.radians(70.0)), 1.0)
    disc_hlr = rng.uniform(1.5, 3.5)
    disc_scale = disc_hlr / 1.6783  # exponential profile: half-light radius = 1.678 scale lengths
    bulge_to_total = rng.uniform(0.0, 0.5)
    bar_to_total = rng.uniform(0.1, 0.3) if barred else 0.0
    bar_length = float(np.clip(disc_scale * rng.uniform(1.2, 2.6), 1.2, 6.0)) if barred else 0.0
    disc_pa = rng.uniform(0.0, 180.0)
    return {
        "barred": bool(barred),
        "bar_length_arcsec": bar_length,
        "bar_pa_deg": rng.uniform(0.0, 180.0) if barred else np.nan,
        "bar_axis_ratio": rng.uniform(0.15, 0.35) if barred else np.nan,
        "bar_to_total": bar_to_total,
        "bulge_to_total": bulge_to_total,
        "bulge_hlr_arcsec": rng.uniform(0.3, 1.0),
        "disc_hlr_arcsec": disc_hlr,
        "disc_scale_arcsec": disc_scale,
        "disc_axis_ratio": float(np.sqrt(cos_i ** 2 * (1 - DISC_THICKNESS ** 2) + DISC_THICKNESS ** 2)),
        "disc_pa_deg": disc_pa,
        "inclination_deg": float(np.degrees(np.arccos(cos_i))),
        "mag_r": rng.uniform(15.5, 17.5),
        "x_offset_pix": rng.uniform(-0.5, 0.5),
        "y_offset_pix": rng.uniform(-0.5, 0.5),
        "psf_fwhm_r_arcsec": rng.uniform(1.0, 1.6),
        **{f"sky_sigma_{b}": SKY_SIGMA_NMGY[b] * rng.uniform(0.8, 1.25) for b in BANDS},
        "bulge_g_r": rng.normal(0.85, 0.05), "bulge_r_z": rng.normal(0.45, 0.05),
        "disc_g_r": rng.normal(0.45, 0.08), "disc_r_z": rng.normal(0.25, 0.06),
    }


def _band_flux(flux_r, g_r, r_z, band):
    """Flux in ``band`` of a component with r-band flux ``flux_r`` and the given colours."""
    return flux_r * {"g": 10 ** (-0.4 * g_r), "r": 1.0, "z": 10 ** (0.4 * r_z)}[band]


def _pa_to_beta(galsim, pa_deg):
    # GalSim's beta runs from +x towards +y; a PA runs from north (+y) towards east (-x).
    return (pa_deg + 90.0) * galsim.degrees


def render(truth, size=IMAGE_SIZE, components=("disc", "bulge", "bar"), noise_rng=None, psf=True):
    """The (3, size, size) float32 g, r, z image of one galaxy in nanomaggies per pixel.

    ``components``: which parts to draw (e.g. ``("bar",)`` alone); ``noise_rng``: a numpy
    Generator for the sky noise (None: noiseless); ``psf=False`` draws it unconvolved.
    """
    galsim = _galsim()
    total_r = 10 ** (-0.4 * (truth["mag_r"] - 22.5))
    fractions = {"bulge": truth["bulge_to_total"], "bar": truth["bar_to_total"]}
    fractions["disc"] = 1.0 - fractions["bulge"] - fractions["bar"]
    colours = {"disc": (truth["disc_g_r"], truth["disc_r_z"]),
               "bulge": (truth["bulge_g_r"], truth["bulge_r_z"]), "bar": (truth["bulge_g_r"], truth["bulge_r_z"])}
    offset = galsim.PositionD(truth["x_offset_pix"], truth["y_offset_pix"])
    image = np.zeros((len(BANDS), size, size), dtype=np.float64)
    for b, band in enumerate(BANDS):
        parts = []
        for name in components:
            flux = _band_flux(total_r * fractions[name], *colours[name], band)
            if flux <= 0:
                continue
            if name == "disc":
                part = galsim.Exponential(half_light_radius=truth["disc_hlr_arcsec"], flux=flux).shear(
                    q=truth["disc_axis_ratio"], beta=_pa_to_beta(galsim, truth["disc_pa_deg"]))
            elif name == "bulge":
                hlr = truth["bulge_hlr_arcsec"]
                part = galsim.DeVaucouleurs(half_light_radius=hlr, flux=flux, trunc=8 * hlr).shear(
                    q=max(0.7, truth["disc_axis_ratio"]), beta=_pa_to_beta(galsim, truth["disc_pa_deg"]))
            elif name == "bar":
                q = truth["bar_axis_ratio"]
                # A shear keeps the area: the major-axis half-light radius is hlr / sqrt(q).
                hlr_major = truth["bar_length_arcsec"] / BAR_LENGTH_PER_HLR
                part = galsim.Sersic(n=BAR_SERSIC_N, half_light_radius=hlr_major * np.sqrt(q), flux=flux).shear(
                    q=q, beta=_pa_to_beta(galsim, truth["bar_pa_deg"]))
            else:
                raise ValueError(f"unknown component {name!r}; choose from disc, bulge, bar")
            parts.append(part)
        if not parts:
            continue
        profile = galsim.Sum(parts) if len(parts) > 1 else parts[0]
        if psf:
            fwhm = truth["psf_fwhm_r_arcsec"] * PSF_BAND_FACTOR[band]
            profile = galsim.Convolve(profile, galsim.Moffat(beta=MOFFAT_BETA, fwhm=fwhm))
        drawn = profile.drawImage(nx=size, ny=size, scale=PIXEL_SCALE_ARCSEC, offset=offset,
                                  method="auto" if psf else "no_pixel")
        image[b] = drawn.array
    if noise_rng is not None:
        sigma = np.array([truth[f"sky_sigma_{b}"] for b in BANDS])
        image += sigma[:, None, None] * noise_rng.standard_normal(image.shape)
    return image.astype(np.float32)


def light_region(truth, fraction=0.8, size=IMAGE_SIZE, band="r"):
    """Where the galaxy is: a (size, size) boolean mask of the brightest pixels of its
    noiseless, PSF-convolved ``band`` image that together hold ``fraction`` of its light.

    With 0.8 it covers 17% of a 64x64 image on average (5% to 36% in the report part of
    the training set): a map spread evenly over the image puts that share of its weight
    on it, the chance level.
    """
    clean = render(truth, size, noise_rng=None)[BANDS.index(band)].ravel()
    order = np.argsort(-clean)
    n = int(np.searchsorted(np.cumsum(clean[order]), fraction * clean.sum())) + 1
    mask = np.zeros(clean.size, dtype=bool)
    mask[order[:n]] = True
    return mask.reshape(size, size)


def light_share(relevance, region):
    """The share of a map's weight (|relevance|) that lies in ``region`` (e.g. the
    :func:`light_region`): compare it with the region's share of the image, the chance
    level."""
    weights = np.abs(relevance)
    return float((weights * region).sum() / weights.sum())


def simulate_galaxies(n, seed=0, size=IMAGE_SIZE, barred_fraction=0.5, progress=None):
    """``n`` galaxies from one ``seed``: images (n, 3, size, size) float32 (g, r, z in
    nanomaggies per pixel) and an astropy Table of their truth (:data:`TRUTH_COLUMNS`).

    Galaxy ``i`` depends only on ``seed`` and ``i``. ``progress``: called with the number
    of galaxies done, now and then.
    """
    from astropy.table import Table

    n = int(n)
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    streams = np.random.SeedSequence(int(seed)).spawn(n)
    images = np.zeros((n, len(BANDS), size, size), dtype=np.float32)
    rows = []
    for i, stream in enumerate(streams):
        params_rng, noise_rng = (np.random.default_rng(s) for s in stream.spawn(2))
        truth = sample_truth(params_rng, params_rng.random() < barred_fraction)
        images[i] = render(truth, size, noise_rng=noise_rng)
        rows.append({"galaxy_id": i, **truth})
        if progress is not None and (i + 1) % 500 == 0:
            progress(i + 1)
    table = Table(rows=rows, names=TRUTH_COLUMNS) if rows else Table(names=TRUTH_COLUMNS)
    table.meta.update({"seed": int(seed), "pixscale": PIXEL_SCALE_ARCSEC, "bands": "".join(BANDS),
                       "units": "nanomaggies per pixel"})
    return images, table


def split_parts(n, seed=0, fractions=(0.6, 0.2, 0.2)):
    """Indices of the ``train``, ``tune`` and ``report`` parts of ``n`` simulated galaxies
    (a seeded permutation): train fits, tune chooses (epochs, thresholds, rules), and only
    the report part gives the numbers quoted."""
    order = np.random.default_rng(np.random.SeedSequence([int(seed), 16])).permutation(int(n))
    n_train = int(round(fractions[0] * n))
    n_tune = int(round(fractions[1] * n))
    return {"train": np.sort(order[:n_train]), "tune": np.sort(order[n_train:n_train + n_tune]),
            "report": np.sort(order[n_train + n_tune:])}


def rgb(image, softening=0.3, weights=(2.0, 1.3, 1.0)):
    """An (H, W, 3) display image of a (3, H, W) g, r, z image: z as red, r as green, g as
    blue, each weighted by ``weights`` (g, r, z), asinh-stretched with ``softening``
    (nanomaggies) and scaled to the brightest pixel."""
    g, r, z = (np.clip(np.asarray(image[i], dtype=np.float64), 0, None) * w for i, w in enumerate(weights))
    out = np.arcsinh(np.stack([z, r, g], axis=-1) / softening)
    return np.clip(out / max(out.max(), 1e-12), 0.0, 1.0)


def write_galaxies(path, images, table):
    """One FITS file: the image cube in extension ``IMAGES`` (n, 3, H, W) and the truth
    in the table ``TRUTH``."""
    from astropy.io import fits

    header = fits.Header()
    header["BANDS"] = "".join(BANDS)
    header["PIXSCALE"] = (PIXEL_SCALE_ARCSEC, "arcsec per pixel")
    header["BUNIT"] = "nanomaggy"
    header["SEED"] = table.meta.get("seed", -1)
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(images, header=header, name="IMAGES"),
                         fits.table_to_hdu(table)])
    hdus[2].name = "TRUTH"
    hdus.writeto(path, overwrite=True)


def read_galaxies(path):
    """``(images, table)`` from a file written by :func:`write_galaxies`."""
    from astropy.io import fits
    from astropy.table import Table

    with fits.open(path) as hdus:
        return np.asarray(hdus["IMAGES"].data, dtype=np.float32), Table.read(hdus["TRUTH"])


def main(argv=None):
    parser = argparse.ArgumentParser(description="Simulate barred and unbarred galaxies (g, r, z) with their truth.")
    parser.add_argument("--n", type=int, default=3000, help="number of galaxies (default 3000)")
    parser.add_argument("--seed", type=int, default=0, help="the one seed of the set (default 0)")
    parser.add_argument("--size", type=int, default=IMAGE_SIZE, help=f"image side in pixels (default {IMAGE_SIZE})")
    parser.add_argument("--barred-fraction", type=float, default=0.5, help="share of barred galaxies (default 0.5)")
    parser.add_argument("--out", required=True, help="FITS file to write (IMAGES cube + TRUTH table)")
    args = parser.parse_args(argv)
    start = time.time()
    images, table = simulate_galaxies(args.n, args.seed, args.size, args.barred_fraction,
                                      progress=lambda i: print(f"{i} galaxies ({time.time() - start:.0f} s)"))
    write_galaxies(args.out, images, table)
    print(f"wrote {len(table)} galaxies ({int(table['barred'].sum())} barred) to {args.out} "
          f"in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
