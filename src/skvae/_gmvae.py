"""``GaussianMixtureVAE``: a VAE whose prior is a mixture of Gaussians, as a clusterer.

What this model owns: its module (the mixture prior, in
:class:`skvae.modules.GaussianMixtureVariationalAutoencoder`), its training
before the main one (pretraining, then a UMAP map of the codes' and the data's
neighbours that places the mixture), its loss (the ELBO plus an anchor to that
map), and its sampling.
"""

import math
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import ClusterMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from sklearn.utils import ClassifierTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from torch import nn

from ._augment import MIN_NEIGHBOR_TURN, TURN_SAMPLE, neighbor_turn, random_moves, small_images
from ._base import _BaseAutoencoder
from ._checks import _output_dtype
from ._data import Sides
from ._losses import ELBOLoss, LossOutput
from ._neighbors import flat_rows, fuzzy_graph
from ._params import fill_docstring, store_parameters
from ._priors import LearnedMixture
from ._transformations import can_transform
from .modules import AutoencoderOutput, GaussianMixtureVariationalAutoencoder

# The map whose clusters the mixture starts from and the codes are held to: UMAP
# of the mean of the pretrained codes' and the training rows' neighbour graphs,
# with the settings of N2D (McConville et al., 2021), which keep neighbourhoods
# tight (min_dist=0) and look a little further than UMAP's default 15 neighbours.
UMAP_NEIGHBORS = 20
UMAP_MIN_DIST = 0.0
# How far, in standard deviations of the map, a code may stray from its place
# on it at the cost of half a nat: the anchor is a Gaussian likelihood of the
# map given the code, with this standard deviation.
ANCHOR_STD = 0.1
# Epochs that move the pretrained codes onto the map before the full ELBO: at
# least ALIGN_EPOCHS, and at least ALIGN_STEPS optimizer steps, which small data
# sets need (50 rows in batches of 16 took 80 steps in 20 epochs, and their
# codes had not reached the map: two of three clusters merged in most seeds).
ALIGN_EPOCHS = 20
ALIGN_STEPS = 200
# pretrain_epochs="auto": 50 epochs, and at least PRETRAIN_STEPS optimizer
# steps, which small data sets need (the 1,797 digits take 8 steps an epoch at
# the default batch of 256: 50 epochs clustered them at ARI 0.794 over seeds
# 0-2, 250 epochs at 0.841; 569 breast cancer rows 0.797 and 0.837). 2,000 is
# what 50 epochs of 10,000 rows take, where more pretraining did not help.
PRETRAIN_EPOCHS = 50
PRETRAIN_STEPS = 2000
# Initialisations of each KMeans that starts the mixture; the tightest is kept.
MIXTURE_INITS = 10
# Maps laid out from the one graph, each from its own random state. One map's
# clusters hang on its layout's chance: on 5,000 MNIST images, five layouts of
# the same pretrained codes gave KMeans partitions from 0.72 to 0.80 ARI. The
# mixture starts from the partition they agree on, and the codes are held to
# the map nearest it (benchmarks/README.md, "Several maps and their consensus").
N_MAPS = 5


class _MeanCodes(nn.Module):
    """A VAE seen as a deterministic autoencoder on its posterior means, for pretraining.

    It shares (does not copy) the VAE's encoder and decoder, and has them
    alone as parts: the mixture prior takes no part in pretraining, and a
    parameter that no step uses would stall data-parallel training. Move the
    VAE to its device first. With ``move_images`` (the images' shape
    ``(C, H, W)``), the encoder reads each training image moved at random
    (:func:`skvae._augment.random_moves`) and the loss compares the
    reconstruction with the image as it was.
    """

    def __init__(self, vae, move_images=None):
        super().__init__()
        self.encoder, self.decoder = vae.encoder, vae.decoder
        self._vae_encode, self._vae_decode = vae.encode, vae.decode
        self.move_images = move_images

    def encode(self, x):
        return self._vae_encode(x)[0], None

    def decode(self, z):
        return self._vae_decode(z)

    def forward(self, x):
        if self.training and self.move_images is not None:
            x = random_moves(x, self.move_images)
        mean, _ = self.encode(x)
        return AutoencoderOutput(self.decode(mean), mean, mean, None)


class AnchoredELBOLoss(ELBOLoss):
    """Negative ELBO plus ``||mean - target||^2 / (2 anchor_std^2)`` per sample.

    ``target`` is each row's place on the map of the training rows: the
    anchor holds the posterior mean near it, a Gaussian likelihood of the map
    with standard deviation ``anchor_std``. Without a target (None) this is
    the plain ELBO loss (``anchor_loss`` 0). ``recon_loss`` and ``kl_loss``
    stay the ELBO's parts.
    """

    parts = ("recon_loss", "kl_loss", "anchor_loss")

    def __init__(self, reconstruction="bce", kl_weight=1.0, anchor_std=ANCHOR_STD):
        super().__init__(reconstruction, kl_weight)
        self.anchor_std = anchor_std

    def forward(self, output, x, target=None):
        parts = super().forward(output, x)
        if target is None:
            return LossOutput(parts, anchor_loss=torch.zeros_like(parts.kl_loss))
        anchor = ((output.mean - target).pow(2).sum(-1) / (2 * self.anchor_std**2)).mean()
        return LossOutput(parts, loss=parts.loss + anchor, anchor_loss=anchor)


class MixtureEM(Callback):
    """Set the mixture prior to its ELBO-optimal values at the start of every epoch.

    Given the posteriors ``q(z | x) = N(m, v)`` and responsibilities ``r`` of
    the training rows, the prior's weights, means and variances that maximise
    the ELBO have a closed form (the M-step of EM):
    ``pi_c = mean_i r_ic``, ``mu_c = sum_i r_ic m_i / sum_i r_ic`` and
    ``sigma_c^2 = sum_i r_ic (v_i + (m_i - mu_c)^2) / sum_i r_ic``. Gradient
    steps at the networks' learning rate move the prior far more slowly, and
    a prior that lags behind the codes merges and splits clusters. Acts only
    when the loss has the prior's KL term (not while pretraining). Run at the
    start of an epoch, so that a checkpoint holds everything a resumed fit needs.
    """

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        # the pretraining and the alignment train without the KL term, on other modules
        if net.criterion_.kl_weight == 0 or dataset_train is None:
            return
        module = net.module_
        data, _ = dataset_train
        means, variances = _posteriors(module, data, to_numpy=False)
        with torch.no_grad():
            resp = module.cluster_posterior(means, variances.log())
            total = resp.sum(0) + 1e-10
            centers = resp.T @ means / total[:, None]
            spread = (resp.T @ variances + resp.T @ means.pow(2)) / total[:, None] - centers.pow(2)
            floor = 1e-6 * means.var(0).mean() + 1e-10
            module.prior_logits.copy_(torch.log(total / total.sum()))
            module.prior_means.copy_(centers)
            module.prior_logvars.copy_(spread.clamp_min(floor).log())


@fill_docstring
class GaussianMixtureVAE(ClusterMixin, _BaseAutoencoder):
    """Variational autoencoder with a Gaussian-mixture prior, as a clusterer and a transformer.

    The prior over the ``n_components``-dimensional code is a mixture of
    ``n_clusters`` Gaussians with learned weights, means and (diagonal)
    variances, as in VaDE; each component is a cluster. :meth:`predict_proba`
    gives the posterior responsibilities ``q(c | x)``, :meth:`predict` the
    likeliest cluster, :meth:`transform` the posterior means, and
    :meth:`sample` generates from all clusters or from chosen ones.

    Training, with the defaults, runs in four steps:

    1. The network is pretrained as a plain autoencoder on its posterior means
       for ``pretrain_epochs`` epochs (by default 50, and at least 2,000
       optimizer steps, which small data sets need). Images of 16 pixels a
       side or more whose near neighbours lie at different angles are moved
       a little at random as the encoder reads them (``pretrain_moves``),
       and are given back as they were.
    2. The training rows are mapped to ``n_components`` dimensions by UMAP
       (``init="umap"``), which gathers neighbours into tight groups, as N2D
       does. The map keeps the neighbours of both the pretrained codes and
       the rows themselves (the mean of their two neighbour graphs, where
       an edge that one sees and the other does not keeps half its weight):
       the codes' neighbours alone lose clusters that the data show plainly,
       and the data's alone lose those that only the codes separate. Images
       (``image_shape``, or X shaped ``(n, H, W)`` or ``(n, C, H, W)``, with
       sides of 8 pixels or more) are neighbours by their smallest distance
       when one is moved by up to a pixel, so that the same stroke drawn a
       pixel aside is still near. Five maps are laid out from that one
       graph, each from its own random state, and each is split by KMeans
       into ``n_clusters`` clusters; the partition they agree on most (their
       consensus) starts the mixture, and the map whose own partition is
       nearest it is the one the codes are held to. One layout's clusters
       hang on its chance; their consensus much less.
    3. For 20 epochs (and at least 200 optimizer steps, which small data
       sets need) the codes move onto that map (a Gaussian anchor of
       standard deviation 0.1, no KL term). The consensus clusters of their
       codes give the mixture its first weights, means and variances.
    4. The full model trains for ``max_epochs`` epochs on the ELBO under the
       mixture prior, with each code still held near its place on the map.
       The prior's weights, means and variances are set to their
       ELBO-optimal values (an EM step) at the start of every epoch.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of mixture components, i.e. of clusters: what scikit-learn's
        ``GaussianMixture`` calls ``n_components``. Here ``n_components`` is
        the dimension of the code (the columns of :meth:`transform`), as for
        every skvae transformer.

{parameters}

    pretrain_epochs : int or "auto", default="auto"
        Epochs of step 1. ``"auto"``: 50, or as many as 2,000 optimizer steps
        take where that is more (data sets of fewer than 10,000 rows at the
        default batch of 256; on the 1,797 digits, 250 epochs). 0 skips
        pretraining (the map is then of the codes of the untrained encoder).

    init : {"umap", "gmm"}, default="umap"
        Where the mixture starts and what the codes are held to: ``"umap"``
        the UMAP map of step 2 (needs umap-learn), ``"gmm"`` the
        pretrained codes themselves (standardised), as VaDE does.

    pretrain_moves : {"auto", "always"} or None, default="auto"
        How images are seen in step 1. ``"auto"``: images with sides of 16
        pixels or more are each moved at random as the encoder reads them
        (shifted by up to 2 pixels, turned by up to 15 degrees, scaled by up
        to 15 %), and the decoder must give back the image as it was, so that
        the same thing drawn a little aside or askew gets a near code. That
        is done only where the data show such turns themselves: where the
        principal axes of an image and of its 10 nearest images lie, in the
        median, 2.5 degrees or more apart (measured on 2,500 training images
        drawn at random). Handwritten digits differ so (MNIST: 5.6 degrees),
        and moves raised their clusters' ARI by 0.1; clothes photographed
        upright do not (Fashion-MNIST: 1.6 degrees), and moves lowered their
        NMI. Rows that are not images, and smaller images, are read as they
        are. ``pretrain_moves_`` says what a fit did. ``"always"``: move
        images of 16 pixels a side or more whatever their neighbours, for
        upright shapes that should still cluster alike when drawn askew.
        None: never move them, for images whose position, orientation or
        size is part of what sets them apart.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training row (:meth:`predict` on the training data).

    embedding_ : ndarray of shape (n_samples, n_components)
        The standardised map of the training rows (of their and their
        pretrained codes' neighbours) that the codes are held to (step 2); a
        warm start trains on with it.

    pretrain_moves_ : bool
        Whether step 1 moved the images (``pretrain_moves``).

    weights_ : ndarray of shape (n_clusters,)
        Weights of the mixture prior.

    means_ : ndarray of shape (n_clusters, n_components)
        Means of the components.

    covariances_ : ndarray of shape (n_clusters, n_components)
        Variances of the components (diagonal covariances).

{attributes}

    See Also
    --------
    VAETransformer : The VAE with a standard normal prior.
    sklearn.mixture.GaussianMixture : The mixture, without the networks.
    sklearn.cluster.KMeans : Clustering without a model of the data.

    References
    ----------
    Jiang, Z. et al. (2017). Variational Deep Embedding: An Unsupervised and
    Generative Approach to Clustering. IJCAI.

    McConville, R. et al. (2021). N2D: (Not Too) Deep Clustering via
    Clustering the Local Manifold of an Autoencoded Embedding. ICPR.

    Wu, J. et al. (2015). K-Means-Based Consensus Clustering: A Unified
    View. IEEE Transactions on Knowledge and Data Engineering.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skvae import GaussianMixtureVAE
    >>> X = load_digits().data / 16
    >>> gmvae = GaussianMixtureVAE(n_clusters=10, hidden_layer_sizes=(64,), pretrain_epochs=2, max_epochs=2,
    ...                            random_state=0)
    >>> gmvae.fit_predict(X).shape
    (1797,)
    >>> gmvae.predict_proba(X[:2]).shape
    (2, 10)
    >>> gmvae.sample(4, cluster=3, random_state=0).shape
    (4, 64)
    """

    _module_class = GaussianMixtureVariationalAutoencoder
    # the mixture starts from a map of all the training rows' codes: no partial_fit
    _incremental = False
    # a model saved before pretrain_moves existed pretrained on its images as they were
    _DEFAULTS_BEFORE = {**_BaseAutoencoder._DEFAULTS_BEFORE, "pretrain_moves": None}

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "pretrain_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "init": [StrOptions({"umap", "gmm"})],
        "pretrain_moves": [StrOptions({"auto", "always"}), None],
    }

    def __init__(
        self,
        n_clusters=8,
        n_components=10,
        *,
        hidden_layer_sizes=(500, 500, 2000),
        architecture="mlp",
        conv_channels="auto",
        image_shape=None,
        reconstruction_loss="auto",
        max_epochs=30,
        batch_size=256,
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
        pretrain_epochs="auto",
        init="umap",
        pretrain_moves="auto",
    ):
        store_parameters(self, locals())

    # ------------------------------------------------------------ training

    def _make_module(self, encoder, decoder, output_offset):
        return self._module_class(
            encoder, decoder, output_offset, n_clusters=self.n_clusters, n_components=self.n_components
        )

    def _criterion(self, kind):
        return AnchoredELBOLoss(kind, self._kl_weight())

    def _moves_images(self, data, seed):
        """Whether pretraining moves the images: images large enough to move, and ``pretrain_moves="always"``
        or ``"auto"`` with near neighbours in the data that lie at different angles."""
        if self.pretrain_moves is None or not can_transform(self.image_shape_):
            return False
        if self.pretrain_moves == "always":
            return True
        sample = np.sort(np.random.default_rng(seed).choice(len(data), min(len(data), TURN_SAMPLE), replace=False))
        batches = (flat_rows(data, rows) for rows in np.array_split(sample, math.ceil(len(sample) / 256)))
        return neighbor_turn(*small_images(batches, self.image_shape_)) >= MIN_NEIGHBOR_TURN

    def _prepare_training(self, module, data, kind, seed, device):
        """Pretrain, map the codes, move them onto the map and start the mixture there; return the map."""
        if len(data) < max(2, self.n_clusters):
            raise ValueError(
                f"n_samples={len(data)} should be >= n_clusters={self.n_clusters} and >= 2: each "
                "cluster needs a sample, and the map of the codes two. Lower n_clusters or pass "
                "more samples."
            )
        pretrain_epochs = self.pretrain_epochs
        if pretrain_epochs == "auto":
            pretrain_epochs = self._epochs(PRETRAIN_EPOCHS, PRETRAIN_STEPS, len(data))
        self.pretrain_moves_ = bool(pretrain_epochs) and self._moves_images(data, seed)
        if pretrain_epochs:
            moves = self.image_shape_ if self.pretrain_moves_ else None
            net = self._make_net(_MeanCodes(module.to(device), moves), kind, seed, device,
                                 criterion=ELBOLoss(kind, 0.0), phase="pretraining as an autoencoder")
            net.max_epochs = pretrain_epochs
            net.partial_fit(data)
        codes, _ = _posteriors(module, data)
        start = None  # the partition the mixture starts from; None: KMeans on the aligned codes
        if self.init == "umap":
            maps = [_standardised(m) for m in _umap_maps(codes, flat_rows(data, np.arange(len(data))),
                                                         self.n_components, seed, image_shape=self.image_shape_)]
            start, nearest = _consensus(maps, self.n_clusters, seed)
            embedding = maps[nearest]
        else:
            embedding = _standardised(codes)
        self.embedding_ = embedding.astype(np.float32)
        target = torch.from_numpy(self.embedding_)
        # Move the codes onto the map first, with the decoder following them.
        # Without a KL term the posteriors narrow too, so that the components
        # are told apart by the posterior means when the full ELBO starts.
        phase = "aligning the codes with the UMAP map" if self.init == "umap" else "standardising the codes"
        net = self._make_net(module, kind, seed, device, criterion=AnchoredELBOLoss(kind, 0.0), phase=phase)
        net.max_epochs = self._epochs(ALIGN_EPOCHS, ALIGN_STEPS, len(data))
        net.partial_fit(data, Sides(target=target))
        # The mixture starts from the maps' consensus, or from KMeans on the
        # codes (on UMAP maps it splits and merges classes less often than a
        # GaussianMixture's EM), no narrower than the posteriors, which would
        # otherwise all go to the widest component.
        means, variances = _posteriors(module, data)
        if start is None:
            start = KMeans(self.n_clusters, n_init=MIXTURE_INITS, random_state=seed).fit(means).labels_
        counts = np.bincount(start, minlength=self.n_clusters)
        centres = np.array(
            [means[start == c].mean(0) if counts[c] else means.mean(0) for c in range(self.n_clusters)]
        )
        spreads = np.array(
            [means[start == c].var(0) if counts[c] > 1 else means.var(0) for c in range(self.n_clusters)]
        )
        with torch.no_grad():
            module.prior_logits.copy_(torch.as_tensor(np.log(np.maximum(counts, 1) / counts.sum())))
            module.prior_means.copy_(torch.as_tensor(centres))
            module.prior_logvars.copy_(torch.as_tensor(np.log(np.maximum(spreads, variances.mean(0)))))
        return target

    def _epochs(self, epochs, steps, n_rows):
        """``epochs``, or as many as ``steps`` optimizer steps take on ``n_rows`` rows where that is more."""
        return max(epochs, math.ceil(steps / math.ceil(n_rows / self.batch_size)))

    _training_phase = "training the ELBO under the mixture prior"

    def _training_callbacks(self, checkpoint=None, phase="training"):
        return [("mixture_em", MixtureEM()), *super()._training_callbacks(checkpoint, phase)]

    def _warm_start_target(self, data):
        if len(data) != len(self.embedding_):
            raise ValueError(
                f"warm_start=True trains on with the map of the training data (embedding_, "
                f"{len(self.embedding_)} rows), but X has {len(data)} rows. Train on the same "
                "data, or set warm_start=False to fit anew."
            )
        return torch.from_numpy(self.embedding_)

    _statistics = ("labels_",)

    def _fit_statistics(self, X):
        self.labels_ = self._predict_proba_rows(X).argmax(1)

    # ----------------------------------------------------------- clustering

    def _predict_proba_rows(self, X):
        """:meth:`predict_proba` on validated rows."""

        def step(module, batch):
            return (module.cluster_posterior(*module.encode(batch)),)

        (proba,) = self._run_batches(X, step)
        return proba

    def predict_proba(self, X):
        """Posterior cluster responsibilities ``q(c | x)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data shaped like the training data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            Each row sums to 1.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._predict_proba_rows(X).astype(_output_dtype(X), copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # predict_proba has one column per cluster. scikit-learn's checks read
        # the number of columns to expect from classifier_tags for any estimator
        # with predict_proba (here: more than two), without making it a classifier.
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    def predict(self, X):
        """The likeliest cluster of each sample under the posterior.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
            Data shaped like the training data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.predict_proba(X).argmax(1)

    @property
    def weights_(self):
        return torch.softmax(self.net_.module_.prior_logits.detach(), 0).cpu().double().numpy()

    @property
    def means_(self):
        return self.net_.module_.prior_means.detach().cpu().double().numpy()

    @property
    def covariances_(self):
        return self.net_.module_.prior_logvars.detach().exp().cpu().double().numpy()

    # ------------------------------------------------------------- sampling

    def sample(self, n_samples=1, *, cluster=None, random_state=None):
        """Generate new rows in data space, from all clusters or from chosen ones.

        A component is drawn by its weight (among the chosen ones), then a code
        from that component's Gaussian, then decoded with
        :meth:`inverse_transform`.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        cluster : int or array-like of int, default=None
            The cluster(s) to generate from; None for all.
        random_state : int, RandomState instance or None, default=None
            Seed of the draw; an int gives the same rows every call.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), float32
            :meth:`as_images` shapes them into images.
        """
        return self._sample(n_samples, random_state, cluster=cluster)

    def _sample_condition(self, n_samples, rng, cluster=None):
        clusters = np.arange(self.n_clusters) if cluster is None else np.atleast_1d(cluster)
        if (
            clusters.ndim != 1
            or len(clusters) == 0
            or not np.issubdtype(clusters.dtype, np.integer)
            or clusters.min() < 0
            or clusters.max() >= self.n_clusters
        ):
            raise ValueError(
                f"cluster must be None or integers in [0, {self.n_clusters - 1}] (n_clusters="
                f"{self.n_clusters}), got {cluster!r}."
            )
        return {"clusters": clusters}

    def _prior(self):
        return LearnedMixture(self.weights_, self.means_, self.covariances_)


def _posteriors(module, data, batch_size=1024, to_numpy=True):
    """Posterior means and variances of training data (already shaped for the module).

    As float64 numpy arrays, or as tensors on the module's device.
    """
    training = module.training
    module.eval()
    with torch.no_grad():
        means, logvars = zip(*(module.encode(batch) for batch in data.split(batch_size)))
    module.train(training)
    means, variances = torch.cat(means), torch.cat(logvars).exp()
    if not to_numpy:
        return means, variances
    return means.cpu().double().numpy(), variances.cpu().double().numpy()


def _standardised(embedding):
    """``embedding`` centred, and scaled to a standard deviation of 1 over all its numbers."""
    return (embedding - embedding.mean(0)) / max(embedding.std(), np.finfo(np.float32).tiny)


def _umap_maps(codes, rows, n_components, seed, image_shape=None, n_maps=N_MAPS):
    """``n_maps`` UMAP maps of the mean of the codes' and the rows' neighbour graphs, deterministic for a seed.

    Both graphs, because each sees neighbours the other misses: a map of the
    codes alone clustered the digits worse than a map of the pixels, and a
    map of the pixels clustered Fashion-MNIST worse than one of the codes.
    Their mean (an edge weighs the average of its two weights), rather than
    their fuzzy union (as ``UMAP.__add__`` composes two models, used until
    the twelfth session), keeps an edge that only one graph has at half its
    weight: in full fits it clustered Fashion-MNIST, the digits and a second
    set of handwritten digits at least as well as the union on ARI
    (benchmarks/README.md, "The mean of the two graphs"). The graph is built
    once; each map is a layout of it from its own random state.
    """
    try:
        from umap.umap_ import find_ab_params, reset_local_connectivity, simplicial_set_embedding
    except ImportError:  # pragma: no cover - umap-learn is a dependency
        raise ImportError(
            "init='umap' needs umap-learn: pip install umap-learn, or set init='gmm'."
        ) from None
    n_samples = len(codes)
    n_neighbors = max(2, min(UMAP_NEIGHBORS, n_samples - 1))
    graph = (fuzzy_graph(codes, n_neighbors, seed) + fuzzy_graph(rows, n_neighbors, seed, image_shape=image_shape)) / 2
    graph = reset_local_connectivity(graph, True)
    a, b = find_ab_params(1.0, UMAP_MIN_DIST)
    random_state = np.random.RandomState(seed)  # drawn on by each layout in turn
    maps = []
    with warnings.catch_warnings():
        # umap-learn warns about tiny and disconnected graphs
        warnings.simplefilter("ignore")
        for _ in range(n_maps):
            embedding, _ = simplicial_set_embedding(
                None, graph, n_components, initial_alpha=1.0, a=a, b=b, gamma=1.0, negative_sample_rate=5,
                n_epochs=None,
                # the spectral start needs more samples than dimensions
                init="spectral" if n_samples > n_components + 2 else "random",
                random_state=random_state, metric="euclidean", metric_kwds={},
                densmap=False, densmap_kwds={}, output_dens=False,
            )
            maps.append(embedding)
    return maps


def _consensus(maps, n_clusters, seed):
    """The partition that the maps' KMeans partitions agree on most, and the map whose own is nearest it.

    KMeans on the partitions' one-hot columns side by side: the squared
    distance between two rows is twice the number of maps that part them, so
    it finds the ``n_clusters`` groups that the maps split least (consensus
    clustering as in Wu et al., 2015). Returns the labels, and the index of the
    map whose own partition agrees with them best (adjusted Rand index).
    """
    partitions = [KMeans(n_clusters, n_init=MIXTURE_INITS, random_state=seed).fit(m).labels_ for m in maps]
    onehot = np.concatenate([np.eye(n_clusters)[labels] for labels in partitions], axis=1)
    with warnings.catch_warnings():
        # rows that every map groups alike are one point to KMeans: fewer than n_clusters on tiny data
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = KMeans(n_clusters, n_init=MIXTURE_INITS, random_state=seed).fit(onehot).labels_
    return labels, int(np.argmax([adjusted_rand_score(labels, own) for own in partitions]))
