"""Inference latency: transform and score_samples of 1, 100 and 10,000 rows, beside PCA and the bare module.

    python benchmarks/bench_inference.py

Each network is a default VAETransformer (n_components=16) trained for one
epoch on 10,000 Fashion-MNIST images (latency does not depend on the
weights); the bare module is ``module.encode`` on a ready float tensor under
``torch.inference_mode``, without validation, padding or conversion. Times
are the best of several repeats, in milliseconds.
"""

import argparse
import timeit

import numpy as np
import torch
from sklearn.decomposition import PCA

from skvae import VAETransformer
from skvae.datasets import load_mnist_like


def best(fn, budget=1.0):
    fn()
    once = min(timeit.repeat(fn, number=1, repeat=3))
    number = max(1, int(budget / 5 / max(once, 1e-6)))
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100, 10_000])
    args = parser.parse_args()
    images = load_mnist_like("fashion-mnist")[0]
    X = (images.reshape(len(images), -1)[:20_000] / 255).astype(np.float32)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| network | rows | bare module encode (ms) | transform (ms) | transform / module | "
          "score_samples (ms) | score / transform | PCA(16).transform (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    pca = PCA(16, random_state=0).fit(X[:10_000])
    for arch in ["mlp", "conv"]:
        model = VAETransformer(n_components=16, architecture=arch, image_shape=(28, 28) if arch == "conv" else None,
                               max_epochs=1, random_state=0).fit(X[:10_000])
        module = model.net_.module_.eval()
        for n in args.rows:
            rows = X[10_000 : 10_000 + n]
            tensor = torch.from_numpy(rows).reshape(n, *model._module_input_shape())

            def bare():
                with torch.inference_mode():
                    return module.encode(tensor)[0].numpy()

            t_bare, t_transform = best(bare), best(lambda: model.transform(rows))
            t_score = best(lambda: model.score_samples(rows), budget=2.0 if n < 10_000 else 0.1)
            t_pca = best(lambda: pca.transform(rows))
            print(f"| {arch} | {n} | {t_bare:.3f} | {t_transform:.3f} | {t_transform / t_bare:.1f}x | "
                  f"{t_score:.1f} | {t_score / t_transform:.0f}x | {t_pca:.3f} |", flush=True)


if __name__ == "__main__":
    main()
