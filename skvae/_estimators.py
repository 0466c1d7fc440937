"""The three public estimators: what each one owns is its loss.

``AutoencoderTransformer`` has a deterministic code and no prior,
``VAETransformer`` weighs the KL term by exactly 1, ``BetaVAETransformer`` by ``beta``.
"""

import copy
from numbers import Real

import numpy as np
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import Interval

from ._base import _BaseAutoencoder
from ._generation import mixture_center_and_spread
from .modules import Autoencoder

_PARAMETERS = """\
    n_components : int, default=2
        Dimension of the latent code, i.e. the number of output columns of
        :meth:`transform`.

    hidden_layer_sizes : array-like of int, default=(256, 128)
        Widths of the encoder's hidden layers, from the input to the code; the
        decoder mirrors them. ``()`` gives a linear encoder and decoder. With
        ``architecture="conv"`` these are the dense layers between the
        convolutions and the code.

    architecture : {"mlp", "conv"} or (encoder_class, decoder_class), default="mlp"
        ``"mlp"``: fully connected networks on flat rows. ``"conv"``: strided
        convolutions and transposed convolutions on images (see
        :class:`skvae.modules.ConvEncoder`), for image-shaped X or flat rows
        with ``image_shape``. Or a pair of your own ``torch.nn.Module``
        classes (or ``functools.partial`` of them):
        ``encoder_class(input_shape, n_outputs)`` must map ``(N, *input_shape)``
        to ``(N, n_outputs)``, where ``n_outputs`` is ``2 * n_components`` for
        the variational models (means, then log-variances) and
        ``n_components`` for the autoencoder;
        ``decoder_class(n_components, input_shape)`` must map
        ``(N, n_components)`` back to ``(N, *input_shape)``, unbounded
        (logits for ``"bce"``). ``input_shape`` is ``(C, H, W)`` for images and
        ``(n_features,)`` for rows.

    conv_channels : "auto" or array-like of int, default="auto"
        Channels of the convolutions, from the image inwards; each halves the
        height and width. The decoder mirrors them. ``"auto"`` follows the
        image: stride-2 stages continue until the larger side is 4 pixels or
        less, with 32 channels in the first and twice as many in each next,
        up to 256 (8x8: ``(32,)``; 28x28: ``(32, 64, 128)``; 64x64:
        ``(32, 64, 128, 256)``), so that the dense layers meet a small
        feature map. Only for ``architecture="conv"``.

    image_shape : (H, W) or (C, H, W), default=None
        Shape of one image when X holds flat rows of ``C * H * W`` pixels
        (channel-major, as ``X_images.reshape(n, -1)`` gives). One entry may be
        -1 and is inferred from the number of features. Not needed when X is
        passed as ``(n, H, W)`` or ``(n, C, H, W)`` images.

    reconstruction_loss : {"auto", "bce", "mse"}, default="auto"
        Likelihood of the decoder. ``"bce"``: Bernoulli on the decoder's
        logits, for data in [0, 1] such as pixel intensities. ``"mse"``:
        Gaussian with unit variance, for standardized data. ``"auto"`` picks
        ``"bce"`` when every value of the training X lies in [0, 1] and
        ``"mse"`` otherwise; the choice is stored in ``reconstruction_loss_``.

    max_epochs : int, default=100
        Number of passes over the training data (fewer with early stopping).

    batch_size : int, default=128
        Rows per mini-batch, in training and in inference.

    lr : float, default=1e-3
        Learning rate of the optimizer.

    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or callable, default="adam"
        The optimizer, by name or as a ``torch.optim.Optimizer`` class (or
        ``functools.partial`` of one, to set its other arguments).

    validation_fraction : float in [0, 1), default=0.1
        Fraction of the training rows held out to compute ``valid_loss`` every
        epoch, for early stopping and learning curves. ``0`` trains on all rows.

    early_stopping : bool, default=False
        Stop when ``valid_loss`` has not improved for ``n_iter_no_change``
        epochs and keep the weights of the best epoch.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    warm_start : bool, default=False
        When True and the estimator is fitted, :meth:`fit` trains the fitted
        network on for ``max_epochs`` more epochs, from its weights, its
        optimizer's state and its random state, instead of starting anew;
        ``history_`` and ``n_iter_`` go on counting. Resuming the same data
        this way gives, on CPU, bit for bit the model of one longer fit.

    checkpoint_path : str or path-like, default=None
        A file that :meth:`fit` keeps up to date with the model in training:
        every ``checkpoint_every`` epochs, when training is interrupted, and at
        the end. It is written as :meth:`save` writes it, with the training
        state, and replaced atomically, so a crash never leaves half a file.
        After the process died, ``skvae.load(path)`` gives the model of the
        last checkpoint; ``set_params(warm_start=True)`` and :meth:`fit` on
        the same data train on from there. A checkpoint costs a file write:
        what takes a pass over all training rows (the autoencoder's
        ``latent_density_``, the VQ-VAE's ``code_frequencies_``,
        GaussianMixtureVAE's ``labels_``) is computed when fit ends, so only
        the last file has it.

    checkpoint_every : int, default=1
        Epochs between checkpoints (counted over all fits of a warm start).

    device : str, default="auto"
        Torch device to train and infer on: ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
        ..., or ``"auto"`` for a CUDA GPU when there is one.

    mixed_precision : bool, default=False
        Run training's forward passes in bfloat16 (``torch.autocast``), with
        the loss in float32. Worth it on GPUs with bfloat16 tensor cores
        (NVIDIA Ampere and newer); off by default because it changes results
        slightly and most CPUs run it slower.

    compile : bool, default=False
        Compile the network for training with ``torch.compile``. Compiling
        takes tens of seconds, so it pays off only for long training runs; on
        CPU it needs a C++ compiler. The fitted model keeps the plain module.

    callbacks : list of skorch callbacks or None, default=None
        Extra `skorch callbacks <https://skorch.readthedocs.io/en/stable/callbacks.html>`_,
        e.g. ``LRScheduler`` or ``Checkpoint``, passed to the net (copied, so
        that the objects given here are never modified).

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and the
        posterior noise. With an int, ``fit`` on the same data gives the same
        model bit for bit on CPU. Torch's global random state is left alone.

    verbose : int, default=0
        0: silent. 1: a progress bar over the epochs with the latest losses.
        2: skorch's table of losses, one row per epoch.

    kl_warmup_epochs : int, default=0
        Epochs over which the weight of the KL term rises linearly from
        ``1 / kl_warmup_epochs`` of its full value to all of it (KL
        annealing), recorded per epoch as ``history_[:, "kl_weight"]``. The
        first epochs then learn to reconstruct before the prior pulls the
        posteriors together, which keeps more latent dimensions in use. A warm
        start carries on the schedule. 0 trains with the full weight
        throughout. Not used by :class:`AutoencoderTransformer` (no KL term)."""

_ATTRIBUTES = """\
    net_ : skvae._net.AutoencoderNet
        The trained skorch ``NeuralNet``; ``net_.module_`` is the plain torch
        module (see :mod:`skvae.modules`). A pickle (or joblib file) of the
        estimator stores its weights once plus the optimizer's state, so that
        ``warm_start`` trains on after unpickling: about 3x the ``state_dict``
        with Adam. :meth:`save` stores the weights alone (1x), or with the
        optimizer and random state (``training_state=True``), and loads
        without unpickling.

    history_ : skorch.History
        Per-epoch record of training: ``history_[:, "train_loss"]``,
        ``"valid_loss"`` and their parts ``"train_recon_loss"``,
        ``"train_kl_loss"`` (and ``valid_``), in nats per sample.

    n_iter_ : int
        Number of epochs run.

    reconstruction_loss_ : {"bce", "mse"}
        The likelihood actually used (resolves ``"auto"``).

    image_shape_ : (C, H, W) or None
        Shape of one image, or None for tabular rows.

    input_scale_ : float
        255.0 if the training data was ``uint8`` (intensities, divided by 255
        on the way in and multiplied back on the way out), else 1.0.

    n_features_in_ : int
        Number of features seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``. Defined only when `X`
        has feature names that are all strings."""

_SEE_ALSO = """\
    AutoencoderTransformer : Deterministic autoencoder, no prior.
    VAETransformer : Variational autoencoder.
    BetaVAETransformer : VAE with a weighted KL term.
    sklearn.decomposition.PCA : The linear counterpart."""


def _fill_docstring(cls):
    cls.__doc__ = (
        cls.__doc__.replace("{parameters}", _PARAMETERS)
        .replace("{attributes}", _ATTRIBUTES)
        .replace("{see_also}", _SEE_ALSO)
    )
    return cls


@_fill_docstring
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

    def _kl_weight(self):
        return 0.0

    _statistics = ("latent_density_",)

    def _fit_statistics(self, X):
        # No prior to sample from: new codes come from a mixture fitted to the
        # codes of the training data.
        codes = self._encode(X)[0].astype(np.float64)  # float32 covariances fail PSD checks
        mixture = GaussianMixture(n_components=min(10, len(codes)), random_state=self.net_.split_seed)
        self.latent_density_ = mixture.fit(codes)

    def _sample_codes(self, n_samples, rng):
        mixture = copy.copy(self._statistic("latent_density_"))
        mixture.random_state = rng
        Z, _ = mixture.sample(n_samples)
        return Z[rng.permutation(n_samples)]  # GaussianMixture groups its rows by component

    def _latent_center_and_spread(self, dim):
        density = self._statistic("latent_density_")
        return mixture_center_and_spread(density.weights_, density.means_[:, dim], density.covariances_[:, dim, dim])


@_fill_docstring
class VAETransformer(_BaseAutoencoder):
    """Variational autoencoder (VAE) as a scikit-learn transformer.

    The encoder gives each row a Gaussian posterior ``q(z | x)`` over
    ``n_components`` latent dimensions; the decoder gives ``p(x | z)``; the
    prior is ``N(0, I)``. Training maximises the evidence lower bound (ELBO),
    reconstruction log-likelihood minus ``KL(q(z | x) || p(z))``.
    :meth:`transform` returns posterior means, :meth:`sample` decodes draws
    from the prior, and :meth:`score` is the mean ELBO.

    Parameters
    ----------
{parameters}

    Attributes
    ----------
{attributes}

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


@_fill_docstring
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

    Attributes
    ----------
{attributes}

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
        validation_fraction=0.1,
        early_stopping=False,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_path=None,
        checkpoint_every=1,
        device="auto",
        mixed_precision=False,
        compile=False,
        callbacks=None,
        random_state=None,
        verbose=0,
        kl_warmup_epochs=0,
        beta=4.0,
    ):
        super().__init__(
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            architecture=architecture,
            conv_channels=conv_channels,
            image_shape=image_shape,
            reconstruction_loss=reconstruction_loss,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            n_iter_no_change=n_iter_no_change,
            warm_start=warm_start,
            checkpoint_path=checkpoint_path,
            checkpoint_every=checkpoint_every,
            device=device,
            mixed_precision=mixed_precision,
            compile=compile,
            callbacks=callbacks,
            random_state=random_state,
            verbose=verbose,
            kl_warmup_epochs=kl_warmup_epochs,
        )
        self.beta = beta

    def _kl_weight(self):
        return self.beta
