"""Priors as objects: what a fitted model draws new codes from, scores codes under, and centres its plots on.

Each model's ``_prior()`` gives one of these; ``sample``, ``traverse`` and the
plots ask it instead of asking which model they hold. Draws use the caller's
``numpy.random.RandomState`` in a fixed order, so ``sample(random_state=k)``
gives the same rows every time.
"""

import copy
import math

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm

_LOG_2PI = math.log(2 * math.pi)


def mixture_center_and_spread(weights, means, variances):
    """Mean and standard deviation of one dimension of a Gaussian mixture."""
    center = np.dot(weights, means)
    return center, float(np.sqrt(np.dot(weights, variances + means**2) - center**2))


class StandardNormal:
    """The prior ``N(0, I)`` of the variational models.

    A condition (the conditional VAE's class) changes the decoder, not this
    prior: ``sample`` takes it and ignores it.
    """

    source = "the prior"

    def __init__(self, n_components):
        self.n_components = n_components

    def sample(self, n_samples, rng, **condition):
        """Codes of shape (n_samples, n_components)."""
        return rng.standard_normal((n_samples, self.n_components))

    def log_prob(self, Z):
        """``log p(z)`` of each row of Z, in nats."""
        return -0.5 * (np.square(Z) + _LOG_2PI).sum(-1)

    def center_and_spread(self, dim):
        """Mean and standard deviation of dimension ``dim``."""
        return 0.0, 1.0

    def quantiles(self, q):
        """Quantiles ``q`` of each dimension, shape (len(q), n_components)."""
        return np.repeat(norm.ppf(q)[:, None], self.n_components, axis=1)


class FittedMixture:
    """A ``GaussianMixture`` fitted to the training codes: the autoencoder has no prior of its own."""

    source = "the code density"

    def __init__(self, mixture):
        self.mixture = mixture

    def sample(self, n_samples, rng, **condition):
        """Codes of shape (n_samples, n_components); a condition (a class) changes the decoder, not these."""
        mixture = copy.copy(self.mixture)
        mixture.random_state = rng
        Z, _ = mixture.sample(n_samples)
        return Z[rng.permutation(n_samples)]  # GaussianMixture groups its rows by component

    def log_prob(self, Z):
        return self.mixture.score_samples(Z)

    def center_and_spread(self, dim):
        m = self.mixture
        return mixture_center_and_spread(m.weights_, m.means_[:, dim], m.covariances_[:, dim, dim])

    def quantiles(self, q):
        codes, _ = self.mixture.sample(5000)  # the mixture's own fitted seed: the same every call
        return np.quantile(codes, q, axis=0)


class LearnedMixture:
    """GaussianMixtureVAE's prior: a mixture of diagonal Gaussians trained with the networks.

    ``sample`` may be restricted to some ``clusters``; a component is drawn by
    its weight among them, then a code from its Gaussian.
    """

    source = "the prior"

    def __init__(self, weights, means, variances):
        self.weights, self.means, self.variances = weights, means, variances

    def sample(self, n_samples, rng, clusters=None):
        clusters = np.arange(len(self.weights)) if clusters is None else clusters
        weights = self.weights[clusters]
        drawn = rng.choice(clusters, size=n_samples, p=weights / weights.sum())
        noise = rng.standard_normal((n_samples, self.means.shape[1]))
        return self.means[drawn] + np.sqrt(self.variances[drawn]) * noise

    def log_prob(self, Z):
        Z = np.asarray(Z, dtype=np.float64)[:, None, :]
        per_component = -0.5 * ((Z - self.means) ** 2 / self.variances + np.log(self.variances) + _LOG_2PI).sum(-1)
        return logsumexp(np.log(self.weights) + per_component, axis=1)

    def center_and_spread(self, dim):
        return mixture_center_and_spread(self.weights, self.means[:, dim], self.variances[:, dim])

    def quantiles(self, q):
        return np.quantile(self.sample(5000, np.random.RandomState(0)), q, axis=0)


class _CodebookPrior:
    """What the VQ-VAE's priors share: codes made of codebook vectors, one per token."""

    n_tokens = None  # set by each prior

    @property
    def n_components(self):
        return self.n_tokens * self.codebook.shape[1]

    def _tokens(self, Z):
        """The codebook index of each token of codes ``Z``, and whether each token is a codebook vector."""
        dim = self.codebook.shape[1]
        matches = np.all(np.asarray(Z).reshape(len(Z), self.n_tokens, 1, dim) == self.codebook, axis=-1)
        return matches.argmax(-1), matches.any(-1)

    def quantiles(self, q):
        return np.quantile(self.sample(5000, np.random.RandomState(0)), q, axis=0)


class CodebookFrequencies(_CodebookPrior):
    """The VQ-VAE's prior: each token drawn on its own from how often training rows used each codebook vector."""

    source = "the prior"

    def __init__(self, codebook, frequencies):
        self.codebook, self.frequencies = codebook, frequencies
        self.n_tokens = len(frequencies)

    def sample(self, n_samples, rng):
        n_embeddings = len(self.codebook)
        indices = np.stack([rng.choice(n_embeddings, n_samples, p=p) for p in self.frequencies], axis=1)
        return self.codebook[indices].reshape(n_samples, self.n_components)

    def log_prob(self, Z):
        """Log-probability of codes made of codebook vectors (-inf for any other code)."""
        indices, matched = self._tokens(Z)
        with np.errstate(divide="ignore"):
            log_frequencies = np.log(self.frequencies)
        per_token = log_frequencies[np.arange(self.n_tokens), indices]
        return np.where(matched, per_token, -np.inf).sum(1)

    def center_and_spread(self, dim):
        token, position = divmod(dim, self.codebook.shape[1])
        values = self.codebook[:, position].astype(np.float64)
        return mixture_center_and_spread(self.frequencies[token], values, np.zeros_like(values))


class LearnedTokenPrior(_CodebookPrior):
    """The VQ-VAE's learned prior: tokens drawn one after another from an autoregressive network."""

    source = "the learned token prior"

    def __init__(self, codebook, network):
        self.codebook, self.network = codebook, network
        self.n_tokens = network.n_tokens

    def _log_probs(self, indices):
        import torch

        with torch.no_grad():
            logits = self.network(torch.as_tensor(indices, dtype=torch.int64))
        return torch.log_softmax(logits.double(), -1).numpy()

    def sample(self, n_samples, rng):
        indices = np.zeros((n_samples, self.n_tokens), dtype=np.int64)
        for t in range(self.n_tokens):  # token t's logits depend on tokens < t only
            probabilities = np.exp(self._log_probs(indices)[:, t])
            cumulative = np.cumsum(probabilities, axis=1)
            draws = rng.random_sample(n_samples) * cumulative[:, -1]
            indices[:, t] = np.minimum((cumulative < draws[:, None]).sum(1), len(self.codebook) - 1)
        return self.codebook[indices].reshape(n_samples, self.n_components)

    def log_prob(self, Z):
        """Log-probability of codes made of codebook vectors (-inf for any other code)."""
        indices, matched = self._tokens(Z)
        per_token = np.take_along_axis(self._log_probs(indices), indices[..., None], -1)[..., 0]
        return np.where(matched.all(-1), per_token.sum(1), -np.inf)

    def center_and_spread(self, dim):
        values = self.sample(5000, np.random.RandomState(0))[:, dim]
        return float(values.mean()), float(values.std())
