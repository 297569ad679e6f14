"""Network architectures known by name, so a model file holds only weights (a state dict).

Loading by name is what lets :func:`glue_xai.models.load_model` read files with
``torch.load(weights_only=True)``: nothing in the file is executed.
"""
import torch
from torch import nn


def _conv_block(n_in, n_out, kernel_size=3, stride=1, padding_mode="zeros"):
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2, bias=False,
                  padding_mode=padding_mode),
        nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=False),
    )


def reads_features(forward):
    """Mark a ``forward`` that is ``head(features(x))`` (maybe with a dropout between, idle
    when evaluating): the head's input then is exactly ``features(x)``, so a survey batch
    takes the out-of-distribution features from the pass that gives the probabilities
    instead of running the network a second time (glue_xai/survey/batched.py)."""
    forward.head_reads_features = True
    return forward


class PooledCNN(nn.Module):
    """A ``trunk`` of convolutions, global average pooling and a linear ``head``: the shape
    shared by the image CNNs here. ``features(x)`` are the pooled penultimate features
    (embeddings, the out-of-distribution check); Grad-CAM hooks the trunk's last layer."""

    def features(self, x):
        return torch.flatten(self.pool(self.trunk(x)), 1)

    @reads_features
    def forward(self, x):
        return self.head(self.dropout(self.features(x)))

    def gradcam_layer(self):
        return self.trunk[-1]


class RadioCNN(PooledCNN):
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


class EmissionCNN(nn.Module):
    """A CNN that sees nothing in empty sky: zero input gives exactly zero features.

    The wrapper sets every sky pixel below 3 sigma to 0, so a radio cutout reaches the
    network as islands of emission in a sea of exact zeros. Every convolution here is
    bias-free and there is no batch normalisation (whose shift would light up empty
    sky), so each feature map is exactly 0 wherever its receptive field holds no
    emission. Two consequences an astronomer can rely on:

    * input gradients (saliency, SmoothGrad) and Grad-CAM live only on and next to the
      emission, by the network's construction, not by masking the map afterwards;
    * the first convolution runs at full resolution (3x3: gradients reach two pixels beyond the
      emission) and every later step down is a 2x2 average, a low-pass filter, so the
      maps carry no stride or max-pool checkerboard.

    Global average pooling makes the features indifferent to position, and ``head`` is
    one linear layer (its bias is the logit of a field with no emission at all). A radio
    source covers a few per cent of the field, so the pooled features are multiplied by
    ``gain`` to put them near unity, where the head learns at the usual pace.
    """

    def __init__(self, in_channels=1, n_classes=2, widths=(8, 16, 32, 64, 64), dropout=0.3, gain=25.0):
        super().__init__()
        self.trunk = emission_trunk(
            widths, lambda n_in, n_out: nn.Conv2d(in_channels if n_in is None else n_in, n_out, 3, padding=1,
                                                  bias=False))
        for m in self.trunk:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.gain = float(gain)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(widths[-1], n_classes)

    def features(self, x):
        return self.gain * torch.flatten(self.pool(self.trunk(x)), 1)

    @reads_features
    def forward(self, x):
        return self.head(self.dropout(self.features(x)))

    def gradcam_layer(self):
        """The second block's output, a 75x75 grid (3.6"/px for 1.8" input pixels): fine
        enough to part a core from its lobes, where the last 9x9 grid draws one stripe
        across both (chosen on the tune part, docs/trust.rst)."""
        return second_block_output(self.trunk)


def emission_trunk(widths, conv):
    """EmissionCNN's trunk: per block a convolution and a ReLU (two of each from the fourth
    block on: a second convolution on the coarse grids deepens the features cheaply), a 2x2
    average between blocks. ``conv(n_in, n_out)`` makes one bias-free convolution;
    ``n_in`` is None for the first, which reads the image."""
    layers = []
    n_in = None
    for i, width in enumerate(widths):
        if i > 0:
            layers.append(nn.AvgPool2d(2))
        layers += [conv(n_in, width), nn.ReLU()]
        if i >= 3:
            layers += [conv(width, width), nn.ReLU()]
        n_in = width
    return nn.Sequential(*layers)


def second_block_output(trunk):
    """The ReLU after the second convolution of an :func:`emission_trunk`."""
    convs = [i for i, m in enumerate(trunk) if not isinstance(m, (nn.AvgPool2d, nn.ReLU))]
    return trunk[convs[1] + 1]


ARCHITECTURES = {"radio_cnn": RadioCNN, "emission_cnn": EmissionCNN}
#: Architectures defined in modules of their own, imported on first use (they build on
#: the ones above, so this module cannot import them at its top): name -> module.
LAZY_ARCHITECTURES = {"sfnet": "glue_xai.models.sfnet", "galaxy_cnn": "glue_xai.models.galaxy_cnn",
                      "timm": "glue_xai.models.timm_backbone", "emission_cnn_d4": "glue_xai.models.symmetric_cnn"}


def register_architecture(name, builder):
    """Make ``builder(**options)`` loadable from state-dict files that name ``name``."""
    ARCHITECTURES[name] = builder


#: Entry-point group through which an installed package names its architectures
#: (``my-net = "my_package.nets:MyNet"``), so its cards load from plain state dicts.
ARCHITECTURES_GROUP = "glue_xai.architectures"


def _installed_architectures():
    """name -> entry point of the installed packages' architectures."""
    from importlib.metadata import entry_points

    return {entry.name: entry for entry in entry_points(group=ARCHITECTURES_GROUP)}


def build_architecture(name, **options):
    """The network called ``name``: glue-xai's own, one given to :func:`register_architecture`,
    or one an installed package declares in the ``glue_xai.architectures`` entry-point group."""
    if name not in ARCHITECTURES and name in LAZY_ARCHITECTURES:
        import importlib

        importlib.import_module(LAZY_ARCHITECTURES[name])  # the module registers itself
    if name not in ARCHITECTURES:
        installed = _installed_architectures()
        if name not in installed:
            known = sorted(set(ARCHITECTURES) | set(LAZY_ARCHITECTURES) | set(installed))
            raise ValueError(f"unknown architecture {name!r}; known: {known} (a package adds one through the "
                             f"{ARCHITECTURES_GROUP!r} entry-point group, Python code with "
                             "register_architecture)") from None
        entry = installed[name]
        try:
            ARCHITECTURES[name] = entry.load()
        except Exception as error:
            raise ValueError(f"architecture {name!r} ({entry.value}) could not be imported: "
                             f"{type(error).__name__}: {error}") from error
    return ARCHITECTURES[name](**options)
