"""A radio-galaxy CNN that cannot tell a source from its rotations by 90 degrees or its mirror image.

Radio galaxies have no preferred orientation on the sky, yet an ordinary CNN, even one
trained on randomly rotated images, can answer differently for a source and the same
source turned by 90 degrees. Here every convolution is a group convolution over the
eight symmetries of the pixel grid (the dihedral group D4: four rotations, each with and
without a mirror; Cohen & Welling 2016). A feature map then comes in eight copies, one
per symmetry, and turning the input only turns the maps and permutes the copies. Pooling
over space and over the eight copies at the end gives features, probabilities, and so
the maps' arithmetic, that are the same for all eight orientations of a cutout, and a
saliency map of a turned cutout is the turned map.

Everything else is :class:`~glue_xai.models.architectures.EmissionCNN`'s design: no
biases and no batch normalisation, so empty sky (exact zeros after the wrapper's clip)
gives exactly zero features; a full-resolution first layer; 2x2 averages between blocks.
The 150-pixel input is padded with 5 pixels of empty sky each side, so every grid
(160, 80, 40, 20, 10) has an even size and the 2x2 averages fall on the same pixel pairs
whichever way the input is turned: that is what makes the symmetry exact, not approximate.
"""
import torch
from torch import nn
import torch.nn.functional as F

from glue_xai.models.architectures import emission_trunk, reads_features, register_architecture, second_block_output

#: The eight symmetries as (mirror, quarter turns): act on an array by flipping its last
#: axis if ``mirror``, then turning it ``quarter turns`` times by 90 degrees.
SYMMETRIES = [(mirror, turns) for mirror in (0, 1) for turns in range(4)]


def turn(x, symmetry):
    """Apply one symmetry (an index into :data:`SYMMETRIES`) to the last two axes of ``x``."""
    mirror, turns = SYMMETRIES[symmetry]
    if mirror:
        x = torch.flip(x, dims=(-1,))
    return torch.rot90(x, turns, dims=(-2, -1))


def _group_tables():
    """``compose[a][b]``: the symmetry that is ``b`` followed by ``a``; ``inverse[a]``.
    Found by acting on an array with no symmetry of its own, so no convention can slip."""
    probe = torch.arange(9.0).reshape(3, 3) ** 2
    images = [turn(probe, s) for s in range(8)]

    def which(image):
        return next(s for s in range(8) if torch.equal(images[s], image))

    compose = [[which(turn(turn(probe, b), a)) for b in range(8)] for a in range(8)]
    inverse = [compose[a].index(0) for a in range(8)]
    return compose, inverse


COMPOSE, INVERSE = _group_tables()


class LiftingConv(nn.Module):
    """An ordinary image (N, C, H, W) -> eight turned copies of each filter's response,
    laid out as channels ``c * 8 + symmetry``."""

    def __init__(self, n_in, n_out, kernel_size=3):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in, kernel_size, kernel_size))
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")

    def filters(self):
        bank = torch.stack([turn(self.weight, s) for s in range(8)], dim=1)  # (out, 8, in, k, k)
        return bank.reshape(-1, *self.weight.shape[1:])

    def forward(self, x):
        return F.conv2d(x, self.filters(), padding=self.weight.shape[-1] // 2)


class GroupConv(nn.Module):
    """Maps on the group (N, C_in * 8, H, W) -> (N, C_out * 8, H, W). The filter for output
    copy ``g`` is the base filter turned by ``g`` with its input copies permuted by
    ``g``'s inverse, which makes turning the input turn the output the same way."""

    def __init__(self, n_in, n_out, kernel_size=3):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_out, n_in, 8, kernel_size, kernel_size))
        # fan-in counts all eight input copies
        nn.init.kaiming_normal_(self.weight.view(n_out, n_in * 8, kernel_size, kernel_size), nonlinearity="relu")
        order = torch.tensor([[COMPOSE[INVERSE[g]][h] for h in range(8)] for g in range(8)])
        self.register_buffer("order", order, persistent=False)

    def filters(self):
        n_out, n_in, _, k, _ = self.weight.shape
        bank = torch.stack([turn(self.weight[:, :, self.order[g]], g) for g in range(8)], dim=1)
        return bank.reshape(n_out * 8, n_in * 8, k, k)

    def forward(self, x):
        return F.conv2d(x, self.filters(), padding=self.weight.shape[-1] // 2)


class SymmetricEmissionCNN(nn.Module):
    """:class:`~glue_xai.models.architectures.EmissionCNN` with group convolutions over the
    eight symmetries of the pixel grid (see the module's docstring). ``widths`` count
    filters per block; each gives eight feature maps, so block ``i`` has ``8 * widths[i]``
    channels. ``pad``: empty sky added on each side of the 150-pixel input so that every
    grid has an even size (150 + 2 * 5 = 160 = 10 * 2**4)."""

    def __init__(self, in_channels=1, n_classes=2, widths=(2, 4, 8, 12, 16), dropout=0.3, gain=25.0, pad=5):
        super().__init__()
        self.trunk = emission_trunk(
            widths, lambda n_in, n_out: LiftingConv(in_channels, n_out) if n_in is None else GroupConv(n_in, n_out))
        #: Empty sky padded on each side inside the network; Grad-CAM reads it to resample
        #: its layer to the padded field and cut the input back out.
        self.input_padding = int(pad)
        self.gain = float(gain)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x):
        maps = self.trunk(F.pad(x, (self.input_padding,) * 4))
        n, c, _, _ = maps.shape
        # the mean over space and over the eight copies: the same for every orientation
        return self.gain * maps.reshape(n, c // 8, -1).mean(dim=2)

    @reads_features
    def forward(self, x):
        return self.head(self.dropout(self.features(x)))

    def gradcam_layer(self):
        """The second block's output, an 80x80 grid over the padded field (3.6"/px for
        1.8" input pixels), as for EmissionCNN."""
        return second_block_output(self.trunk)


register_architecture("emission_cnn_d4", SymmetricEmissionCNN)

