"""placement="network": a network fitted to the laid-out training codes maps new rows in one pass, and decodes."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier

import skvae
import skvae._placement_network
from skvae import VAETransformer
from skvae._inference import SMALL_BATCHES, _small_batch_answers

from test_load_safety import craft, read


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


@pytest.fixture(scope="module")
def mapped(digits_split):
    """A 2-D model of the digits fitted with placement="network"."""
    model = VAETransformer(2, placement="network", max_epochs=40, random_state=0)
    return model.fit(digits_split[0])


@pytest.fixture
def short_network_fits(monkeypatch):
    """Networks fitted for 5 epochs: for tests of what the network reads and keeps, not of how well it maps."""
    monkeypatch.setattr(skvae._placement_network, "EPOCHS", 5)
    monkeypatch.setattr(skvae._placement_network, "MIN_STEPS", 0)


def knn_accuracy(Z_train, Z_test, y_train, y_test):
    return KNeighborsClassifier(5).fit(Z_train, y_train).score(Z_test, y_test)


def as_fitted(model, **params):
    """A copy of the fitted ``model`` with ``params`` set (set_params on a copy, not on the fixture)."""
    return pickle.loads(pickle.dumps(model)).set_params(**params)


def test_the_network_maps_new_rows_near_where_placement_puts_them_far_above_the_encoder(mapped, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    by_network = knn_accuracy(mapped.placement_codes_, mapped.transform(X_test), y_train, y_test)
    placed = as_fitted(mapped, placement="neighbors")  # the same model, its rows placed by the search
    by_search = knn_accuracy(mapped.placement_codes_, placed.transform(X_test), y_train, y_test)
    encoded = as_fitted(mapped, placement="encoder")
    by_encoder = knn_accuracy(encoded.transform(X_train), encoded.transform(X_test), y_train, y_test)
    assert by_network > by_encoder + 0.03, (by_network, by_encoder)
    # within 0.02 of the search (0.968 against 0.963 here; 0.958 with a single place for each row);
    # the network as first built (least squares, less noise on its inputs) mapped the digits at
    # 0.93-0.94 against its 0.96
    assert by_network > by_search - 0.02, (by_network, by_search)
    # it learnt the laid-out codes: the training rows land near their own (the map spans about 20)
    spread = np.ptp(mapped.placement_codes_, axis=0).max()
    error = np.linalg.norm(mapped.transform(X_train) - mapped.placement_codes_, axis=1)
    assert np.median(error) < 0.02 * spread, (np.median(error), spread)


def test_mapped_codes_decode_like_the_laid_out_ones(mapped, digits_split):
    X_test = digits_split[1]
    Z = mapped.transform(X_test)
    decoded = mapped.inverse_transform(Z)
    assert decoded.shape == X_test.shape
    # decoded near the rows they came from: closer than to other rows, on average
    own = np.mean((decoded - X_test) ** 2)
    shuffled = np.mean((decoded - X_test[np.random.RandomState(0).permutation(len(X_test))]) ** 2)
    assert own < 0.6 * shuffled, (own, shuffled)
    assert mapped.sample(5, random_state=0).shape == (5, X_test.shape[1])


def test_a_row_is_mapped_the_same_alone_in_any_order_and_after_a_reload(mapped, digits_split, tmp_path):
    X_test = digits_split[1][:1500]  # over one batch of the network
    Z = mapped.transform(X_test)
    np.testing.assert_array_equal(mapped.transform(X_test[:1]), Z[:1])
    np.testing.assert_array_equal(mapped.transform(X_test[::-1]), Z[::-1])
    loaded = skvae.load(mapped.save(tmp_path / "mapped.skvae"))
    np.testing.assert_array_equal(loaded.transform(X_test), Z)
    for saved, kept in zip(loaded.placement_network_, mapped.placement_network_):
        np.testing.assert_array_equal(saved, kept)


def test_a_few_rows_are_mapped_as_a_small_batch_with_the_bits_they_get_among_many(mapped, digits_split):
    model = as_fitted(mapped)  # a module of its own, so small-batch answers of its own
    X_test = digits_split[1]
    Z = model.transform(X_test[:300])
    for n in (1, 3, *SMALL_BATCHES, SMALL_BATCHES[0] + 1):  # each small size, full and not
        np.testing.assert_array_equal(model.transform(X_test[5:5 + n]), Z[5:5 + n])
    # a few rows go through the check that lets them run as a small batch, not padded to 1,024
    # rows each time (a one-row transform took 2.4 ms that way, where the encoder's takes 0.13)
    asked = {key[0] for key in _small_batch_answers[model.net_.module_]}
    assert any(name.startswith("placement network") for name in asked), asked


def test_a_row_takes_the_place_of_its_highest_score_and_a_network_of_codes_alone_still_maps(mapped, digits_split):
    X = digits_split[1][:200]
    assert skvae._placement_network.PLACES > 1
    assert mapped.placement_network_[-1].shape == (skvae._placement_network.PLACES * 3,)  # places, then scores
    # one layer: place 0 at (1, 2), place 1 at (-3, -4); place 0 scores the sum of a row's
    # features less t, place 1 t less it: rows above t take place 0, the others place 1
    total = X.sum(1)
    t = np.median(total) + 1 / 32  # between sums, which are sixteenths: no row ties
    weight = np.zeros((6, 64), np.float32)
    weight[4], weight[5] = 1, -1
    model = as_fitted(mapped)
    model.placement_network_ = [weight, np.array([1, 2, -3, -4, -t, t], np.float32)]
    expected = np.where((total > t)[:, None], [1, 2], [-3, -4])
    np.testing.assert_array_equal(model.transform(X), expected)
    # a model saved before the places (the last layer gives the codes) maps as it did
    model.placement_network_ = [weight[:2] + 1, np.array([0.5, -0.5], np.float32)]
    np.testing.assert_allclose(model.transform(X), total[:, None] + [0.5, -0.5], rtol=1e-5)


def test_the_network_is_fitted_the_same_from_the_same_random_state_and_not_from_another(
        digits_split, short_network_fits):
    def network(seed):
        model = VAETransformer(2, placement="network", max_epochs=2, random_state=seed).fit(digits_split[0][:200])
        return model.placement_network_

    first, again, other = network(0), network(0), network(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_auto_maps_new_rows_with_a_network_from_enough_training_rows_and_places_them_below(
        digits_split, short_network_fits, monkeypatch):
    monkeypatch.setattr(VAETransformer, "_NETWORK_MIN_ROWS", 300)  # 4,096 in earnest: a test's few rows
    X_train, X_test = digits_split[0], digits_split[1][:50]
    large = VAETransformer(2, max_epochs=2, random_state=0).fit(X_train[:300])
    small = VAETransformer(2, max_epochs=2, random_state=0).fit(X_train[:299])
    assert large.placement == small.placement == "auto"  # the parameter as given: a clone fits the same way
    assert hasattr(large, "placement_network_") and not hasattr(small, "placement_network_")
    assert hasattr(small, "placement_rows_")  # placed by the search
    np.testing.assert_array_equal(large.transform(X_test), as_fitted(large, placement="network").transform(X_test))
    np.testing.assert_array_equal(small.transform(X_test), as_fitted(small, placement="neighbors").transform(X_test))
    # the network, not the search: the two put the rows in different places
    assert not np.allclose(large.transform(X_test), as_fitted(large, placement="neighbors").transform(X_test))
    # codes of more dimensions are encoded, at any number of rows
    assert not hasattr(VAETransformer(4, max_epochs=1, random_state=0).fit(X_train[:300]), "placement_rows_")


def test_a_model_without_a_network_says_what_to_do_and_one_with_it_offers_no_partial_fit(mapped, digits_split):
    # (refused before training where it cannot place: test_neighbors.py, with placement="neighbors")
    X = digits_split[0][:100]
    assert not hasattr(mapped, "partial_fit")
    with pytest.raises(ValueError, match="return_std"):
        mapped.transform(X[:5], return_std=True)
    searched = VAETransformer(2, placement="neighbors", max_epochs=1, random_state=0).fit(X)
    before = searched.transform(X[:5])
    with pytest.raises(ValueError, match="has none.*Fit it again with placement='network'"):
        searched.set_params(placement="network").transform(X[:5])
    np.testing.assert_array_equal(searched.set_params(placement="neighbors").transform(X[:5]), before)


@pytest.mark.parametrize("alter", [
    lambda layers: layers[:-2],  # a layer short: 256 outputs, not 2 codes
    lambda layers: [*layers[:-2], layers[-2][:-1], layers[-1][:-1]],  # a place without its score
    lambda layers: [layers[0][:, :10], *layers[1:]],  # reads 10 features, not 64
    lambda layers: [layers[0], layers[1][:5], *layers[2:]],  # a bias of the wrong length
    lambda layers: [layers[0].astype(np.float64), *layers[1:]],
    lambda layers: [np.full_like(layers[0], np.nan), *layers[1:]],
    lambda layers: layers[:-1],  # a weight without its bias
    lambda layers: [],
    lambda layers: "not a network",
])
def test_an_altered_network_is_refused_not_run(mapped, digits_split, tmp_path, alter):
    loaded = skvae.load(mapped.save(tmp_path / "mapped.skvae"))
    loaded.placement_network_ = alter(list(loaded.placement_network_))
    with pytest.raises(ValueError, match="placement_network_.*altered"):
        loaded.transform(digits_split[1][:5])


def test_a_crafted_file_with_a_network_of_other_shapes_loads_as_data_and_is_refused_on_use(
        mapped, digits_split, tmp_path):
    tree, tensors = read(mapped.save(tmp_path / "mapped.skvae"))
    (layers,) = [value for key, value in tree["state"]["__dict__"] if key == "placement_network_"]
    first = layers[0]["__ndarray__"]  # the first layer's weight, named in the tree, held as a tensor
    crafted = craft(tmp_path / "crafted.skvae", tree, dict(tensors, **{first: torch.zeros(3, 3)}))
    loaded = skvae.load(crafted)
    with pytest.raises(ValueError, match="placement_network_.*altered"):
        loaded.transform(digits_split[1][:5])


def test_wide_rows_are_mapped_from_their_principal_components(digits_split, short_network_fits):
    # the digits at 16 x 16 (256 features): kept, searched and mapped as their first 50 components
    X_train = np.kron(digits_split[0].reshape(-1, 8, 8), np.ones((1, 2, 2), np.float32)).reshape(-1, 256)[:300]
    model = VAETransformer(2, placement="network", max_epochs=3, random_state=0).fit(X_train)
    assert model.placement_projection_.shape == (256, 50)
    assert model.placement_network_[0].shape == (256, 50)  # 256 units reading 50 components
    Z = model.transform(X_train)
    # the network reads the rows' projection (computed batch by batch with torch, so to rounding)
    step = skvae._placement_network.network_step(model.placement_network_, 2)
    with torch.inference_mode():
        by_components = step(None, torch.from_numpy(X_train @ model.placement_projection_))[0].numpy()
    np.testing.assert_allclose(Z, by_components, atol=1e-4)
    assert np.abs(Z - by_components).max() < 1e-3 * np.abs(Z).max()


def test_sparse_rows_are_mapped_as_the_same_rows_dense(digits_split, short_network_fits):
    X = sp.csr_matrix(digits_split[0][:300])
    model = VAETransformer(2, placement="network", max_epochs=3, random_state=0).fit(X)
    np.testing.assert_array_equal(model.transform(X[:50]), model.transform(X[:50].toarray()))


def test_verbose_shows_the_networks_fit_as_progress(digits_split, capsys, short_network_fits):
    VAETransformer(2, placement="network", max_epochs=1, verbose=1, random_state=0).fit(digits_split[0][:100])
    assert "fitting the network that maps new rows" in capsys.readouterr().err
