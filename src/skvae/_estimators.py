"""The three public estimators: what each one owns is its loss.

``AutoencoderTransformer`` has a deterministic code and no prior,
``VAETransformer`` weighs the KL term by exactly 1, ``BetaVAETransformer`` by ``beta``.
"""

from numbers import Real

from sklearn.utils._param_validation import Interval

from ._base import _BaseAutoencoder
from ._losses import ReconstructionLoss
from ._params import fill_docstring, store_parameters
from ._priors import FittedMixture
from ._samplers import ExPostSamplerMixin, code_mixture, document_sampler
from .modules import Autoencoder

@fill_docstring
class AutoencoderTransformer(_BaseAutoencoder):
    """Autoencoder as a scikit-learn transformer.

    A deterministic encoder maps each row to ``n_components`` numbers and a
    decoder maps them back; both are multi-layer perceptrons trained to
    minimise the reconstruction loss. There is no prior over the code, so
    :meth:`sample` draws codes from a Gaussian mixture fitted to the training
    codes.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
{attributes}

    latent_density_ : sklearn.mixture.GaussianMixture
        Mixture of up to 10 Gaussians fitted to the training codes, used by
        :meth:`sample`.

    See Also
    --------
{see_also}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import AutoencoderTransformer
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(n_components=8, max_epochs=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (1797, 8)
    >>> ae.reconstruction_loss_
    'bce'
    >>> ae.inverse_transform(ae.transform(X[:3])).shape
    (3, 64)
    """

    _module_class = Autoencoder

    def _criterion(self, kind):
        return ReconstructionLoss(kind)

    _statistics = ("latent_density_",)

    def _fit_statistics(self, X):
        # No prior to sample from: new codes come from a mixture fitted to the
        # codes of the training data.
        self.latent_density_ = code_mixture(self, X)

    def _prior(self):
        return FittedMixture(self._statistic("latent_density_"))


@document_sampler
@fill_docstring
class VAETransformer(ExPostSamplerMixin, _BaseAutoencoder):
    """Variational autoencoder (VAE) as a scikit-learn transformer.

    The encoder gives each row a Gaussian posterior ``q(z | x)`` over
    ``n_components`` latent dimensions; the decoder gives ``p(x | z)``; the
    prior is ``N(0, I)``. Training maximises the evidence lower bound (ELBO),
    reconstruction log-likelihood minus ``KL(q(z | x) || p(z))``.
    :meth:`transform` returns posterior means (for codes of 1 to 3
    dimensions, by default, the codes placed among the training rows' map,
    as UMAP places new points: see ``neighbor_weight`` and ``placement``),
    :meth:`sample` decodes draws
    from the prior (or, with ``sampler="gmm"``, from a mixture fitted to the
    training codes), and :meth:`score` is the mean ELBO.

    Parameters
    ----------
{parameters}

{sampler}

    Attributes
    ----------
{attributes}

{latent_density}

    See Also
    --------
{see_also}

    References
    ----------
    Kingma, D. P. and Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skvae import VAETransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> vae = make_pipeline(StandardScaler(),
    ...                     VAETransformer(n_components=4, max_epochs=5, random_state=0))
    >>> codes = vae.fit_transform(X)
    >>> codes.shape
    (1797, 4)
    >>> vae[-1].reconstruction_loss_
    'mse'
    >>> vae.inverse_transform(codes[:2]).shape
    (2, 64)
    """


@document_sampler
@fill_docstring
class BetaVAETransformer(VAETransformer):
    """Beta-VAE: a VAE whose KL term is weighted by ``beta``, as a transformer.

    ``beta > 1`` pushes the posterior towards the factorised prior, trading
    reconstruction for codes whose dimensions tend to vary independently
    (disentanglement); ``beta = 1`` is the plain :class:`VAETransformer`.
    :meth:`score` still reports the true ELBO (KL weight 1), so models trained
    with different ``beta`` compare fairly in ``GridSearchCV``.

    Parameters
    ----------
{parameters}

    beta : float, default=4.0
        Weight of the KL term in the training loss.

{sampler}

    Attributes
    ----------
{attributes}

{latent_density}

    See Also
    --------
{see_also}

    References
    ----------
    Higgins, I. et al. (2017). beta-VAE: Learning Basic Visual Concepts with a
    Constrained Variational Framework. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import BetaVAETransformer
    >>> X = load_digits().data / 16
    >>> bvae = BetaVAETransformer(n_components=4, beta=4.0, max_epochs=5, random_state=0)
    >>> bvae.fit(X).sample(3, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints = {
        **VAETransformer._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
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
        neighbor_weight="auto",
        placement="auto",
        beta=4.0,
        sampler="prior",
    ):
        store_parameters(self, locals())

    def _kl_weight(self):
        return self.beta
