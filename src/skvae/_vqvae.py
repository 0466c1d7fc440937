"""``VQVAETransformer``: an autoencoder with a discrete, vector-quantised code (VQ-VAE).

What this model owns: its module (:class:`skvae.modules.VectorQuantizedAutoencoder`,
with the codebook and its updates), the callback that records codebook usage
and re-seeds unused vectors, the choice of what ``transform`` returns, and its
prior for sampling: a small autoregressive network over a row's tokens, trained
on the training rows' tokens when fit ends.
"""

import math
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import Callback
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseAutoencoder
from ._checks import _output_dtype
from ._losses import CommitmentLoss
from ._params import fill_docstring, store_parameters
from ._persistence import network_from_state, network_state
from ._priors import CodebookFrequencies, LearnedTokenPrior
from .modules import TokenPrior, VectorQuantizedAutoencoder

# The token prior (a MADE): its hidden units, and its training by Adam on the
# training rows' tokens until the NLL of a tenth of them, held out, has not
# improved for TOKEN_PRIOR_PATIENCE epochs (the best epoch is kept).
TOKEN_PRIOR_WIDTH = 64
TOKEN_PRIOR_BATCH = 256
TOKEN_PRIOR_LR = 3e-3
TOKEN_PRIOR_MAX_EPOCHS = 100
TOKEN_PRIOR_PATIENCE = 5
# Below this many rows the prior is each token's frequency (the network's output bias alone):
# too few to learn how 128 symbols at each of several tokens go together.
TOKEN_PRIOR_MIN_ROWS = 200


class CodebookUsage(Callback):
    """Record the codebook's perplexity every epoch and re-seed the vectors it did not use.

    Perplexity is ``exp`` of the entropy of how the epoch's training tokens
    spread over the codebook: the number of vectors in effective use (1 to
    ``n_embeddings``). Recorded as ``perplexity`` and ``codes_used`` in
    ``history``. A vector that received no token in the epoch is moved onto
    an encoder output of a random training row, so that the codebook does not
    shrink to the few vectors that happened to win first.
    """

    def on_epoch_begin(self, net, **kwargs):
        net.module_.reset_usage()

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        module = net.module_
        usage = module.usage
        if usage.sum() == 0:
            return
        p = usage / usage.sum()
        entropy = -(p[p > 0] * p[p > 0].log()).sum()
        net.history.record("perplexity", float(entropy.exp()))
        net.history.record("codes_used", int((usage > 0).sum()))
        dead = torch.nonzero(usage == 0).flatten()
        if len(dead) == 0 or dataset_train is None:
            return
        data, _ = dataset_train
        rows = torch.randint(len(data), (len(dead),), device=data.device)
        was_training = module.training
        module.eval()
        with torch.no_grad():
            tokens = module.tokens(module.encode(data[rows].to(net.device))[0])  # (dead, n_tokens, dim)
        module.train(was_training)
        pick = torch.randint(tokens.shape[1], (len(dead),), device=tokens.device)
        module.reseed(dead, tokens[torch.arange(len(dead), device=tokens.device), pick])


@fill_docstring
class VQVAETransformer(_BaseAutoencoder):
    """Vector-quantised variational autoencoder (VQ-VAE) as a scikit-learn transformer.

    The encoder's code of ``n_components`` numbers is cut into tokens of
    ``embedding_dim`` numbers, and each token is replaced by the nearest of
    ``n_embeddings`` learned codebook vectors before decoding: every row is
    described by ``n_components // embedding_dim`` discrete symbols. Training
    minimises the reconstruction loss plus the commitment term; the codebook
    follows exponential moving averages of the encoder outputs it receives
    (or, with ``codebook_update="gradient"``, its own loss term). Codebook
    vectors left unused in an epoch are re-seeded onto encoder outputs.

    :meth:`transform` returns the continuous codes before quantisation (or,
    with ``code_output="indices"``, the codebook index of each token);
    :meth:`inverse_transform` quantises codes and decodes them; :meth:`sample`
    draws a row's tokens one after another from ``token_prior_``, a small
    autoregressive network (:class:`skvae.modules.TokenPrior`) trained on
    the training rows' tokens when fit ends, in place of the paper's
    PixelCNN: the tokens of a new row go together as those of a training row
    do. (Each token drawn on its own from its frequency, the prior before,
    made rows whose parts did not match.)

    Parameters
    ----------
{parameters}

    n_embeddings : int, default=128
        Number of codebook vectors.

    embedding_dim : int or "auto", default="auto"
        Numbers per token and per codebook vector; must divide
        ``n_components``. ``"auto"``: the largest divisor of ``n_components``
        up to 4 (4 for the default 16, i.e. 4 tokens per row).

    commitment_cost : float, default=0.25
        Weight ``beta`` of the commitment term ``||z_e - sg(e)||^2``.

    codebook_update : {"ema", "gradient"}, default="ema"
        ``"ema"``: each codebook vector is an exponential moving average
        (decay 0.99) of the encoder outputs assigned to it, which is stable
        and needs no learning rate. ``"gradient"``: the codebook is trained by
        the optimizer through the term ``||sg(z_e) - e||^2``.

    code_output : {"continuous", "indices"}, default="continuous"
        What :meth:`transform` returns: the encoder's codes before
        quantisation, ``(n_samples, n_components)`` floats, or the codebook
        index of each token, ``(n_samples, n_tokens)`` integers, with
        ``n_tokens = n_components // embedding_dim``.

    Attributes
    ----------
    codebook_ : ndarray of shape (n_embeddings, embedding_dim)
        The codebook vectors.

    code_frequencies_ : ndarray of shape (n_tokens, n_embeddings)
        How often each vector stands for each token on the training data.

    token_prior_ : skvae.modules.TokenPrior
        The prior of :meth:`sample`: ``p(t_1) p(t_2 | t_1) ...`` over a row's
        tokens, trained on the training rows' tokens (a tenth held out to
        stop it); with one token per row, or under 200 rows, it is each
        token's frequency. A model saved before it existed has none and draws
        each token from ``code_frequencies_``.

{attributes}

    See Also
    --------
    AutoencoderTransformer : The same with a continuous code.
    VAETransformer : A continuous code with a Gaussian prior.

    References
    ----------
    van den Oord, A., Vinyals, O. and Kavukcuoglu, K. (2017). Neural Discrete
    Representation Learning. NeurIPS.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import VQVAETransformer
    >>> X = load_digits().data / 16
    >>> vq = VQVAETransformer(n_components=8, embedding_dim=2, max_epochs=5, random_state=0).fit(X)
    >>> vq.transform(X[:3]).shape
    (3, 8)
    >>> vq.set_params(code_output="indices").transform(X[:3]).shape
    (3, 4)
    >>> vq.history_[-1, "perplexity"] > 1
    True
    """

    _module_class = VectorQuantizedAutoencoder
    _placeable = False

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "n_embeddings": [Interval(Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "commitment_cost": [Interval(Real, 0, None, closed="left")],
        "codebook_update": [StrOptions({"ema", "gradient"})],
        "code_output": [StrOptions({"continuous", "indices"})],
    }

    def __init__(
        self,
        n_components=16,
        *,
        hidden_layer_sizes=(256, 128),
        architecture="mlp",
        conv_channels="auto",
        image_shape=None,
        reconstruction_loss="auto",
        max_epochs=100,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
        device="auto",
        n_jobs=None,
        mixed_precision=False,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
        kl_warmup_epochs=0,
        neighbor_weight=0.0,
        placement="encoder",
        n_embeddings=128,
        embedding_dim="auto",
        commitment_cost=0.25,
        codebook_update="ema",
        code_output="continuous",
    ):
        store_parameters(self, locals())

    def _criterion(self, kind):
        return CommitmentLoss(kind)

    def _embedding_dim(self):
        if self.embedding_dim == "auto":
            return max(d for d in range(1, 5) if self.n_components % d == 0)
        if self.n_components % self.embedding_dim:
            raise ValueError(
                f"embedding_dim={self.embedding_dim} must divide n_components={self.n_components}: the "
                "code is cut into tokens of embedding_dim numbers. Change one of them."
            )
        return self.embedding_dim

    def _make_module(self, encoder, decoder, output_offset):
        return self._module_class(
            encoder,
            decoder,
            output_offset,
            n_embeddings=self.n_embeddings,
            embedding_dim=self._embedding_dim(),
            commitment_cost=self.commitment_cost,
            ema=self.codebook_update == "ema",
        )

    def _training_callbacks(self, checkpoint=None, phase="training"):
        return [("codebook_usage", CodebookUsage()), *super()._training_callbacks(checkpoint, phase)]

    _statistics = ("code_frequencies_", "token_prior_")

    def _attach_net(self, net, kind):
        super()._attach_net(net, kind)
        self.codebook_ = net.module_.codebook.detach().cpu().numpy().copy()

    def _fit_statistics(self, X):
        indices = self._indices(X)
        counts = np.stack([np.bincount(column, minlength=self.n_embeddings) for column in indices.T])
        self.code_frequencies_ = counts / len(indices)
        self.token_prior_ = _fit_token_prior(indices, self.n_embeddings, seed=self.net_.split_seed)

    def _indices(self, X):
        """Codebook index of each token of validated rows, shape (n_samples, n_tokens)."""

        def step(module, batch):
            return (module.nearest(module.encode(batch)[0]),)

        (indices,) = self._run_batches(X, step)
        return indices

    # ------------------------------------------------------------ inference

    def transform(self, X):
        """Encode X: continuous codes before quantisation, or codebook indices (see ``code_output``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), or (n_samples, n_tokens) of int64
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._output(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit to X and return its codes as :meth:`transform` does, validating X once.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray
        """
        return self._output(self._fit(X))

    def _output(self, X):
        if self.code_output == "indices":
            return self._indices(X)
        return self._encode(X)[0].astype(_output_dtype(X), copy=False)

    def _prior(self):
        frequencies = self._statistic("code_frequencies_")  # a checkpoint has neither: says how to finish
        network = vars(self).get("token_prior_")
        if network is None:  # a model saved before the learned prior existed
            return CodebookFrequencies(self.codebook_, frequencies)
        return LearnedTokenPrior(self.codebook_, network)

    def _saved_state(self, training_state):
        """The fitted attributes for :func:`skvae.save`, the token prior as its shape and weights."""
        state = super()._saved_state(training_state)
        network = state.get("token_prior_")
        if network is not None:  # on the CPU, where it is trained and sampled
            state["token_prior_"] = network_state(network, ("n_tokens", "n_embeddings", "width"))
        return state

    def _restore_state(self, state, device):
        saved = state.get("token_prior_")
        if saved is not None:
            state["token_prior_"] = network_from_state(TokenPrior, saved)
        super()._restore_state(state, device)

    @property
    def _n_features_out(self):
        if self.code_output == "indices":
            return self.n_components // self._embedding_dim()
        return self.n_components


def _fit_token_prior(indices, n_embeddings, seed):
    """A :class:`TokenPrior` of the rows' tokens ``indices`` (n_rows, n_tokens), on the CPU.

    Adam on batches of the rows, a tenth of them held out: it stops when
    their negative log-likelihood has not improved for
    ``TOKEN_PRIOR_PATIENCE`` epochs and keeps the best epoch's weights. The
    draws come from a generator of ``seed``: torch's global random state is
    left alone, and the same tokens and seed give the same network.
    """
    generator = torch.Generator().manual_seed(int(seed))
    data = torch.as_tensor(indices, dtype=torch.int64)
    order = torch.randperm(len(data), generator=generator)
    n_valid = len(data) // 10
    valid, train = data[order[:n_valid]], data[order[n_valid:]]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        network = TokenPrior(data.shape[1], n_embeddings, TOKEN_PRIOR_WIDTH)
    # The output's bias starts at each position's log frequencies (a vector no training
    # row used at 1/100 of a row): the network then learns how tokens depend on the
    # ones before them, and a vector that is never used is never drawn.
    counts = torch.stack([torch.bincount(column, minlength=n_embeddings) for column in train.T]).double()
    with torch.no_grad():
        frequencies = (counts + 0.01) / (counts.sum(1, keepdim=True) + 0.01 * n_embeddings)
        network.out.bias.copy_(torch.log(frequencies).flatten())
    if data.shape[1] == 1 or len(data) < TOKEN_PRIOR_MIN_ROWS:
        # one token per row (its frequencies say all), or too few rows to learn from or
        # hold any out: each token drawn from its frequency
        with torch.no_grad():
            network.out.weight.zero_()
        return network.eval()
    optimizer = torch.optim.Adam(network.parameters(), lr=TOKEN_PRIOR_LR)
    best, best_state, waited = math.inf, None, 0
    for _ in range(TOKEN_PRIOR_MAX_EPOCHS):
        network.train()
        for batch in torch.randperm(len(train), generator=generator).split(TOKEN_PRIOR_BATCH):
            loss = network.nll(train[batch]).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            held_out = network.nll(valid).mean().item()
        if held_out < best:
            best, best_state, waited = held_out, {k: v.clone() for k, v in network.state_dict().items()}, 0
        else:
            waited += 1
            if waited >= TOKEN_PRIOR_PATIENCE:
                break
    if best_state is not None:  # None only if the held-out loss was never a number
        network.load_state_dict(best_state)
    return network.eval()
