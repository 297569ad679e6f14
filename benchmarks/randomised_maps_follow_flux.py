"""Why perturbation maps fail the randomisation test on radio cutouts: a measured reason.

Run by hand:  python benchmarks/randomised_maps_follow_flux.py [--part tune] [--n 12] [--method lime]

For each cutout, three occlusion maps at the method's defaults are compared by Spearman
rank correlation over the pixels where either map is not exactly 0 (as the Compare
methods view does):

* T, the shipped ``mirabest-fr`` network's map;
* R, the map of the same network with every layer re-initialised (the randomisation
  test's last step);
* F, the flux each occluding patch hides (the input minus its substrate, summed over the
  patch), painted exactly as occlusion paints a drop.

If |rho(R, F)| is close to 1, a randomised network's occlusion map is just "how much
emission this patch hides", and the randomisation test's |rho(T, R)| then measures how
closely the trained map follows the emission's brightness, not whether the method ignores
the weights. The partial rank correlation rho(T, R | F) asks what is left once the hidden
flux is held fixed: how much the trained map still shares with the randomised one beyond
"brightness". Prints each cutout and the medians. ``--limit N`` takes N sources spread
evenly over the part, as ``bench_trust.py --limit`` does (the first N with ``--n``).
"""
import argparse

import numpy as np


def hidden_flux_map(x, hidden, patch, stride):
    """The flux each occluding patch hides, painted as occlusion paints a drop."""
    from glue_xai.methods.occlusion import paint_patches, patch_positions

    difference = (x - hidden).sum(axis=0)
    h, w = difference.shape
    starts = [(r, q) for r in patch_positions(h, patch, stride) for q in patch_positions(w, patch, stride)]
    flux = paint_patches([difference[r:r + patch, q:q + patch].sum() for r, q in starts], starts, patch, (h, w))
    return np.where(np.any(x != hidden, axis=0), flux, 0.0)


#: The LIME options an explanation records that ``lime()`` takes.
LIME_OPTIONS = ("n_samples", "segmentation", "n_segments", "scale", "substrate", "kernel_width", "alpha")


def hidden_flux_per_superpixel(x, hidden, segments):
    """The flux each LIME superpixel hides, painted as LIME paints a superpixel's weight."""
    from glue_xai.methods.lime import superpixel_map

    difference = (x - hidden).sum(axis=0)
    flux = np.bincount(segments.ravel(), weights=difference.ravel(), minlength=int(segments.max()) + 1)
    return superpixel_map(flux, segments, x, hidden)


def partial_rank_correlation(t, r, f, region):
    """Spearman rho of ``t`` and ``r`` with ``f`` held fixed, over the pixels of ``region``
    where any of the three maps is not 0: the ranks' residuals after a least-squares fit
    on the ranks of ``f``, correlated (NaN with fewer than 4 pixels)."""
    from scipy.stats import rankdata

    where = region & ((t != 0) | (r != 0) | (f != 0))
    if where.sum() < 4:
        return np.nan
    ranks = [rankdata(m[where]) for m in (t, r, f)]
    design = np.stack([np.ones(where.sum()), ranks[2]], axis=1)
    residuals = [v - design @ np.linalg.lstsq(design, v, rcond=None)[0] for v in ranks[:2]]
    norm = np.linalg.norm(residuals[0]) * np.linalg.norm(residuals[1])
    return float(residuals[0] @ residuals[1] / norm) if norm > 0 else np.nan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="tune", choices=("tune", "report"))
    parser.add_argument("--n", type=int, default=12, help="the first N cutouts of the part")
    parser.add_argument("--method", default="occlusion", choices=("occlusion", "lime"))
    parser.add_argument("--limit", type=int, default=None,
                        help="N cutouts spread evenly over the part, as bench_trust.py --limit (overrides --n)")
    args = parser.parse_args(argv)

    import glue_xai as gx
    from bench_trust import load_part
    from glue_xai.methods.compare import randomised_copy, rank_correlation
    from glue_xai.methods.lime import lime
    from glue_xai.methods.occlusion import occlusion
    from glue_xai.methods.substrate import make_substrate

    model = gx.load_model("mirabest-fr")
    sources = load_part(args.part, args.limit)[3] if args.limit else load_part(args.part)[3][:args.n]
    randomised = randomised_copy(model, seed=0)
    rows = []
    for s in sources:
        e = gx.explain(model, s.image, method=args.method, seed=0)
        x, p = e.model_input, e.params
        trained = e.model_map
        if args.method == "occlusion":
            random_map = occlusion(randomised, x, e.target, seed=0)["map"]
            flux = hidden_flux_map(x, make_substrate(x, p["substrate"], seed=0), p["patch"], p["stride"])
        else:  # the same superpixels, samples and substrate as the trained network's LIME
            options = {k: p[k] for k in LIME_OPTIONS}  # explain's defaults, as recorded
            random_run = lime(randomised, x, e.target, seed=0, **options)
            random_map, segments = random_run["map"], random_run["segments"]
            flux = hidden_flux_per_superpixel(x, make_substrate(x, p["substrate"], segments=segments, seed=0),
                                              segments)
        everywhere = np.ones(trained.shape, bool)
        rows.append([rank_correlation(trained, random_map, everywhere),
                     rank_correlation(random_map, flux, everywhere),
                     rank_correlation(trained, flux, everywhere),
                     partial_rank_correlation(trained, random_map, flux, everywhere)])
        print("rho(T, R) %+.2f   rho(R, F) %+.2f   rho(T, F) %+.2f   rho(T, R | F) %+.2f" % tuple(rows[-1]),
              flush=True)
    rows = np.abs(np.array(rows))
    print(f"median |rho| over {len(rows)} {args.part}-part cutouts: trained vs randomised {np.median(rows[:, 0]):.2f}, "
          f"randomised vs hidden flux {np.median(rows[:, 1]):.2f}, trained vs hidden flux {np.median(rows[:, 2]):.2f}, "
          f"trained vs randomised with the hidden flux held fixed {np.nanmedian(rows[:, 3]):.2f}")


if __name__ == "__main__":
    main()
