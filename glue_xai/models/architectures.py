"""Network architectures known by name, so a model file holds only weights (a state dict).

Loading by name is what lets :func:`glue_xai.models.load_model` read files with
``torch.load(weights_only=True)``: nothing in the file is executed.
"""
import torch
from torch import nn


def _conv_block(n_in, n_out):
    return nn.Sequential(
        nn.Conv2d(n_in, n_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=False),
        nn.Conv2d(n_out, n_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(n_out),
        nn.ReLU(inplace=False),
    )


class RadioCNN(nn.Module):
    """A small CNN for radio-galaxy cutouts (150x150 at 1.8"/px for MiraBest).

    ``trunk`` maps the image to feature maps (the last one is Grad-CAM's layer),
    global average pooling makes the features indifferent to where the source sits,
    and ``head`` is one linear layer. ``features(x)`` returns the pooled
    penultimate-layer features, used for embeddings of a catalogue.
    """

    def __init__(self, in_channels=1, n_classes=2, widths=(16, 32, 64, 64), dropout=0.3):
        super().__init__()
        layers, n_in = [], in_channels
        for i, width in enumerate(widths):
            layers.append(_conv_block(n_in, width))
            if i < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
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


def register_architecture(name, builder):
    """Make ``builder(**options)`` loadable from state-dict files that name ``name``."""
    ARCHITECTURES[name] = builder


def build_architecture(name, **options):
    try:
        builder = ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}") from None
    return builder(**options)
