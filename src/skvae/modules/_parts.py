"""The encoders and decoders that the estimators' ``architecture`` builds: MLPs and conv nets."""

from typing import Sequence

from torch import nn


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """Fully connected encoder with ReLU hidden layers.

    Maps ``(N, n_features)`` to ``(N, n_outputs)``; the last layer is linear.

    Parameters
    ----------
    n_features : int
        Size of an input row.
    n_outputs : int
        Size of the output: ``n_components`` for an autoencoder, twice that
        for a VAE (mean and log-variance).
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers, from the input towards the code.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes=(256, 128)):
        super().__init__()
        self.net = _mlp([n_features, *hidden_layer_sizes, n_outputs])

    def forward(self, x):
        return self.net(x)


class MLPDecoder(nn.Module):
    """Fully connected decoder with ReLU hidden layers and a linear output.

    Maps ``(N, n_components)`` to ``(N, n_features)``. The output is not
    squashed: a Bernoulli likelihood reads it as logits, a Gaussian one as the
    mean, so data outside [0, 1] never meets a Sigmoid it cannot reach.

    Parameters
    ----------
    n_components : int
        Size of the code.
    n_features : int
        Size of an output row.
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers, from the code towards the output (usually
        the encoder's, reversed).
    """

    def __init__(self, n_components, n_features, hidden_layer_sizes=(128, 256)):
        super().__init__()
        self.net = _mlp([n_components, *hidden_layer_sizes, n_features])

    def forward(self, z):
        return self.net(z)


def conv_feature_sizes(height, width, n_layers):
    """Spatial size after each of ``n_layers`` strided convolutions, input first.

    A dimension of 2 or more is halved (rounding down) by a 4x4 kernel with
    stride 2 and padding 1; a dimension of 1 stays 1 (3x3 kernel, stride 1).
    """
    sizes = [(height, width)]
    for _ in range(n_layers):
        sizes.append(tuple(size // 2 if size >= 2 else 1 for size in sizes[-1]))
    return sizes


def auto_conv_channels(height, width, smallest=4, first=32, widest=256):
    """Channels of stride-2 stages that take an image down to at most ``smallest`` pixels a side.

    Stages continue while the larger side exceeds ``smallest`` (at least one),
    channels doubling inwards from ``first`` up to ``widest``: 8x8 gives
    ``(32,)``, 28x28 ``(32, 64, 128)``, 64x64 ``(32, 64, 128, 256)``.
    """
    n_stages, size = 1, max(height, width) // 2
    while size > smallest:
        n_stages, size = n_stages + 1, size // 2
    return tuple(min(first * 2**i, widest) for i in range(n_stages))


def _normalised(channels, size):
    """A ``BatchNorm2d`` for a feature map of ``size`` (H, W), or nothing for a single pixel.

    Measured on 64x64 colour images (benchmarks/README.md): with it, four
    stride-2 stages reach the test ELBO of two stages with a 16x16 map in the
    same epochs; without it they lag. A one-pixel map is left alone, since a
    batch of one row would give batch normalisation a single value per channel.
    """
    return [nn.BatchNorm2d(channels)] if size[0] * size[1] > 1 else []


def _conv_geometry(source, target):
    """Kernel, stride and output padding taking ``source`` to ``target`` along one axis.

    Describes the encoder's convolution from ``target`` down to ``source`` and,
    read backwards, the decoder's transposed convolution from ``source`` back
    up to exactly ``target``.
    """
    if target == source:  # a dimension of 1 that stays 1
        return 3, 1, 0
    return 4, 2, target - 2 * source


class ConvEncoder(nn.Module):
    """Strided convolutions followed by a fully connected head.

    Maps ``(N, C, H, W)`` to ``(N, n_outputs)``. Each convolution (batch
    normalisation and ReLU after it) halves the height and width, rounding
    down, as long as they are 2 or more; any height and width work, odd ones
    and 1 included. Batch normalisation lets four or more stages train about
    as fast as two (see :func:`_normalised`).

    Parameters
    ----------
    input_shape : (C, H, W)
        Shape of one input image.
    n_outputs : int
        Size of the output: ``n_components``, or twice that for a VAE.
    conv_channels : sequence of int
        Output channels of each convolution, from the image inwards.
    hidden_layer_sizes : sequence of int
        Widths of the dense layers between the flattened feature map and the
        output.
    """

    def __init__(self, input_shape, n_outputs, conv_channels=(32, 64), hidden_layer_sizes=(256,)):
        super().__init__()
        channels, height, width = input_shape
        sizes = conv_feature_sizes(height, width, len(conv_channels))
        layers = []
        for n_in, n_out, (target, source) in zip(
            [channels, *conv_channels], conv_channels, zip(sizes, sizes[1:])
        ):
            (kh, sh, _), (kw, sw, _) = (_conv_geometry(s, t) for s, t in zip(source, target))
            conv = nn.Conv2d(n_in, n_out, (kh, kw), (sh, sw), padding=1)
            layers += [conv, *_normalised(n_out, source), nn.ReLU()]
        self.conv = nn.Sequential(*layers)
        n_flat = conv_channels[-1] * sizes[-1][0] * sizes[-1][1] if conv_channels else channels * height * width
        self.head = _mlp([n_flat, *hidden_layer_sizes, n_outputs])

    def forward(self, x):
        return self.head(self.conv(x).flatten(1))


class ConvDecoder(nn.Module):
    """Fully connected layers followed by transposed convolutions.

    Maps ``(N, n_components)`` to ``(N, C, H, W)``, exactly the shape that
    :class:`ConvEncoder` takes: each transposed convolution doubles the feature
    map and pads by one where the encoder rounded an odd size down. The output
    is not squashed (logits or Gaussian mean).

    Parameters
    ----------
    n_components : int
        Size of the code.
    output_shape : (C, H, W)
        Shape of one output image.
    conv_channels : sequence of int
        Input channels of each transposed convolution, from the code outwards
        (usually the encoder's, reversed); the last one outputs C channels.
    hidden_layer_sizes : sequence of int
        Widths of the dense layers between the code and the first feature map.
    """

    def __init__(self, n_components, output_shape, conv_channels=(64, 32), hidden_layer_sizes=(256,)):
        super().__init__()
        channels, height, width = output_shape
        sizes = conv_feature_sizes(height, width, len(conv_channels))[::-1]
        first = (conv_channels[0], *sizes[0]) if conv_channels else (channels, height, width)
        self.head = nn.Sequential(
            _mlp([n_components, *hidden_layer_sizes, first[0] * first[1] * first[2]]),
            nn.Unflatten(1, first),
        )
        layers = []
        for n_in, n_out, (source, target) in zip(
            conv_channels, [*conv_channels[1:], channels], zip(sizes, sizes[1:])
        ):
            (kh, sh, ph), (kw, sw, pw) = (_conv_geometry(s, t) for s, t in zip(source, target))
            layers += [
                *_normalised(n_in, source),
                nn.ReLU(),
                nn.ConvTranspose2d(n_in, n_out, (kh, kw), (sh, sw), padding=1, output_padding=(ph, pw)),
            ]
        self.deconv = nn.Sequential(*layers)

    def forward(self, z):
        return self.deconv(self.head(z))
