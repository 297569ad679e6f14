"""Network architectures known by name, so a model file holds only weights (a state dict).

Loading by name is what lets :func:`glue_xai.models.load_model` read files with
``torch.load(weights_only=True)``: nothing in the file is executed.
"""
import torch
from torch import nn


def _conv_block(n_in, n_out, kernel_size=3, stride=1):
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=False),
    )


class RadioCNN(nn.Module):
    """A small CNN for radio-galaxy cutouts (150x150 at 1.8"/px for MiraBest).

    Sized for interactive explanation on a CPU (about 32 million multiply-adds per
    cutout): the first convolution has stride 2, which still samples the 5.4" FIRST beam
    at 3.6"/px, and each later block halves the grid again.

    ``trunk`` maps the image to feature maps (the last one is Grad-CAM's layer),
    global average pooling makes the features indifferent to where the source sits,
    and ``head`` is one linear layer. ``features(x)`` returns the pooled
    penultimate-layer features, used for embeddings of a catalogue.
    """

    def __init__(self, in_channels=1, n_classes=2, widths=(16, 32, 64, 64), dropout=0.3, double_last=0,
                 smooth=False):
        super().__init__()
        # ``smooth``: average pooling where the default strides and max-pools. Striding and
        # max-pooling make input gradients a checkerboard (power at the Nyquist frequency);
        # averaging does not, and saliency maps then follow the source's components.
        if smooth:
            layers = [nn.AvgPool2d(2), _conv_block(in_channels, widths[0], kernel_size=5)]
        else:
            layers = [_conv_block(in_channels, widths[0], kernel_size=5, stride=2)]
        pool = nn.AvgPool2d if smooth else nn.MaxPool2d
        n_in = widths[0]
        for i, width in enumerate(widths[1:], start=1):
            layers += [pool(2), _conv_block(n_in, width)]
            # A second convolution on the coarse grids is cheap and deepens the features.
            if i >= len(widths) - double_last:
                layers[-1] = nn.Sequential(*layers[-1], *_conv_block(width, width))
            n_in = width
        self.trunk = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(n_in, n_classes)

    def features(self, x):
        return torch.flatten(self.pool(self.trunk(x)), 1)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))

    def gradcam_layer(self):
        return self.trunk[-1]


ARCHITECTURES = {"radio_cnn": RadioCNN}
#: Architectures defined in modules of their own, imported on first use (they build on
#: the ones above, so this module cannot import them at its top): name -> module.
LAZY_ARCHITECTURES = {"sfnet": "glue_xai.models.sfnet"}


def register_architecture(name, builder):
    """Make ``builder(**options)`` loadable from state-dict files that name ``name``."""
    ARCHITECTURES[name] = builder


def build_architecture(name, **options):
    if name not in ARCHITECTURES and name in LAZY_ARCHITECTURES:
        import importlib

        importlib.import_module(LAZY_ARCHITECTURES[name])  # the module registers itself
    try:
        builder = ARCHITECTURES[name]
    except KeyError:
        known = sorted(set(ARCHITECTURES) | set(LAZY_ARCHITECTURES))
        raise ValueError(f"unknown architecture {name!r}; known: {known}") from None
    return builder(**options)
