"""Training recipe for the shipped MiraBest FR-I/FR-II classifier.

Reproducible from one seed and sized for a 2-core CPU (150 epochs: about five minutes on a
quiet machine, 35 minutes when the machine was shared with other work):

    glue-xai train --out glue_xai/models/weights            # the shipped model
    glue-xai train --epochs 1 --batches 1 2 --out /tmp/smoke # CI's smoke run

Radio galaxies have no preferred orientation, so every training image is rotated by a
random angle and randomly flipped; the loss is weighted by class frequency; the weights
kept are those of the epoch with the best validation accuracy (ties: lower loss).
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from glue_xai.models.preprocess import normalise
from glue_xai.data.mirabest import CLASSES, PIXEL_SCALE_ARCSEC, load_mirabest_batches, validation_split

MIRABEST_TERMS = (
    "FIRST survey images: 'Permission is granted for publication and reproduction of this material "
    "for scholarly, educational, and private non-commercial use.'")
MIRABEST_CITATIONS = [
    "Miraghaei H., Best P. N., 2017, MNRAS, 466, 4346",
    "Porter F. A. M., Scaife A. M. M., 2020, MiraBest dataset, Zenodo, doi:10.5281/zenodo.4288837",
]
#: The shipped model's architecture options (second convolution in the two coarsest blocks).
SHIPPED_OPTIONS = {"double_last": 2}
PREPROCESSING = {"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"}


def augment(x, generator):
    """Random rotation (any angle) and flip of a (N, 1, H, W) batch, on the fly."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    angle = torch.rand(n, generator=generator) * 2 * math.pi
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def evaluate(module, x, y, batch_size=256):
    import torch

    module.eval()
    probs = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            probs.append(torch.softmax(module(x[s:s + batch_size]), 1))
    probs = torch.cat(probs)
    loss = float(torch.nn.functional.nll_loss(torch.log(probs + 1e-12), y))
    return float((probs.argmax(1) == y).float().mean()), loss, probs.numpy()


def train(out_dir, epochs=150, batches=None, seed=0, batch_size=32, lr=2e-3, root=None,
          architecture="radio_cnn", architecture_options=None, name="mirabest-fr", stem="mirabest_fr",
          log=print):
    """Train on the MiraBest batches; write ``<stem>.pt`` (state dict) and ``<stem>.json`` (card)."""
    import torch

    from glue_xai.models.architectures import build_architecture
    from glue_xai.models.card import ModelCard

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    data = load_mirabest_batches(root, batches)
    train_idx, val_idx = validation_split(data.labels, 0.2, seed)
    # Train on exactly what the wrapper feeds the model at inference (its card's steps),
    # so a raw FITS cutout and a dataset image meet the same network input.
    x = torch.from_numpy(np.stack([normalise(img.astype(np.float64), PREPROCESSING) for img in data.images])
                         .astype(np.float32))[:, None]
    y = torch.from_numpy(data.labels).long()
    x_tr, y_tr, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]

    options = dict(SHIPPED_OPTIONS if architecture_options is None and architecture == "radio_cnn"
                   else architecture_options or {})
    module = build_architecture(architecture, in_channels=1, n_classes=len(CLASSES), **options)
    counts = torch.bincount(y_tr, minlength=len(CLASSES)).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=counts.sum() / (len(CLASSES) * counts))
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(x_tr) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)

    best = (-1.0, float("inf"), None, 0)
    history = []
    start = time.time()
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(len(x_tr), generator=generator)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            optimiser.zero_grad()
            loss = loss_fn(module(augment(x_tr[idx], generator)), y_tr[idx])
            loss.backward()
            optimiser.step()
            schedule.step()
        acc, val_loss, _ = evaluate(module, x_val, y_val)
        history.append({"epoch": epoch, "val_accuracy": acc, "val_loss": val_loss})
        log(f"epoch {epoch:3d}  val accuracy {acc:.3f}  val loss {val_loss:.3f}  ({time.time() - start:.0f} s)")
        if acc > best[0] or (acc == best[0] and val_loss < best[1]):
            best = (acc, val_loss, {k: v.clone() for k, v in module.state_dict().items()}, epoch)
    module.load_state_dict(best[2])
    acc, val_loss, probs = evaluate(module, x_val, y_val)
    pred = probs.argmax(1)
    yv = y_val.numpy()
    per_class = {c: float((pred[yv == i] == i).mean()) for i, c in enumerate(CLASSES)}

    card = ModelCard(
        name=name, classes=CLASSES, input_shape=(1, 150, 150), pixel_scale_arcsec=PIXEL_SCALE_ARCSEC,
        preprocessing=dict(PREPROCESSING), architecture=architecture,
        architecture_options={"in_channels": 1, "n_classes": len(CLASSES), **options}, output="logits",
        info={
            "description": "FR-I / FR-II classifier of VLA FIRST 1.4 GHz radio galaxy cutouts",
            "training_data": "MiraBest basic (confidently classified FRI/FRII), batches "
                             f"{sorted(set(data.batch.tolist()))}, {len(x_tr)} training images",
            "validation_split": {"fraction": 0.2, "stratified": True, "seed": seed, "n_images": len(val_idx),
                                 "function": "glue_xai.data.mirabest.validation_split"},
            "validation_accuracy": acc, "validation_loss": val_loss, "validation_recall": per_class,
            "best_epoch": best[3], "epochs": epochs, "seed": seed, "augmentation": "random rotation + flip",
            "training_seconds": round(time.time() - start, 1), "history": history,
            "recipe": f"glue-xai train --epochs {epochs} --seed {seed} (architecture {architecture}, options {options})",
            "preprocessing_note": "pixels below median + 3 sigma (sigma-clipped sky) set to 0, then divided by "
                                  "the peak; a 150x150 centre crop at 1.8 arcsec/pixel",
            "terms_of_use": MIRABEST_TERMS, "citations": MIRABEST_CITATIONS,
        })
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(module.state_dict(), out_dir / f"{stem}.pt")
    card.save(out_dir / f"{stem}.json")
    log(f"best epoch {best[3]}: validation accuracy {acc:.3f} on {len(val_idx)} images -> {out_dir}")
    return card


def add_arguments(parser):
    parser.add_argument("--out", default=str(Path(__file__).parent / "weights"), help="folder for weights + card")
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--batches", type=int, nargs="*", default=None, help="which data_batch_N to use")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=None, help="MiraBest folder (default: ../shared/data/mirabest)")
    parser.add_argument("--widths", type=int, nargs="+", default=None, help="channels of the CNN's blocks")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--name", default="mirabest-fr",
                        help="model name; files are <name with _ for ->.pt and .json")
    parser.add_argument("--smooth", action="store_true",
                        help="average pooling instead of stride/max-pooling (smoother gradient maps)")
    parser.add_argument("--double-last", type=int, default=SHIPPED_OPTIONS["double_last"],
                        help="blocks (from the end) with two convolutions")


def run(args):
    """Train with the options :func:`add_arguments` parsed; returns the model card."""
    options = {"widths": list(args.widths)} if args.widths else {}
    if args.double_last:  # 0 is RadioCNN's own default
        options["double_last"] = args.double_last
    if args.smooth:
        options["smooth"] = True
    return train(args.out, epochs=args.epochs, batches=args.batches, seed=args.seed, root=args.root, lr=args.lr,
                 architecture_options=options, name=args.name, stem=args.name.replace("-", "_"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    card = run(parser.parse_args(argv))
    print(json.dumps({"validation_accuracy": card.info["validation_accuracy"]}))


if __name__ == "__main__":
    main()
