"""The loss of every skvae estimator: a reconstruction term plus a weighted KL term.

Both terms are per-sample negative log-likelihoods in nats, so ``-loss`` is the
ELBO when the KL weight is 1, and the same functions serve ``score_samples``.
"""

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .modules import gaussian_kl, gaussian_log_density  # noqa: F401  (gaussian_kl: re-exported for tests)

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def reconstruction_nll(reconstruction, x, kind):
    """Per-sample negative log-likelihood of ``x`` under the decoder, in nats.

    Parameters
    ----------
    reconstruction : Tensor of shape (..., N, *data_shape)
        The decoder's output: Bernoulli logits for ``kind="bce"``, the mean of
        a unit-variance Gaussian for ``kind="mse"``. Leading dimensions (e.g.
        several posterior draws per row) broadcast against ``x``.
    x : Tensor of shape (N, *data_shape)
        The data.
    kind : {"bce", "mse"}

    Returns
    -------
    Tensor of shape (..., N)
    """
    data_dims = tuple(range(-(x.dim() - 1), 0))
    x = x.expand_as(reconstruction)
    if kind == "bce":
        nll = F.binary_cross_entropy_with_logits(reconstruction, x, reduction="none")
    else:
        nll = 0.5 * (x - reconstruction) ** 2 + _HALF_LOG_2PI
    return nll.sum(dim=data_dims)


def _batch_mean_nll(reconstruction, x, kind):
    """``reconstruction_nll(...).mean()`` in one reduction: the same value, a
    cheaper graph for the training step."""
    if kind == "bce":
        total = F.binary_cross_entropy_with_logits(reconstruction, x, reduction="sum")
    else:
        total = 0.5 * F.mse_loss(reconstruction, x, reduction="sum") + x.numel() * _HALF_LOG_2PI
    return total / len(x)


@functools.lru_cache(maxsize=32)
def _sobol(n_points, n_components):
    """The first ``n_points`` scrambled Sobol points in [0, 1)^k (scramble seed 0), float64; never modified."""
    return torch.quasirandom.SobolEngine(n_components, scramble=True, seed=0).draw(n_points, dtype=torch.float64)


def quasi_normal_points(n_points, n_components, shifts=None):
    """Draws from N(0, I) for estimating expectations: shape (n_points, k), or (n_points, N, k) given ``shifts``.

    Scrambled Sobol points mapped through the normal quantile function; an
    even number comes in antithetic pairs ``(e, -e)``. ``shifts`` (N, k), one
    uniform point per row as :func:`row_uniforms` makes, moves each row's
    points by that amount modulo 1 (a Cranley-Patterson rotation): every draw
    of a row is then exactly N(0, I), so the estimate is unbiased for each
    row, while the points keep their even spread.
    """
    uniform = _sobol(n_points // 2 if n_points % 2 == 0 else n_points, n_components)
    if shifts is not None:
        uniform = torch.remainder(uniform[:, None, :] + shifts, 1.0)
    normal = _normal_quantile(uniform)
    return torch.cat([normal, -normal]) if n_points % 2 == 0 else normal


def _normal_quantile(uniform):
    """Standard-normal draws from uniform points in [0, 1), kept finite (at most ~5.2 standard deviations)."""
    return torch.special.ndtri(uniform.clamp(1e-7, 1 - 1e-7))


_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)


def _mix64(h):
    """splitmix64's finaliser on a uint64 array: each output bit depends on every input bit."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def row_uniforms(x, n_components):
    """A point in [0, 1)^k per row of ``x`` that is a function of that row's values alone, float64, shape (N, k).

    The rows' float32 bits are hashed (numpy's uint64 arithmetic wraps modulo
    2**64) and the hash seeds a counter-based generator (splitmix64): rows
    get independent-looking points, and a row gets the same point whatever
    rows come with it, in any call and on any machine (the data's bits do not
    depend on the machine, unlike a network's output).
    """
    bits = x.detach().reshape(len(x), -1).float().cpu().numpy().view(np.uint32)
    weights = _mix64(np.arange(1, bits.shape[1] + 1, dtype=np.uint64) * _GOLDEN_GAMMA) | np.uint64(1)
    seeds = _mix64((bits * weights).sum(1, dtype=np.uint64))
    counters = seeds[:, None] + np.arange(1, n_components + 1, dtype=np.uint64) * _GOLDEN_GAMMA
    return torch.from_numpy((_mix64(counters) >> np.uint64(11)) * 2.0**-53)


def expected_reconstruction_nll(decode, mean, logvar, x, kind, points, max_rows=1024):
    """``E_q[-log p(x | z)]`` per sample under ``q = N(mean, exp(logvar))``, shape (N,).

    Averages the negative log-likelihood over ``z = mean + std * point`` for
    the given standard-normal ``points``: shape (P, k), the same for every
    row, or (P, N, k), each row its own. Decodes a few points at a time so
    that one decoder call sees at most about ``max_rows`` rows.
    """
    total = torch.zeros(len(x), device=mean.device, dtype=mean.dtype)
    for _, decoded in _decoded_draws(decode, mean, logvar, points, max_rows):
        total += reconstruction_nll(decoded, x, kind).sum(0)
    return total / len(points)


def _decoded_draws(decode, mean, logvar, points, max_rows):
    """Yield ``(z, decode(z))`` for ``z = mean + std * point``, a few points at a time, shapes (P', N, ...).

    ``points`` is (P, k) or (P, N, k). Each decoder call sees at most about
    ``max_rows`` rows (at least one point).
    """
    if points.dim() == 2:
        points = points[:, None, :]
    for chunk in points.to(mean).split(max(1, max_rows // len(mean))):
        z = mean + torch.exp(0.5 * logvar) * chunk  # (points, N, k)
        yield z, decode(z.flatten(0, 1)).unflatten(0, z.shape[:2])


def importance_draws(x, n_importance, n_components):
    """The standard-normal draws behind the IWAE bound, each row's own, shape (n_importance, N, k).

    Independent draws made from each row's values (:func:`row_uniforms`): a
    row's value does not depend on the rows scored with it, errors do not
    repeat from row to row, and ``n_importance=k`` uses the first k draws of
    ``n_importance=k+1``.
    """
    uniform = row_uniforms(x, n_importance * n_components).reshape(len(x), n_importance, n_components)
    return _normal_quantile(uniform).transpose(0, 1)


def importance_weighted_log_likelihood(decode, log_prior, mean, logvar, x, kind, draws, max_rows=1024):
    """The IWAE bound on ``log p(x)`` per sample, shape (N,) (Burda et al., 2016).

    ``log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x)`` with
    ``z_k = mean + std * draws[k]``, under the decoder ``decode`` and the prior
    ``log_prior`` (a module's ``log_prior``). K=1 is a one-draw estimate of
    the ELBO; the bound tightens towards ``log p(x)`` as K grows. Decodes a
    few draws at a time so that one decoder call sees at most about
    ``max_rows`` rows.
    """
    log_weights = [
        log_prior(z) - gaussian_log_density(z, mean, logvar) - reconstruction_nll(decoded, x, kind)
        for z, decoded in _decoded_draws(decode, mean, logvar, draws, max_rows)
    ]
    return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(len(draws))


def initial_output_offset(mean, kind):
    """Decoder output that reproduces the data's ``mean`` (per feature): its logit for "bce"."""
    return torch.logit(mean.clamp(1e-3, 1 - 1e-3)) if kind == "bce" else mean


def decoder_mean(reconstruction, kind):
    """The decoder's mean in data space: probabilities for "bce"."""
    return torch.sigmoid(reconstruction) if kind == "bce" else reconstruction


class LossOutput(dict):
    """The loss and its named parts: batch means in nats per sample, read as keys or attributes (``out.loss``).

    A loss class names its parts in ``parts``; the net records each as
    ``train_<part>`` and ``valid_<part>`` in ``history``.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class ReconstructionLoss(nn.Module):
    """Negative log-likelihood of the reconstruction: the loss of a deterministic autoencoder.

    Parameters
    ----------
    reconstruction : {"bce", "mse"}
        Likelihood of the decoder: Bernoulli on logits or unit-variance Gaussian.
    """

    parts = ("recon_loss",)

    def __init__(self, reconstruction="bce"):
        super().__init__()
        self.reconstruction = reconstruction

    def forward(self, output, x, target=None):
        recon = _batch_mean_nll(output.reconstruction, x, self.reconstruction)
        return LossOutput(loss=recon, recon_loss=recon)


class ELBOLoss(ReconstructionLoss):
    """Negative ELBO with a weight on the KL term (the skorch criterion).

    ``loss = reconstruction + kl_weight * KL``, averaged over the batch. With
    ``kl_weight=1`` this is the negative ELBO. The KL term is the module's own
    (``output.kl``, under whatever prior the model has); a module without one
    (pretraining on posterior means) contributes 0.

    Parameters
    ----------
    reconstruction : {"bce", "mse"}
        Likelihood of the decoder: Bernoulli on logits or unit-variance Gaussian.
    kl_weight : float
        Weight of the KL term (``beta`` of a beta-VAE).
    """

    parts = ("recon_loss", "kl_loss")

    def __init__(self, reconstruction="bce", kl_weight=1.0):
        super().__init__(reconstruction)
        self.kl_weight = kl_weight

    def forward(self, output, x, target=None):
        recon = _batch_mean_nll(output.reconstruction, x, self.reconstruction)
        kl = torch.zeros((), device=recon.device) if output.kl is None else output.kl.mean()
        return LossOutput(loss=recon + self.kl_weight * kl, recon_loss=recon, kl_loss=kl)


class LabelFreeELBOLoss(ELBOLoss):
    """The negative ELBO under ``q(z | x, y)``, plus the term that trains the label-free ``q(z | x)``.

    For a conditional VAE whose encoder sees the class in training:
    ``encoder_match_loss`` is ``KL(q(z | x, y) || q(z | x))`` with the first
    held fixed (the module's ``output.code_loss``). It moves only ``q(z | x)``,
    the posterior ``transform`` uses, and leaves the ELBO's gradients as
    they are.
    """

    parts = ("recon_loss", "kl_loss", "encoder_match_loss")

    def forward(self, output, x, target=None):
        out = super().forward(output, x, target)
        match = output.code_loss.mean()
        return LossOutput(loss=out.loss + match, recon_loss=out.recon_loss, kl_loss=out.kl_loss,
                          encoder_match_loss=match)


class CommitmentLoss(ReconstructionLoss):
    """Reconstruction plus the module's term of its quantised code (a VQ-VAE's ``output.code_loss``).

    ``commitment_loss`` is the commitment term, and with a codebook trained by
    gradient (not moving averages) the codebook term too, with weight 1.

    Parameters
    ----------
    reconstruction : {"bce", "mse"}
        Likelihood of the decoder: Bernoulli on logits or unit-variance Gaussian.
    """

    parts = ("recon_loss", "commitment_loss")

    def forward(self, output, x, target=None):
        recon = _batch_mean_nll(output.reconstruction, x, self.reconstruction)
        commitment = output.code_loss.mean()
        return LossOutput(loss=recon + commitment, recon_loss=recon, commitment_loss=commitment)
