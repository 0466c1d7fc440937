"""GaussianMixtureVAE: it clusters, generates by cluster, and saves exactly."""

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score

import skvae
import skvae._gmvae
from skvae import GaussianMixtureVAE
from skvae.plotting import plot_cluster_samples


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(digits):
    # a smaller network than the default's (500, 500, 2000), trained for less: 4 s, not 22
    X, _ = digits
    return GaussianMixtureVAE(
        n_clusters=10, hidden_layer_sizes=(256, 128), pretrain_epochs=30, max_epochs=20, random_state=0
    ).fit(X)


@pytest.mark.slow
def test_with_its_defaults_it_clusters_digits_far_better_than_kmeans_on_pixels(digits):
    X, y = digits
    fitted = GaussianMixtureVAE(n_clusters=10, random_state=0).fit(X)
    kmeans = adjusted_rand_score(y, KMeans(10, n_init=10, random_state=0).fit_predict(X))  # 0.67
    ari = adjusted_rand_score(y, fitted.labels_)
    assert ari > kmeans + 0.05, (ari, kmeans)


def test_labels_are_the_predictions_and_probabilities_sum_to_one(fitted, digits):
    X, y = digits
    assert adjusted_rand_score(y, fitted.labels_) > 0.5  # clusters, not noise
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    proba = fitted.predict_proba(X[:20])
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)


def test_samples_of_a_cluster_are_predicted_back_to_it(fitted):
    hits = []
    for k in range(fitted.n_clusters):
        samples = fitted.sample(50, cluster=k, random_state=k)
        hits.append(np.mean(fitted.predict(samples) == k))
    assert np.mean(hits) > 0.6, hits  # chance is 0.1


def test_importance_weighted_bound_uses_the_mixture_prior(fitted, digits):
    X, _ = digits
    elbo = fitted.score_samples(X[:200])
    bound = fitted.score_samples(X[:200], n_importance=100)
    # the bound's prior must be the one the ELBO's KL term is taken against:
    # with any other it would not sit above the ELBO on average
    assert bound.mean() > elbo.mean() + 0.1, (bound.mean(), elbo.mean())


def test_save_load_is_bit_identical(fitted, digits, tmp_path):
    X, _ = digits
    loaded = skvae.load(fitted.save(tmp_path / "gmvae.skvae"))
    np.testing.assert_array_equal(loaded.labels_, fitted.labels_)
    for method in ("transform", "predict_proba", "score_samples"):
        np.testing.assert_array_equal(getattr(loaded, method)(X[:100]), getattr(fitted, method)(X[:100]))
    np.testing.assert_array_equal(loaded.sample(5, cluster=[1, 2], random_state=3),
                                  fitted.sample(5, cluster=[1, 2], random_state=3))


def test_bad_cluster_and_too_few_samples_say_what_to_do(fitted, digits):
    with pytest.raises(ValueError, match=r"cluster must be None or integers in \[0, 9\]"):
        fitted.sample(3, cluster=10)
    with pytest.raises(TypeError, match="positional argument"):  # cluster is named, never a position
        fitted.sample(3, 2)
    with pytest.raises(ValueError, match="n_samples=5 should be >= n_clusters=10"):
        GaussianMixtureVAE(n_clusters=10, pretrain_epochs=1, max_epochs=1).fit(digits[0][:5])


def test_plot_cluster_samples_draws_a_row_per_cluster(digits):
    X, _ = digits
    model = GaussianMixtureVAE(n_clusters=3, image_shape=(8, 8), hidden_layer_sizes=(32,), pretrain_epochs=2,
                               max_epochs=2, random_state=0).fit(X[:300])
    fig = plot_cluster_samples(model, n_per_cluster=4, random_state=0)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (3 * 9 - 1, 4 * 9 - 1)
    assert len(fig.axes[0].get_yticklabels()) == 3


def test_warm_start_resumes_exactly(digits):
    # the prior's EM step runs at the start of each epoch, so 2 + 2 epochs is 4 epochs, bit for bit
    X = digits[0][:200]
    params = dict(n_clusters=3, hidden_layer_sizes=(16,), pretrain_epochs=2, random_state=0)
    whole = GaussianMixtureVAE(max_epochs=4, **params).fit(X)
    resumed = GaussianMixtureVAE(max_epochs=2, **params).fit(X)
    resumed.set_params(warm_start=True).fit(X)
    assert resumed.n_iter_ == 4
    for name, value in whole.net_.module_.state_dict().items():
        assert torch.equal(value, resumed.net_.module_.state_dict()[name]), name
    with pytest.raises(ValueError, match="embedding_, 200 rows"):
        resumed.fit(X[:100])


def test_auto_pretraining_takes_enough_steps_on_small_data_and_its_epochs_on_large(digits, capsys, monkeypatch):
    # the rule at a smaller scale (the defaults: 50 epochs and 2,000 steps)
    monkeypatch.setattr(skvae._gmvae, "PRETRAIN_EPOCHS", 3)
    monkeypatch.setattr(skvae._gmvae, "PRETRAIN_STEPS", 40)
    X = digits[0][:200]
    params = dict(n_clusters=3, hidden_layer_sizes=(16,), max_epochs=1, init="gmm", verbose=2, random_state=0)
    for batch_size, epochs in ((50, 10), (10, 3)):  # 4 steps an epoch: 10 epochs; 20 steps an epoch: 3 epochs
        GaussianMixtureVAE(batch_size=batch_size, **params).fit(X)
        assert f"GaussianMixtureVAE: pretraining as an autoencoder ({epochs} epochs)" in capsys.readouterr().out
    assert GaussianMixtureVAE().pretrain_epochs == "auto"


def test_verbose_names_each_phase_above_its_table_and_on_its_bar(digits, capsys):
    X = digits[0][:200]
    params = dict(n_clusters=3, hidden_layer_sizes=(16,), pretrain_epochs=2, max_epochs=3, init="gmm", batch_size=10,
                  random_state=0)
    GaussianMixtureVAE(verbose=2, **params).fit(X)
    printed = capsys.readouterr().out
    headers = [line for line in printed.splitlines() if line.startswith("GaussianMixtureVAE: ")]
    assert headers == [
        "GaussianMixtureVAE: pretraining as an autoencoder (2 epochs)",
        "GaussianMixtureVAE: standardising the codes (20 epochs)",
        "GaussianMixtureVAE: training the ELBO under the mixture prior (3 epochs)",
    ]
    tables = printed.split("GaussianMixtureVAE: ")[1:]
    assert all("train_loss" in table for table in tables)  # each header is above its own table
    GaussianMixtureVAE(verbose=1, **params).fit(X)
    bars = capsys.readouterr().err
    for phase in ("pretraining as an autoencoder: 100%", "standardising the codes: 100%",
                  "training the ELBO under the mixture prior: 100%"):
        assert phase in bars


def test_small_data_moves_its_codes_onto_the_map_for_at_least_200_steps(digits, capsys):
    # 20 epochs of 2 steps did not reach the map: clusters of the map merged in most seeds
    X = digits[0][:40]
    GaussianMixtureVAE(n_clusters=2, hidden_layer_sizes=(8,), pretrain_epochs=1, max_epochs=1, init="gmm",
                       batch_size=20, verbose=2, random_state=0).fit(X)
    assert "GaussianMixtureVAE: standardising the codes (100 epochs)" in capsys.readouterr().out


def test_the_map_keeps_the_rows_own_neighbours_not_only_the_codes(digits):
    # Without pretraining the codes are an untrained encoder's: a map of their
    # neighbours alone clustered the digits at ARI 0.33 (0.40 with seed 1); the
    # map of their mean with the pixels' neighbour graph at 0.56 (0.64).
    X, y = digits
    gmvae = GaussianMixtureVAE(10, hidden_layer_sizes=(32,), pretrain_epochs=0, max_epochs=1, random_state=0).fit(X)
    ari = adjusted_rand_score(y, KMeans(10, n_init=10, random_state=0).fit_predict(gmvae.embedding_))
    assert ari > 0.45, ari


def test_images_are_mapped_by_their_neighbours_up_to_a_pixels_shift_and_flat_rows_by_their_own(digits, monkeypatch):
    X, _ = digits
    X = X[:300]
    shapes = []
    graph = skvae._gmvae.fuzzy_graph

    def spy(rows, n_neighbors, seed, image_shape=None):
        shapes.append(image_shape)
        return graph(rows, n_neighbors, seed, image_shape=image_shape)

    monkeypatch.setattr(skvae._gmvae, "fuzzy_graph", spy)
    settings = dict(hidden_layer_sizes=(32,), pretrain_epochs=0, max_epochs=1, random_state=0)
    as_rows = GaussianMixtureVAE(10, **settings).fit(X).embedding_
    assert shapes == [None, None]  # the codes' graph and the rows'
    as_images = GaussianMixtureVAE(10, **settings).fit(X.reshape(-1, 8, 8)).embedding_
    assert shapes[2:] == [None, (1, 8, 8)]
    assert np.abs(as_images - as_rows).max() > 0.1


def test_the_mixture_starts_from_the_partition_most_maps_agree_on_and_holds_codes_to_the_nearest_map(
        digits, monkeypatch):
    # five maps of three groups of 30 rows; in the first, a layout's accident
    # puts 12 rows of group 0 beside group 1, so its own KMeans splits them off
    rng = np.random.RandomState(0)
    groups = np.repeat([0, 1, 2], 30)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    maps = [centres[groups] + rng.normal(scale=0.5, size=(90, 2)) for _ in range(5)]
    maps[0][:12] += centres[1]
    labels, nearest = skvae._gmvae._consensus(maps, 3, seed=0)
    assert adjusted_rand_score(groups, labels) == 1.0
    assert adjusted_rand_score(groups, KMeans(3, n_init=10, random_state=0).fit_predict(maps[0])) < 0.8
    assert nearest != 0
    # in a fit: five layouts of one graph, and the map kept is the one nearest their consensus
    seen = {}
    consensus = skvae._gmvae._consensus

    def spy(maps, n_clusters, seed):
        seen["maps"], seen["result"] = maps, consensus(maps, n_clusters, seed)
        return seen["result"]

    monkeypatch.setattr(skvae._gmvae, "_consensus", spy)
    gmvae = GaussianMixtureVAE(4, hidden_layer_sizes=(16,), pretrain_epochs=1, max_epochs=1, random_state=0)
    gmvae.fit(digits[0][:200])
    assert len(seen["maps"]) == 5 and np.abs(seen["maps"][0] - seen["maps"][1]).max() > 0.1
    np.testing.assert_array_equal(gmvae.embedding_, seen["maps"][seen["result"][1]].astype(np.float32))


@pytest.mark.parametrize(
    "shape, settings, moved",
    [((16, 16), {}, True), ((16, 16), {"pretrain_moves": None}, False), ((8, 8), {}, False), (None, {}, False),
     ("upright", {}, False), ("upright", {"pretrain_moves": "always"}, True)],
)
def test_pretraining_reads_images_of_16_pixels_or_more_moved_and_gives_them_back_as_they_were(
        digits, ellipses, monkeypatch, shape, settings, moved):
    X, _ = digits
    X = np.kron(X[:300].reshape(-1, 8, 8), np.ones((1, 2, 2), np.float32))  # 16 x 16 images
    # handwriting is written askew, and is moved; shapes whose near neighbours all lie upright are not
    upright = ellipses(300, 0)[0].reshape(300, 16, 16)
    X = {(16, 16): X, (8, 8): X[:, ::2, ::2], None: X.reshape(300, -1), "upright": upright}[shape]
    given, targets = [], []
    moves = skvae._gmvae.random_moves

    def spy(x, image_shape):
        given.append((x, image_shape))
        return moves(x, image_shape)

    class Loss(skvae._gmvae.ELBOLoss):  # the pretraining's loss
        def forward(self, output, x, *args, **kwargs):
            targets.append(x)
            return super().forward(output, x, *args, **kwargs)

    monkeypatch.setattr(skvae._gmvae, "random_moves", spy)
    monkeypatch.setattr(skvae._gmvae, "ELBOLoss", Loss)
    gmvae = GaussianMixtureVAE(3, hidden_layer_sizes=(32,), pretrain_epochs=1, max_epochs=1, random_state=0,
                               **settings).fit(X)
    assert gmvae.pretrain_moves_ is moved
    if not moved:
        assert given == []
        return
    assert len(given) == 2  # the two batches of the one pretraining epoch, and nothing after it
    for (x, image_shape), target in zip(given, targets):
        assert image_shape == (1, 16, 16)
        assert torch.equal(target, x)  # the reconstruction is of the image as it was
