"""The neighbourhood term (neighbor_weight): better 2-D maps, one graph per fit, kept for warm starts."""

import functools
import pickle
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

import skvae
import skvae._layout
import skvae._neighbors
import skvae._placement
import skvae._training
from skvae import AutoencoderTransformer, ModelFileError, VAETransformer

from test_load_safety import craft, read, with_entry


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)


@pytest.fixture
def graph_builds(monkeypatch):
    """The number of neighbour graphs built so far (the real function, counted)."""
    calls = []
    real = skvae._training.neighbor_graph

    def counted(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(skvae._training, "neighbor_graph", counted)
    return calls


def knn_accuracy(model, X_train, X_test, y_train, y_test):
    return KNeighborsClassifier(5).fit(model.transform(X_train), y_train).score(model.transform(X_test), y_test)


def test_the_term_draws_a_2d_map_whose_neighbours_share_their_class_far_more_often(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    accuracy = {
        weight: np.mean([
            knn_accuracy(VAETransformer(2, neighbor_weight=weight, placement="encoder", max_epochs=40,
                                        random_state=seed).fit(X_train),
                         X_train, X_test, y_train, y_test)
            for seed in (0, 1)
        ])
        for weight in (0.0, 1.0)
    }
    # measured: 0.65 without the term and 0.82 with it (UMAP: 0.96); unseen rows, 5-NN on the training map
    assert accuracy[1.0] > accuracy[0.0] + 0.08, accuracy


def test_the_graph_is_built_once_per_fit_over_the_training_rows_alone(digits_split, graph_builds):
    X = digits_split[0][:300]
    model = VAETransformer(2, neighbor_weight=1.0, validation_fraction=0.2, max_epochs=3, random_state=0).fit(X)
    assert graph_builds == [300]
    graph = model.neighbor_graph_
    assert sp.isspmatrix_csr(graph) and graph.shape == (300, 300)
    assert abs(graph - graph.T).max() < 1e-6  # UMAP's fuzzy union is symmetric
    with_edges = np.diff(graph.indptr) > 0
    assert with_edges.sum() == 240  # the 60 validation rows have none
    assert graph.data.min() > 0 and graph.data.max() <= 1
    assert len(model.history_[:, "train_neighbor_loss"]) == 3
    assert all(loss > 0 for loss in model.history_[:, "train_neighbor_loss"])
    # the validation rows, which have no edges, add nothing
    assert all(loss == 0 for loss in model.history_[:, "valid_neighbor_loss"])


def test_a_warm_start_trains_on_with_the_saved_graph_and_builds_none(digits_split, graph_builds, tmp_path):
    X = digits_split[0][:200]
    model = AutoencoderTransformer(2, neighbor_weight=1.0, max_epochs=2, random_state=0).fit(X)
    path = model.save(tmp_path / "map.skvae", training_state=True)
    loaded = skvae.load(path)
    assert (loaded.neighbor_graph_ != model.neighbor_graph_).nnz == 0
    loaded.set_params(warm_start=True, max_epochs=2).fit(X)
    assert graph_builds == [200]  # the first fit's; the warm start read the saved one
    assert loaded.n_iter_ == 4 and len(loaded.history_[:, "train_neighbor_loss"]) == 4
    # once trained, the net keeps its plain loss: no graph or bank of codes in a pickle
    assert not hasattr(pickle.loads(pickle.dumps(loaded)).net_.criterion_, "bank")


def test_a_warm_start_on_other_rows_is_refused_and_changes_nothing(digits_split):
    X = digits_split[0][:200]
    model = VAETransformer(2, neighbor_weight=1.0, max_epochs=2, warm_start=True, random_state=0).fit(X)
    before = model.transform(X)
    with pytest.raises(ValueError, match="neighbour graph of the training data .*200 rows.* X has 150"):
        model.fit(X[:150])
    assert model.n_iter_ == 2 and np.array_equal(model.transform(X), before)


def test_a_fit_without_the_term_keeps_no_graph_of_an_earlier_one(digits_split):
    X = digits_split[0][:200]
    model = VAETransformer(2, neighbor_weight=1.0, max_epochs=1, random_state=0).fit(X)
    model.set_params(neighbor_weight=0.0).fit(X)
    assert not hasattr(model, "neighbor_graph_")
    assert "train_neighbor_loss" not in model.history_[-1]
    model.partial_fit(X)  # partial_fit never trains with it: one chunk is not the data's graph
    assert not hasattr(model, "neighbor_graph_")


def test_a_crafted_graph_pointing_outside_its_rows_is_refused(digits_split, tmp_path):
    model = AutoencoderTransformer(2, neighbor_weight=1.0, max_epochs=1, random_state=0).fit(digits_split[0][:100])
    tree, tensors = read(model.save(tmp_path / "map.skvae"))
    graph = dict(tree["state"]["__dict__"])["neighbor_graph_"]
    assert "__csr__" in graph
    indices = graph["__csr__"][2]["__ndarray__"]
    tensors[indices] = tensors[indices].clone()
    tensors[indices][0] = 10_000  # an edge to a row that does not exist
    with pytest.raises(ModelFileError, match="cannot rebuild"):
        skvae.load(craft(tmp_path / "crafted.skvae", tree, tensors))
    for bad in ([[100], *graph["__csr__"][1:]], [[100, 100], {"__import__": "os:system"}, *graph["__csr__"][2:]]):
        changed = with_entry(tree, "neighbor_graph_", {"__csr__": bad}, "state")
        with pytest.raises(ModelFileError, match="cannot rebuild|not on skvae.s list"):
            skvae.load(craft(tmp_path / "crafted.skvae", changed, tensors))


@pytest.mark.parametrize(
    "model",
    [
        AutoencoderTransformer(2, architecture="conv", image_shape=(8, 8)),
        skvae.ConditionalVAETransformer(2),
        skvae.VQVAETransformer(2),
        skvae.GaussianMixtureVAE(3, 2, hidden_layer_sizes=(32,), pretrain_epochs=1, init="gmm"),
    ],
    ids=lambda model: type(model).__name__,
)
def test_every_model_trains_with_the_term_beside_its_own_loss(model, digits_split):
    X, y = digits_split[0][:120], digits_split[2][:120]
    model.set_params(neighbor_weight=1.0, max_epochs=2, random_state=0).fit(X, y)
    history = model.history_
    assert all(loss > 0 for loss in history[:, "train_neighbor_loss"])
    own = [key for key in history[-1] if key.startswith("train_") and key.endswith("_loss")
           and key not in ("train_loss", "train_neighbor_loss")]
    assert own  # the model's own parts are still recorded beside the term
    total = sum(history[-1, key] for key in own) + history[-1, "train_neighbor_loss"]
    assert history[-1, "train_loss"] == pytest.approx(total, rel=1e-4)  # each weighs 1 here
    assert model.transform(X).shape == (120, 2)


def test_the_graph_is_of_the_rows_as_the_model_reads_them_sparse_or_uint8(digits_split):
    X = digits_split[0][:150]
    dense = VAETransformer(2, neighbor_weight=1.0, max_epochs=1, random_state=0).fit(X).neighbor_graph_
    sparse = VAETransformer(2, neighbor_weight=1.0, max_epochs=1, random_state=0).fit(sp.csr_matrix(X))
    assert abs(sparse.neighbor_graph_ - dense).max() < 1e-5
    # uint8 images, read as images: the same neighbours, up to the rounding to 8 bits
    images = np.round(X * 255).astype(np.uint8).reshape(-1, 8, 8)
    as_uint8 = VAETransformer(2, neighbor_weight=1.0, max_epochs=1, random_state=0).fit(images).neighbor_graph_
    assert dense.multiply(as_uint8).nnz > 0.99 * dense.nnz


@pytest.mark.slow  # pynndescent compiles with numba on first use: about 15 s
def test_above_the_exact_search_limit_nn_descent_finds_nearly_the_same_graph(digits_split, monkeypatch):
    from skvae._data import TrainingRows
    from skvae._neighbors import neighbor_graph

    X = digits_split[0]
    rows = np.arange(len(X))
    exact = neighbor_graph(TrainingRows(X), rows)
    monkeypatch.setattr(skvae._neighbors, "EXACT_NEIGHBORS_MAX_ROWS", 100)
    searched = neighbor_graph(TrainingRows(X), rows)
    assert searched.shape == exact.shape and abs(searched - searched.T).max() < 1e-6
    assert exact.multiply(searched).nnz > 0.95 * exact.nnz


def _images_and_their_shifts(n=40, seed=0):
    """n random two-channel 10x10 images inside a zero border, then each moved a pixel right, as flat rows."""
    images = np.zeros((n, 2, 10, 10), np.float32)
    images[..., 1:-1, 1:-1] = np.random.RandomState(seed).rand(n, 2, 8, 8)
    return np.concatenate([images, np.roll(images, 1, axis=-1)]).reshape(2 * n, -1)


def test_images_a_pixel_apart_are_each_others_nearest_neighbours_where_rows_are_not():
    from skvae._neighbors import image_neighbors

    rows = _images_and_their_shifts()
    partner = np.r_[np.arange(40, 80), np.arange(40)]
    indices, distances = image_neighbors(rows, (2, 10, 10), 3)
    assert (indices[:, 0] == np.arange(80)).all() and (distances[:, 0] == 0).all()
    assert (indices[:, 1] == partner).all() and distances[:, 1].max() < 0.01 * distances[:, 2].min()
    assert (np.diff(distances, axis=1) >= 0).all()
    # as plain rows, an image and its shift are about as far apart as any two
    plain = NearestNeighbors(n_neighbors=2).fit(rows).kneighbors(rows, return_distance=False)
    assert (plain[:, 1] == partner).mean() < 0.5
    graph = skvae._neighbors.fuzzy_graph(rows, 3, image_shape=(2, 10, 10))
    assert (graph[np.arange(80), partner] == 1).all()  # each image's nearest neighbour is at weight 1


def test_images_with_a_side_under_8_pixels_are_compared_as_plain_rows(digits_split):
    X = digits_split[0][:200]
    plain = skvae._neighbors.fuzzy_graph(X, 10)
    assert abs(skvae._neighbors.fuzzy_graph(X, 10, image_shape=(4, 4, 4)) - plain).max() == 0
    assert abs(skvae._neighbors.fuzzy_graph(X, 10, image_shape=(1, 8, 8)) - plain).max() > 0.5


@pytest.mark.slow  # pynndescent compiles with numba on first use
def test_above_the_exact_search_limit_images_query_an_index_for_nearly_the_same_neighbours(monkeypatch):
    from skvae._neighbors import image_neighbors

    rows = np.concatenate([_images_and_their_shifts(150, seed) for seed in range(2)])
    exact, exact_distances = image_neighbors(rows, (2, 10, 10), 10)
    monkeypatch.setattr(skvae._neighbors, "EXACT_NEIGHBORS_MAX_ROWS", 100)
    searched, distances = image_neighbors(rows, (2, 10, 10), 10, batch_size=64)
    assert (searched[:, 0] == np.arange(len(rows))).all() and (distances[:, 0] == 0).all()
    assert (searched[:, 1] == exact[:, 1]).all()  # each image's shifted twin
    assert np.mean([len(set(a) & set(b)) for a, b in zip(exact, searched)]) > 0.9 * 10
    assert (distances >= exact_distances - 0.01).all()  # no nearer than every pair (to the rounding of |a|^2+|b|^2-2ab)


# ----------------------------------------------------------- placement="neighbors"


def test_by_default_maps_of_up_to_3_dimensions_train_with_the_term_and_place_and_wider_codes_do_not(
        digits_split):
    X_train, X_test, y_train, y_test = digits_split
    default = VAETransformer(max_epochs=40, random_state=0).fit(X_train)  # 2-D codes
    assert default.neighbor_graph_.nnz and default.placement_codes_.shape == (len(X_train), 2)
    plain = VAETransformer(neighbor_weight=0.0, max_epochs=40, random_state=0).fit(X_train)
    assert not [name for name in vars(plain) if name.startswith(("placement_", "neighbor_graph_"))]
    # measured 0.960 by default against 0.674 for the plain VAE's codes (UMAP: 0.96)
    assert knn_accuracy(default, X_train, X_test, y_train, y_test) > 0.9
    assert knn_accuracy(plain, X_train, X_test, y_train, y_test) < 0.8
    for model in (VAETransformer(3, max_epochs=1), AutoencoderTransformer(1, max_epochs=1)):
        assert model.fit(X_train[:100]).placement_codes_.shape[1] == model.n_components
    wide = VAETransformer(4, max_epochs=1).fit(X_train[:100])
    assert not [name for name in vars(wide) if name.startswith(("placement_", "neighbor_graph_"))]
    # partial_fit sees a chunk at a time: it trains without the term and encodes
    incremental = VAETransformer(2, random_state=0).partial_fit(X_train[:100])
    assert not [name for name in vars(incremental) if name.startswith(("placement_", "neighbor_graph_"))]
    np.testing.assert_array_equal(incremental.transform(X_test[:5]),
                                  clone_fitted(incremental, placement="encoder").transform(X_test[:5]))
    # the outlier detector scores its model's own codes: "auto" there is the plain model
    detector = skvae.AutoencoderOutlierDetector(VAETransformer(2, max_epochs=1), random_state=0).fit(X_train[:100])
    assert detector.estimator_.get_params()["neighbor_weight"] == 0.0
    assert not hasattr(detector.estimator_, "placement_rows_")


@pytest.fixture(scope="module")
def placed(digits_split):
    X_train = digits_split[0]
    return VAETransformer(2, neighbor_weight=1.0, placement="neighbors", max_epochs=40, random_state=0).fit(X_train)


def test_placing_new_rows_among_the_training_rows_keeps_their_neighbours_better_than_the_encoder(
        placed, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    by_placement = knn_accuracy(placed, X_train, X_test, y_train, y_test)
    by_encoder = knn_accuracy(clone_fitted(placed, placement="encoder"), X_train, X_test, y_train, y_test)
    # measured: 0.941 placed against 0.803 encoded (seeds 1, 2: 0.908 / 0.759, 0.933 / 0.783); UMAP 0.96
    assert by_placement > by_encoder + 0.06, (by_placement, by_encoder)
    assert placed.placement_rows_.shape == X_train.shape
    assert placed.placement_codes_.shape == (len(X_train), 2)
    # placed codes are codes like any other: they decode to images
    assert placed.inverse_transform(placed.transform(X_test[:5])).shape == (5, 64)


def test_placement_lays_the_training_codes_out_as_umap_would_and_trains_the_model_on_to_agree(
        placed, digits_split, monkeypatch):
    X_train, X_test, y_train, _ = digits_split
    laid_out = placed.placement_codes_
    # the same fit without the anchored epochs after the layout: the same layout, the encoder's codes unmoved
    monkeypatch.setattr(skvae._training, "ANCHOR_EPOCHS", 0)
    unanchored = VAETransformer(**placed.get_params()).fit(X_train)
    np.testing.assert_array_equal(unanchored.placement_codes_, laid_out)
    encoded = unanchored._encode(X_train)[0]

    def own_map(Z):  # how well the training map keeps classes together, 5-fold 5-NN
        return cross_val_score(KNeighborsClassifier(5), Z, y_train, cv=5).mean()

    def distance(Z):
        return np.linalg.norm(Z - laid_out, axis=1).mean()

    def error(model):
        return ((model.inverse_transform(model.transform(X_test)) - X_test) ** 2).mean()

    # measured (seeds 0, 1, 2): 0.968, 0.976, 0.974 laid out against 0.841, 0.811, 0.836 as encoded
    assert own_map(laid_out) > own_map(encoded) + 0.06, (own_map(laid_out), own_map(encoded))
    # the anchored epochs bring the encoder's codes to the laid-out ones, and teach the decoder to decode them
    # measured: mean distance 0.134, 0.144, 0.143 against 0.544, 0.595, 0.474; test MSE of the placed
    # rows decoded 0.050, 0.052, 0.053 against 0.067, 0.071, 0.069
    after = placed._encode(X_train)[0]
    assert distance(after) < 0.5 * distance(encoded), (distance(after), distance(encoded))
    assert error(placed) < 0.85 * error(unanchored), (error(placed), error(unanchored))


def test_layout_is_umap_learns_bit_for_bit():
    # skvae compiles UMAP's layout loop itself (no umap-learn import, a disk cache): the same codes as
    # umap-learn's optimize_layout_euclidean, from the same start, seed and graph
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import make_epochs_per_sample

    X = load_digits().data[:300] / 16
    graph = skvae._neighbors.fuzzy_graph(X, 15, seed=0)
    codes = np.random.RandomState(1).normal(size=(300, 2)).astype(np.float32)
    for n_epochs, seed in [(50, 0), (200, 3)]:
        ours = skvae._layout.lay_out(graph, codes, seed=seed, n_epochs=n_epochs)
        pruned = graph.tocoo(copy=True).astype(np.float32)
        pruned.data[pruned.data < pruned.data.max() / float(n_epochs)] = 0.0
        pruned.eliminate_zeros()
        int32 = np.iinfo(np.int32)
        state = np.random.RandomState(seed).randint(int32.min + 1, int32.max - 1, 3).astype(np.int64)
        start = codes * np.float32(skvae._neighbors.CODE_SCALE)
        theirs = optimize_layout_euclidean(
            start, start, pruned.row, pruned.col, n_epochs, 300, make_epochs_per_sample(pruned.data, n_epochs),
            skvae._neighbors.CURVE_A, skvae._neighbors.CURVE_B, state, move_other=True,
        ) / np.float32(skvae._neighbors.CODE_SCALE)
        assert np.abs(ours - codes).max() > 0.1  # the rows moved
        np.testing.assert_array_equal(ours, theirs)


def test_laying_out_moves_rows_along_their_edges_and_leaves_rows_without_edges_where_they_are():
    codes = np.random.RandomState(0).normal(size=(40, 2)).astype(np.float32)
    # two groups of 15 rows linked within themselves, and 10 rows without edges (as validation rows)
    group = np.ones((15, 15)) - np.eye(15)
    graph = sp.block_diag([group, group, sp.csr_matrix((10, 10))], format="csr")
    out = skvae._layout.lay_out(graph, codes, seed=0)
    np.testing.assert_allclose(out[30:], codes[30:], rtol=1e-6)
    np.testing.assert_array_equal(out, skvae._layout.lay_out(graph, codes, seed=0))
    # numba's layout takes C-ordered rows only
    np.testing.assert_array_equal(out, skvae._layout.lay_out(graph, np.asfortranarray(codes), seed=0))

    def spread(Z):  # mean distance within a group, against that between the groups' centres
        within = np.mean([np.linalg.norm(Z[g] - Z[g].mean(0), axis=1).mean() for g in (slice(0, 15), slice(15, 30))])
        return within / np.linalg.norm(Z[:15].mean(0) - Z[15:30].mean(0))

    assert spread(out) < spread(codes) / 3, (spread(out), spread(codes))


@pytest.mark.parametrize("model", [
    AutoencoderTransformer(2),
    skvae.ConditionalVAETransformer(2),  # decodes with each row's class
    skvae.GaussianMixtureVAE(3, n_components=2, pretrain_epochs=1),  # whose own loss has an anchor too
], ids=lambda model: type(model).__name__)
def test_every_model_that_places_lays_out_its_codes_and_trains_on_to_decode_them(model, digits_split):
    X, X_test, y, _ = digits_split
    model = clone(model).set_params(neighbor_weight=1.0, placement="neighbors", max_epochs=3, random_state=0)
    model.fit(X[:300], y[:300])
    assert model.placement_codes_.shape == (300, 2)
    assert not np.allclose(model.placement_codes_, model._encode(X[:300])[0], atol=1e-3)  # laid out
    codes = model.transform(X_test[:5])
    assert np.isfinite(model.inverse_transform(codes)).all()
    assert model.inverse_transform(codes).shape == (5, 64)


def clone_fitted(model, **params):
    return pickle.loads(pickle.dumps(model)).set_params(**params)


def test_a_row_is_placed_the_same_alone_in_any_order_and_after_a_reload(placed, digits_split, tmp_path):
    X_test = digits_split[1][:200]
    Z = placed.transform(X_test)
    np.testing.assert_allclose(placed.transform(X_test[:7]), Z[:7], atol=1e-6)
    np.testing.assert_allclose(placed.transform(X_test[::-1]), Z[::-1], atol=1e-6)
    loaded = skvae.load(placed.save(tmp_path / "placed.skvae"))
    np.testing.assert_array_equal(loaded.transform(X_test), Z)
    np.testing.assert_array_equal(loaded.placement_rows_, placed.placement_rows_)


def test_a_model_places_with_the_epochs_and_negatives_it_was_fitted_with_and_an_older_one_with_umaps(
        placed, digits_split):
    X = digits_split[1][:100]
    rows, codes, seed = placed.placement_rows_, placed.placement_codes_, placed.net_.split_seed
    assert (placed.placement_epochs_, placed.placement_negatives_) == (120, 3)
    now = placed.transform(X)
    place = functools.partial(skvae._placement.place_rows, placed._flat_rows(X), rows, codes, seed=seed)
    np.testing.assert_allclose(now, place(), atol=1e-6)  # float32 codes from float64
    older = clone_fitted(placed)  # as a model saved before the two were kept loads: without them
    del older.placement_epochs_, older.placement_negatives_
    before = older.transform(X)
    np.testing.assert_allclose(before, place(n_epochs=100, negative_sample_rate=5), atol=1e-6)
    assert np.abs(before - now).max() > 1e-3  # two schedules, not one


@pytest.mark.parametrize("placement", ["neighbors", "network"])
def test_placement_is_refused_before_training_where_it_cannot_place(placement, digits_split):
    X = digits_split[0][:100]
    with pytest.raises(ValueError, match=f"placement='{placement}'.*needs neighbor_weight > 0"):
        VAETransformer(2, neighbor_weight=0.0, placement=placement, max_epochs=1).fit(X)
    with pytest.raises(ValueError, match="codebook"):
        skvae.VQVAETransformer(4, neighbor_weight=1.0, placement=placement, max_epochs=1).fit(X)


def test_placement_leaves_a_fitted_model_as_it_was_where_it_cannot_serve(placed, digits_split):
    X = digits_split[0][:100]
    model = clone_fitted(placed)
    before = model.transform(X[:5])
    assert not hasattr(model, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit") as raised:
        model.partial_fit(X)
    assert "placement='neighbors'" in str(raised.value.__cause__)  # scikit-learn's message, ours as its cause
    np.testing.assert_array_equal(model.transform(X[:5]), before)
    with pytest.raises(ValueError, match="return_std"):
        model.transform(X[:5], return_std=True)
    encoded = VAETransformer(2, placement="encoder", max_epochs=1, random_state=0).fit(X).set_params(placement="neighbors")
    with pytest.raises(ValueError, match="kept none"):
        encoded.transform(X[:5])


@pytest.mark.parametrize("epochs, negatives", [(10**12, 3), (0, 3), (120.5, 3), (True, 3), ("120", 3),
                                               (120, 0), (120, -1), (120, 11), (120, float("nan")), (120, None)])
def test_placement_settings_from_an_altered_file_are_refused_before_anything_is_allocated(
        placed, digits_split, tmp_path, epochs, negatives):
    # 10**12 epochs would ask for a table of 10**12 x 15 x 10 negative draws
    loaded = skvae.load(placed.save(tmp_path / "placed.skvae"))
    loaded.placement_epochs_, loaded.placement_negatives_ = epochs, negatives
    with pytest.raises(ValueError, match="placement_epochs_.*altered"):
        loaded.transform(digits_split[1][:5])


def test_placement_rows_and_codes_that_disagree_are_refused_not_used(placed, digits_split, tmp_path):
    # as an altered model file would hold them: fewer codes than rows would index past the codes
    loaded = skvae.load(placed.save(tmp_path / "placed.skvae"))
    loaded.placement_codes_ = loaded.placement_codes_[:10]
    with pytest.raises(ValueError, match="altered"):
        loaded.transform(digits_split[1][:5])


@pytest.fixture(scope="module")
def placed_wide(digits_split):
    """A placing model of the digits at 16 x 16 (256 features): wide enough to be searched in a projection."""
    wide = [np.kron(X.reshape(-1, 8, 8), np.ones((1, 2, 2), np.float32)).reshape(len(X), -1) for X in digits_split[:2]]
    model = VAETransformer(2, neighbor_weight=1.0, placement="neighbors", max_epochs=20, random_state=0)
    return model.fit(wide[0]), wide


def test_wide_rows_are_kept_and_searched_as_their_first_principal_components_and_placed_as_well(
        placed_wide, placed, digits_split, tmp_path):
    model, (X_train, X_test) = placed_wide
    y_train, y_test = digits_split[2:]
    assert model.placement_projection_.shape == (256, 50)
    assert model.placement_rows_.shape == (len(X_train), 50)  # not 256 numbers a row
    assert not hasattr(placed, "placement_projection_")  # 64 features are kept whole
    whole = clone_fitted(model)
    del whole.placement_projection_
    whole.placement_rows_ = X_train
    Z = model.transform(X_test)
    assert not np.array_equal(Z, whole.transform(X_test))  # the projection is what was searched
    by_projection = knn_accuracy(model, X_train, X_test, y_train, y_test)
    by_whole_rows = knn_accuracy(whole, X_train, X_test, y_train, y_test)
    assert by_projection > by_whole_rows - 0.02, (by_projection, by_whole_rows)
    np.testing.assert_allclose(model.transform(X_test[:7]), Z[:7], atol=1e-6)  # alone as among others
    loaded = skvae.load(model.save(tmp_path / "wide.skvae"))
    np.testing.assert_array_equal(loaded.transform(X_test), Z)


def test_a_search_projection_that_disagrees_with_the_rows_is_refused_not_used(placed_wide, placed, tmp_path):
    model, (_, X_test) = placed_wide
    path = model.save(tmp_path / "wide.skvae")
    for alter in (lambda m: delattr(m, "placement_projection_"),
                  lambda m: setattr(m, "placement_projection_", m.placement_projection_[:100]),
                  lambda m: setattr(m, "placement_projection_", m.placement_projection_[:, :10])):
        loaded = skvae.load(path)
        alter(loaded)
        with pytest.raises(ValueError, match="altered"):
            loaded.transform(X_test[:5])
    narrow = skvae.load(placed.save(tmp_path / "narrow.skvae"))
    narrow.placement_projection_ = model.placement_projection_[:64]  # a projection the rows never had
    with pytest.raises(ValueError, match="altered"):
        narrow.transform(X_test[:5, :64])


def test_a_refit_that_encodes_keeps_no_training_rows(placed, digits_split):
    model = clone_fitted(placed, placement="encoder", neighbor_weight=0.0, max_epochs=1)
    model.fit(digits_split[0][:100])
    assert not [name for name in vars(model) if name.startswith("placement_")]


def test_a_conditional_vae_that_places_offers_no_partial_fit_either(digits_split):
    X, _, y, _ = digits_split
    cvae = skvae.ConditionalVAETransformer(2, neighbor_weight=1.0, placement="neighbors", max_epochs=1)
    assert not hasattr(cvae, "partial_fit")
    assert hasattr(cvae.set_params(placement="encoder"), "partial_fit")


def test_placement_weighs_edges_as_umap_learn_does_row_by_row():
    from umap.umap_ import compute_membership_strengths, smooth_knn_dist

    rng = np.random.RandomState(0)
    distances = np.sort(rng.gamma(2.0, 3.0, size=(300, 15)).astype(np.float32), axis=1)
    distances[:5, :3] = 0  # exact duplicates of training rows
    sigmas, rhos = smooth_knn_dist(distances, 15.0, local_connectivity=0.0)
    indices = np.tile(np.arange(15), (300, 1))
    _, _, expected, _ = compute_membership_strengths(indices, distances, sigmas, rhos, bipartite=True)
    weights = skvae._placement.membership_strengths(distances, 15)
    np.testing.assert_allclose(weights, expected.reshape(300, 15), atol=1e-6)
    np.testing.assert_array_equal(skvae._placement.membership_strengths(distances[7:8], 15), weights[7:8])


def test_the_2d_placement_loop_places_as_the_loop_for_any_dimension_does(placed, digits_split):
    # 2-D maps have a loop of their own, for speed; a third code column of zeros sends the same rows
    # through the loop for any dimension, where that column stays 0 and the others must agree
    rows, codes = placed.placement_rows_, placed.placement_codes_.astype(np.float64)
    X = placed._flat_rows(digits_split[1][:300])
    two = skvae._placement.place_rows(X, rows, codes)
    three = skvae._placement.place_rows(X, rows, np.column_stack([codes, np.zeros(len(codes))]))
    assert np.ptp(two, axis=0).min() > 1  # a spread-out map, not a collapsed one
    np.testing.assert_array_equal(three[:, 2], 0)
    np.testing.assert_allclose(three[:, :2], two, rtol=1e-6, atol=1e-6)


def test_the_graph_is_umap_learns_fuzzy_simplicial_set(digits_split):
    from umap.umap_ import fuzzy_simplicial_set

    X = np.concatenate([digits_split[0][:400], digits_split[0][:20]])  # 20 exact duplicates: zero distances
    distances, indices = NearestNeighbors(n_neighbors=15).fit(X).kneighbors(X)
    expected, _, _ = fuzzy_simplicial_set(X, 15, np.random.RandomState(0), "euclidean",
                                          knn_indices=indices, knn_dists=distances.astype(np.float32))
    graph = skvae._neighbors.fuzzy_union(indices, distances)
    expected = expected.tocsr()
    assert graph.dtype == np.float32 and (graph != graph.T).nnz == 0
    assert ((graph > 0) != (expected > 0)).nnz == 0  # the same edges
    np.testing.assert_allclose(graph.toarray(), expected.toarray(), rtol=1e-5, atol=1e-6)


THREADED_PLACEMENT = textwrap.dedent(
    """
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    from sklearn.datasets import load_digits
    from skvae import VAETransformer

    X = load_digits().data[:300] / 16
    model = VAETransformer(2, hidden_layer_sizes=(16,), max_epochs=2, random_state=0).fit(X)
    alone = model.transform(X)
    with ThreadPoolExecutor(4) as pool:
        together = np.concatenate(list(pool.map(model.transform, np.array_split(X, 8))))
    assert np.array_equal(together, alone)
    import numba
    print(numba.threading_layer())
    """
)


def test_threads_that_place_at_once_get_the_codes_one_thread_gets(run_python):
    # numba's workqueue threading layer, the one left where OpenMP and TBB are missing (macOS
    # wheels), aborts the process when two threads run parallel code at once
    assert run_python(THREADED_PLACEMENT, NUMBA_THREADING_LAYER="workqueue").strip() == "workqueue"
