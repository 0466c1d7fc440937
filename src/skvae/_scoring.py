"""Scoring: the ELBO and its importance-weighted bound per row, and the KL of each latent dimension."""

from functools import partial
from numbers import Integral

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._checks import _in_unit_range, _output_dtype, _warn_once_per_process
from ._losses import (
    expected_reconstruction_nll,
    importance_draws,
    importance_weighted_log_likelihood,
    quasi_normal_points,
    reconstruction_nll,
    row_uniforms,
)
from .exceptions import DataRangeWarning


# Posterior draws per row behind score_samples and score by default: the usual one-draw
# ELBO estimate, its draw made from the row itself, so scores are deterministic.
N_DRAWS = 1
# What a value outside [0, 1] costs under the Bernoulli likelihood, per unit of
# distance: more than any value inside can cost a confident model (~10 nats).
OUT_OF_RANGE_NATS = 100.0


class _ScoringMixin:
    """``score_samples``, ``score`` and ``kl_per_dimension``."""

    def _has_factorised_prior(self):
        return self._module_class.factorised_prior

    @available_if(_has_factorised_prior)
    def kl_per_dimension(self, X):
        """Mean KL divergence of each latent dimension from the prior, over X, in nats.

        The VAE's counterpart of PCA's ``explained_variance_``: it says which
        latent dimensions the model uses. A dimension whose KL is near 0 has
        the prior as its posterior for every row (it is "collapsed"): it
        carries nothing about X, :meth:`transform` gives it about 0 for every
        row, and the decoder ignores it. The values sum to the mean KL term of
        the ELBO. :func:`skvae.plotting.plot_kl_per_dimension` draws them.

        Only for models whose prior factorises over dimensions (``N(0, I)``):
        the VAE, beta-VAE and conditional VAE (for which it is the KL of
        ``q(z | x)``, the label-free posterior :meth:`transform` gives).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data shaped like the training data (the training data itself, or
            held-out rows).

        Returns
        -------
        kl : ndarray of shape (n_components,)
            Mean ``KL(q(z_j | x) || N(0, 1))`` over the rows, per dimension.

        Examples
        --------
        >>> from sklearn.datasets import load_digits
        >>> from skvae import VAETransformer
        >>> X = load_digits().data / 16
        >>> vae = VAETransformer(n_components=8, max_epochs=10, random_state=0).fit(X)
        >>> kl = vae.kl_per_dimension(X)
        >>> kl.shape
        (8,)
        >>> active = kl > 0.01  # nats: the dimensions the model uses
        >>> bool(kl.min() >= 0)
        True
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)

        def step(module, batch):
            return (module.kl_per_dimension(*module.encode(batch)),)

        (kl,) = self._run_batches(X, step)
        return kl.mean(0, dtype=np.float64)

    def score_samples(self, X, n_importance=None, *, n_draws=N_DRAWS):
        """Per-sample evidence lower bound (ELBO), or its importance-weighted tightening, in nats.

        Higher means more typical of the training data, as for
        ``IsolationForest.score_samples``. For the variational models this is
        ``E_q[log p(x | z)] - KL(q(z | x) || p(z))`` with the KL weight 1 (also
        for :class:`BetaVAETransformer`). The KL term is exact. The expectation
        is estimated from ``n_draws`` posterior draws, each costing a decoder
        pass: quasi-random points (scrambled Sobol, in antithetic pairs when
        ``n_draws`` is even), shifted for each row by an amount made from that
        row's own values. So each row's estimate is unbiased, the value is
        deterministic, and a row's score does not depend on the rows scored
        with it.

        The default, one draw, is the usual ELBO estimate and costs about 3
        times :meth:`transform`. Its errors are independent from row to row,
        so the mean over many rows (:meth:`score`, what a grid search
        compares) is close to the exact ELBO: within 0.5 nats (0.2%) on 300
        to 500 held-out rows of Fashion-MNIST and the digits, against 8,000
        draws; one draw shared by all rows was off by 3 to 6 nats there. A
        single row's value is coarser: off by 0.3% to 5% of its ELBO on
        average, which reorders nearby rows (rank correlation with the exact
        ELBO 0.88 for a small VAE on the digits, 0.996 on Fashion-MNIST). To
        rank rows, as an outlier score does, use more draws: ``n_draws=16``
        was within 0.9% per row and ``n_draws=64`` within 0.4%, at about 20
        to 30 and 80 to 140 times the cost of :meth:`transform`
        (benchmarks/README.md, "Scoring").
        For :class:`AutoencoderTransformer` it is the
        reconstruction log-likelihood ``log p(x | z)``, i.e. minus the
        reconstruction loss.

        The Bernoulli likelihood (``reconstruction_loss_ == "bce"``) has no
        density outside [0, 1]: such values are scored at the nearest bound
        and cost 100 nats per unit beyond it, with a warning, so that a row
        never scores as more typical for leaving the range (as a test fold of
        a ``MinMaxScaler`` may, slightly).

        With ``n_importance=k`` it is instead the importance-weighted bound of
        IWAE, ``log (1/k) sum_i p(x | z_i) p(z_i) / q(z_i | x)`` over k
        posterior draws: k=1 estimates the ELBO, and the bound rises towards
        the log-likelihood ``log p(x)`` as k grows (k=100 or more, for
        comparing models by likelihood). The k draws are independent
        standard-normal draws made from each row's values, so this too is
        deterministic and independent of the rows scored together.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        n_importance : int, default=None
            Number of importance samples per row; None gives the ELBO as
            described above. Only for models with a posterior (not
            :class:`AutoencoderTransformer`). Costs ``n_importance`` decoder
            passes per row.
        n_draws : int, default=1
            Posterior draws per row that estimate the ELBO's expectation;
            each costs a decoder pass, and more are closer to the exact ELBO
            for each row (see above). Not used with ``n_importance`` or by
            :class:`AutoencoderTransformer`.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        X, bounded = self._scoring_input(X, n_importance, n_draws)
        return self._bound_rows(X, n_importance, bounded, n_draws).astype(_output_dtype(X), copy=False)

    def _scoring_input(self, X, n_importance, n_draws=N_DRAWS):
        """X validated for scoring, and whether it leaves the Bernoulli likelihood's [0, 1] (with a warning)."""
        check_is_fitted(self)
        if not isinstance(n_draws, Integral) or isinstance(n_draws, bool) or n_draws < 1:
            raise ValueError(
                f"n_draws must be a positive integer (posterior draws per row), got {n_draws!r}."
            )
        if n_importance is not None:
            if not isinstance(n_importance, Integral) or isinstance(n_importance, bool) or n_importance < 1:
                raise ValueError(f"n_importance must be None or a positive integer, got {n_importance!r}.")
            if not self._module_class.stochastic:
                raise ValueError(
                    f"n_importance weighs posterior draws, but {type(self).__name__} has a "
                    "deterministic code and no prior: leave n_importance=None."
                )
        X = self._validate_input(X, reset=False)
        bounded = self.reconstruction_loss_ == "bce" and self.input_scale_ == 1 and not _in_unit_range(X)
        if bounded:
            _warn_once_per_process(
                "X has values outside [0, 1], where the Bernoulli likelihood of this model "
                "(reconstruction_loss_='bce') has no density. Each value is scored at the "
                f"nearest bound and costs {OUT_OF_RANGE_NATS:g} nats per unit beyond it, so such "
                "rows score as less typical. Scale new data as the training data was (e.g. "
                "MinMaxScaler(clip=True)). Shown once per process.",
                DataRangeWarning,
                stacklevel=3,
            )
        return X, bounded

    def _bound_rows(self, X, n_importance, bounded, n_draws=N_DRAWS, **condition):
        """:meth:`score_samples` of validated rows; ``condition`` goes to the module's ``encode`` and ``decode``."""
        kind = self.reconstruction_loss_

        def step(module, batch):
            penalty = 0.0
            if bounded:
                inside = batch.clamp(0, 1)
                penalty = OUT_OF_RANGE_NATS * (batch - inside).abs().flatten(1).sum(1)
                batch = inside
            decode = partial(module.decode, **condition)
            mean, logvar = module.encode(batch, **condition)
            if not module.stochastic:
                return (-reconstruction_nll(decode(mean), batch, kind) - penalty,)
            if n_importance is not None:
                draws = importance_draws(batch, n_importance, self.n_components)
                bound = importance_weighted_log_likelihood(decode, module.log_prior, mean, logvar, batch, kind, draws)
                return (bound - penalty,)
            # each row's draws made from its own values: the same in any batch, on any machine
            points = quasi_normal_points(n_draws, self.n_components, row_uniforms(batch, self.n_components))
            recon = expected_reconstruction_nll(decode, mean, logvar, batch, kind, points)
            return (-(recon + module.kl_divergence(mean, logvar)) - penalty,)

        # One decoder call per batch, as large as inference's (1024 rows for an MLP: 1 row x 1024
        # draws, or 16 x 64); importance draws, however many, in batches of 16 rows
        rows = 16 if n_importance is not None else max(1, self._inference_batch_size(X) // n_draws)
        name = None if condition else f"score, draws={n_draws}, importance={n_importance}, bounded={bounded}"
        (scores,) = self._run_batches(X, step, batch_size=rows, name=name)
        return scores

    def score(self, X, y=None, n_importance=None, *, n_draws=N_DRAWS):
        """Mean ELBO per sample in nats (higher is better).

        This is what ``GridSearchCV`` maximises when no ``scoring`` is given.
        See :meth:`score_samples`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.
        n_importance : int, default=None
            Importance samples per row: the mean IWAE bound instead of the ELBO.
        n_draws : int, default=1
            Posterior draws per row behind the ELBO (see
            :meth:`score_samples`); the mean over rows needs few.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X, n_importance=n_importance, n_draws=n_draws)))
