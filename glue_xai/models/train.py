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
from glue_xai.data.mirabest import (CLASSES, PIXEL_SCALE_ARCSEC, load_mirabest_batches, mirabest_root,
                                    validation_split)

MIRABEST_TERMS = (
    "FIRST survey images: 'Permission is granted for publication and reproduction of this material "
    "for scholarly, educational, and private non-commercial use.'")
MIRABEST_CITATIONS = [
    "Miraghaei H., Best P. N., 2017, MNRAS, 466, 4346",
    "Porter F. A. M., Scaife A. M. M., 2020, MiraBest dataset, Zenodo, doi:10.5281/zenodo.4288837",
]
#: The shipped model's architecture options (second convolution in the two coarsest blocks).
SHIPPED_OPTIONS = {"radio_cnn": {"double_last": 2}}
PREPROCESSING = {"background": "sigma_clip", "clip_sigma": 3.0, "scale": "max"}
#: AdamW's decoupled weight decay of the shipped recipe.
WEIGHT_DECAY = 1e-4


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


def emission_masks(images, grow=3):
    """Where each (N, h, w) model-ready image's source is: its emission islands (as the
    radio superpixels find them, :func:`~glue_xai.methods.segmentation.emission_islands`;
    smaller islands are noise peaks), or its brightest pixel when there is none, grown by
    ``grow`` pixels (one beam). Used by the gradient penalty."""
    from scipy import ndimage

    from glue_xai.methods.segmentation import emission_islands

    masks = np.zeros(images.shape, dtype=bool)
    for i, image in enumerate(images):
        if not image.any():  # a blank image (MiraBest has six): no source anywhere
            continue
        keep = emission_islands(image)
        if not keep.any():
            keep = image == image.max()
        masks[i] = ndimage.binary_dilation(keep, iterations=grow)
    return masks


def beam_kernel(pixel_scale_arcsec=PIXEL_SCALE_ARCSEC, beam_arcsec=5.4):
    """A (1, 1, k, k) Gaussian that gives white noise FIRST's beam-correlated texture."""
    import torch

    sigma = beam_arcsec / 2.3548 / pixel_scale_arcsec
    r = int(np.ceil(3 * sigma))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    k = np.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
    k /= np.sqrt((k ** 2).sum())  # unit-variance output from unit-variance white noise
    return torch.from_numpy(k.astype(np.float32))[None, None]


def add_sky_noise(x, generator, kernel, k_sigma=3.0):
    """Another realisation of the sky: what the wrapper makes of a real cutout.

    The dataset images are already clipped at 3 sigma and scaled to a peak of 1, so the
    clip level is the faintest non-zero pixel, and the sky sigma a third of it. Add
    beam-correlated noise at that sigma, clip at 3 sigma again and rescale to the peak:
    new noise peaks appear in the sky and the faint edges of the source move, exactly
    as between two real observations of the same source.
    """
    import torch
    import torch.nn.functional as F

    positive = torch.where(x > 0, x, torch.full_like(x, float("inf")))
    sigma = positive.flatten(1).min(1).values.clamp(max=0.1) / k_sigma
    sigma = torch.where(torch.isfinite(sigma), sigma, torch.full_like(sigma, 0.01))
    white = torch.randn(x.shape, generator=generator)
    noise = F.conv2d(white, kernel, padding=kernel.shape[-1] // 2)
    noisy = x + sigma[:, None, None, None] * noise
    noisy = torch.where(noisy < k_sigma * sigma[:, None, None, None], torch.zeros_like(noisy), noisy)
    peak = noisy.flatten(1).max(1).values.clamp(min=1e-6)
    return noisy / peak[:, None, None, None]


def off_source_gradient_share(module, x, mask):
    """Share of the input-gradient energy of both logits that lies off the source
    (Ross et al. 2017, "right for the right reasons", as a scale-free fraction)."""
    import torch

    x = x.detach().clone().requires_grad_(True)
    logits = module(x)
    (grad,) = torch.autograd.grad(logits.abs().sum(), x, create_graph=True)
    energy = grad ** 2
    total = energy.flatten(1).sum(1) + 1e-12
    outside = (energy * (~mask)).flatten(1).sum(1)
    return (outside / total).mean()


def evaluate(module, x, y, batch_size=256):
    import torch

    module.eval()
    logits = []
    with torch.inference_mode():
        for s in range(0, len(x), batch_size):
            logits.append(module(x[s:s + batch_size]))
    logits = torch.cat(logits)
    probs = torch.softmax(logits, 1)
    loss = float(torch.nn.functional.cross_entropy(logits, y))
    return float((probs.argmax(1) == y).float().mean()), loss, probs.numpy(), logits.numpy()


def fit_temperature(logits, labels):
    """The temperature T minimising the validation log-loss of softmax(logits / T)
    (Guo et al. 2017); rescales confidence without changing any prediction."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)

    def nll(log_t):
        z = logits / np.exp(log_t)
        z = z - z.max(1, keepdims=True)
        return float(-(z[np.arange(len(z)), labels] - np.log(np.exp(z).sum(1))).mean())

    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


def tune_cutouts(train_keys, val_keys, root=None, seed=0, repeat=2):
    """The tune part's raw FITS cutouts of FR I/II sources, as the wrapper feeds them to the
    model: ``(x_train, y_train, x_val, y_val)`` float32 (N, 1, 150, 150) and int labels.

    The batches hold only standard, confidently classified sources; these cutouts add what
    the model meets on real sky and never met in training: the survey's own noise and
    neighbours, bent (wide-angle and head-tail) FR Is, double-doubles and uncertain FR I/IIs.
    A source whose batch image is in the training (validation) images goes with it; the
    sources found only as FITS are split 80/20 by class code. Sources found only as FITS
    are repeated ``repeat`` times in the training set (they are few). Hybrids are left out.
    """
    from glue_xai.data.cutouts import read_image
    from glue_xai.data.splits import dev_split

    tune_rows, _ = dev_split(root).catalogue_rows(root)
    rows = [r for r in tune_rows if r["fr_class"] in CLASSES]
    only_fits = [r for r in rows if r["key"] not in train_keys and r["key"] not in val_keys]
    codes = np.array([int(r["class_code"]) for r in only_fits])
    _, val_rel = validation_split(codes, 0.2, seed) if len(only_fits) else (None, np.zeros(0, int))
    val_only = {only_fits[i]["key"] for i in val_rel}
    x_tr, y_tr, x_val, y_val = [], [], [], []
    for r in rows:
        image, _, _ = read_image(mirabest_root(root) / r["fits_file"], require_wcs=False)
        # The wrapper's own steps: the sky noise is measured on the whole cutout.
        x = normalise(_centre(image, 150), PREPROCESSING, noise_image=image)[None].astype(np.float32)
        y = CLASSES.index(r["fr_class"])
        if r["key"] in val_keys or r["key"] in val_only:
            x_val.append(x), y_val.append(y)
        else:
            copies = 1 if r["key"] in train_keys else repeat
            x_tr.extend([x] * copies), y_tr.extend([y] * copies)

    def stack(xs):
        return np.stack(xs) if xs else np.zeros((0, 1, 150, 150), np.float32)
    return stack(x_tr), np.array(y_tr, int), stack(x_val), np.array(y_val, int)


def _centre(image, size):
    # The cutouts are at the model's own 1.8"/px, so the wrapper's crop is the centre crop.
    h, w = image.shape
    y0, x0 = (h - size) // 2, (w - size) // 2
    return image[y0:y0 + size, x0:x0 + size]


def train(out_dir, epochs=150, batches=None, seed=0, batch_size=32, lr=2e-3, root=None,
          architecture="emission_cnn", architecture_options=None, name="mirabest-fr", stem="mirabest_fr",
          noise_augment=0.5, gradient_penalty=0.0, fits=False, split_seed=None, weight_average=0.0,
          weight_decay=WEIGHT_DECAY, log=print):
    """Train on the tune part of the MiraBest batches (:mod:`glue_xai.data.splits`); write
    ``<stem>.pt`` (state dict) and ``<stem>.json`` (card).

    ``noise_augment``: probability that a training image gets a new sky-noise realisation
    (:func:`add_sky_noise`). ``gradient_penalty``: weight of the off-source share of the
    input gradients in the loss (0 switches it off; it doubles the cost of an epoch).
    ``fits``: also train (and pick the epoch) on the tune part's raw FITS cutouts
    (:func:`tune_cutouts`). ``split_seed``: seed of the validation split (default ``seed``);
    fixing it lets networks trained from other seeds be compared, or averaged, on the same
    validation images. ``weight_average``: if above 0, the decay per step of an exponential
    moving average of the weights; the epoch (and so the weights kept) is then picked among
    the averaged network's epochs. An average of nearby weights is a flatter, often better
    generalising network at no cost at inference. ``weight_decay``: AdamW's decoupled decay.
    """
    import torch

    from glue_xai.data.splits import dev_split
    from glue_xai.models.architectures import build_architecture
    from glue_xai.models.card import ModelCard

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    data = load_mirabest_batches(root, batches)
    tune, _ = dev_split(root).batch_indices(data)  # the report part is never seen here
    split_seed = seed if split_seed is None else split_seed
    train_rel, val_rel = validation_split(data.labels[tune], 0.2, split_seed)
    train_idx, val_idx = tune[train_rel], tune[val_rel]
    # Train on exactly what the wrapper feeds the model at inference (its card's steps),
    # so a raw FITS cutout and a dataset image meet the same network input.
    images = np.stack([normalise(img.astype(np.float64), PREPROCESSING) for img in data.images]).astype(np.float32)
    x = torch.from_numpy(images)[:, None]
    masks = torch.from_numpy(emission_masks(images))[:, None]
    y = torch.from_numpy(data.labels).long()
    x_tr, m_tr, y_tr, x_val, y_val = x[train_idx], masks[train_idx], y[train_idx], x[val_idx], y[val_idx]
    n_fits = (0, 0)
    if fits:
        keys = data.source_keys()
        fx_tr, fy_tr, fx_val, fy_val = tune_cutouts({keys[i] for i in train_idx}, {keys[i] for i in val_idx},
                                                    root, split_seed)
        x_tr = torch.cat([x_tr, torch.from_numpy(fx_tr)])
        m_tr = torch.cat([m_tr, torch.from_numpy(emission_masks(fx_tr[:, 0]))[:, None]])
        y_tr = torch.cat([y_tr, torch.from_numpy(fy_tr)])
        x_val = torch.cat([x_val, torch.from_numpy(fx_val)])
        y_val = torch.cat([y_val, torch.from_numpy(fy_val)])
        n_fits = (len(fx_tr), len(fx_val))
    kernel = beam_kernel()

    options = dict(SHIPPED_OPTIONS.get(architecture, {}) if architecture_options is None
                   else architecture_options)
    module = build_architecture(architecture, in_channels=1, n_classes=len(CLASSES), **options)
    counts = torch.bincount(y_tr, minlength=len(CLASSES)).float()
    loss_fn = torch.nn.CrossEntropyLoss(weight=counts.sum() / (len(CLASSES) * counts))
    optimiser = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * math.ceil(len(x_tr) / batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)

    averaged = (torch.optim.swa_utils.AveragedModel(
        module, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(weight_average))
        if weight_average > 0 else None)
    best = (-1.0, float("inf"), None, 0)
    history = []
    start = time.time()
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(len(x_tr), generator=generator)
        for s in range(0, len(order), batch_size):
            idx = order[s:s + batch_size]
            # Image and source mask turn together; the mask is re-thresholded after.
            both = augment(torch.cat([x_tr[idx], m_tr[idx].float()], 1), generator)
            xb, mb = both[:, :1], both[:, 1:] > 0.5
            if noise_augment > 0:
                noisy = torch.rand(len(idx), generator=generator) < noise_augment
                if noisy.any():
                    xb = xb.clone()
                    xb[noisy] = add_sky_noise(xb[noisy], generator, kernel)
            optimiser.zero_grad()
            loss = loss_fn(module(xb), y_tr[idx])
            if gradient_penalty > 0:
                # A quarter of the batch is enough to steer the gradients and keeps the
                # double backward pass from tripling the cost of an epoch.
                k = max(1, len(idx) // 4)
                loss = loss + gradient_penalty * off_source_gradient_share(module, xb[:k], mb[:k])
            loss.backward()
            optimiser.step()
            schedule.step()
            if averaged is not None:
                averaged.update_parameters(module)
        kept = module if averaged is None else averaged.module
        acc, val_loss, _, _ = evaluate(kept, x_val, y_val)
        history.append({"epoch": epoch, "val_accuracy": acc, "val_loss": val_loss})
        log(f"epoch {epoch:3d}  val accuracy {acc:.3f}  val loss {val_loss:.3f}  ({time.time() - start:.0f} s)")
        if acc > best[0] or (acc == best[0] and val_loss < best[1]):
            best = (acc, val_loss, {k: v.clone() for k, v in kept.state_dict().items()}, epoch)
    module.load_state_dict(best[2])
    acc, val_loss, probs, logits = evaluate(module, x_val, y_val)
    temperature = fit_temperature(logits, y_val.numpy())
    pred = probs.argmax(1)
    yv = y_val.numpy()
    per_class = {c: float((pred[yv == i] == i).mean()) for i, c in enumerate(CLASSES)}

    levers = {"noise_augment": noise_augment, "gradient_penalty": gradient_penalty, "fits": fits,
              "weight_average": weight_average, "weight_decay": weight_decay}
    card = ModelCard(
        name=name, classes=CLASSES, input_shape=(1, 150, 150), pixel_scale_arcsec=PIXEL_SCALE_ARCSEC,
        preprocessing=dict(PREPROCESSING), architecture=architecture,
        architecture_options={"in_channels": 1, "n_classes": len(CLASSES), **options}, output="logits",
        temperature=temperature, info={
            "description": "FR-I / FR-II classifier of VLA FIRST 1.4 GHz radio galaxy cutouts",
            "training_data": "MiraBest basic (confidently classified FRI/FRII), tune part of the project's one "
                             "dev split (glue_xai.data.splits), batches "
                             f"{sorted(set(data.batch.tolist()))}, {len(x_tr)} training images"
                             + (f" ({n_fits[0]} of them the tune part's raw FITS cutouts of FR I/II sources, "
                                f"bent and uncertain ones included; sources found only as FITS twice)"
                                if fits else ""),
            "validation_split": {"fraction": 0.2, "stratified": True, "seed": split_seed, "n_images": len(y_val),
                                 "n_fits_cutouts": n_fits[1],
                                 "of": "the tune part", "function": "glue_xai.data.mirabest.validation_split"},
            "tune_validation": {"accuracy": acc, "loss": val_loss, "recall": per_class,
                                "note": "used to pick the epoch and the temperature: not a result"},
            "best_epoch": best[3], "epochs": epochs, "seed": seed,
            "augmentation": "random rotation + flip" + (f"; new sky noise on {noise_augment:.0%} of images"
                                                         if noise_augment else ""),
            "levers": levers,
            "training_seconds": round(time.time() - start, 1), "history": history,
            "recipe": f"glue-xai train --epochs {epochs} --seed {seed} --architecture {architecture} "
                      f"--noise-augment {noise_augment} --gradient-penalty {gradient_penalty}"
                      + (" --fits" if fits else "")
                      + (f" --weight-average {weight_average}" if weight_average > 0 else "")
                      + (f" --weight-decay {weight_decay}" if weight_decay != WEIGHT_DECAY else ""),
            "preprocessing_note": "pixels below median + 3 sigma (sigma-clipped sky) set to 0, then divided by "
                                  "the peak; a 150x150 centre crop at 1.8 arcsec/pixel",
            "terms_of_use": MIRABEST_TERMS, "citations": MIRABEST_CITATIONS,
        })
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(module.state_dict(), out_dir / f"{stem}.pt")
    card.save(out_dir / f"{stem}.json")
    if hasattr(module, "features"):
        write_ood_reference(out_dir, stem, root, seed, batches=batches)
    log(f"best epoch {best[3]}: tune-part validation accuracy {acc:.3f} on {len(y_val)} images, "
        f"temperature {temperature:.2f} -> {out_dir}")
    return card


def write_ood_reference(out_dir, stem="mirabest_fr", root=None, seed=0, copies=4, batches=None):
    """Fit :func:`glue_xai.models.assess.fit_ood_reference` on the model's training images
    (the tune part's training split, each in ``copies`` random orientations with new sky
    noise, as in training) and save it as ``<stem>_ood.npz`` beside the weights."""
    import torch

    from glue_xai.data.splits import dev_split
    from glue_xai.models.assess import fit_ood_reference
    from glue_xai.models.loading import load_model

    out_dir = Path(out_dir)
    model = load_model(out_dir / f"{stem}.pt", card=out_dir / f"{stem}.json")
    data = load_mirabest_batches(root, batches)
    tune, _ = dev_split(root).batch_indices(data)
    split = model.card.info.get("validation_split", {})  # the images it trained on
    train_rel, _ = validation_split(data.labels[tune], 0.2, split.get("seed", model.card.info.get("seed", seed)))
    idx = tune[train_rel]
    x = torch.from_numpy(model.prepare_many(data.images[idx]))
    generator = torch.Generator().manual_seed(seed)
    kernel = beam_kernel()
    views = [x] + [add_sky_noise(augment(x, generator), generator, kernel) for _ in range(copies - 1)]
    labels = np.tile(data.labels[idx], len(views))
    reference = fit_ood_reference(model, torch.cat(views).numpy(), labels,
                                  info={"fitted_on": f"tune-part training images ({len(idx)}) x {len(views)} "
                                                     "views (rotated, new sky noise)"})
    reference.save(out_dir / f"{stem}_ood.npz")
    return reference


def add_arguments(parser):
    parser.add_argument("--out", default=str(Path(__file__).parent / "weights"),
                        help="folder for the weights (.pt) and the model card (.json)")
    parser.add_argument("--epochs", type=int, default=150, help="training epochs (default 150)")
    parser.add_argument("--batches", type=int, nargs="*", default=None,
                        help="which data_batch_N to use (default: all eight)")
    parser.add_argument("--seed", type=int, default=0, help="the one seed of the run (default 0)")
    parser.add_argument("--split-seed", type=int, default=None,
                        help="seed of the validation split (default: --seed)")
    parser.add_argument("--root", default=None, help="MiraBest folder (default: ../shared/data/mirabest)")
    parser.add_argument("--architecture", default="emission_cnn", choices=("emission_cnn", "emission_cnn_d4", "radio_cnn"),
                        help="network (default emission_cnn: exactly zero features on empty sky; emission_cnn_d4: "
                             "the same, with the same answer for every 90-degree turn and mirror image)")
    parser.add_argument("--widths", type=int, nargs="+", default=None,
                        help="channels of the CNN's blocks (default: the architecture's own)")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (default 0.002)")
    parser.add_argument("--noise-augment", type=float, default=0.5,
                        help="share of training images given a new sky-noise realisation (default 0.5)")
    parser.add_argument("--gradient-penalty", type=float, default=0.0,
                        help="weight of the off-source input-gradient share in the loss (default 0: off)")
    parser.add_argument("--fits", action="store_true",
                        help="also train on the tune part's raw FITS cutouts (bent and uncertain FR I/II)")
    parser.add_argument("--weight-average", type=float, default=0.0,
                        help="decay per step of an exponential moving average of the weights, whose epochs "
                             "the best is picked from (default 0: off)")
    parser.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY,
                        help=f"AdamW's decoupled weight decay (default {WEIGHT_DECAY})")
    parser.add_argument("--name", default="mirabest-fr",
                        help="model name; files are <name with _ for ->.pt and .json (default mirabest-fr)")
    parser.add_argument("--smooth", action="store_true",
                        help="radio_cnn only: average pooling instead of stride/max-pooling")
    parser.add_argument("--double-last", type=int, default=2,
                        help="radio_cnn only: blocks (from the end) with two convolutions (default 2)")


def run(args):
    """Train with the options :func:`add_arguments` parsed; returns the model card."""
    options = {"widths": list(args.widths)} if args.widths else {}
    if args.architecture == "radio_cnn":
        if args.double_last:  # 0 is RadioCNN's own default
            options["double_last"] = args.double_last
        if args.smooth:
            options["smooth"] = True
    return train(args.out, epochs=args.epochs, batches=args.batches, seed=args.seed, root=args.root, lr=args.lr,
                 architecture=args.architecture, architecture_options=options, name=args.name,
                 stem=args.name.replace("-", "_"), noise_augment=args.noise_augment,
                 gradient_penalty=args.gradient_penalty, fits=args.fits,
                 split_seed=args.split_seed, weight_average=args.weight_average,
                 weight_decay=args.weight_decay)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    card = run(parser.parse_args(argv))
    print(json.dumps({"tune_validation": card.info["tune_validation"]["accuracy"]}))


if __name__ == "__main__":
    main()
