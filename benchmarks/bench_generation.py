"""Sample quality of skvae's generative models on Fashion-MNIST, measured with skvae.metrics.

    python benchmarks/bench_generation.py --epochs 10

Each model trains for the same number of epochs on the 60,000 training
images (MLP networks, the estimators' defaults otherwise) and draws 10,000
samples (decoder means, what ``sample`` returns). The feature space is the
hidden layer of a classifier trained on the real training images
(scikit-learn's ``MLPClassifier``, 256 ReLU units), as Inception is for the
FID. Against the 10,000 test images it reports the Fréchet distance, k-NN
precision and recall (k=3, on 5,000 of each), the test log-likelihood bound
(IWAE, 100 draws, 1,000 test images, where the model has one), fit seconds,
and for the conditional VAE the share of samples the classifier reads as the
class asked for (mean over classes, and the worst class).

pythae's VAE and VQ-VAE (``--pythae``) train the same networks (skvae's
MLPEncoder and MLPDecoder, 16 latent dimensions; for the VQ-VAE 4 tokens of 4
numbers and 128 codebook vectors, updated by gradient: pythae 0.1.2's PixelCNN
sampler fails on a moving-average codebook) with pythae's
TrainingPipeline, the same epochs, batch size and learning rate; the VAE
samples from its prior (NormalSampler), the VQ-VAE from pythae's PixelCNN
sampler trained for the same epochs. pythae's VQ-VAE trains with its own loss
(squared error on probabilities); its VAE with the Bernoulli likelihood, as
skvae's. Install pythae beside skvae without touching torch, e.g.
``pip install --target /tmp/pythae_pkgs --no-deps pythae==0.1.2 imageio`` and
``pip install --target /tmp/pythae_pkgs "pydantic>=2"``, then run with
``PYTHONPATH=/tmp/pythae_pkgs``.
"""

import argparse
import contextlib
import os
import tempfile
import time

import numpy as np
import torch
from sklearn.mixture import GaussianMixture
from sklearn.neural_network import MLPClassifier

from skvae import BetaVAETransformer, ConditionalVAETransformer, VAETransformer, VQVAETransformer
from skvae.datasets import load_mnist_like
from skvae._priors import CodebookFrequencies
from skvae.metrics import frechet_distance, knn_precision_recall


class HiddenLayer:
    """The first hidden layer of a fitted MLPClassifier, as a fitted transformer."""

    def __init__(self, classifier):
        self.classifier = classifier
        self.coefs_ = classifier.coefs_  # fitted: check_is_fitted sees a trailing-underscore attribute

    def transform(self, X):
        return np.maximum(np.asarray(X, dtype=np.float64) @ self.coefs_[0] + self.classifier.intercepts_[0], 0)


def models(n_components, epochs, seed=0):
    common = dict(n_components=n_components, max_epochs=epochs, random_state=seed)
    return {
        "VAE": VAETransformer(**common),
        "beta-VAE (beta=4)": BetaVAETransformer(beta=4.0, **common),
        "VQ-VAE": VQVAETransformer(max_epochs=epochs, random_state=seed),
        "conditional VAE": ConditionalVAETransformer(**common),
    }


def pythae_runs(n_components, epochs, seed=0):
    """name -> function of the training images that trains a pythae model and returns (sample, bound, seconds)."""
    from pythae.models import VAE, VQVAE, VAEConfig, VQVAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.samplers import NormalSampler, PixelCNNSampler, PixelCNNSamplerConfig
    from pythae.trainers import BaseTrainerConfig

    from skvae.modules import MLPDecoder, MLPEncoder

    tokens, token_dim = n_components // 4, 4

    class Encoder(BaseEncoder):
        def __init__(self, n_outputs, vq=False):
            super().__init__()
            self.net, self.vq = MLPEncoder(784, n_outputs, (256, 128)), vq

        def forward(self, x):
            out = self.net(x.flatten(1))
            if self.vq:  # tokens as the channels of a 1 x tokens grid: quantised token by token
                return ModelOutput(embedding=out.view(len(x), 1, tokens, token_dim).permute(0, 3, 1, 2))
            mean, logvar = out.chunk(2, dim=-1)
            return ModelOutput(embedding=mean, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = MLPDecoder(n_components, 784, (128, 256))

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z.flatten(1))))

    def trainer(out):
        return BaseTrainerConfig(output_dir=out, num_epochs=epochs, learning_rate=1e-3, per_device_train_batch_size=128,
                                 per_device_eval_batch_size=128, optimizer_cls="Adam", no_cuda=True)

    def quiet():
        sink = open(os.devnull, "w")
        stack = contextlib.ExitStack()
        stack.enter_context(sink)
        stack.enter_context(contextlib.redirect_stdout(sink))
        stack.enter_context(contextlib.redirect_stderr(sink))
        return stack

    def vae(X_train, X_test):
        torch.manual_seed(seed)
        model = VAE(VAEConfig(input_dim=(784,), latent_dim=n_components, reconstruction_loss="bce"),
                    encoder=Encoder(2 * n_components), decoder=Decoder())
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out, quiet():
            TrainingPipeline(training_config=trainer(out), model=model)(train_data=X_train)
        seconds = time.perf_counter() - start
        model.eval()
        samples = NormalSampler(model).sample(num_samples=10_000, batch_size=1000).detach().numpy()
        with quiet():  # despite its name, get_nll returns the mean log-likelihood estimate (IWAE, 100 draws)
            log_likelihood = model.get_nll(torch.from_numpy(X_test[:1000]), n_samples=100, batch_size=100)
        return samples.reshape(10_000, -1), f"{log_likelihood:.1f}", seconds

    def vqvae(X_train, X_test):
        torch.manual_seed(seed)
        # pythae's default codebook update (by gradient): its PixelCNN sampler fails on a moving-average codebook
        config = VQVAEConfig(input_dim=(784,), latent_dim=token_dim, num_embeddings=128, commitment_loss_factor=0.25)
        model = VQVAE(config, encoder=Encoder(n_components, vq=True), decoder=Decoder())
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out, quiet():
            TrainingPipeline(training_config=trainer(out), model=model)(train_data=X_train)
            model.eval()
            sampler = PixelCNNSampler(model, PixelCNNSamplerConfig())
            sampler.fit(train_data=X_train, training_config=trainer(out))
        seconds = time.perf_counter() - start
        samples = sampler.sample(num_samples=10_000, batch_size=1000).detach().numpy()
        return samples.reshape(10_000, -1), "–", seconds

    return {f"pythae VAE, {n_components} dims": vae, f"pythae VQ-VAE (PixelCNN sampler), {n_components} dims": vqvae}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-components", type=int, nargs="+", default=[16])
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--seed", type=int, default=0, help="random_state of every model (torch's seed for pythae)")
    parser.add_argument("--pythae", action="store_true", help="also pythae's VAE and VQ-VAE (pythae must import)")
    parser.add_argument("--ex-post", action="store_true",
                        help="also sample the VAEs from a mixture fitted to their training codes")
    args = parser.parse_args()
    X_train, X_test, y_train, y_test = load_mnist_like("fashion-mnist")
    X_train = (X_train.reshape(len(X_train), -1) / 255).astype(np.float32)
    X_test = (X_test.reshape(len(X_test), -1) / 255).astype(np.float32)
    start = time.perf_counter()
    classifier = MLPClassifier((256,), early_stopping=True, random_state=0).fit(X_train, y_train)
    print(f"feature classifier: test accuracy {classifier.score(X_test, y_test):.3f} "
          f"({time.perf_counter() - start:.0f} s)", flush=True)
    features = HiddenLayer(classifier)
    rng = np.random.default_rng(0)
    sub = rng.permutation(len(X_test))[:5000]
    floor = frechet_distance(X_test[:5000], X_test[5000:], features=features)
    floor_pr = knn_precision_recall(X_test[:5000], X_test[5000:], features=features)
    print(f"real against real (two halves of the test set): FD {floor:.2f}, precision {floor_pr[0]:.3f}, "
          f"recall {floor_pr[1]:.3f}", flush=True)
    print("| model | Fréchet distance | precision | recall | test log-likelihood bound (nats) | fit (s) | "
          "samples of the class asked for |")
    print("|---|---|---|---|---|---|---|")
    runs = [(f"{name}, {k} dims", model) for k in args.n_components
            for name, model in models(k, args.epochs, args.seed).items()]
    def report(name, model, samples, seconds, obeys=""):
        fd = frechet_distance(X_test, samples, features=features)
        precision, recall = knn_precision_recall(X_test[sub], samples[:5000], features=features)
        try:
            if isinstance(model, ConditionalVAETransformer):
                bound = model.score(X_test[:1000], y_test[:1000], n_importance=100)
            else:
                bound = model.score(X_test[:1000], n_importance=100)
            bound = f"{bound:.1f}"
        except ValueError:  # no posterior to weigh (the VQ-VAE's code is deterministic)
            bound = "–"
        print(f"| {name} | {fd:.2f} | {precision:.3f} | {recall:.3f} | {bound} | {seconds:.0f} | {obeys} |",
              flush=True)

    for name, model in runs:
        if args.only and not any(word in name for word in args.only):
            continue
        start = time.perf_counter()
        conditional = isinstance(model, ConditionalVAETransformer)
        model.fit(X_train, y_train) if conditional else model.fit(X_train)
        seconds = time.perf_counter() - start
        if conditional:
            asked = np.repeat(np.arange(10), 1000)
            samples = model.sample(10_000, y=asked, random_state=0)
            read = classifier.predict(samples)
            per_class = np.array([np.mean(read[asked == c] == c) for c in range(10)])
            report(name, model, samples, seconds, f"{per_class.mean():.3f} (worst {per_class.min():.3f})")
            continue
        report(name, model, model.sample(10_000, random_state=0), seconds)
        if isinstance(model, VQVAETransformer):
            # the VQ-VAE's prior before its learned one: each token drawn on its own from its frequency
            codes = CodebookFrequencies(model.codebook_, model.code_frequencies_).sample(
                10_000, np.random.RandomState(0))
            report(f"{name}, tokens drawn independently", model, model.inverse_transform(codes.astype(np.float32)),
                   seconds)
        if args.ex_post and not isinstance(model, VQVAETransformer):
            # Ghosh et al. (2020), pythae's GaussianMixtureSampler: a 10-component mixture
            # fitted to the training codes (posterior means), its draws decoded like prior draws
            mixture = GaussianMixture(10, random_state=0).fit(model.transform(X_train).astype(np.float64))
            codes = mixture.sample(10_000)[0][np.random.default_rng(0).permutation(10_000)]
            report(f"{name}, ex-post GMM sampler", model, model.inverse_transform(codes.astype(np.float32)), seconds)

    for name, run in (pythae_runs(16, args.epochs, args.seed) if args.pythae else {}).items():
        if args.only and not any(word in name for word in args.only):
            continue
        samples, bound, seconds = run(X_train, X_test)
        fd = frechet_distance(X_test, samples, features=features)
        precision, recall = knn_precision_recall(X_test[sub], samples[:5000], features=features)
        print(f"| {name} | {fd:.2f} | {precision:.3f} | {recall:.3f} | {bound} | {seconds:.0f} | |", flush=True)


if __name__ == "__main__":
    main()
