"""The parameters every skvae estimator shares, declared once: name, default, constraint and documentation.

scikit-learn reads an estimator's parameters from its ``__init__`` signature, so each
public class still writes its signature out, with ``store_parameters`` as the whole
body; a test keeps each signature equal to ``SHARED`` plus the class's own
parameters. ``fill_docstring`` writes the shared entries into a class's docstring,
with the defaults of that class's signature.
"""

import inspect
import os
import textwrap
from numbers import Integral, Real
from typing import NamedTuple

from sklearn.utils._param_validation import Interval, StrOptions

from ._training import _OPTIMIZERS


class Parameter(NamedTuple):
    """One shared parameter: its name, its type as the docs give it, default, constraints and doc."""

    name: str
    kind: str
    default: object
    constraints: list
    doc: str
    default_doc: str = None  # how the docs write the default, where repr does not


SHARED = (
    Parameter(
        "n_components",
        "int",
        2,
        [Interval(Integral, 1, None, closed="left")],
        """\
        Dimension of the latent code, i.e. the number of output columns of
        :meth:`transform`.""",
    ),
    Parameter(
        "hidden_layer_sizes",
        "array-like of int",
        (256, 128),
        ["array-like", Interval(Integral, 1, None, closed="left")],
        """\
        Widths of the encoder's hidden layers, from the input to the code; the
        decoder mirrors them. ``()`` gives a linear encoder and decoder. With
        ``architecture="conv"`` these are the dense layers between the
        convolutions and the code.""",
    ),
    Parameter(
        "architecture",
        '{"mlp", "conv"} or (encoder_class, decoder_class)',
        "mlp",
        [StrOptions({"mlp", "conv"}), tuple],
        """\
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
        ``(n_features,)`` for rows.""",
    ),
    Parameter(
        "conv_channels",
        '"auto" or array-like of int',
        "auto",
        ["array-like", StrOptions({"auto"})],
        """\
        Channels of the convolutions, from the image inwards; each halves the
        height and width. The decoder mirrors them. ``"auto"`` follows the
        image: stride-2 stages continue until the larger side is 4 pixels or
        less, with 32 channels in the first and twice as many in each next,
        up to 256 (8x8: ``(32,)``; 28x28: ``(32, 64, 128)``; 64x64:
        ``(32, 64, 128, 256)``), so that the dense layers meet a small
        feature map. Only for ``architecture="conv"``.""",
    ),
    Parameter(
        "image_shape",
        "(H, W) or (C, H, W)",
        None,
        ["array-like", None],
        """\
        Shape of one image when X holds flat rows of ``C * H * W`` pixels
        (channel-major, as ``X_images.reshape(n, -1)`` gives). One entry may be
        -1 and is inferred from the number of features. Not needed when X is
        passed as ``(n, H, W)`` or ``(n, C, H, W)`` images.""",
    ),
    Parameter(
        "reconstruction_loss",
        '{"auto", "bce", "mse"}',
        "auto",
        [StrOptions({"auto", "bce", "mse"})],
        """\
        Likelihood of the decoder. ``"bce"``: Bernoulli on the decoder's
        logits, for data in [0, 1] such as pixel intensities. ``"mse"``:
        Gaussian with unit variance, for standardized data. ``"auto"`` picks
        ``"bce"`` when every value of the training X lies in [0, 1] and
        ``"mse"`` otherwise; the choice is stored in ``reconstruction_loss_``.""",
    ),
    Parameter(
        "max_epochs",
        "int",
        100,
        [Interval(Integral, 1, None, closed="left")],
        """\
        Number of passes over the training data (fewer with early stopping).""",
    ),
    Parameter(
        "batch_size",
        "int",
        128,
        [Interval(Integral, 1, None, closed="left")],
        """\
        Rows per mini-batch, in training and in inference.""",
    ),
    Parameter(
        "lr",
        "float",
        0.001,
        [Interval(Real, 0, None, closed="neither")],
        """\
        Learning rate of the optimizer.""",
        default_doc='1e-3',
    ),
    Parameter(
        "optimizer",
        '{"adam", "adamw", "sgd", "rmsprop"} or callable',
        "adam",
        [StrOptions(set(_OPTIMIZERS)), callable],
        """\
        The optimizer, by name or as a ``torch.optim.Optimizer`` class (or
        ``functools.partial`` of one, to set its other arguments).""",
    ),
    Parameter(
        "validation_fraction",
        "float in [0, 1) or None",
        None,
        [None, Interval(Real, 0, 1, closed="left")],
        """\
        Fraction of the training rows held out to compute ``valid_loss`` every
        epoch. None holds out 0.1 when something reads ``valid_loss``
        (``early_stopping=True``, or one of ``callbacks`` that monitors it,
        such as skorch's ``EarlyStopping``) and no rows otherwise, so that
        every row trains the model, as in scikit-learn's ``MLPRegressor``. A
        number holds out that fraction in any case, for instance to see the
        validation curve in :func:`~skvae.plotting.plot_learning_curve`.""",
    ),
    Parameter(
        "early_stopping",
        "bool",
        False,
        ["boolean"],
        """\
        Stop when ``valid_loss`` has not improved for ``n_iter_no_change``
        epochs and keep the weights of the best epoch.""",
    ),
    Parameter(
        "n_iter_no_change",
        "int",
        10,
        [Interval(Integral, 1, None, closed="left")],
        """\
        Patience of early stopping, in epochs.""",
    ),
    Parameter(
        "warm_start",
        "bool",
        False,
        ["boolean"],
        """\
        When True and the estimator is fitted, :meth:`fit` trains the fitted
        network on for ``max_epochs`` more epochs, from its weights, its
        optimizer's state and its random state, instead of starting anew;
        ``history_`` and ``n_iter_`` go on counting. Resuming the same data
        this way gives, on CPU, bit for bit the model of one longer fit,
        except with the neighbourhood term (``neighbor_weight``, on by
        default for codes of 1 to 3 dimensions): a fit reads every training
        row's code afresh when it starts and ends with a layout of its own,
        so two fits train on from the same graph but are not one long fit.""",
    ),
    Parameter(
        "checkpoint_path",
        "str or path-like",
        None,
        [str, os.PathLike, None],
        """\
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
        the last file has it.""",
    ),
    Parameter(
        "checkpoint_every",
        "int",
        1,
        [Interval(Integral, 1, None, closed="left")],
        """\
        Epochs between checkpoints (counted over all fits of a warm start).""",
    ),
    Parameter(
        "device",
        "str",
        "auto",
        [str],
        """\
        Torch device to train and infer on: ``"cpu"``, ``"cuda"``, ``"cuda:1"``,
        ..., or ``"auto"`` for a CUDA GPU when there is one.""",
    ),
    Parameter(
        "n_jobs",
        "int or None",
        None,
        [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"), None],
        """\
        CPU threads that torch trains with. None: as many as the cores that
        other processes leave idle when ``fit`` starts (watched for 50 ms, at
        most once every ten seconds), at
        most torch's own count (``torch.get_num_threads()``: the physical cores
        unless ``OMP_NUM_THREADS`` or ``torch.set_num_threads`` say otherwise),
        at least one. On a machine busy with other work, or inside a parallel
        grid search, more threads than free cores run several times slower.
        -1: torch's count whatever the load; ``-k``: all but ``k - 1``; a
        positive int: exactly that many. Torch's own setting is back after
        each fit. Torch's matrix products can split their sums by thread, so a
        fit on one thread and the same fit on two can differ in the last bits,
        and over a fit's steps such bits grow into a model as different as
        another seed's. Because the default count follows the machine's load,
        fix ``n_jobs`` to reproduce a fit bit for bit whatever else the
        machine is running; or, where torch uses MKL (its x86 builds:
        ``torch.backends.mkl.is_available()``), start Python with
        ``MKL_CBWR=AUTO,STRICT`` in the environment, under which the products,
        and so skvae's fits, give the same bits on any number of threads.""",
    ),
    Parameter(
        "mixed_precision",
        "bool",
        False,
        ["boolean"],
        """\
        Run training's forward passes in bfloat16 (``torch.autocast``), with
        the loss in float32. Worth it on GPUs with bfloat16 tensor cores
        (NVIDIA Ampere and newer); off by default because it changes results
        slightly and most CPUs run it slower.""",
    ),
    Parameter(
        "compile",
        "bool",
        False,
        ["boolean"],
        """\
        Compile the network for training with ``torch.compile``. Compiling
        takes tens of seconds, so it pays off only for long training runs; on
        CPU it needs a C++ compiler. The fitted model keeps the plain module.""",
    ),
    Parameter(
        "callbacks",
        "list of skorch callbacks or None",
        None,
        [list, None],
        """\
        Extra `skorch callbacks <https://skorch.readthedocs.io/en/stable/callbacks.html>`_,
        e.g. ``LRScheduler`` or ``Checkpoint``, passed to the net (copied, so
        that the objects given here are never modified).""",
    ),
    Parameter(
        "random_state",
        "int, RandomState instance or None",
        None,
        ["random_state"],
        """\
        Seeds weight initialisation, shuffling, the validation split and the
        posterior noise. With an int, ``fit`` on the same data gives the same
        model bit for bit on CPU, on the same number of threads (see
        ``n_jobs``). Torch's global random state is left alone.""",
    ),
    Parameter(
        "verbose",
        "int",
        0,
        ["verbose"],
        """\
        0: silent. 1: a progress bar over the epochs with the latest losses.
        2: skorch's table of losses, one row per epoch. A model that trains in
        phases (:class:`GaussianMixtureVAE`) names each on its bar or above
        its table.""",
    ),
    Parameter(
        "kl_warmup_epochs",
        "int",
        0,
        [Interval(Integral, 0, None, closed="left")],
        """\
        Epochs over which the weight of the KL term rises linearly from
        ``1 / kl_warmup_epochs`` of its full value to all of it (KL
        annealing), recorded per epoch as ``history_[:, "kl_weight"]``. The
        first epochs then learn to reconstruct before the prior pulls the
        posteriors together, which keeps more latent dimensions in use. A warm
        start carries on the schedule. 0 trains with the full weight
        throughout. Not used by :class:`AutoencoderTransformer` (no KL term).""",
    ),
    Parameter(
        "neighbor_weight",
        '"auto" or float',
        "auto",
        [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        """\
        Weight of the neighbourhood term, which trains the codes to keep the
        neighbours each training row has among the others, as UMAP's map
        does (parametric UMAP). The fuzzy 15-nearest-neighbour graph of the
        training rows is built once per fit (``neighbor_graph_``; a warm start
        reuses it), and UMAP's cross-entropy between that graph and the codes
        is added to the loss, recorded as ``history_[:, "train_neighbor_loss"]``.
        ``"auto"``: 1.0 for codes of 1 to 3 dimensions, the maps people look
        at, where it keeps neighbourhoods as UMAP does (with
        ``placement="auto"``; on the digits 5-NN accuracy of new rows' 2-D
        codes 0.697 without it, 0.966 with it, UMAP 0.960), and 0 for wider
        codes, where it cost accuracy and reconstruction. Its price on 2-D
        codes: 2 to 5% of test ELBO, and two to three times the fit time.
        0 trains without it.
        :meth:`partial_fit` never trains with it: it needs all the rows at once.""",
    ),
    Parameter(
        "placement",
        '{"auto", "encoder", "neighbors", "network"}',
        "auto",
        [StrOptions({"auto", "encoder", "neighbors", "network"})],
        """\
        How :meth:`transform` gives the codes of rows. ``"auto"``: for a
        model fitted with the neighbourhood term (``neighbor_weight`` above
        0, as ``"auto"`` is for 2-D and 3-D codes), ``"neighbors"`` when it
        is fitted on fewer than 4,096 rows and ``"network"`` from 4,096;
        else ``"encoder"``. :meth:`partial_fit` and
        :class:`VQVAETransformer` always encode. ``"encoder"``: the
        posterior means, fast (one network call a batch). ``"neighbors"``
        (needs ``neighbor_weight > 0``): UMAP's map, on the model's codes.
        At the end of ``fit``, the training rows' codes are laid out as UMAP
        lays out its map of the same neighbour graph (its own optimisation,
        200 or 500 epochs), starting from where the encoder put them, and
        the model trains on for at most 20 epochs with its codes held near
        the laid-out ones, so that those decode and the encoder follows
        them. ``transform`` places each row as UMAP's ``transform`` places
        new points: at the weighted mean of the codes of its 15 nearest
        training rows, then moved for 120 epochs along those edges and away
        from 3 random training codes for each edge sampled. It keeps the training
        rows and their codes in the model (``placement_rows_``,
        ``placement_codes_``; saved with it, as UMAP keeps its training data;
        rows of more than 100 features as their first 50 principal
        components), and each call searches them, which costs far more than
        the encoder (10,000 digits: 0.26 s against 0.01 s; UMAP's
        ``transform`` took 14 s). The codes still decode.
        ``"network"`` (needs ``neighbor_weight > 0``): as ``"neighbors"``,
        and then a small network (four layers of 256 units) is fitted to
        map the training rows, as placement keeps them, to their laid-out
        codes (``placement_network_``), and ``transform`` runs it instead of
        the search: nearly as fast as the encoder (60,000 Fashion-MNIST
        training images: 10,000 rows in 0.046 s, UMAP 3.3 s, placement 2.0
        s), and the codes still decode. It adds 3 to 4 minutes to that fit.
        The network gives each row three candidate places and takes the
        likeliest, so that a row like rows laid out in two clusters lands
        in one of them, not between. Its map is above UMAP's there on 5-NN
        accuracy and at its trustworthiness (0.763 and 0.9722, UMAP 0.757
        and 0.9722, placement 0.763 and 0.9729; means of seeds 0 to 2), and
        on smaller training
        sets at or above placement's (the digits 0.971 and 0.977 against
        0.961 and 0.977; 2,500 MNIST digits 0.875 and 0.944 against 0.864
        and 0.944).
        ``"auto"`` chooses it from 4,096 training rows, where UMAP's own
        ``transform`` stops measuring exact distances to every training row
        and searches an index instead: below, placement's search is 50 to
        120 times faster than UMAP's (the digits' 898 rows, 2,500 MNIST
        digits); from there only 3 to 6 times on images like
        Fashion-MNIST's (5,000 to 20,000 training rows; the network 84 to
        107 times). The network costs at least 6,000 steps, 40 to 60 s on 2
        cores: 5,000 Fashion-MNIST images fitted in 157 s against 93 s with
        the search, 10,000 in 199 s against 157 s. Set
        ``placement="neighbors"`` for a faster fit where ``transform`` is
        seldom called (benchmarks/README.md, "A network fitted to the
        laid-out codes", "Several places for a row", "placement='auto' from
        10,000 rows" and "A cheaper network for small training sets").
        The rows are kept as for ``"neighbors"``, so
        ``set_params(placement="neighbors")`` places with the same model.
        Not for :meth:`partial_fit`, nor :class:`VQVAETransformer`.""",
    ),
)

# Merged into each estimator's own _parameter_constraints.
SHARED_CONSTRAINTS = {p.name: p.constraints for p in SHARED}


def store_parameters(estimator, values):
    """The whole body of an estimator's ``__init__``: store each argument unchanged, as scikit-learn requires.

    ``values`` is the ``__init__``'s ``locals()``.
    """
    for name in estimator._get_param_names():
        setattr(estimator, name, values[name])


def fill_docstring(cls):
    """Class decorator: write the shared parameters, attributes and see-also entries into the docstring.

    The docstring holds ``{parameters}`` (and ``{attributes}``, ``{see_also}``)
    where they go; each parameter's default is the one of ``cls``'s signature.
    """
    defaults = inspect.signature(cls).parameters
    entries = []
    for p in SHARED:
        default = defaults[p.name].default
        written = p.default_doc if default == p.default and p.default_doc else _default_doc(default)
        doc = "\n".join(f"        {line}" if line else "" for line in textwrap.dedent(p.doc).splitlines())
        entries.append(f"    {p.name} : {p.kind}, default={written}\n{doc}")
    cls.__doc__ = (
        cls.__doc__.replace("{parameters}", "\n\n".join(entries))
        .replace("{attributes}", ATTRIBUTES)
        .replace("{see_also}", SEE_ALSO)
    )
    return cls


def _default_doc(value):
    return f'"{value}"' if isinstance(value, str) else repr(value)


ATTRIBUTES = """\
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
        ``"valid_loss"`` and the parts the model's loss names, in nats per
        sample: ``"train_recon_loss"`` (and ``valid_``) for every model,
        ``"train_kl_loss"`` for the variational ones,
        ``"train_commitment_loss"`` for the VQ-VAE, ``"train_anchor_loss"``
        for GaussianMixtureVAE, and ``"train_neighbor_loss"`` for any model
        trained with the neighbourhood term (``neighbor_weight``).

    n_iter_ : int
        Number of epochs run.

    neighbor_graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The fuzzy k-nearest-neighbour graph of the training rows (UMAP's
        ``graph_``) that the neighbourhood term trained with; rows held out
        for validation have no edges. Set only when the model trains with
        the term (``neighbor_weight`` above 0, or ``"auto"`` for codes of
        at most 3 dimensions), and saved with the model, so that a warm
        start trains on with it.

    placement_rows_, placement_codes_ : ndarray or scipy.sparse.csr_matrix of shape (n_samples, n_features) or (n_samples, 50), ndarray of shape (n_samples, n_components)
        The training rows (flat, on the scale the network reads) and their
        codes as laid out at the end of ``fit`` (UMAP's map of the
        neighbour graph, started from the encoder's codes), that
        ``placement="neighbors"`` places new rows among. Dense
        rows of more than 100 features are kept as their first 50 principal
        components (the rows times ``placement_projection_``), in which new
        rows' neighbours are found and weighed. Set only with that setting
        (or ``"auto"`` where it resolves to it).

    placement_projection_ : ndarray of shape (n_features, 50)
        The first 50 principal axes of the training rows, that new rows are
        projected on before they are placed. Set only where rows are placed
        (``placement``), for dense rows of more than 100 features.

    placement_epochs_, placement_negatives_ : int
        The epochs that move each placed row, and the random training codes
        it moves away from for each edge sampled (120 and 3). Saved with the
        model, so that it places rows as it did when it was fitted: a model
        saved without them places with 100 and 5, as skvae did until
        2026-12-03. Set only where rows are placed (``placement``).

    placement_network_ : list of ndarray
        The weights and biases, layer after layer, of the network that
        ``placement="network"`` maps new rows with (as placement keeps them:
        ``placement_projection_`` first, where there is one), fitted to
        ``placement_codes_`` at the end of ``fit``; ReLU between layers.
        The last layer gives a row's candidate places, then a score for
        each; the row takes the place of the highest score. Set only with
        that setting.

    prior_ : object
        The distribution :meth:`sample` draws codes from (read-only), with
        ``sample(n_samples, rng)``, ``log_prob(Z)``, ``center_and_spread(dim)``
        and ``quantiles(q)``.

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

SEE_ALSO = """\
    AutoencoderTransformer : Deterministic autoencoder, no prior.
    VAETransformer : Variational autoencoder.
    BetaVAETransformer : VAE with a weighted KL term.
    sklearn.decomposition.PCA : The linear counterpart."""
