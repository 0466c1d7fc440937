"""How many posterior draws score_samples needs: per-row error, bias and ranking against an 8,000-draw estimate.

    python benchmarks/bench_scoring.py

For each model, the expectation ``E_q[log p(x | z)]`` in the ELBO is
estimated per row with n draws, two ways:

- "shared": the same quasi-random points for every row (scrambled Sobol, in
  antithetic pairs), what score_samples did before issue 26;
- "per row": those points shifted modulo 1 by a uniform point made from the
  row's own values (what score_samples does now): each draw is exactly
  N(0, I), so a row's estimate is unbiased.

Against a reference of 8,000 independent draws per row, it reports the mean
error per row relative to the row's ELBO, the mean signed error in nats (positive: the
estimate is too optimistic, which would favour a model in a grid search),
the error of the mean over rows (what ``score`` returns) and the rank
correlation of the rows' scores with the reference (what an anomaly
ranking uses).
"""

import argparse

import numpy as np
import torch
from scipy.stats import spearmanr

from skvae import BetaVAETransformer, VAETransformer
from skvae._losses import (
    expected_reconstruction_nll,
    quasi_normal_points,
    reconstruction_nll,
    row_uniforms,
)
from skvae.datasets import load_mnist_like
from sklearn.datasets import load_digits


def reference(module, mean, logvar, x, kind, n=8000, chunk=200):
    """Plain Monte Carlo with n independent draws per row (seed 0), in float64 sums."""
    gen = torch.Generator().manual_seed(0)
    total = torch.zeros(len(x), dtype=torch.float64)
    for start in range(0, n, chunk):
        eps = torch.randn(chunk, *mean.shape, generator=gen)
        z = mean + torch.exp(0.5 * logvar) * eps
        decoded = module.decode(z.flatten(0, 1)).unflatten(0, z.shape[:2])
        total += reconstruction_nll(decoded, x, kind).double().sum(0)
    return (total / n).numpy()


def cases(quick):
    fashion = load_mnist_like("fashion-mnist")[0]
    fashion = (fashion.reshape(len(fashion), -1) / 255).astype(np.float32)
    digits = (load_digits().data / 16).astype(np.float32)
    rng = np.random.default_rng(0)
    t = rng.uniform(0, 2 * np.pi, size=(400, 2))
    manifold = np.c_[np.sin(t), np.cos(t)] @ rng.normal(size=(4, 20)) + 0.05 * rng.normal(size=(400, 20))
    manifold = ((manifold - manifold.min(0)) / np.ptp(manifold, 0)).astype(np.float32)
    n_fit = 3000 if quick else 10_000
    yield "VAE, Fashion-MNIST (MLP, 16 dims)", VAETransformer(n_components=16, max_epochs=5, random_state=0), \
        fashion[:n_fit], fashion[-500:]
    yield "VAE, Fashion-MNIST (conv, 16 dims)", VAETransformer(
        n_components=16, architecture="conv", image_shape=(28, 28), max_epochs=2, random_state=0), \
        fashion[:n_fit], fashion[-300:]
    yield "VAE, digits (8 dims)", VAETransformer(n_components=8, max_epochs=30, random_state=0), \
        digits[:1500], digits[1500:]
    yield "beta-VAE (beta=4), 300 rows on a 2-D manifold in 20-D", BetaVAETransformer(
        n_components=4, beta=4, max_epochs=100, random_state=0), manifold[:300], manifold[300:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 2, 8, 16, 64])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("| model | draws | points | mean error per row | mean signed error (nats) | "
          "error of the mean (nats) | rank correlation |")
    print("|---|---|---|---|---|---|---|")
    for name, model, train, test in cases(args.quick):
        model.fit(train)
        module = model.net_.module_.eval()
        kind = model.reconstruction_loss_
        x = torch.from_numpy(test).reshape(len(test), *model._module_input_shape())
        with torch.inference_mode():
            mean, logvar = module.encode(x)
            ref = reference(module, mean, logvar, x, kind)
            elbo = -(ref + module.kl_divergence(mean, logvar).double().numpy())
            shifts = row_uniforms(x, model.n_components)
            for n in args.draws:
                for label, shift in [("shared", None), ("per row", shifts)]:
                    if label == "shared" and n % 2:
                        continue  # the old points came in antithetic pairs only
                    points = quasi_normal_points(n, model.n_components, shift)
                    est = expected_reconstruction_nll(module.decode, mean, logvar, x, kind, points).double().numpy()
                    # est and ref are negative log-likelihoods: ref - est > 0 means the estimate is optimistic
                    print(f"| {name} | {n} | {label} | {np.mean(np.abs(est - ref) / np.abs(elbo)):.2%} | "
                          f"{np.mean(ref - est):+.2f} | {abs(np.mean(ref - est)):.2f} | "
                          f"{spearmanr(est, ref).statistic:.4f} |", flush=True)


if __name__ == "__main__":
    main()
