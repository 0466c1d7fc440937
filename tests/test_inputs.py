"""Bad input gets an error that names the problem and changes nothing fitted; import is silent."""

import copy
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skvae
from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, DataRangeWarning, VAETransformer
from skvae.datasets import load_image_folder, load_mnist_like

N_FEATURES = 16  # 4x4 images, so that the image-shaped entry points are exercised too
SMALL = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def models():
    X = load_digits().images[:200, ::2, ::2].reshape(200, -1) / 16
    images = X.reshape(-1, 1, 4, 4)
    return {
        "vae": VAETransformer(n_components=2, **SMALL).fit(X),
        "ae-images": AutoencoderTransformer(n_components=2, architecture="conv", conv_channels=(2,), **SMALL)
        .fit(images),
    }


def fingerprint(model):
    """Everything fitted: attribute identities and the weights' values."""
    return {k: id(v) for k, v in vars(model).items()}, [t.clone() for t in model.net_.module_.state_dict().values()]


def assert_unchanged(model, before):
    ids, weights = fingerprint(model)
    assert ids == before[0]
    assert all(torch.equal(a, b) for a, b in zip(weights, before[1]))


# Arrays of any shape, dtype and value: NaN, inf, huge, empty, strings, booleans.
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2, 2),
    st.sampled_from([0.0, 1.0, 1e38, -1e300]),
)
DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128, "U3", object])


@st.composite
def arrays(draw, width=N_FEATURES):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(
        st.one_of(
            st.tuples(st.integers(0, 5), st.just(width)),  # the right width, often
            st.tuples(st.integers(0, 5), st.just(1), st.just(4), st.just(4)),
            hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
        )
    )
    if dtype.kind in "fc":
        elements = VALUES
    elif dtype.kind in "UO":
        elements = st.sampled_from(["0.5", "a", "", "nan"])
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


def check_answer(call, expected_rows, expected_width):
    """A clear exception, or a finite result of the right shape."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # warnings are allowed; the answer is what counts
            result = call()
    except (ValueError, TypeError) as error:
        assert len(str(error)) > 25, f"an error must say what was wrong: {error!r}"
        return
    result = np.asarray(result)
    assert result.shape[0] == expected_rows(result) and result.shape[1:2] == (expected_width,)
    assert np.isfinite(result).all()


HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("name", ["vae", "ae-images"])
@pytest.mark.parametrize("method", ["transform", "score_samples", "inverse_transform", "as_images"])
@HYPOTHESIS
@given(data=st.data())
def test_every_row_method_answers_any_array(models, name, method, data):
    model = models[name]
    width = model.n_components if method == "inverse_transform" else N_FEATURES
    X = data.draw(arrays(width))
    before = fingerprint(model)
    if method == "score_samples":
        check_answer(lambda: model.score_samples(X)[:, None], lambda r: len(X), 1)
    elif method == "as_images":
        if model.image_shape_ is None:
            with pytest.raises(ValueError, match="fitted on tabular rows"):
                model.as_images(X)
        else:
            check_answer(lambda: model.as_images(X, channels_last=False), lambda r: len(X), 1)
    else:
        width_out = N_FEATURES if method == "inverse_transform" else model.n_components
        check_answer(lambda: getattr(model, method)(X), lambda r: len(X), width_out)
    assert_unchanged(model, before)


@HYPOTHESIS
@given(
    x=arrays(),
    n_steps=st.one_of(st.integers(-2, 6), st.floats(0, 5), st.none()),
    dim=st.one_of(st.integers(-2, 3), st.text(max_size=2)),
    values=st.one_of(st.none(), hnp.arrays(np.float64, st.integers(0, 4), elements=VALUES)),
)
def test_latent_paths_answer_any_input(models, x, n_steps, dim, values):
    model = models["vae"]
    before = fingerprint(model)
    check_answer(lambda: model.interpolate(x, x, n_steps=n_steps), lambda r: n_steps, N_FEATURES)
    check_answer(lambda: model.traverse(x, dim, values), lambda r: 7 if values is None else len(values), N_FEATURES)
    assert_unchanged(model, before)


@HYPOTHESIS
@given(n_samples=st.one_of(st.integers(-3, 20), st.floats(-1, 3), st.none(), st.text(max_size=2)),
       random_state=st.one_of(st.none(), st.integers(0, 2**31 - 1), st.just("seed")))
def test_sample_answers_any_count(models, n_samples, random_state):
    model = models["ae-images"]
    before = fingerprint(model)
    check_answer(lambda: model.sample(n_samples, random_state=random_state), lambda r: n_samples, N_FEATURES)
    assert_unchanged(model, before)


@settings(max_examples=25, deadline=None)
@given(X=arrays())
def test_fit_answers_any_array_and_a_failed_fit_keeps_the_model(X):
    model = VAETransformer(n_components=2, hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    model.fit(np.random.RandomState(0).uniform(size=(30, N_FEATURES)))
    before = fingerprint(model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
    except (ValueError, TypeError, FloatingPointError) as error:  # FloatingPointError: DivergenceError
        assert len(str(error)) > 25
        assert_unchanged(model, before)
        return
    assert model.n_iter_ == 1 and np.isfinite(model.transform(X)).all()


# ------------------------------------------------------- named bad inputs


@pytest.mark.parametrize(
    "X, message",
    [
        (np.full((3, N_FEATURES), np.nan), "Input X contains NaN"),
        (np.full((3, N_FEATURES), np.inf), "Input X contains infinity"),
        (np.zeros((3, 5)), "X has 5 features, but VAETransformer is expecting 16"),
        (np.zeros((3, 1, 2, 8)), r"X holds images of shape \(1, 2, 8\), but VAETransformer was fitted on rows"),
        (np.zeros((0, N_FEATURES)), "0 sample"),
        (np.zeros((0, 4, 4)), "0 sample"),
        (np.array([["a"] * N_FEATURES]), "could not convert string to float"),
        (sp.csr_matrix(np.full((3, N_FEATURES), np.nan)), "Input X contains NaN"),
        (np.full((2, N_FEATURES), 1e300), r"beyond float32's range.*rows 0 and 1 of X.*Scale X"),
        (sp.csr_matrix(np.full((2, N_FEATURES), 1e300)), r"beyond float32's range.*rows 0 and 1 of X.*Scale X"),
    ],
    ids=["nan", "inf", "width", "image-shape", "empty", "empty-images", "str", "sparse-nan", "huge", "sparse-huge"],
)
def test_bad_input_names_the_problem(models, X, message):
    model = models["vae"]
    before = fingerprint(model)
    with pytest.raises((ValueError, TypeError), match=message):
        model.transform(X)
    assert_unchanged(model, before)


def test_values_float32_cannot_hold_are_refused_by_row_before_training(models):
    X = load_digits().images[:200, ::2, ::2].reshape(200, -1) / 16
    X[150, 3] = 1e39  # finite in float64, infinite in the network's float32
    model = models["vae"]
    before = fingerprint(model)
    with pytest.raises(ValueError, match=r"beyond float32's range .* row 150 \(the first at column 3: 1e\+39\)"):
        model.fit(X)  # not a DivergenceError blaming the learning rate
    assert_unchanged(model, before)
    with pytest.raises(ValueError, match=r"beyond float32's range .* row 150 of X, whose values reach 1e\+39"), \
            pytest.warns(DataRangeWarning):
        model.score_samples(X)  # named by the output's check: no extra pass over X at inference
    with pytest.raises(ValueError, match=r"rows 2, 3, 4, 5, 6 and 3 more .*codes such as transform returns"):
        model.inverse_transform(np.vstack([np.zeros((2, 2)), np.full((8, 2), -1e39)]))


def test_an_output_that_overflows_names_its_own_row_not_its_batch(models):
    # the network's output: the model encodes (it places rows by default, which needs no network)
    model = copy.deepcopy(models["vae"]).set_params(placement="encoder")
    X = model.inverse_transform(np.zeros((40, 2)))
    first = next(layer for layer in model.net_.module_.modules() if isinstance(layer, torch.nn.Linear))
    weights = first.weight.detach().numpy().astype(np.float64)
    unit = np.abs(weights).sum(axis=1).argmax()
    X[33] = 3e38 * np.sign(weights[unit])  # within float32, but that unit's sum overflows
    with pytest.raises(ValueError, match=r"output overflowed float32, .* for row 33 of X, whose values reach 3e\+38"):
        model.transform(X)
    assert np.isfinite(model.transform(X[:33])).all()


@pytest.mark.parametrize("model_class", [VAETransformer, AutoencoderOutlierDetector])
def test_sparse_rows_give_the_dense_array_result(model_class):
    X = load_digits().data[:300] / 16  # 50% zeros, as one-hot or TF-IDF rows have more of
    # without the neighbourhood term: its graph of sparse rows rounds otherwise than the dense one's
    plain = dict(SMALL, neighbor_weight=0.0)
    if model_class is VAETransformer:
        model = VAETransformer(**plain)
    else:
        model = AutoencoderOutlierDetector(VAETransformer(**plain), random_state=0)
    dense, sparse = clone(model).fit(X), clone(model).fit(sp.csr_matrix(X))
    # the same model (trained on the same float32 batches); inference batches differ in size, and so
    # float32's rounding
    for matrix in (sp.csr_matrix(X), sp.coo_array(X), sp.csc_matrix(X)):
        np.testing.assert_allclose(sparse.score_samples(matrix), dense.score_samples(X), rtol=1e-5, atol=1e-4)
    if model_class is VAETransformer:
        np.testing.assert_allclose(sparse.transform(sp.csr_matrix(X)), dense.transform(X), rtol=1e-5, atol=1e-6)
        assert sparse.reconstruction_loss_ == dense.reconstruction_loss_ == "bce"


def test_sparse_rows_are_made_dense_one_batch_at_a_time():
    # 20,000 rows of 1,000 features at 1% density: 2.4 MB sparse, 160 MB dense in float64
    X = sp.random(20_000, 1_000, density=0.01, format="csr", random_state=0, dtype=np.float64)
    # without the neighbourhood term, whose exact search of 20,000 rows takes sklearn's working memory
    vae = VAETransformer(n_components=2, hidden_layer_sizes=(8,), max_epochs=1, batch_size=256, random_state=0,
                         neighbor_weight=0.0)
    vae.fit(X[:300])  # the first fit imports parts of torch, whose Python objects tracemalloc would count
    tracemalloc.start()
    try:
        codes = vae.fit(X).transform(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert codes.shape == (20_000, 2) and np.isfinite(codes).all()
    assert peak < 16e6, f"numpy allocated {peak / 1e6:.0f} MB at its peak: X was made dense at once"


def test_one_row_works_everywhere(models):
    model = models["vae"]
    row = np.full((1, N_FEATURES), 0.5)
    assert model.transform(row).shape == (1, 2) and model.score_samples(row).shape == (1,)
    single = VAETransformer(**SMALL).fit(row)
    assert single.n_iter_ == 2 and np.isfinite(single.transform(row)).all()


def test_sample_and_paths_say_what_is_wrong(models):
    model = models["vae"]
    with pytest.raises(ValueError, match="n_samples must be a positive integer, got 0"):
        model.sample(0)
    with pytest.raises(ValueError, match="values must be finite numbers"):
        model.traverse(np.zeros(N_FEATURES), 0, [0.0, np.nan])
    with pytest.raises(ValueError, match=r"x_start must be one sample of 16 values, got 3"):
        model.interpolate(np.zeros(3), np.zeros(N_FEATURES))


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_unavailable_devices_are_refused_before_training(models):
    X = np.random.RandomState(0).uniform(size=(20, 4))
    for device in ("mps", "meta"):
        with pytest.raises(ValueError, match=f"device='{device}' is not usable on this machine.*device='cpu'"):
            VAETransformer(device=device, max_epochs=1).fit(X)


def test_loaders_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match="name must be one of"):
        load_mnist_like("cifar")
    with pytest.raises(FileNotFoundError, match="was not found. Looked for"):
        load_mnist_like("mnist", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_image_folder(tmp_path / "missing")
    with pytest.raises(ValueError, match="No readable image"):
        load_image_folder(tmp_path)
    with pytest.raises(ValueError, match="mode must be 'RGB' or 'L'"):
        load_image_folder(tmp_path, mode="CMYK")
    with pytest.raises(ValueError, match="image_size must be"):
        load_image_folder(tmp_path, image_size=(0, 5))
    with pytest.raises(FileNotFoundError):
        skvae.load(tmp_path / "missing.skvae")


# ----------------------------------------------- out of the likelihood's range


def test_bernoulli_scores_never_reward_leaving_the_unit_range():
    X = MinMaxScaler().fit_transform(load_digits().data)
    model = VAETransformer(n_components=4, max_epochs=20, random_state=0).fit(X)
    train_scores = model.score_samples(X)
    with pytest.warns(DataRangeWarning, match=r"outside \[0, 1\].*MinMaxScaler\(clip=True\)"):
        scaled_up = model.score_samples(X * 10)
    assert scaled_up.max() < train_scores.min()
    with pytest.warns(UserWarning, match="outside"):
        slightly = model.score_samples(np.clip(X * 1.05, 0, None))
    assert (slightly <= model.score_samples(np.clip(X * 1.05, 0, 1)) + 1e-4).all()
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=4, max_epochs=20, random_state=0),
                                          anomaly_score="elbo").fit(X)
    with pytest.warns(UserWarning, match="outside"):
        assert (detector.predict(3 * X) == -1).mean() > 0.99


def test_a_grid_search_over_unclipped_folds_warns_once_not_once_per_fold(monkeypatch):
    # MinMaxScaler() without clip=True: each test fold leaves [0, 1], and each of the six
    # scoring calls would warn. scikit-learn resets Python's memory of shown warnings
    # around each fold; skvae's own memory shows it once, as in a fresh process.
    monkeypatch.setattr("skvae._checks._SHOWN_ONCE", set())
    X = load_digits().data[:300]
    pipe = make_pipeline(MinMaxScaler(), VAETransformer(max_epochs=1, batch_size=64, random_state=0))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")  # a script's filters: each warning once per place
        GridSearchCV(pipe, {"vaetransformer__n_components": [2, 4]}, cv=3).fit(X)
    ranges = [w for w in shown if issubclass(w.category, DataRangeWarning)]
    assert len(ranges) == 1 and "MinMaxScaler(clip=True)" in str(ranges[0].message)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")  # asking for every warning still gets every one
        GridSearchCV(pipe, {"vaetransformer__n_components": [2]}, cv=3).fit(X)
    assert sum(issubclass(w.category, DataRangeWarning) for w in shown) == 3


# --------------------------------------------------------------- silence


def test_import_prints_nothing_even_in_a_notebook_without_ipywidgets():
    # tqdm.auto, imported at module level, warned "IProgress not found" in Jupyter without ipywidgets
    script = textwrap.dedent(
        """
        import sys, types
        shell = type("ZMQInteractiveShell", (), {})()
        ipython = types.ModuleType("IPython"); ipython.get_ipython = lambda: shell
        sys.modules.update({"IPython": ipython, "ipykernel.zmqshell": types.ModuleType("ipykernel.zmqshell")})
        import tqdm.notebook
        assert tqdm.notebook.IProgress is None  # as in a notebook without ipywidgets
        import skvae, skvae.datasets, skvae.plotting
        """
    )
    done = subprocess.run([sys.executable, "-W", "default", "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", "")
