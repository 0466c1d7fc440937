"""Every plot and the latent-space helpers behind them (interpolate, traverse)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage

from skvae import AutoencoderTransformer, VAETransformer
from skvae import plotting
from skvae._generation import _latent_path
from skvae.datasets import load_digits_images


@pytest.fixture(scope="module")
def digits():
    images, target = load_digits_images()
    return images[:400], target[:400]


@pytest.fixture(scope="module")
def vae(digits):
    X, _ = digits
    return VAETransformer(n_components=2, max_epochs=5, validation_fraction=0.1, random_state=0).fit(X)


@pytest.fixture(scope="module")
def ae(digits):
    X, _ = digits
    return AutoencoderTransformer(n_components=3, max_epochs=5, random_state=0).fit(X)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def only_image(fig):
    """The one picture a plot drew; 8x8 digits tile into cells of 9 pixels."""
    images = [child for ax in fig.axes for child in ax.get_children() if isinstance(child, AxesImage)]
    assert len(images) == 1
    return images[0].get_array()


def test_reconstructions_show_originals_above_reconstructions(vae, digits):
    X, _ = digits
    fig = plotting.plot_reconstructions(vae, X, n_images=6)
    picture = only_image(fig)
    assert picture.shape == (2 * 9 - 1, 6 * 9 - 1)
    np.testing.assert_allclose(picture[:8, :8], X[0])  # top left: the first original
    expected = vae.as_images(vae.inverse_transform(vae.transform(X[:1])))[0]
    np.testing.assert_allclose(picture[9:17, :8], expected, rtol=1e-6)


def test_samples_grid(vae):
    picture = only_image(plotting.plot_samples(vae, n_samples=10, random_state=0))
    assert picture.shape == (3 * 9 - 1, 4 * 9 - 1)  # 10 images, 4 to a row
    np.testing.assert_allclose(picture[:8, :8], vae.as_images(vae.sample(10, random_state=0))[0], rtol=1e-6)


def test_interpolation_row(vae, digits):
    X, _ = digits
    assert only_image(plotting.plot_interpolation(vae, X[0], X[1], n_steps=7)).shape == (8, 7 * 9 - 1)


def test_latent_manifold_needs_two_dimensions(vae, ae):
    assert only_image(plotting.plot_latent_manifold(vae, n_per_side=5)).shape == (5 * 9 - 1, 5 * 9 - 1)
    with pytest.raises(ValueError, match="needs a 2-D latent space, but n_components=3"):
        plotting.plot_latent_manifold(ae)


def test_latent_space_scatter(vae, ae, digits):
    X, y = digits
    fig = plotting.plot_latent_space(vae, X, y)
    points = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_allclose(points, vae.transform(X), rtol=1e-6)
    assert len(fig.axes) == 2  # the scatter and its colour bar
    fig = plotting.plot_latent_space(ae, X)  # three dimensions: projected by PCA
    assert fig.axes[0].get_xlabel() == "PC 1 of the codes"
    assert fig.axes[0].collections[0].get_offsets().shape == (len(X), 2)


def test_traversal_one_row_per_dimension(ae, digits):
    X, _ = digits
    fig = plotting.plot_traversal(ae, X[0], values=np.linspace(-1, 1, 5))
    assert only_image(fig).shape == (3 * 9 - 1, 5 * 9 - 1)
    assert [label.get_text() for label in fig.axes[0].get_yticklabels()] == ["z1", "z2", "z3"]


def test_learning_curve_has_losses_and_their_parts(vae):
    fig = plotting.plot_learning_curve(vae)
    main, kl = fig.axes
    assert {line.get_label() for line in main.lines} == {
        "train loss", "train reconstruction", "valid loss", "valid reconstruction"}
    assert {line.get_label() for line in kl.lines} == {"train KL", "valid KL"}
    np.testing.assert_allclose(main.lines[0].get_ydata(), vae.history_[:, "train_loss"])


def test_learning_curve_without_validation_rows_draws_the_training_curve(ae):
    (main,) = plotting.plot_learning_curve(ae).axes  # no KL axis: an autoencoder has no KL term
    assert {line.get_label() for line in main.lines} == {"train loss", "train reconstruction"}


def test_plots_draw_into_a_given_axes(vae, digits):
    X, _ = digits
    fig, axes = plt.subplots(1, 2)
    assert plotting.plot_samples(vae, n_samples=4, ax=axes[0]) is fig
    assert plotting.plot_learning_curve(vae, ax=axes[1]) is fig
    assert axes[0].images and axes[1].lines


def test_tabular_models_refuse_image_plots(digits):
    X, y = digits
    tabular = VAETransformer(max_epochs=2, random_state=0).fit(X.reshape(len(X), -1))
    for plot in (lambda: plotting.plot_samples(tabular), lambda: plotting.plot_reconstructions(tabular, X)):
        with pytest.raises(ValueError, match="fitted on tabular rows, so there are no images"):
            plot()
    plotting.plot_latent_space(tabular, X.reshape(len(X), -1), y)  # non-image plots still work
    plotting.plot_learning_curve(tabular)


def test_colour_images_tile_in_colour():
    X = (np.random.RandomState(0).rand(30, 3, 6, 5) * 255).astype(np.uint8)
    model = VAETransformer(max_epochs=1, random_state=0).fit(X)
    picture = only_image(plotting.plot_samples(model, n_samples=4, random_state=0))
    assert picture.shape == (2 * 7 - 1, 2 * 6 - 1, 3) and picture.dtype == np.uint8


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_interpolation_endpoints_are_the_reconstructions(vae, ae, digits, method):
    X, _ = digits
    for model in (vae, ae):
        path = model.interpolate(X[0], X[5], n_steps=6, method=method)
        ends = model.inverse_transform(model.transform(X[[0, 5]]))
        assert path.shape == (6, 64)
        np.testing.assert_allclose(path[[0, -1]], ends, rtol=1e-5, atol=1e-6)
        assert not np.allclose(path[1], path[0])


def test_spherical_path_keeps_the_norm_between_equal_norm_codes():
    z = np.array([[2.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    codes = _latent_path(z[0], z[1], 5, "spherical")
    np.testing.assert_allclose(np.linalg.norm(codes, axis=1), 2.0, rtol=1e-5)
    np.testing.assert_allclose(codes[[0, -1]], z, atol=1e-6)
    assert np.linalg.norm(_latent_path(z[0], z[1], 5, "linear")[2]) < 1.5  # a chord dips inside


def test_traverse_moves_one_dimension(ae, digits):
    X, _ = digits
    z = ae.transform(X[:1])[0]
    rows = ae.traverse(X[0], dim=1, values=[z[1] - 1, z[1], z[1] + 1])
    np.testing.assert_allclose(rows[1], ae.inverse_transform(z[None])[0], rtol=1e-5)
    assert not np.allclose(rows[0], rows[2])
    assert ae.traverse(X[0], dim=0).shape == (7, 64)  # default: 7 values over +-3 std


def test_latent_helpers_check_their_arguments(vae, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="dim must be an integer in"):
        vae.traverse(X[0], dim=2)
    with pytest.raises(ValueError, match="method must be 'linear' or 'spherical'"):
        vae.interpolate(X[0], X[1], method="cubic")
    with pytest.raises(ValueError, match="n_steps must be an integer of at least 2"):
        vae.interpolate(X[0], X[1], n_steps=1)
    with pytest.raises(ValueError, match="x_start must be one sample of 64 values, got 10"):
        vae.interpolate(np.zeros(10), X[1])


def test_kl_per_dimension_bars_mark_the_active_dimensions(vae, ae, digits):
    X, _ = digits
    kl = vae.kl_per_dimension(X)
    fig = plotting.plot_kl_per_dimension(vae, X, threshold=np.median(kl))
    bars = fig.axes[0].patches
    assert len(bars) == vae.n_components
    heights = sorted(bar.get_height() for bar in bars)
    np.testing.assert_allclose(heights, np.sort(kl), rtol=1e-6)
    n_active = int((kl > np.median(kl)).sum())
    assert f"{n_active} of {vae.n_components} latent dimensions active" in fig.axes[0].get_title()
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend == [f"active (> {np.median(kl):g} nats)", "collapsed onto the prior"]
    everything_active = plotting.plot_kl_per_dimension(vae, X, threshold=0)
    assert [text.get_text() for text in everything_active.axes[0].get_legend().get_texts()] == ["active (> 0 nats)"]
    with pytest.raises(ValueError, match="no KL per latent dimension"):
        plotting.plot_kl_per_dimension(ae, X)
