"""ConditionalVAETransformer: it generates the classes asked for, and works without labels where a Pipeline has none."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import skvae
from skvae import ConditionalVAETransformer

NAMES = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    model = ConditionalVAETransformer(n_components=4, max_epochs=20, image_shape=(8, 8), random_state=0)
    return model.fit(X, NAMES[y])


def test_samples_are_of_the_class_asked_for(fitted, digits):
    X, y = digits
    classifier = LogisticRegression(max_iter=2000).fit(X, NAMES[y])  # trained on real digits
    accuracy = [np.mean(classifier.predict(fitted.sample(50, y=name, random_state=0)) == name) for name in NAMES]
    assert np.mean(accuracy) > 0.8, accuracy  # chance is 0.1
    assert min(accuracy) > 0.4, accuracy
    per_row = fitted.sample(10, y=NAMES[:10], random_state=0)
    assert np.mean(classifier.predict(per_row) == NAMES[:10]) > 0.6
    # without y, classes come in their training proportions
    drawn = classifier.predict(fitted.sample(300, random_state=0))
    assert len(np.unique(drawn)) == 10


def test_codes_without_labels_in_a_pipeline(fitted, digits):
    X, y = digits
    pipe = make_pipeline(ConditionalVAETransformer(n_components=4, max_epochs=5, random_state=0), KMeans(10, n_init=3))
    pipe.fit(X, y)  # y reaches the CVAE's fit; transform needs none
    assert pipe.predict(X[:7]).shape == (7,)
    Z = fitted.transform(X[:5])
    by_class = fitted.inverse_transform(Z, y=NAMES[y[:5]])
    averaged = fitted.inverse_transform(Z)
    assert by_class.shape == averaged.shape == (5, 64)
    # reconstructing with the right class beats the class average
    assert np.mean((by_class - X[:5]) ** 2) < np.mean((averaged - X[:5]) ** 2)


def test_scores_by_class_and_marginal(fitted, digits):
    X, y = digits
    given = fitted.score_samples(X[:50], NAMES[y[:50]])
    marginal = fitted.score_samples(X[:50])
    prior = fitted.class_prior_[np.searchsorted(fitted.classes_, NAMES[y[:50]])]
    # log p(x) >= log p(y) + log p(x | y): the marginal sums over classes, the true one among them
    assert np.all(marginal >= given + np.log(prior) - 1e-3)
    assert fitted.score(X[:50], NAMES[y[:50]], n_importance=20) > fitted.score(X[:50], NAMES[y[:50]])


def test_bad_labels_say_what_to_do(fitted, digits):
    X, y = digits
    with pytest.raises(ValueError, match="requires y to be passed"):
        ConditionalVAETransformer(max_epochs=1).fit(X, None)
    with pytest.raises(ValueError, match=r"labels not seen in fit: \['ten'\]"):
        fitted.sample(3, y="ten")
    with pytest.raises(ValueError, match="one label or one per row"):
        fitted.sample(3, y=["one", "two"])
    with pytest.raises(TypeError, match="positional argument"):  # a label where random_state once stood
        fitted.sample(3, "three")
    with pytest.raises(ValueError, match="labels not seen in fit"):
        fitted.inverse_transform(np.zeros((1, 4)), y=[3])
    before = fitted.transform(X[:5])
    with pytest.raises(ValueError, match="labels not seen in fit"):
        fitted.set_params(warm_start=True).fit(X[:20], np.full(20, "ten"))
    fitted.set_params(warm_start=False)
    np.testing.assert_array_equal(fitted.transform(X[:5]), before)  # the failed fit changed nothing


def test_save_load_is_bit_identical(fitted, digits, tmp_path):
    X, y = digits
    loaded = skvae.load(fitted.save(tmp_path / "cvae.skvae"))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    np.testing.assert_array_equal(loaded.transform(X[:20]), fitted.transform(X[:20]))
    np.testing.assert_array_equal(loaded.sample(6, y="four", random_state=1),
                                  fitted.sample(6, y="four", random_state=1))
    np.testing.assert_array_equal(loaded.score_samples(X[:20]), fitted.score_samples(X[:20]))


def test_conv_cvae_on_images(digits):
    X, y = digits
    images = X[:300].reshape(-1, 8, 8)
    model = ConditionalVAETransformer(n_components=4, architecture="conv", max_epochs=3, random_state=0)
    model.fit(images, y[:300])
    assert model.as_images(model.sample(4, y=3, random_state=0)).shape == (4, 8, 8)


def test_plot_class_samples_decodes_each_class(fitted):
    from skvae.plotting import plot_class_samples

    fig = plot_class_samples(fitted, n_per_class=6, classes=["one", "seven"], random_state=0)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["one", "seven"]
    height, width = fig.axes[0].images[0].get_array().shape[:2]
    assert 16 <= height < 20 and 48 <= width < 56  # 2 rows of 6 images of 8x8, padded


def test_the_code_holds_style_and_the_class_stays_with_the_label(fitted, digits):
    import torch
    from sklearn.model_selection import cross_val_score

    from skvae import VAETransformer

    X, y = digits
    assert fitted.encoder_sees_labels_
    last = fitted.history_[-1]
    assert last["train_loss"] == pytest.approx(
        last["train_recon_loss"] + last["train_kl_loss"] + last["train_encoder_match_loss"], rel=1e-5
    )
    # transform (no labels) gives the codes that training drew given each row's class
    module = fitted.net_.module_
    with torch.no_grad():
        x = torch.as_tensor(X, dtype=torch.float32)
        one_hot = torch.nn.functional.one_hot(torch.as_tensor(np.searchsorted(fitted.classes_, NAMES[y])), 10)
        given_class = module.encode(x, one_hot.float())[0].numpy()
        label_free = module.encode(x)[0].numpy()
    codes = fitted.transform(X)
    np.testing.assert_allclose(codes, label_free, rtol=1e-5, atol=1e-6)
    r2 = 1 - ((codes - given_class) ** 2).sum() / ((given_class - given_class.mean(0)) ** 2).sum()
    assert r2 > 0.8  # 0.96 here
    # the class is the decoder's input, not the code's: read from the codes it is near chance,
    # where a VAE's codes of the same size give it away
    vae = VAETransformer(n_components=4, max_epochs=20, random_state=0).fit(X)

    def readable(Z):
        return cross_val_score(LogisticRegression(max_iter=2000), Z, y, cv=3).mean()

    assert readable(codes) < 0.4 < 0.6 < readable(vae.transform(X))  # 0.24 and 0.77 here


def test_the_gmm_sampler_draws_style_codes_and_the_class_asked_for(digits, tmp_path):
    X, y = digits
    model = ConditionalVAETransformer(n_components=4, max_epochs=20, sampler="gmm", random_state=0).fit(X, NAMES[y])
    assert model.latent_density_.means_.shape == (10, 4)
    classifier = LogisticRegression(max_iter=2000).fit(X, NAMES[y])
    accuracy = [np.mean(classifier.predict(model.sample(50, y=name, random_state=0)) == name) for name in NAMES]
    assert np.mean(accuracy) > 0.8, accuracy
    model.save(tmp_path / "cvae.skvae")
    np.testing.assert_array_equal(skvae.load(tmp_path / "cvae.skvae").sample(6, y="three", random_state=1),
                                  model.sample(6, y="three", random_state=1))
