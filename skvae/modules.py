"""Plain PyTorch networks behind the skvae estimators.

Every class here is an ordinary ``torch.nn.Module``: it trains, saves and loads
without skvae. ``N`` is the batch size in the shapes below.
"""

import math
from typing import NamedTuple, Optional, Sequence

import torch
from torch import nn

from ._distributed import sum_across_processes

__all__ = [
    "AutoencoderOutput",
    "MLPEncoder",
    "MLPDecoder",
    "ConvEncoder",
    "ConvDecoder",
    "Autoencoder",
    "VariationalAutoencoder",
    "GaussianMixtureVariationalAutoencoder",
    "ConditionalVariationalAutoencoder",
    "VectorQuantizedAutoencoder",
    "gaussian_kl",
    "gaussian_kl_per_dimension",
    "gaussian_log_density",
    "auto_conv_channels",
]

# exp(-30) and exp(20) are far inside float32's range, so the variance and the
# KL term stay finite however the encoder's raw output drifts.
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0
_LOG_2PI = math.log(2 * math.pi)


class AutoencoderOutput(NamedTuple):
    """What an autoencoder's forward pass returns.

    Attributes
    ----------
    reconstruction : Tensor, shape like the input
        The decoder's output: logits of a Bernoulli likelihood or the mean of
        a Gaussian likelihood, depending on the loss it is trained with.
    z : Tensor of shape (N, n_components)
        The code that was decoded (a sample from the posterior for a VAE).
    mean : Tensor of shape (N, n_components)
        The encoder's code, or the posterior mean for a VAE.
    logvar : Tensor of shape (N, n_components) or None
        The posterior log-variance; None for a deterministic autoencoder.
    kl : Tensor of shape (N,) or None
        ``KL(q(z | x) || p(z))`` per sample under the model's prior, in nats;
        None for a deterministic autoencoder.
    code_loss : Tensor of shape (N,) or None
        A regulariser of the code per sample that is not a KL term (a VQ-VAE's
        codebook and commitment terms); None for the others.
    """

    reconstruction: torch.Tensor
    z: torch.Tensor
    mean: torch.Tensor
    logvar: Optional[torch.Tensor]
    kl: Optional[torch.Tensor] = None
    code_loss: Optional[torch.Tensor] = None


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


class Autoencoder(nn.Module):
    """Deterministic autoencoder: ``x -> z = encoder(x) -> decoder(z)``.

    Parameters
    ----------
    encoder : nn.Module
        Maps an input batch to codes of shape ``(N, n_components)``.
    decoder : nn.Module
        Maps codes of shape ``(N, n_components)`` back to the input's shape.
    output_offset : Tensor of the input's shape without N, optional
        Added to the decoder's output. Setting it to the training data's mean
        (its logit for a Bernoulli likelihood) starts training from the mean
        image instead of from 0.5 everywhere, which Adam would otherwise need
        thousands of steps to reach.
    """

    # What the model is, declared for code that uses it without knowing its class.
    # stochastic: the code is a distribution q(z | x) under a prior, so encode gives a
    # log-variance, kl_divergence a KL term and log_prior log p(z); else logvar is None.
    stochastic = False
    # factorised_prior: the prior is a product over the code's dimensions, so the KL
    # term splits into kl_per_dimension.
    factorised_prior = False

    def __init__(self, encoder, decoder, output_offset=None):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.register_buffer("output_offset", output_offset)

    def encode(self, x):
        """Return ``(mean, logvar)`` of the code; ``logvar`` is None here."""
        return self.encoder(x), None

    def decode(self, z):
        """Return the decoder's raw output (logits or Gaussian mean) for ``z``."""
        out = self.decoder(z)
        return out if self.output_offset is None else out + self.output_offset

    def kl_divergence(self, mean, logvar):
        """``KL(q(z | x) || p(z))`` per sample; None: a deterministic code has no prior."""
        return None

    def forward(self, x):
        """Encode, draw a code (for a VAE) and decode ``x``.

        A conditional model takes a second argument, the per-row condition it
        decodes with (see :class:`ConditionalVariationalAutoencoder`).
        """
        mean, logvar = self.encode(x)
        z = reparameterize(mean, logvar) if self.stochastic else mean
        return AutoencoderOutput(self.decode(z), z, mean, logvar, self.kl_divergence(mean, logvar))


class VariationalAutoencoder(Autoencoder):
    """Autoencoder with a diagonal Gaussian posterior ``q(z | x)``.

    The encoder outputs ``(N, 2 * n_components)``: the posterior mean and the
    log-variance, in that order. The log-variance is clamped to
    ``[LOGVAR_MIN, LOGVAR_MAX]`` so that its exponential never overflows.
    ``forward`` draws ``z`` with the reparameterisation trick, in train and in
    eval mode alike; use ``encode`` for the deterministic posterior mean.
    """

    stochastic = True
    factorised_prior = True

    def encode(self, x):
        mean, logvar = self.encoder(x).chunk(2, dim=-1)
        return mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def kl_divergence(self, mean, logvar):
        """``KL(N(mean, exp(logvar)) || N(0, I))`` per sample, shape (N,), in nats."""
        return gaussian_kl(mean, logvar)

    def kl_per_dimension(self, mean, logvar):
        """``KL(q(z_j | x) || N(0, 1))`` of each dimension j, shape (N, n_components), in nats.

        The prior factorises over the dimensions, so these sum to :meth:`kl_divergence`.
        """
        return gaussian_kl_per_dimension(mean, logvar)

    def log_prior(self, z):
        """``log p(z)`` under N(0, I), in nats; ``z`` of shape (..., n_components) gives (...)."""
        return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)


class GaussianMixtureVariationalAutoencoder(VariationalAutoencoder):
    """VAE whose prior is a mixture of Gaussians with learned parameters (VaDE).

    ``p(z) = sum_c pi_c N(z; mu_c, diag(sigma_c^2))``, with ``pi``, ``mu`` and
    ``sigma`` trained with the networks. The cluster posterior that maximises
    the ELBO for a given ``q(z | x)`` has a closed form,
    ``q(c | x) = softmax_c(log pi_c - KL(q(z | x) || N(mu_c, sigma_c^2)))``,
    so the KL term of the ELBO is ``-logsumexp_c(log pi_c - KL_c)``: exact and
    deterministic, with no draw of ``c``.

    Parameters
    ----------
    encoder, decoder, output_offset
        As for :class:`VariationalAutoencoder`.
    n_clusters : int
        Number of mixture components.
    n_components : int
        Dimension of the code.

    Attributes
    ----------
    prior_logits : Parameter of shape (n_clusters,)
        Unnormalised log-weights of the components.
    prior_means, prior_logvars : Parameter of shape (n_clusters, n_components)
        Means and log-variances of the components.
    """

    def __init__(self, encoder, decoder, output_offset=None, *, n_clusters, n_components):
        super().__init__(encoder, decoder, output_offset)
        self.prior_logits = nn.Parameter(torch.zeros(n_clusters))
        self.prior_means = nn.Parameter(torch.randn(n_clusters, n_components))
        self.prior_logvars = nn.Parameter(torch.zeros(n_clusters, n_components))

    # a mixture prior does not factorise over the dimensions: there is no KL of one dimension
    factorised_prior = False
    kl_per_dimension = None

    def cluster_log_joint(self, mean, logvar):
        """``log pi_c - KL(q(z | x) || N(mu_c, sigma_c^2))``, shape (N, n_clusters)."""
        prior_logvars = self.prior_logvars.clamp(LOGVAR_MIN, LOGVAR_MAX)
        diff = mean[:, None, :] - self.prior_means
        kl = 0.5 * (
            prior_logvars - logvar[:, None, :] + (logvar.exp()[:, None, :] + diff.pow(2)) / prior_logvars.exp() - 1.0
        ).sum(-1)
        return torch.log_softmax(self.prior_logits, 0) - kl

    def cluster_posterior(self, mean, logvar):
        """``q(c | x)``, shape (N, n_clusters): the responsibilities of the components."""
        return torch.softmax(self.cluster_log_joint(mean, logvar), dim=-1)

    def kl_divergence(self, mean, logvar):
        """``KL(q(z, c | x) || p(z, c))`` per sample at the optimal ``q(c | x)``, shape (N,)."""
        return -torch.logsumexp(self.cluster_log_joint(mean, logvar), dim=-1)

    def log_prior(self, z):
        """``log p(z) = log sum_c pi_c N(z; mu_c, sigma_c^2)``; ``z`` of shape (..., n_components) gives (...)."""
        prior_logvars = self.prior_logvars.clamp(LOGVAR_MIN, LOGVAR_MAX)
        log_normal = gaussian_log_density(z[..., None, :], self.prior_means, prior_logvars)  # (..., n_clusters)
        return torch.logsumexp(torch.log_softmax(self.prior_logits, 0) + log_normal, dim=-1)


class ConditionalVariationalAutoencoder(VariationalAutoencoder):
    """VAE whose decoder is conditioned on a class: ``p(x | z, y)``, prior ``N(0, I)`` on z.

    The encoder sees ``x`` alone, so the code holds what the class does not
    tell (style); the decoder takes the code concatenated with the class's
    one-hot vector, so it must map ``(N, n_components + n_classes)`` to the
    data's shape.

    Parameters
    ----------
    encoder, decoder, output_offset
        As for :class:`VariationalAutoencoder`; ``decoder`` takes
        ``n_components + n_classes`` inputs.
    n_classes : int
        Number of classes.
    """

    def __init__(self, encoder, decoder, output_offset=None, *, n_classes):
        super().__init__(encoder, decoder, output_offset)
        self.n_classes = n_classes

    def decode(self, z, y):
        """Decoder output for codes ``z`` (..., n_components) of classes ``y`` (one-hot, broadcast to z)."""
        y = y.to(z).expand(*z.shape[:-1], self.n_classes)
        return super().decode(torch.cat([z, y], dim=-1))

    def forward(self, x, y):
        """Encode ``x``, draw a code and decode it as classes ``y`` (one-hot, the net's condition)."""
        mean, logvar = self.encode(x)
        z = reparameterize(mean, logvar)
        return AutoencoderOutput(self.decode(z, y), z, mean, logvar, self.kl_divergence(mean, logvar))


class VectorQuantizedAutoencoder(Autoencoder):
    """Autoencoder with a vector-quantised code (VQ-VAE, van den Oord et al., 2017).

    The encoder's output ``(N, n_components)`` is cut into
    ``n_components // embedding_dim`` tokens of ``embedding_dim`` numbers;
    each token is replaced by its nearest vector of a codebook of
    ``n_embeddings`` vectors shared by all tokens, and the decoder sees the
    quantised code. Gradients pass the quantisation straight through (the
    decoder's gradient with respect to the quantised code is applied to the
    encoder's output). ``forward`` returns, as ``code_loss``, the commitment
    term ``beta ||z_e - sg(e)||^2`` that keeps the encoder near its codes and,
    unless the codebook follows exponential moving averages (``ema=True``),
    the codebook term ``||sg(z_e) - e||^2`` that moves the codes.

    Parameters
    ----------
    encoder, decoder, output_offset
        As for :class:`Autoencoder`.
    n_embeddings : int
        Size of the codebook.
    embedding_dim : int
        Length of a token (and of a codebook vector); divides ``n_components``.
    commitment_cost : float, default=0.25
        ``beta`` of the commitment term.
    ema : bool, default=True
        Update the codebook as exponential moving averages of the encoder
        outputs assigned to each vector (decay ``decay``) instead of by gradient.
    decay : float, default=0.99

    Attributes
    ----------
    codebook : Tensor of shape (n_embeddings, embedding_dim)
        A parameter, or a buffer with ``ema=True``.
    usage : buffer of shape (n_embeddings,)
        How many tokens each vector received in training since it was last
        reset (see :meth:`reset_usage`).
    """

    def __init__(
        self, encoder, decoder, output_offset=None, *, n_embeddings, embedding_dim, commitment_cost=0.25,
        ema=True, decay=0.99,
    ):
        super().__init__(encoder, decoder, output_offset)
        self.embedding_dim = embedding_dim
        self.commitment_cost = commitment_cost
        self.ema = ema
        self.decay = decay
        codebook = torch.empty(n_embeddings, embedding_dim).uniform_(-1 / n_embeddings, 1 / n_embeddings)
        if ema:
            self.register_buffer("codebook", codebook)
            self.register_buffer("ema_count", torch.ones(n_embeddings))
            self.register_buffer("ema_sum", codebook.clone())
        else:
            self.codebook = nn.Parameter(codebook)
        self.register_buffer("usage", torch.zeros(n_embeddings))

    def tokens(self, z):
        """``z`` of shape (..., n_components) as (..., n_tokens, embedding_dim)."""
        return z.unflatten(-1, (-1, self.embedding_dim))

    def nearest(self, z):
        """Codebook index of each token of ``z``, shape (..., n_tokens)."""
        tokens = self.tokens(z)
        distances = (
            tokens.pow(2).sum(-1, keepdim=True) - 2 * tokens @ self.codebook.T + self.codebook.pow(2).sum(-1)
        )
        return distances.argmin(-1)

    def quantize(self, z):
        """The codes ``z`` with each token replaced by its nearest codebook vector, and the indices."""
        indices = self.nearest(z)
        return self.codebook[indices].flatten(-2), indices

    def decode(self, z):
        """Quantise ``z`` and decode it (quantised codes go through unchanged)."""
        return super().decode(self.quantize(z)[0])

    def reset_usage(self):
        self.usage.zero_()

    def forward(self, x):
        z_e, _ = self.encode(x)
        z_q, indices = self.quantize(z_e)
        if self.training:
            with torch.no_grad():
                counts = torch.bincount(indices.flatten(), minlength=len(self.codebook)).to(self.usage)
                if self.ema:
                    tokens = self.tokens(z_e).flatten(0, -2).to(self.ema_sum)
                    sums = torch.zeros_like(self.ema_sum).index_add_(0, indices.flatten(), tokens)
                    # in data-parallel training, every process's tokens: one codebook for all
                    counts, sums = sum_across_processes(counts, sums)
                    self._ema_update(counts, sums)
                else:
                    (counts,) = sum_across_processes(counts)
                self.usage += counts
        commitment = self.commitment_cost * (z_e - z_q.detach()).pow(2).sum(-1)
        code_loss = commitment if self.ema else commitment + (z_e.detach() - z_q).pow(2).sum(-1)
        z_straight = z_e + (z_q - z_e).detach()
        return AutoencoderOutput(super().decode(z_straight), z_q, z_e, None, None, code_loss)

    def _ema_update(self, counts, sums):
        """Move the codebook towards the batch: ``counts`` tokens per vector, summing to ``sums``."""
        self.ema_count.mul_(self.decay).add_(counts, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(sums, alpha=1 - self.decay)
        # Laplace smoothing keeps a vector that received nothing from dividing by 0
        n = self.ema_count.sum()
        smoothed = (self.ema_count + 1e-5) / (n + len(self.ema_count) * 1e-5) * n
        self.codebook.copy_(self.ema_sum / smoothed[:, None])

    def reseed(self, dead, tokens):
        """Move the codebook vectors ``dead`` (indices) onto the given encoder tokens (one per vector)."""
        with torch.no_grad():
            self.codebook[dead] = tokens.to(self.codebook)
            if self.ema:
                self.ema_sum[dead] = tokens.to(self.ema_sum)
                self.ema_count[dead] = 1.0


def gaussian_log_density(z, mean, logvar):
    """``log N(z; mean, diag(exp(logvar)))`` summed over the last dimension; broadcasts."""
    return -0.5 * (logvar + (z - mean).pow(2) / logvar.exp() + _LOG_2PI).sum(-1)


def gaussian_kl(mean, logvar):
    """Per-sample ``KL(N(mean, exp(logvar)) || N(0, I))`` in nats, shape (N,)."""
    return gaussian_kl_per_dimension(mean, logvar).sum(-1)


def gaussian_kl_per_dimension(mean, logvar):
    """``KL(N(mean_j, exp(logvar_j)) || N(0, 1))`` of each dimension, in nats, shaped like ``mean``."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar)


def reparameterize(mean, logvar, eps=None):
    """Draw ``z = mean + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``.

    ``eps`` may be given to make the draw deterministic; it broadcasts against
    ``mean``, so a ``(K, 1, n_components)`` tensor gives K draws per row.
    """
    if eps is None:
        eps = torch.randn_like(mean)
    return mean + torch.exp(0.5 * logvar) * eps
