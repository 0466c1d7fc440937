"""AutoencoderOutlierDetector: the outlier-detector contract and detection that works."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.ensemble import IsolationForest
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import skvae
from skvae import AutoencoderOutlierDetector, AutoencoderTransformer, ConditionalVAETransformer, VAETransformer
from skvae._outlier import IMAGE_SCORES, SCORES
from skvae._transformations import TransformationNet, can_transform, image_transformations, transform_images
from skvae.exceptions import TrainingInterruptedWarning

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


@pytest.mark.parametrize("score", [score for score in SCORES if score not in IMAGE_SCORES])
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


def test_an_estimator_it_cannot_use_is_named_before_any_training(planted):
    X = planted[0]
    for estimator in (make_pipeline(MinMaxScaler(), VAETransformer(**SMALL)),  # has the methods, not the model
                      ConditionalVAETransformer(**SMALL),  # needs labels the detector does not pass
                      IsolationForest()):
        detector = AutoencoderOutlierDetector(estimator)
        with pytest.raises(InvalidParameterError, match="skvae estimator that trains on X alone"):
            detector.fit(X)
        assert not hasattr(detector, "estimator_")


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


# ------------------------------------------------------------ images: the transformation classifier


def test_transformations_cover_quarter_turns_and_shifts():
    square = image_transformations((1, 28, 28))
    assert len(square) == len(set(square)) == 20
    assert len(image_transformations((3, 16, 32))) == 10  # no quarter turns: they would change the shape
    images = torch.arange(2 * 16 * 32, dtype=torch.float32).reshape(2, 1, 16, 32)
    for transformation in image_transformations((1, 16, 32)):
        out = transform_images(images, transformation)
        assert out.shape == images.shape
        assert torch.equal(torch.sort(out.flatten(1)).values, torch.sort(images.flatten(1)).values)  # moves only
    assert not can_transform((1, 8, 8)) and not can_transform(None) and can_transform((3, 16, 20))


@pytest.fixture(scope="module")
def planted_images(planted):
    """The planted digits as 16x16 images (each pixel doubled), plus digits turned on their side."""
    X_train, X_eval, is_normal = planted
    grow = lambda rows: np.kron(rows.reshape(-1, 8, 8), np.ones((2, 2)))  # noqa: E731
    on_side = np.rot90(grow(X_eval[:40]), 1, axes=(1, 2))
    X_eval = np.concatenate([grow(X_eval), on_side])
    return grow(X_train), X_eval, np.r_[is_normal, np.zeros(40)]


@pytest.fixture(scope="module")
def image_detector(planted_images):
    X_train, _, _ = planted_images
    return AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=30), random_state=0).fit(X_train)


@pytest.mark.parametrize("score", IMAGE_SCORES)
def test_image_scores_rank_planted_and_turned_digits_below_normal_ones(image_detector, planted_images, score):
    _, X_eval, is_normal = planted_images
    scores = image_detector.set_params(anomaly_score=score).score_samples(X_eval)
    assert roc_auc_score(is_normal, scores) > 0.95
    # a digit on its side has a digit's strokes: knowing which way up digits are is what ranks it low
    turned = np.r_[np.zeros(len(is_normal) - 40, bool), np.ones(40, bool)]
    assert roc_auc_score(is_normal[(is_normal == 1) | turned], scores[(is_normal == 1) | turned]) > 0.9


def test_auto_is_combined_on_images_and_density_on_rows(image_detector, planted_images, detector, planted):
    _, X_eval, _ = planted_images
    auto = image_detector.set_params(anomaly_score="auto").score_samples(X_eval)
    np.testing.assert_array_equal(auto, image_detector.set_params(anomaly_score="combined").score_samples(X_eval))
    assert image_detector.transformation_net_ is not None
    _, rows, _ = planted
    assert detector.transformation_net_ is None  # 8x8 rows: nothing to turn
    np.testing.assert_array_equal(detector.set_params(anomaly_score="auto").score_samples(rows),
                                  detector.set_params(anomaly_score="density").score_samples(rows))


def test_image_scores_on_rows_say_what_to_do_and_change_nothing(detector, planted):
    X_train, X_eval, _ = planted
    before = detector.set_params(anomaly_score="density").score_samples(X_eval)
    with pytest.raises(ValueError, match="needs images of at least 16x16"):
        clone(detector).set_params(anomaly_score="combined").fit(X_train)
    with pytest.raises(ValueError, match="needs the transformation classifier"):
        detector.set_params(anomaly_score="transformations").score_samples(X_eval)
    np.testing.assert_array_equal(detector.set_params(anomaly_score="density").score_samples(X_eval), before)


def test_density_fit_on_images_skips_the_classifier(planted_images):
    X_train, _, _ = planted_images
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=5), anomaly_score="density",
                                          random_state=0).fit(X_train)
    assert detector.transformation_net_ is None and not hasattr(detector, "combined_center_")


def test_saved_image_detector_scores_the_same(image_detector, planted_images, tmp_path):
    _, X_eval, _ = planted_images
    image_detector.set_params(anomaly_score="auto")
    loaded = skvae.load(image_detector.save(tmp_path / "detector.skvae"))
    np.testing.assert_allclose(loaded.score_samples(X_eval), image_detector.score_samples(X_eval), rtol=1e-6)
    assert loaded.offset_ == image_detector.offset_


def test_interrupted_classifier_warns_keeps_a_fitted_detector_and_reraises(planted_images, monkeypatch):
    X_train, X_eval, is_normal = planted_images
    forward, calls = TransformationNet.forward, []

    def interrupt_in_epoch_two(module, X):
        calls.append(module.training)
        if module.training and sum(calls) == 12:  # 10 batches of 128 per epoch: Ctrl-C in the second epoch
            raise KeyboardInterrupt
        return forward(module, X)

    monkeypatch.setattr(TransformationNet, "forward", interrupt_in_epoch_two)
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=8, max_epochs=3, batch_size=128),
                                          random_state=0)
    with pytest.warns(TrainingInterruptedWarning, match="after 1 of 20 epochs"), pytest.raises(KeyboardInterrupt):
        detector.fit(X_train)
    assert detector.transformation_net_ is not None  # the detector is fitted, with what was trained
    assert np.isfinite(detector.score_samples(X_eval)).all()
