"""Do galaxy-bt-sfnet's feature maps sit on the galaxy? Measured on the simulated set.

For every galaxy of one part and each of its active features: the share of the feature's
map (|map| on the image grid, as ``explain_features`` gives it) inside the galaxy's
light region (:func:`glue_xai.data.galaxies.light_region`: the brightest pixels holding
80% of its noiseless r-band light), against the share of the image that region covers,
which is what a flat map would put there (chance). Also the share within 16 pixels
(4.2") of the centre (chance 0.196) and how often the map's peak lies on the image's
outermost row or column, the offset of the map's |map|-weighted centre from the galaxy's
centre (pixels; +y is up in the figures, which draw row 0 at the bottom) and the
share of |map| in the image's bottom and top 8 rows (a border stripe; 0.125 each for a
flat map, about 0.02 for a map on the galaxy). The same for the summed map of ``method="features"`` for B/T
(each active feature's map times its head weight). Each galaxy's features are averaged;
the intervals resample the galaxies (1000 seeded draws).

    python benchmarks/sfnet_maps_on_galaxies.py --data /tmp/galaxies.fits --part report
    python benchmarks/sfnet_maps_on_galaxies.py --data /tmp/galaxies.fits --weights old.pt --card old.json
"""
import argparse
import json

import numpy as np

CENTRE_RADIUS_PIX = 16
BORDER_ROWS = 8


def map_shares(weights, region):
    """``(share on region, share within 16 px of the centre, peak on the edge)`` of |map|."""
    from glue_xai.data.galaxies import light_share

    weights = np.abs(weights)
    size = weights.shape[0]
    y, x = np.indices(weights.shape)
    centre = np.hypot(y - (size - 1) / 2, x - (size - 1) / 2) < CENTRE_RADIUS_PIX
    total = weights.sum()
    py, px = np.unravel_index(weights.argmax(), weights.shape)
    on_edge = min(py, px, size - 1 - py, size - 1 - px) == 0
    return light_share(weights, region), float((weights * centre).sum() / total), bool(on_edge)


def map_placement(weights, centre_xy):
    """``(dx, dy, bottom rows' share, top rows' share)`` of |map|: where its weighted
    centre lies against the galaxy's centre (x, y in pixels) and the border rows' weight."""
    weights = np.abs(weights)
    y, x = np.indices(weights.shape)
    total = weights.sum()
    return ((weights * x).sum() / total - centre_xy[0], (weights * y).sum() / total - centre_xy[1],
            weights[:BORDER_ROWS].sum() / total, weights[-BORDER_ROWS:].sum() / total)


def galaxy_centre(row, size=64):
    """The galaxy's centre (x, y) in pixels: GalSim draws it at the image's true centre plus the offsets."""
    return (size - 1) / 2 + row["x_offset_pix"], (size - 1) / 2 + row["y_offset_pix"]


def measure(model, images, truth, indices, target="bulge_to_total"):
    """One row per galaxy: mean over its active features of the three measures, the same
    for the summed map, and the chance level (the light region's share of the image)."""
    from glue_xai.data.galaxies import light_region
    from glue_xai.methods.features import explain_features

    rows = []
    per_feature = {}
    for i in indices:
        region = light_region(truth[i], size=images.shape[-1])
        fe = explain_features(model, images[i], target=target)
        drawn = [m for m in fe.maps if np.abs(m).sum() > 0]
        shares = [map_shares(m, region) for m in drawn]
        placement = np.array([map_placement(m, galaxy_centre(truth[i], images.shape[-1])) for m in drawn])
        for j, s in zip(fe.features, shares):
            per_feature.setdefault(int(j), []).append((s[0], region.mean()))
        weights = fe.contributions / np.where(fe.activations == 0, 1, fe.activations)
        summed = map_shares(np.tensordot(weights, fe.maps, 1), region)
        offset = np.hypot(placement[:, 0], placement[:, 1])
        rows.append([region.mean(), *np.mean(shares, axis=0), *summed, *placement.mean(0), offset.mean()])
    return np.array(rows, dtype=float), per_feature


COLUMNS = ("chance_on_galaxy", "feature_on_galaxy", "feature_within_16px", "feature_peak_on_edge",
           "summed_on_galaxy", "summed_within_16px", "summed_peak_on_edge",
           "feature_centre_dx_pix", "feature_centre_dy_pix", "feature_bottom_8_rows", "feature_top_8_rows",
           "feature_centre_offset_pix")


def summarise(rows, per_feature, draws=1000, seed=0):
    from glue_xai.models.train_galaxies import bootstrap_interval

    out = {"n_galaxies": int(len(rows))}
    for k, name in enumerate(COLUMNS):
        out[name] = bootstrap_interval(np.mean, rows[:, k], draws=draws, seed=seed)
    out["chance_within_16px"] = float(np.mean(np.hypot(*(np.indices((64, 64)) - 31.5)) < CENTRE_RADIUS_PIX))
    lift = lambda share, chance: np.mean(share) / np.mean(chance)  # noqa: E731
    out["feature_on_galaxy_over_chance"] = bootstrap_interval(lift, rows[:, 1], rows[:, 0], draws=draws, seed=seed)
    out["summed_on_galaxy_over_chance"] = bootstrap_interval(lift, rows[:, 4], rows[:, 0], draws=draws, seed=seed)
    # Per feature: galaxies it is active on, mean share on the galaxy, mean chance.
    out["per_feature"] = {str(j): [len(v), float(np.mean([a for a, _ in v])), float(np.mean([c for _, c in v]))]
                          for j, v in sorted(per_feature.items(), key=lambda kv: -len(kv[1]))}
    out["features_below_chance"] = int(sum(share < chance for _, share, chance in out["per_feature"].values()))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="FITS file of the simulated set (read, or simulated and written)")
    parser.add_argument("--part", choices=("tune", "report"), default="report")
    parser.add_argument("--weights", default=None, help="an SFNet's .pt (default: the shipped galaxy-bt-sfnet)")
    parser.add_argument("--card", default=None, help="its card (.json), with --weights")
    parser.add_argument("--json", default=None, help="write the numbers here too")
    parser.add_argument("--n", type=int, default=None, help="only the part's first n galaxies")
    args = parser.parse_args(argv)
    import torch

    import glue_xai as gx
    from glue_xai.data.galaxies import split_parts
    from glue_xai.models.train_galaxies import galaxy_dataset

    torch.set_num_threads(1)
    images, truth = galaxy_dataset(args.data)
    model = (gx.load_model(args.weights, card=args.card, device="cpu") if args.weights
             else gx.load_model("galaxy-bt-sfnet", device="cpu"))
    rows, per_feature = measure(model, images, truth, split_parts(len(truth))[args.part][:args.n])
    numbers = {"part": args.part, "model": args.weights or "galaxy-bt-sfnet", **summarise(rows, per_feature)}
    text = json.dumps(numbers, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
