"""A user's own network parts and callback, importable by name: the custom code that model files name."""

import numpy as np
from skorch.callbacks import Callback
from torch import nn


class Encoder(nn.Module):
    """Maps (N, *input_shape) to (N, n_outputs)."""

    def __init__(self, input_shape, n_outputs, width=16):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(input_shape)), width), nn.Tanh(),
                                 nn.Linear(width, n_outputs))

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    """Maps (N, n_components) to (N, *output_shape)."""

    def __init__(self, n_components, output_shape):
        super().__init__()
        self.net = nn.Linear(n_components, int(np.prod(output_shape)))
        self.output_shape = tuple(output_shape)

    def forward(self, z):
        return self.net(z).view(len(z), *self.output_shape)


class CountEpochs(Callback):
    """Counts the epochs it saw: a callback of the user's own, with a setting."""

    def __init__(self, start=0):
        self.start = start

    def initialize(self):
        self.seen_ = self.start
        return self

    def on_epoch_end(self, net, **kwargs):
        self.seen_ += 1
