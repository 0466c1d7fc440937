"""The vector-quantised autoencoder (VQ-VAE): a codebook in place of a posterior."""

import torch
from torch import nn

from .._distributed import sum_across_processes
from ._autoencoders import Autoencoder, AutoencoderOutput


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


class TokenPrior(nn.Module):
    """An autoregressive prior over the tokens of a row, for sampling a VQ-VAE.

    It models ``p(t_1) p(t_2 | t_1) ... p(t_T | t_<T)`` with a masked MLP
    (MADE, Germain et al., 2015): the tokens go in one-hot, and
    the logits of token ``t`` come out of hidden units that see only the
    tokens before it, so one pass gives every conditional of a known row, and
    ``T`` passes sample a new one. The first token's logits are its marginal
    (the output layer's bias). It stands in for the PixelCNN of the VQ-VAE
    paper: an skvae code is a short sequence (``n_components //
    embedding_dim`` tokens, 4 by default), not a spatial grid.

    Parameters
    ----------
    n_tokens : int
        Tokens per row.
    n_embeddings : int
        Symbols per token (the codebook's size).
    width : int, default=64
        Hidden units.
    """

    def __init__(self, n_tokens, n_embeddings, width=64):
        super().__init__()
        self.n_tokens, self.n_embeddings, self.width = n_tokens, n_embeddings, width
        self.hidden = nn.Linear(n_tokens * n_embeddings, width)
        self.out = nn.Linear(width, n_tokens * n_embeddings)
        token_of_input = torch.arange(n_tokens).repeat_interleave(n_embeddings)
        # a hidden unit of degree d sees tokens 0..d and feeds the logits of tokens d+1..
        degree = torch.arange(width) % max(n_tokens - 1, 1)
        if n_tokens == 1:  # one token: its logits are the bias alone
            degree = torch.full((width,), -1)
        self.register_buffer("mask_in", (token_of_input[None, :] <= degree[:, None]).float(), persistent=False)
        self.register_buffer("mask_out", (token_of_input[:, None] > degree[None, :]).float(), persistent=False)

    def forward(self, indices):
        """Logits of each token given the ones before it, shape (N, n_tokens, n_embeddings)."""
        # the first layer on one-hot tokens is a sum of one weight column per token
        columns = (self.hidden.weight * self.mask_in).T
        offsets = torch.arange(self.n_tokens, device=indices.device) * self.n_embeddings
        h = torch.relu(columns[indices + offsets].sum(1) + self.hidden.bias)
        logits = nn.functional.linear(h, self.out.weight * self.mask_out, self.out.bias)
        return logits.unflatten(1, (self.n_tokens, self.n_embeddings))

    def nll(self, indices):
        """Negative log-likelihood of each row's tokens, in nats, shape (N,)."""
        logits = self(indices)
        return nn.functional.cross_entropy(logits.transpose(1, 2), indices, reduction="none").sum(1)
