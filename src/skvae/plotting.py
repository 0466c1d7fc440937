"""Figures of what a fitted skvae model learned, one call each.

Every function uses only the estimators' public API, draws into ``ax`` (a
matplotlib Axes, created when None) and returns the Figure. Grids of images
are tiled into one picture on that Axes, laid out from the model's learned
``image_shape_``; a model fitted on tabular rows raises a ValueError for them.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "plot_reconstructions",
    "plot_samples",
    "plot_cluster_samples",
    "plot_class_samples",
    "plot_interpolation",
    "plot_latent_manifold",
    "plot_latent_space",
    "plot_traversal",
    "plot_learning_curve",
    "plot_kl_per_dimension",
]


def _axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _check_images(estimator):
    check_is_fitted(estimator)
    if estimator.image_shape_ is None:
        raise ValueError(
            f"{type(estimator).__name__} was fitted on tabular rows, so there are no images to "
            "show; fit it on images, or on flat rows with image_shape=(H, W) or (C, H, W)."
        )


def _images(estimator, rows):
    """Rows in data space as (n, H, W) or (n, H, W, C) images, and imshow's range."""
    images = estimator.as_images(rows)
    if images.dtype == np.uint8:
        return images, (0, 255)
    if estimator.reconstruction_loss_ == "bce":
        return images, (0, 1)
    return images, (float(images.min()), float(images.max()))


def mosaic(images, n_cols, pad=1, fill=None):
    """Tile ``(n, H, W)`` or ``(n, H, W, C)`` images into one picture, row by row.

    Cells are separated by ``pad`` pixels of ``fill`` (the images' maximum by
    default, i.e. white); unused cells at the end are filled too.
    """
    n, height, width = images.shape[:3]
    n_rows = -(-n // n_cols)
    fill = images.max() if fill is None else fill
    canvas = np.full(
        (n_rows * (height + pad) - pad, n_cols * (width + pad) - pad, *images.shape[3:]),
        fill,
        dtype=images.dtype,
    )
    for i, image in enumerate(images):
        row, col = divmod(i, n_cols)
        top, left = row * (height + pad), col * (width + pad)
        canvas[top:top + height, left:left + width] = image
    return canvas


def _show(ax, images, value_range, n_cols, title):
    canvas = mosaic(images, n_cols)
    kwargs = {"cmap": "gray"} if canvas.ndim == 2 else {}
    ax.imshow(canvas, vmin=value_range[0], vmax=value_range[1], interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return ax.figure


def plot_reconstructions(estimator, X, n_images=10, *, ax=None):
    """Originals in the top row, their reconstructions in the bottom row.

    Parameters
    ----------
    estimator : fitted skvae estimator
    X : array-like
        Data as the estimator takes it; the first ``n_images`` rows are shown.
    n_images : int, default=10
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    X = np.asarray(X)[:n_images]
    rows = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    reconstructed = estimator.inverse_transform(estimator.transform(X))
    images, value_range = _images(estimator, np.concatenate([rows, reconstructed]))
    ax = _axes(ax, (max(4, 0.8 * len(X)), 2))
    return _show(ax, images, value_range, len(X), "originals (top) and reconstructions (bottom)")


def plot_samples(estimator, n_samples=36, *, random_state=None, ax=None):
    """A square-ish grid of new images from :meth:`sample`.

    Parameters
    ----------
    estimator : fitted skvae estimator
    n_samples : int, default=36
    random_state : int, RandomState instance or None, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    images, value_range = _images(estimator, estimator.sample(n_samples, random_state=random_state))
    n_cols = int(np.ceil(np.sqrt(n_samples)))
    ax = _axes(ax, (5, 5))
    source = estimator.prior_.source
    return _show(ax, images, value_range, n_cols, f"{n_samples} samples decoded from {source}")


def plot_cluster_samples(estimator, n_per_cluster=10, *, clusters=None, random_state=None, ax=None):
    """One row of generated images per cluster of a :class:`~skvae.GaussianMixtureVAE`.

    Row ``k`` decodes ``n_per_cluster`` codes drawn from mixture component
    ``k`` (``estimator.sample(n, cluster=k)``): what the model thinks cluster
    ``k`` looks like. The rows are labelled with the cluster and its weight.

    Parameters
    ----------
    estimator : fitted GaussianMixtureVAE
    n_per_cluster : int, default=10
    clusters : sequence of int, default=None
        The clusters to show, in order; None for all.
    random_state : int, RandomState instance or None, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    if not hasattr(estimator, "weights_"):
        raise ValueError(
            f"plot_cluster_samples needs a clustering model with a mixture prior (GaussianMixtureVAE), "
            f"got {type(estimator).__name__}."
        )
    from sklearn.utils import check_random_state

    rng = check_random_state(random_state)
    clusters = range(estimator.n_clusters) if clusters is None else list(clusters)
    rows = [estimator.sample(n_per_cluster, cluster=k, random_state=rng) for k in clusters]
    labels = [f"{k} ({estimator.weights_[k]:.0%})" for k in clusters]
    return _labelled_rows(estimator, rows, labels, "Samples from each cluster of the mixture prior", ax)


def plot_class_samples(estimator, n_per_class=10, *, classes=None, random_state=None, ax=None):
    """One row of generated images per class of a :class:`~skvae.ConditionalVAETransformer`.

    The same ``n_per_class`` codes, drawn from the prior, are decoded with
    every class: a row shows one class, a column one code, so what stays the
    same down a column is the style the code holds apart from the class.

    Parameters
    ----------
    estimator : fitted ConditionalVAETransformer
    n_per_class : int, default=10
    classes : sequence of labels, default=None
        The classes to show, in order; None for all of ``classes_``.
    random_state : int, RandomState instance or None, default=None
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    if not hasattr(estimator, "classes_"):
        raise ValueError(
            f"plot_class_samples needs a model fitted with class labels (ConditionalVAETransformer), "
            f"got {type(estimator).__name__}."
        )
    from sklearn.utils import check_random_state

    codes = check_random_state(random_state).standard_normal((n_per_class, estimator.n_components))
    classes = estimator.classes_ if classes is None else list(classes)
    rows = [estimator.inverse_transform(codes, y=label) for label in classes]
    labels = [str(label) for label in classes]
    return _labelled_rows(estimator, rows, labels, "The same codes decoded as each class", ax)


def _labelled_rows(estimator, rows, labels, title, ax):
    """Show equally long ``rows`` of generated data as rows of images, each labelled on the left."""
    n_per_row = len(rows[0])
    images, value_range = _images(estimator, np.concatenate(rows))
    ax = _axes(ax, (n_per_row * 0.6 + 1, len(rows) * 0.6 + 0.6))
    fig = _show(ax, images, value_range, n_per_row, title)
    height = images.shape[1] + 1  # mosaic pads each image by one pixel
    ax.set_yticks([height * (i + 0.5) for i in range(len(rows))])
    ax.set_yticklabels(labels)
    ax.tick_params(left=False)
    return fig


def plot_interpolation(estimator, x_start, x_end, n_steps=10, *, method="linear", ax=None):
    """Decoded images along the path between the codes of two inputs.

    Parameters
    ----------
    estimator : fitted skvae estimator
    x_start, x_end : array-like
        One row or image each.
    n_steps : int, default=10
    method : {"linear", "spherical"}, default="linear"
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    rows = estimator.interpolate(x_start, x_end, n_steps, method=method)
    images, value_range = _images(estimator, rows)
    ax = _axes(ax, (max(4, 0.8 * n_steps), 1.4))
    return _show(ax, images, value_range, n_steps, f"{method} interpolation in latent space")


def plot_latent_manifold(estimator, n_per_side=15, *, ax=None):
    """Images decoded over a grid of the 2-D latent plane.

    For the variational models the grid spans the 5th to 95th percentile of
    the N(0, 1) prior along each axis (so equal areas hold equal prior mass),
    as in the Keras VAE example; for the autoencoder it spans the same
    percentiles of the training codes' mixture density, by sampling it.

    Parameters
    ----------
    estimator : fitted skvae estimator with ``n_components == 2``
    n_per_side : int, default=15
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    if estimator.n_components != 2:
        raise ValueError(
            f"plot_latent_manifold needs a 2-D latent space, but n_components="
            f"{estimator.n_components}; use plot_latent_space or plot_traversal instead."
        )
    quantiles = np.linspace(0.05, 0.95, n_per_side)
    axis_values = estimator.prior_.quantiles(quantiles).T
    # rows of the picture run from high to low z2, so that up is up
    grid = np.array([[z1, z2] for z2 in axis_values[1][::-1] for z1 in axis_values[0]])
    images, value_range = _images(estimator, estimator.inverse_transform(grid))
    ax = _axes(ax, (6, 6))
    fig = _show(ax, images, value_range, n_per_side, "decoded latent plane")
    ax.set_xlabel("z1")
    ax.set_ylabel("z2")
    return fig


def plot_latent_space(estimator, X, y=None, *, ax=None):
    """Scatter plot of the codes of X, coloured by label.

    Codes of more than two dimensions are projected onto their first two
    principal components; one-dimensional codes are spread vertically by label.

    Parameters
    ----------
    estimator : fitted skvae estimator
    X : array-like
    y : array-like of shape (n_samples,), default=None
        Labels (or any values) for the colours.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    codes = np.asarray(estimator.transform(X))
    if codes.shape[1] > 2:
        codes = PCA(n_components=2).fit_transform(codes)
        labels = ("PC 1 of the codes", "PC 2 of the codes")
    elif codes.shape[1] == 2:
        labels = ("z1", "z2")
    else:
        jitter = np.random.RandomState(0).uniform(-0.3, 0.3, len(codes))
        codes = np.column_stack([codes[:, 0], (np.zeros(len(codes)) if y is None else np.asarray(y, float)) + jitter])
        labels = ("z1", "label" if y is not None else "")
    ax = _axes(ax, (6, 5))
    scatter = ax.scatter(codes[:, 0], codes[:, 1], c=y, s=6, cmap="tab10" if y is not None else None, alpha=0.8)
    if y is not None:
        ax.figure.colorbar(scatter, ax=ax, label="label")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(f"latent codes of {len(codes)} samples")
    return ax.figure


def plot_traversal(estimator, x, *, dims=None, values=None, ax=None):
    """Vary one latent dimension at a time around the code of ``x``.

    Row ``i`` shows :meth:`traverse` along dimension ``dims[i]``; columns
    follow ``values``. For a beta-VAE, a well disentangled dimension changes
    one visual factor along its row.

    Parameters
    ----------
    estimator : fitted skvae estimator
    x : array-like
        One row or image.
    dims : sequence of int, default=None
        Dimensions to traverse; all of them by default (at most 10).
    values : sequence of float, default=None
        Values given to each dimension; see :meth:`traverse`.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    _check_images(estimator)
    dims = list(range(min(estimator.n_components, 10)) if dims is None else dims)
    rows = [estimator.traverse(x, dim, values) for dim in dims]
    n_values = len(rows[0])
    images, value_range = _images(estimator, np.concatenate(rows))
    ax = _axes(ax, (max(4, 0.8 * n_values), max(1.5, 0.8 * len(dims))))
    fig = _show(ax, images, value_range, n_values, "latent traversal: one dimension per row")
    height = images.shape[1] + 1
    ax.set_yticks([height * i + images.shape[1] / 2 for i in range(len(dims))])
    ax.set_yticklabels([f"z{d + 1}" for d in dims])
    return fig


def plot_learning_curve(estimator, *, ax=None):
    """Training and validation loss per epoch, from ``history_``.

    Solid lines are the loss (the negative ELBO for the variational models);
    dashed lines its reconstruction part; for the variational models the KL
    part is dotted, on the right-hand axis.

    Parameters
    ----------
    estimator : fitted skvae estimator
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    check_is_fitted(estimator)
    history = estimator.history_
    epochs = history[:, "epoch"]
    ax = _axes(ax, (7, 4))
    colours = {"train": "tab:blue", "valid": "tab:orange"}
    kl_ax = None
    for prefix, colour in colours.items():
        if f"{prefix}_loss" not in history[-1]:
            continue
        ax.plot(epochs, history[:, f"{prefix}_loss"], color=colour, label=f"{prefix} loss")
        ax.plot(epochs, history[:, f"{prefix}_recon_loss"], "--", color=colour, label=f"{prefix} reconstruction")
        if f"{prefix}_kl_loss" in history[-1]:
            kl_ax = kl_ax or ax.twinx()
            kl_ax.plot(epochs, history[:, f"{prefix}_kl_loss"], ":", color=colour, label=f"{prefix} KL")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per sample")
    handles, labels = ax.get_legend_handles_labels()
    if kl_ax is not None:
        kl_ax.set_ylabel("KL (nats per sample)")
        more = kl_ax.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    # outside the axes, so that it never hides the curves
    ax.legend(handles, labels, fontsize="small", loc="upper left", bbox_to_anchor=(1.15 if kl_ax else 1.02, 1))
    ax.set_title(f"{type(estimator).__name__}: learning curve")
    return ax.figure


def plot_kl_per_dimension(estimator, X, *, threshold=0.01, ax=None):
    """Mean KL divergence of each latent dimension over X: which ones the model uses.

    One bar per dimension, from :meth:`VAETransformer.kl_per_dimension`;
    dimensions above ``threshold`` are active, the others (grey) are
    collapsed onto the prior and carry nothing about X. Like a PCA scree
    plot, it shows how many dimensions the data needs.

    Parameters
    ----------
    estimator : fitted VAETransformer, BetaVAETransformer or ConditionalVAETransformer
        A model whose prior factorises over dimensions.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), or image array
        Data shaped like the training data.
    threshold : float, default=0.01
        KL in nats above which a dimension counts as active.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    """
    if not hasattr(estimator, "kl_per_dimension"):
        raise ValueError(
            f"{type(estimator).__name__} has no KL per latent dimension: that needs a prior that "
            "factorises over dimensions (VAETransformer, BetaVAETransformer, ConditionalVAETransformer)."
        )
    kl = estimator.kl_per_dimension(X)
    active = kl > threshold
    created = ax is None
    ax = _axes(ax, (max(4.0, 0.35 * len(kl) + 2), 3.5))
    dims = np.arange(len(kl))
    groups = [(active, "tab:blue", f"active (> {threshold:g} nats)"), (~active, "tab:gray", "collapsed onto the prior")]
    for rows, colour, label in groups:
        if rows.any():  # an empty group would still put its label, in the wrong colour, in the legend
            ax.bar(dims[rows], kl[rows], color=colour, label=label)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks(dims)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("mean KL (nats per sample)")
    ax.legend(fontsize="small")
    ax.set_title(f"{type(estimator).__name__}: {int(active.sum())} of {len(kl)} latent dimensions active")
    if created:  # a short figure: make room for the axis labels
        ax.figure.tight_layout()
    return ax.figure
