"""AutoencoderOutlierDetector: the outlier-detector contract and detection that works."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, VAETransformer
from skvae._outlier import SCORES

SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=16)


@parametrize_with_checks(
    [
        AutoencoderOutlierDetector(VAETransformer(**SMALL)),
        AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL), contamination=0.1, anomaly_score="reconstruction"),
        AutoencoderOutlierDetector(VAETransformer(**SMALL), anomaly_score="elbo"),
    ]
)
def test_sklearn_contract(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def planted():
    """Digits for training; held-out digits plus planted anomalies for testing."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test = train_test_split(X / 16, test_size=0.3, random_state=0)
    rng = np.random.RandomState(0)
    anomalies = np.concatenate([
        rng.uniform(size=(20, 64)),                      # noise
        1 - X_test[:20],                                 # inverted digits
        np.roll(X_test[20:40].reshape(-1, 8, 8), 4, axis=2).reshape(-1, 64),  # split halves
    ])
    X_eval = np.concatenate([X_test, anomalies])
    is_normal = np.r_[np.ones(len(X_test)), np.zeros(len(anomalies))]
    return X_train, X_eval, is_normal


@pytest.fixture(scope="module")
def detector(planted):
    X_train, _, _ = planted
    return AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=40, random_state=0)).fit(X_train)


@pytest.mark.parametrize("score", SCORES)
def test_planted_anomalies_rank_below_the_normal_digits(detector, planted, score):
    _, X_eval, is_normal = planted
    scores = detector.set_params(anomaly_score=score).score_samples(X_eval)
    assert roc_auc_score(is_normal, scores) > (0.95 if score != "latent" else 0.8)


def test_default_detector_flags_anomalies_and_keeps_inliers(planted):
    X_train, X_eval, is_normal = planted
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=40, random_state=0))
    labels = detector.fit(X_train).predict(X_eval)
    assert set(labels) == {-1, 1}
    assert (labels[is_normal == 0] == -1).mean() > 0.9  # anomalies caught
    assert (labels[is_normal == 1] == 1).mean() > 0.9   # normal digits kept
    np.testing.assert_allclose(detector.decision_function(X_eval),
                               detector.score_samples(X_eval) - detector.offset_)


def test_contamination_sets_the_share_flagged_in_training(planted):
    X_train, _, _ = planted
    detector = AutoencoderOutlierDetector(VAETransformer(max_epochs=5, random_state=0), contamination=0.05)
    flagged = (detector.fit(X_train).predict(X_train) == -1).mean()
    assert flagged == pytest.approx(0.05, abs=0.002)


def test_held_out_calibration_sets_an_honest_threshold_on_new_rows(planted):
    # with 30% of the 1,257 rows held out (377, enough to calibrate on), the threshold
    # comes from rows the model did not train on: new normal digits are flagged about
    # as often as contamination says, and the planted anomalies still rank lowest
    X_train, X_eval, is_normal = planted
    new_normal = X_eval[is_normal == 1]
    shares = {}
    for fraction in (0.0, 0.3):
        detector = AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=60, random_state=0),
                                              contamination=0.1, calibration_fraction=fraction, random_state=0)
        detector.fit(X_train)
        shares[fraction] = (detector.predict(new_normal) == -1).mean()
        assert roc_auc_score(is_normal, detector.score_samples(X_eval)) > 0.95
    assert abs(shares[0.3] - 0.1) < 0.05
    assert abs(shares[0.3] - 0.1) < abs(shares[0.0] - 0.1)


def test_grid_search_tunes_the_detector_with_roc_auc(planted):
    X_train, X_eval, is_normal = planted
    X = np.concatenate([X_train[:400], X_eval[-60:]])  # training data with some contamination
    y = np.r_[np.ones(400), -np.ones(60)]
    search = GridSearchCV(
        AutoencoderOutlierDetector(VAETransformer(max_epochs=10, random_state=0)),
        {"estimator__n_components": [2, 8], "anomaly_score": ["density", "elbo"]},
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),  # every fold holds both kinds
    ).fit(X, y)
    assert search.best_score_ > 0.9
    assert roc_auc_score(is_normal, search.decision_function(X_eval)) > 0.9
