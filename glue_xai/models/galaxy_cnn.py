"""A small CNN for optical galaxy images in several bands (g, r, z in nanomaggies).

Registered as architecture ``"galaxy_cnn"``, so shipped models load from plain state
dicts, and usable as an SFNet trunk (``SFNet(trunk="galaxy_cnn", in_channels=3)``).
"""
import torch
from torch import nn

from glue_xai.models.architectures import PooledCNN, _conv_block, register_architecture

#: Per-band asinh softening (nanomaggies per pixel): about twice DECaLS's g, r, z sky noise.
DECALS_SOFTENING = (0.008, 0.014, 0.034)


class AsinhStretch(nn.Module):
    """``asinh(x / softening) / scale`` per band: linear in the sky noise, logarithmic in
    a bright bulge, as astronomers stretch optical images; the network sees the bar and
    the outer disc beside a bulge hundreds of times brighter. Fixed, not learned, and
    part of the network, so the model takes images in their own units (the card's
    preprocessing is "none") and gradients reach those units."""

    def __init__(self, softening, scale=4.0):
        super().__init__()
        self.register_buffer("softening", torch.tensor([float(s) for s in softening]).view(1, -1, 1, 1))
        self.scale = float(scale)

    def forward(self, x):
        return torch.asinh(x / self.softening) / self.scale

    def extra_repr(self):
        return f"softening={self.softening.flatten().tolist()}, scale={self.scale}"


class GalaxyCNN(PooledCNN):
    """asinh stretch -> 2x2 average pool -> a 5x5 convolution -> 2x2 average pools and 3x3
    convolutions -> global average pooling -> one linear layer.

    The first pool puts DECaLS's 0.262" pixels on a 0.524" grid, which still samples the
    1-1.6" seeing with two to three pixels, and makes a CPU epoch five times cheaper.
    Average pooling and no strides: input gradients carry no checkerboard, so saliency
    maps follow the galaxy's structure. About 62 thousand weights (a 0.25 MB file) and
    4 million multiply-adds for a 64x64 image in three bands.

    ``pools``: how many 2x2 average pools the trunk has, the first before the first
    convolution and one before each later convolution until the count is reached. The
    default (4, one per convolution) ends on a 4x4 grid of 4.2" cells; 2 ends on a 16x16
    grid of 1.05" cells, fine enough for a feature map to follow a bulge, a bar or a disc
    (the galaxy SFNet's trunk) at four times the multiply-adds.

    ``input_pool``: whether the first 2x2 pool (before the first convolution) is there
    (default, as the earlier models were trained). ``False`` runs the first convolution on
    the 0.262" pixels and leaves every later grid twice as fine (block 2 on 32x32 cells of
    0.52" for a 64x64 image) at about four times the multiply-adds. Grad-CAM maps are no
    finer than their block's grid, and a bar's end is read from them: on the tune part
    galaxy-bars' 8-symmetry Grad-CAM bar lengths went from r 0.83 to 0.89 without this pool
    (docs/galaxies.rst). It does not count in ``pools``, which still counts the pools
    before the later convolutions as if it were there.

    ``padding_mode``: the convolutions' padding, ``"zeros"`` (galaxy-bars) or
    ``"circular"`` (galaxy-bt-sfnet), which wraps the sky round so the trunk has no image
    edge to respond to: with zero padding the SFNet's maps sat 4 px below the galaxy with a
    stripe by the bottom edge (tune part; docs/galaxies.rst).
    """

    def __init__(self, in_channels=3, n_classes=2, widths=(16, 32, 64, 64), dropout=0.2,
                 softening=DECALS_SOFTENING, pools=None, padding_mode="zeros", input_pool=True):
        super().__init__()
        if len(softening) != in_channels:
            raise ValueError(f"softening needs one value per band ({in_channels}), got {list(softening)}")
        pools = len(widths) if pools is None else int(pools)
        if not 1 <= pools <= len(widths):
            raise ValueError(f"pools must be 1 to {len(widths)}, got {pools}")
        pad = {"padding_mode": padding_mode}
        # The input pool keeps its place in the Sequential when present, so the shipped
        # state dicts (keys trunk.<index>...) load unchanged; without it the indices shift,
        # which is fine, as such weights are saved with input_pool=False in their card.
        layers = [AsinhStretch(softening), *([nn.AvgPool2d(2)] if input_pool else []),
                  *_conv_block(in_channels, widths[0], 5, **pad)]
        for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
            if i < pools:
                layers.append(nn.AvgPool2d(2))
            layers += _conv_block(n_in, n_out, **pad)
        self.trunk = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)


register_architecture("galaxy_cnn", GalaxyCNN)
