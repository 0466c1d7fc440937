"""Training and inference speed: skvae against a hand-written PyTorch loop.

Every method trains the same network (built from ``skvae.modules``) on the same
data with the same batch size and optimizer; the methods run interleaved,
round-robin, in one process, and each run starts from a freshly initialised
network. Reported per method: the median time of one training epoch (over all
epochs of all repeats), its ratio to the hand-written loop, and the peak rise
of the process's resident memory during the run.

    python benchmarks/bench_speed.py                      # MLP and conv, 5 repeats
    python benchmarks/bench_speed.py --arch mlp --repeats 3
    python benchmarks/bench_speed.py --inference-only

Methods:
  hand     a hand-written loop: shuffled index slicing of one float tensor,
           Adam, loss.item() once per step
  skvae    VAETransformer.fit (validation_fraction=0, so that it trains on the
           same rows)
  skorch   a plain skorch NeuralNet around the same module and loss, with
           skorch's default Dataset and DataLoader
  pythae   pythae 0.1.2's TrainingPipeline around the same module (when
           pythae is installed); its decoder gets a Sigmoid, as pythae's
           Bernoulli loss expects probabilities

Data: the 60,000 Fashion-MNIST training images when they can be found (see
skvae.datasets.load_mnist_like), otherwise random images of the same shape:
per-epoch time does not depend on the pixel values.
"""

import argparse
import contextlib
import json
import logging
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import Callback

from skvae import VAETransformer
from skvae._losses import (
    ELBOLoss,
    expected_reconstruction_nll,
    gaussian_kl,
    initial_output_offset,
    quasi_normal_points,
)
from skvae.datasets import load_mnist_like
from skvae.modules import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, VariationalAutoencoder

LATENT = 20
BATCH_SIZE = 128
LR = 1e-3

# The pytorch/examples VAE (784-400-20-400-784) and skvae's default conv network.
ARCHITECTURES = {
    "mlp": dict(architecture="mlp", hidden_layer_sizes=(400,)),
    "conv": dict(architecture="conv", conv_channels=(32, 64), hidden_layer_sizes=(256, 128)),
}


# --------------------------------------------------------------------- helpers


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def peak_memory(result):
    """Sample the resident set every 2 ms; store the peak rise in result['peak_mb']."""
    start, peak, done = rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            done.wait(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], rss_bytes())
        result["peak_mb"] = (peak[0] - start) / 2**20


def load_images():
    """Training images, test images (None without Fashion-MNIST) and what they are."""
    try:
        X_train, X_test, _, _ = load_mnist_like("fashion-mnist")
        return X_train, X_test, "Fashion-MNIST training images"
    except FileNotFoundError:
        rng = np.random.RandomState(0)
        return rng.randint(0, 256, (60000, 28, 28), dtype=np.uint8), None, "random 28x28 images"


def build_module(arch, data):
    """The network every method trains, initialised afresh."""
    params = ARCHITECTURES[arch]
    offset = initial_output_offset(data.mean(0), "bce")
    if arch == "mlp":
        encoder = MLPEncoder(784, 2 * LATENT, params["hidden_layer_sizes"])
        decoder = MLPDecoder(LATENT, 784, params["hidden_layer_sizes"][::-1])
    else:
        encoder = ConvEncoder((1, 28, 28), 2 * LATENT, params["conv_channels"], params["hidden_layer_sizes"])
        decoder = ConvDecoder(LATENT, (1, 28, 28), params["conv_channels"][::-1], params["hidden_layer_sizes"][::-1])
    return VariationalAutoencoder(encoder, decoder, offset)


def model_view(images, arch):
    """Float tensor in [0, 1], shaped as the module takes it."""
    data = torch.from_numpy(images).float().div_(255)
    return data.view(len(data), -1) if arch == "mlp" else data.view(len(data), 1, 28, 28)


# --------------------------------------------------------------------- methods


def run_hand(arch, images, epochs, on_epoch=None):
    data = model_view(images, arch)
    module = build_module(arch, data)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    times = []
    for _ in range(epochs):
        if on_epoch and times:
            on_epoch(module)
        start = time.perf_counter()
        for idx in torch.randperm(len(data)).split(BATCH_SIZE):
            x = data[idx]
            out = module(x)
            recon = F.binary_cross_entropy_with_logits(out.reconstruction, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + out.logvar - out.mean.pow(2) - out.logvar.exp())
            loss = (recon + kl) / len(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item()
        times.append(time.perf_counter() - start)
    if on_epoch:
        on_epoch(module)
    return times


class _OnEpoch(Callback):
    """Calls fn(module) after each epoch; skorch's `dur` is recorded before it runs."""

    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, net, **kwargs):
        self.fn(net.module_)


def run_skvae(arch, images, epochs, on_epoch=None):
    model = VAETransformer(
        n_components=LATENT, batch_size=BATCH_SIZE, lr=LR, max_epochs=epochs, validation_fraction=0.0,
        device="cpu", callbacks=[_OnEpoch(on_epoch)] if on_epoch else None, **ARCHITECTURES[arch],
    )
    model.fit(images)
    return list(model.history_[:, "dur"])


class _SkorchVAE(NeuralNet):
    def get_loss(self, y_pred, y_true, X=None, training=False):
        return self.criterion_(y_pred, X).loss


def run_skorch(arch, images, epochs, on_epoch=None):
    data = model_view(images, arch)
    net = _SkorchVAE(
        module=build_module(arch, data), criterion=ELBOLoss("bce"), optimizer=torch.optim.Adam, lr=LR,
        batch_size=BATCH_SIZE, max_epochs=epochs, train_split=None, iterator_train__shuffle=True,
        verbose=0, device="cpu", callbacks=[_OnEpoch(on_epoch)] if on_epoch else None,
    )
    net.fit(data.numpy(), None)
    return list(net.history[:, "dur"])


def run_pythae(arch, images, epochs, on_epoch=None):
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    data = model_view(images, arch)
    module = build_module(arch, data)

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = module.encoder

        def forward(self, x):
            mean, logvar = self.net(x.view(len(x), *data.shape[1:])).chunk(2, dim=-1)
            return ModelOutput(embedding=mean, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = module.decoder
            self.register_buffer("offset", module.output_offset)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z) + self.offset))

    config = VAEConfig(input_dim=tuple(data.shape[1:]), latent_dim=LATENT, reconstruction_loss="bce")
    model = VAE(config, encoder=Encoder(), decoder=Decoder())
    times = []
    original = BaseTrainer.train_step

    def timed_train_step(self, epoch):
        start = time.perf_counter()
        loss = original(self, epoch)
        times.append(time.perf_counter() - start)
        if on_epoch:
            on_epoch(module)  # pythae trains module's own encoder and decoder
        return loss

    with tempfile.TemporaryDirectory() as out:
        training = BaseTrainerConfig(
            output_dir=out, num_epochs=epochs, learning_rate=LR, per_device_train_batch_size=BATCH_SIZE,
            per_device_eval_batch_size=BATCH_SIZE, optimizer_cls="Adam", no_cuda=True,
        )
        BaseTrainer.train_step = timed_train_step
        try:
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                TrainingPipeline(training_config=training, model=model)(train_data=data.numpy())
        finally:
            BaseTrainer.train_step = original
    return times


METHODS = {"hand": run_hand, "skvae": run_skvae, "skorch": run_skorch, "pythae": run_pythae}


def available_methods():
    try:
        import pythae  # noqa: F401
    except ImportError:
        return [m for m in METHODS if m != "pythae"]
    return list(METHODS)


def bench_training(arch, images, methods, repeats, epochs):
    epoch_times = {m: [] for m in methods}
    memory = {m: [] for m in methods}
    for method in methods:  # warm-up: imports, allocator, first-call costs
        METHODS[method](arch, images[:2048], 1)
    for repeat in range(repeats):
        # rotate the order every round, so that no method always runs after another
        for method in methods[repeat % len(methods):] + methods[:repeat % len(methods)]:
            result = {}
            with peak_memory(result):
                epoch_times[method] += METHODS[method](arch, images, epochs)
            memory[method].append(result["peak_mb"])
            print(f"  [{arch} repeat {repeat + 1}/{repeats}] {method:7s} "
                  f"{statistics.median(epoch_times[method][-epochs:]):7.2f} s/epoch", file=sys.stderr)
    hand = statistics.median(epoch_times["hand"])
    rows = []
    for method in methods:
        median = statistics.median(epoch_times[method])
        rows.append((arch, method, median, median / hand, max(memory[method]), len(epoch_times[method])))
    return rows


def test_elbo(module, X_test):
    """Mean test ELBO in nats from 64 quasi-random draws shared by all rows, the same for every method."""
    was_training = module.training
    module.eval()
    points = quasi_normal_points(64, LATENT)
    total = 0.0
    with torch.inference_mode():
        for x in X_test.split(500):
            mean, logvar = module.encode(x)
            recon = expected_reconstruction_nll(module.decode, mean, logvar, x, "bce", points)
            total += (recon + gaussian_kl(mean, logvar)).sum().item()
    module.train(was_training)
    return -total / len(X_test)


def bench_time_to_quality(arch, images, test_images, methods, epochs):
    """Test ELBO after each epoch against cumulative training time, per method."""
    X_test = model_view(test_images, arch)
    rows = []
    for method in methods:
        elbos = []
        times = METHODS[method](arch, images, epochs, on_epoch=lambda m: elbos.append(test_elbo(m, X_test)))
        rows.append((method, np.cumsum(times), elbos))
        print(f"  [time to quality] {method:7s} {elbos[-1]:.2f} nats after {sum(times):.0f} s", file=sys.stderr)
    return rows


# ------------------------------------------------------------------- inference


def bench_inference(arch, images, n_rows, repeats):
    """skvae's inference methods against the same module called by hand in batches of 128."""
    model = VAETransformer(n_components=LATENT, max_epochs=1, validation_fraction=0.0, device="cpu",
                           **ARCHITECTURES[arch]).fit(images[:10000])
    module = model.net_.module_.eval()
    shape = (784,) if arch == "mlp" else (1, 28, 28)
    X = np.ascontiguousarray(np.resize(images.reshape(len(images), -1), (n_rows, 784)))  # uint8 rows
    # decoding writes 784 floats per row: fewer rows keep page faults from drowning the timing
    n_decoded = n_rows // 4
    Z = np.random.RandomState(0).standard_normal((n_decoded, LATENT)).astype(np.float32)
    points = quasi_normal_points(64, LATENT).float()

    def by_hand(fn, source, width):
        out = np.empty((len(source), width) if width else len(source), np.float32)
        with torch.inference_mode():
            for start in range(0, len(source), BATCH_SIZE):
                out[start:start + BATCH_SIZE] = fn(torch.from_numpy(source[start:start + BATCH_SIZE])).numpy()
        return out

    def encode(x):
        return module.encode(x.float().div(255).view(-1, *shape))[0]

    def decode(z):
        return (torch.sigmoid(module.decode(z)) * 255).flatten(1)

    def elbo(x):
        x = x.float() / 255
        mean, logvar = module.encode(x.view(-1, *shape))
        z = mean + torch.exp(0.5 * logvar) * points[:, None, :]
        logits = module.decode(z.flatten(0, 1)).view(len(points), len(x), -1)
        recon = F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").sum(-1).mean(0)
        return -(recon + 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(-1))

    def draws():
        return np.random.RandomState(0).standard_normal((n_decoded, LATENT)).astype(np.float32)

    score_rows = n_rows // 20  # 64 decoder passes per row
    cases = {
        "transform": (lambda: model.transform(X), lambda: by_hand(encode, X, LATENT), n_rows),
        "inverse_transform": (lambda: model.inverse_transform(Z), lambda: by_hand(decode, Z, 784), n_decoded),
        "sample": (lambda: model.sample(n_decoded, random_state=0), lambda: by_hand(decode, draws(), 784),
                   n_decoded),
        "score_samples": (lambda: model.score_samples(X[:score_rows], n_draws=64),
                          lambda: by_hand(elbo, X[:score_rows], None), score_rows),
    }
    rows = []
    for name, (ours, hand, n) in cases.items():
        times = {"skvae": [], "hand": []}
        for repeat in range(repeats):
            pair = (("hand", hand), ("skvae", ours))
            for label, fn in pair if repeat % 2 else pair[::-1]:
                start = time.perf_counter()
                fn()
                times[label].append(time.perf_counter() - start)
        ours_t, hand_t = statistics.median(times["skvae"]), statistics.median(times["hand"])
        rows.append((arch, name, n, hand_t, ours_t, ours_t / hand_t))
    return rows


def bench_transform_memory(images, n_rows):
    """Peak memory of one transform of n_rows x 784 float32 rows, in a fresh process."""
    model = VAETransformer(n_components=LATENT, max_epochs=1, validation_fraction=0.0, device="cpu",
                           **ARCHITECTURES["mlp"]).fit(images[:10000].reshape(10000, -1) / 255)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.pkl")
        with open(path, "wb") as f:
            pickle.dump(model, f)
        child = subprocess.run([sys.executable, __file__, "--memory-child", str(n_rows), path],
                               capture_output=True, text=True, check=True)
    return json.loads(child.stdout)


def memory_child(n_rows, path):
    with open(path, "rb") as f:
        model = pickle.load(f)
    X = np.empty((n_rows, 784), np.float32)
    rng = np.random.default_rng(0)
    for start in range(0, n_rows, 100_000):
        X[start:start + 100_000] = rng.random((min(100_000, n_rows - start), 784), dtype=np.float32)
    model.transform(X[:1000])  # first-call allocations (thread pools, kernels) are not per-row costs
    result = {}
    with peak_memory(result):
        start = time.perf_counter()
        codes = model.transform(X)
        seconds = time.perf_counter() - start
    print(json.dumps(dict(
        n_rows=n_rows, input_mb=X.nbytes / 2**20, peak_mb=result["peak_mb"], output_mb=codes.nbytes / 2**20,
        batch_mb=BATCH_SIZE * (784 + 400 + 2 * LATENT) * 4 / 2**20, seconds=seconds,
    )))


# ------------------------------------------------------------------------ main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", nargs="+", choices=sorted(ARCHITECTURES), default=["mlp", "conv"])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=None)
    parser.add_argument("--inference-rows", type=int, default=200_000)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--inference-only", action="store_true")
    parser.add_argument("--time-to-quality", type=int, metavar="EPOCHS", default=0,
                        help="only train each method EPOCHS epochs on the MLP, reporting test ELBO per epoch")
    parser.add_argument("--memory-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        return memory_child(int(args.memory_child[0]), args.memory_child[1])
    logging.disable(logging.INFO)

    images, test_images, source = load_images()
    methods = args.methods or available_methods()
    print(f"# skvae speed benchmark, {time.strftime('%Y-%m-%d')}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, Python {platform.python_version()}")
    print(f"data: {len(images)} {source}; batch {BATCH_SIZE}, Adam lr {LR}, latent {LATENT}\n")

    if args.time_to_quality:
        if test_images is None:
            sys.exit("time to quality needs the Fashion-MNIST test images; see skvae.datasets.load_mnist_like")
        epochs = args.time_to_quality
        print("Test ELBO (nats per image, first 5,000 test images) after each epoch, "
              "with cumulative training seconds, MLP network:\n")
        print("| method | " + " | ".join(f"epoch {e + 1}" for e in range(epochs)) + " |")
        print("|---|" + "---|" * epochs)
        for method, seconds, elbos in bench_time_to_quality("mlp", images, test_images[:5000], methods, epochs):
            print(f"| {method} | " + " | ".join(f"{e:.2f} ({t:.0f} s)" for t, e in zip(seconds, elbos)) + " |",
                  flush=True)
        return None

    if not args.inference_only:
        print("| network | method | epoch time (s, median) | vs hand-written | peak memory rise (MB) | epochs timed |")
        print("|---|---|---|---|---|---|")
        for arch in args.arch:
            for row in bench_training(arch, images, methods, args.repeats, args.epochs):
                print("| {} | {} | {:.2f} | {:.2f}x | {:.0f} | {} |".format(*row), flush=True)
        print()

    print("| network | inference | rows | by hand, batches of 128 (s) | skvae (s) | skvae / hand |")
    print("|---|---|---|---|---|---|")
    for arch in args.arch:
        n_rows = args.inference_rows if arch == "mlp" else args.inference_rows // 10  # conv: 10x the work
        for row in bench_inference(arch, images, n_rows, args.repeats):
            print("| {} | {} | {} | {:.2f} | {:.2f} | {:.2f}x |".format(*row), flush=True)
    mem = bench_transform_memory(images, args.memory_rows)
    print(f"\ntransform of {mem['n_rows']:,} rows x 784 float32 ({mem['input_mb']:.0f} MB in): "
          f"{mem['seconds']:.1f} s, peak memory rise {mem['peak_mb']:.0f} MB "
          f"= output {mem['output_mb']:.0f} MB + {mem['peak_mb'] - mem['output_mb']:.0f} MB "
          f"(one batch's input and activations: {mem['batch_mb']:.1f} MB)")


if __name__ == "__main__":
    main()
