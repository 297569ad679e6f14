"""Re-measure the shipped MiraBest model's card numbers from the data.

    python -m glue_xai.models.evaluate            # print the numbers
    python -m glue_xai.models.evaluate --write     # also store them in the model card

Two numbers: accuracy on the validation split (the same seeded split the training
recipe held out), and agreement between predictions on the raw FIRST FITS cutouts
(300x300, Jy/beam, through the wrapper's preprocessing) and on the dataset's own
preprocessed images of the same sources.
"""
import argparse
import json

import numpy as np

from glue_xai.data.mirabest import load_mirabest_batches, mirabest_root, validation_split


def _accuracy(model, data, indices):
    probs = model.predict_proba(data.images[indices])
    pred = probs.argmax(1)
    labels = data.labels[indices]
    return {"accuracy": float((pred == labels).mean()), "n_images": int(len(indices)),
            "recall": {c: float((pred[labels == i] == i).mean()) for i, c in enumerate(model.classes)}}


def validation_accuracy(model, root=None, seed=0, data=None):
    """Accuracy and recall on the tune part's validation split, the images the training
    recipe picked its epoch and temperature on: a check of the card's training record,
    not a result (``data``: batches already loaded)."""
    from glue_xai.data.splits import dev_split

    data = load_mirabest_batches(root) if data is None else data
    tune, _ = dev_split(root).batch_indices(data)
    _, val = validation_split(data.labels[tune], 0.2, seed)
    return _accuracy(model, data, tune[val])


def report_accuracy(model, root=None, data=None):
    """Accuracy and recall on the report part's dataset images, never trained or tuned on."""
    from glue_xai.data.splits import dev_split

    data = load_mirabest_batches(root) if data is None else data
    _, report = dev_split(root).batch_indices(data)
    return _accuracy(model, data, report)


def legacy_validation_accuracy(model, root=None, seed=0, data=None):
    """Accuracy on glue-xai 0.1's validation split (20% of all eight batches), the split
    ``mirabest-fr-0.1``, ``mirabest-fr-smooth`` and ``mirabest-sfnet`` were trained
    against (their epoch was picked on it, so it flatters them)."""
    data = load_mirabest_batches(root) if data is None else data
    _, val = validation_split(data.labels, 0.2, seed)
    return _accuracy(model, data, val)


def raw_batch_agreement(model, root=None, data=None):
    """Predicted class on raw FITS vs on the batch image, over sources present in both."""
    from glue_xai.data.cutouts import read_cutouts

    root = mirabest_root(root)
    data = load_mirabest_batches(root) if data is None else data
    index = {key: i for i, key in enumerate(data.source_keys())}
    cutouts = read_cutouts(sorted((root / "fits").glob("*.fits")))
    pairs = [(c, index[key]) for c in cutouts if (key := "_".join(c.path.name.split("_")[:2])) in index]
    raw = np.concatenate([model.predict_proba(c.image, pixel_scale_arcsec=c.pixel_scale_arcsec) for c, _ in pairs])
    batch = model.predict_proba(data.images[[i for _, i in pairs]])
    same = raw.argmax(1) == batch.argmax(1)
    return {"agreement": float(same.mean()), "n_sources": len(pairs),
            "max_probability_difference": float(np.abs(raw - batch).max()),
            "median_probability_difference": float(np.median(np.abs(raw - batch)[:, 0]))}


def add_arguments(parser):
    from glue_xai.models.loading import SHIPPED

    parser.add_argument("--root", default=None, help="MiraBest folder (default: $GLUE_XAI_MIRABEST, else "
                                                     "../shared/data/mirabest)")
    parser.add_argument("--write", action="store_true", help="store the numbers in the shipped model card")
    parser.add_argument("--model", default="mirabest-fr", choices=sorted(SHIPPED), help="the shipped model whose card numbers are measured")


def run(args):
    """Measure (and with ``--write`` store) the numbers for the options :func:`add_arguments` parsed."""
    from glue_xai.models.loading import SHIPPED, WEIGHTS_DIR, load_model, shipped_card

    model = load_model(args.model)
    data = load_mirabest_batches(args.root)
    numbers = {"tune_validation": validation_accuracy(model, data=data),
               "report": report_accuracy(model, data=data),
               "raw_fits_vs_batch": raw_batch_agreement(model, args.root, data=data)}
    print(json.dumps(numbers, indent=2))
    if args.write:
        card = shipped_card(args.model)
        card.info["evaluation"] = numbers
        card.save(WEIGHTS_DIR / f"{SHIPPED[args.model]}.json")
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
