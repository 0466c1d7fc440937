"""skvae.metrics: the Fréchet distance and k-NN precision and recall, against direct computations and known cases."""

import numpy as np
import pytest
import scipy.linalg
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skvae import VAETransformer
from skvae.metrics import frechet_distance, knn_precision_recall


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(600, 4)) @ rng.normal(size=(4, 4))
    generated = rng.normal(size=(500, 4)) @ rng.normal(size=(4, 4)) + 0.5
    return real, generated


def test_frechet_distance_is_the_formula_computed_directly(rows):
    real, generated = rows
    cov_r, cov_g = np.cov(real, rowvar=False), np.cov(generated, rowvar=False)
    direct = (
        np.sum((real.mean(0) - generated.mean(0)) ** 2)
        + np.trace(cov_r + cov_g - 2 * scipy.linalg.sqrtm(cov_r @ cov_g).real)
    )
    assert frechet_distance(real, generated) == pytest.approx(direct, rel=1e-8)
    assert frechet_distance(generated, real) == pytest.approx(direct, rel=1e-8)  # symmetric


def test_frechet_distance_of_known_cases(rows):
    real, _ = rows
    assert frechet_distance(real, real) == pytest.approx(0, abs=1e-9)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert frechet_distance(real, real + shift) == pytest.approx(shift @ shift, rel=1e-9)
    # two large samples of known Gaussians: N(0, I) and N(0, 4 I) in 3-D give 3 (2 - 1)^2 = 3
    rng = np.random.default_rng(1)
    wide = frechet_distance(rng.normal(size=(20_000, 3)), 2 * rng.normal(size=(20_000, 3)))
    assert wide == pytest.approx(3.0, rel=0.03)
    # a single feature works too (np.cov returns a scalar there)
    assert frechet_distance(real[:, :1], real[:, :1] + 3) == pytest.approx(9.0)


def test_knn_precision_recall_is_the_definition_computed_directly(rows):
    real, generated = rows
    k = 3

    def radii(points):
        distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
        return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself

    def covered(queries, centres):
        distances = np.linalg.norm(queries[:, None] - centres[None], axis=-1)
        return np.mean((distances <= radii(centres)[None]).any(1))

    assert knn_precision_recall(real, generated, n_neighbors=k) == pytest.approx(
        (covered(generated, real), covered(real, generated))
    )


def test_knn_precision_recall_of_known_cases(rows):
    real, _ = rows
    assert knn_precision_recall(real, real) == (1.0, 1.0)
    far = real + 100
    assert knn_precision_recall(real, far) == (0.0, 0.0)
    # real-looking rows from one half of the data: precise, and half the variety
    half = real[real[:, 0] > np.median(real[:, 0])]
    precision, recall = knn_precision_recall(real, half)
    assert precision == 1.0 and 0.35 < recall < 0.65
    # more neighbours, larger balls: never less lenient
    assert knn_precision_recall(real, half, n_neighbors=10)[1] >= recall


def test_features_map_both_sets_first(rows):
    real, generated = rows
    pca = PCA(2, random_state=0).fit(real)
    assert frechet_distance(real, generated, features=pca) == frechet_distance(
        pca.transform(real), pca.transform(generated)
    )
    assert knn_precision_recall(real, generated, features=pca) == knn_precision_recall(
        pca.transform(real), pca.transform(generated)
    )

    class FirstTwo:  # not an estimator: anything with transform will do
        def transform(self, X):
            return np.asarray(X)[:, :2]

    assert frechet_distance(real, generated, features=FirstTwo()) == frechet_distance(real[:, :2], generated[:, :2])


def test_real_rows_score_best_and_a_vae_s_mean_images_show_the_blur_signature():
    from sklearn.datasets import load_digits

    X = load_digits().data / 16
    vae = VAETransformer(n_components=4, hidden_layer_sizes=(32,), max_epochs=15, random_state=0).fit(X[:1000])
    held_out, other_real = X[1000:1600], X[:600]
    samples = vae.sample(600, random_state=0)  # decoder means: averaged, blurred digits
    noise = np.random.default_rng(0).uniform(size=(600, 64))
    distances = [frechet_distance(held_out, rows) for rows in (other_real, samples, noise)]
    assert distances[0] < 0.2 * min(distances[1:])  # in pixels: 0.42 against 4.4 and 10.0 here
    real_pr = knn_precision_recall(held_out, other_real)
    assert min(real_pr) > 0.5  # 0.66 and 0.72 here
    # mean images sit among real digits (precise) but are all alike (no recall)
    precision, recall = knn_precision_recall(held_out, samples)
    assert precision > real_pr[0] and recall < 0.05
    assert knn_precision_recall(held_out, noise) == (0.0, 0.0)
    # an skvae encoder is a transformer: its codes can be the feature space
    assert frechet_distance(held_out, other_real, features=vae) < frechet_distance(held_out, noise, features=vae)


def test_bad_input_says_what_to_do(rows):
    real, generated = rows
    with pytest.raises(ValueError, match="X_real has 4 features and X_generated 3"):
        frechet_distance(real, generated[:, :3])
    with pytest.raises(ValueError, match="X_generated has 3 rows: with n_neighbors=3 each set needs at least 4"):
        knn_precision_recall(real, generated[:3])
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        knn_precision_recall(real, generated, n_neighbors=0)
    with pytest.raises(InvalidParameterError, match="features"):
        frechet_distance(real, generated, features="pca")
    with pytest.raises(NotFittedError):
        frechet_distance(real, generated, features=PCA(2))
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(np.where(real > 2, np.nan, real), generated)
