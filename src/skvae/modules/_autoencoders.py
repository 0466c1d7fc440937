"""The autoencoder networks: a deterministic code, a Gaussian posterior, a mixture prior, a class condition.

Each owns its posterior, its prior and the KL term between them, and declares
what it is (``stochastic``, ``factorised_prior``) for code that uses it
without knowing its class.
"""

import math
from typing import NamedTuple, Optional

import torch
from torch import nn

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
        A regulariser of the code per sample outside the ELBO (a VQ-VAE's
        codebook and commitment terms; a conditional VAE's match of its
        label-free posterior to the one given the class); None for the others.
    """

    reconstruction: torch.Tensor
    z: torch.Tensor
    mean: torch.Tensor
    logvar: Optional[torch.Tensor]
    kl: Optional[torch.Tensor] = None
    code_loss: Optional[torch.Tensor] = None


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
        return _posterior(self.encoder(x))

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
    """VAE conditioned on a class: decoder ``p(x | z, y)``, prior ``N(0, I)`` on z.

    The decoder takes the code concatenated with the class's one-hot vector,
    so it must map ``(N, n_components + n_classes)`` to the data's shape.

    The encoder sees ``x`` alone and gives ``q(z | x)``, the posterior that
    :meth:`encode` returns without a class (what ``transform`` uses, since a
    Pipeline has no labels). With ``label_head_width``, a small head on the
    encoder's output and the class gives ``q(z | x, y)``, which training
    uses: the class is given, so the code has no reason to carry it, and the
    decoder must heed the class (without it, samples of Fashion-MNIST were
    of the class asked for about half the time at 16 latent dimensions;
    benchmarks/README.md, section 7). ``q(z | x)`` then learns to match
    ``q(z | x, y)`` of the row's own class (``code_loss``), so that
    ``transform`` gives the same label-free style codes. Without the head
    (modules saved before it existed) the encoder's posterior serves both.

    Parameters
    ----------
    encoder, decoder, output_offset
        As for :class:`VariationalAutoencoder`; ``decoder`` takes
        ``n_components + n_classes`` inputs.
    n_classes : int
        Number of classes.
    n_components : int, optional
        Latent dimensions; needed with ``label_head_width``.
    label_head_width : int, optional
        Width of the head's hidden layer; None for no head.
    """

    def __init__(self, encoder, decoder, output_offset=None, *, n_classes, n_components=None,
                 label_head_width=None):
        super().__init__(encoder, decoder, output_offset)
        self.n_classes = n_classes
        if label_head_width:
            self.label_head = nn.Sequential(
                nn.Linear(2 * n_components + n_classes, label_head_width),
                nn.ReLU(),
                nn.Linear(label_head_width, 2 * n_components),
            )
            # a residual head that starts at 0: training starts from q(z | x, y) = q(z | x)
            nn.init.zeros_(self.label_head[-1].weight)
            nn.init.zeros_(self.label_head[-1].bias)

    def _head(self):
        # modules pickled before the head existed have no such attribute
        return getattr(self, "label_head", None)

    def _given_class(self, encoded, y):
        """``q(z | x, y)``'s raw encoder output from ``q(z | x)``'s and the class ``y`` (one-hot, broadcast)."""
        y = y.to(encoded).expand(*encoded.shape[:-1], self.n_classes)
        return encoded + self._head()(torch.cat([encoded, y], dim=-1))

    def encode(self, x, y=None):
        """``(mean, logvar)`` of ``q(z | x)``, or of ``q(z | x, y)`` given classes ``y`` (one-hot)."""
        encoded = self.encoder(x)
        if y is not None and self._head() is not None:
            encoded = self._given_class(encoded, y)
        return _posterior(encoded)

    def decode(self, z, y):
        """Decoder output for codes ``z`` (..., n_components) of classes ``y`` (one-hot, broadcast to z)."""
        y = y.to(z).expand(*z.shape[:-1], self.n_classes)
        return super().decode(torch.cat([z, y], dim=-1))

    def forward(self, x, y):
        """Encode ``x`` given classes ``y`` (one-hot, the net's condition), draw a code and decode it as ``y``.

        ``code_loss`` is ``KL(q(z | x, y) || q(z | x))`` with ``q(z | x, y)``
        held fixed: it trains the label-free posterior only.
        """
        encoded = self.encoder(x)
        match = None
        if self._head() is None:
            mean, logvar = _posterior(encoded)
        else:
            mean, logvar = _posterior(self._given_class(encoded, y))
            match = gaussian_kl_between(mean.detach(), logvar.detach(), *_posterior(encoded))
        z = reparameterize(mean, logvar)
        return AutoencoderOutput(self.decode(z, y), z, mean, logvar, self.kl_divergence(mean, logvar), match)


def _posterior(encoded):
    """``(mean, logvar)`` from an encoder's ``(N, 2 * n_components)`` output, the log-variance clamped."""
    mean, logvar = encoded.chunk(2, dim=-1)
    return mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


def gaussian_kl_between(mean1, logvar1, mean2, logvar2):
    """Per-sample ``KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2)))`` of diagonal Gaussians, shape (N,)."""
    return 0.5 * (logvar2 - logvar1 + (logvar1.exp() + (mean1 - mean2).pow(2)) / logvar2.exp() - 1.0).sum(-1)


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
