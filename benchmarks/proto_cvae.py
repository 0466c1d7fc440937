"""Prototype for issue 28: does a conditional VAE obey its label when its encoder also sees the label?

    python benchmarks/proto_cvae.py --data digits --dims 2 16 32

A hand-written loop (MLP 256-128, Adam 1e-3, batch 128, Bernoulli likelihood)
trains three encoders with the same decoder p(x | z, y):

- "x": q(z | x), skvae's ConditionalVAETransformer today: the code can carry
  the class, and the decoder can learn to ignore y;
- "x, y": q(z | x, y), the textbook CVAE (Sohn et al., 2015): the class is
  given, so the code has no reason to carry it;
- "x, y + x-only": as "x, y", plus an encoder on x alone trained to match
  q(z | x, y) (its target detached), which ``transform`` would use, since a
  Pipeline has no y. It does not change sampling; the script reports how
  well it matches.

Samples: 1,000 codes per class from N(0, I), decoded as that class (decoder
means). A classifier trained on the real training images (logistic regression
on pixels for the digits, an MLP for Fashion-MNIST) reads them; the figure is
the share read as the class asked for, mean over classes and the worst.
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from torch import nn

from skvae.datasets import load_digits_images, load_mnist_like


def mlp(n_in, n_out, hidden=(256, 128)):
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_out))


def fit(X, y, k, encoder_sees_y, epochs, seed=0, match=False, head=False):
    torch.manual_seed(seed)
    n, d = X.shape
    Y = F.one_hot(torch.from_numpy(y).long(), 10).float()
    Xt = torch.from_numpy(X)
    enc = mlp(d + (10 if encoder_sees_y and not head else 0), 2 * k)
    # "head": y joins after an x-only encoder, whose 2k outputs are the x-only posterior
    label_head = mlp(2 * k + 10, 2 * k, hidden=(128,)) if head else None
    dec = mlp(k + 10, d, hidden=(128, 256))
    x_only = mlp(d, 2 * k) if match else None
    params = [*enc.parameters(), *dec.parameters(), *(x_only.parameters() if match else []),
              *(label_head.parameters() if head else [])]
    opt = torch.optim.Adam(params, 1e-3)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for ids in torch.randperm(n, generator=gen).split(128):
            x, c = Xt[ids], Y[ids]
            if head:
                trunk = enc(x)
                mean, logvar = (trunk + label_head(torch.cat([trunk, c], 1))).chunk(2, -1)
                m2, lv2 = trunk.chunk(2, -1)  # the x-only posterior, matched to q(z|x,y) held fixed
                m1, lv1 = mean.detach(), logvar.detach()
                match_loss = 0.5 * (lv2 - lv1 + (lv1.exp() + (m1 - m2).pow(2)) / lv2.exp() - 1).sum() / len(x)
            else:
                mean, logvar = enc(torch.cat([x, c], 1) if encoder_sees_y else x).chunk(2, -1)
            z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
            recon = F.binary_cross_entropy_with_logits(dec(torch.cat([z, c], 1)), x, reduction="sum") / len(x)
            kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum() / len(x)
            loss = recon + kl
            if head:
                loss = loss + match_loss
            if match:  # KL(q(z|x,y) || q(z|x)) with q(z|x,y) fixed: trains the x-only encoder alone
                m2, lv2 = x_only(x).chunk(2, -1)
                m1, lv1 = mean.detach(), logvar.detach()
                loss = loss + 0.5 * (lv2 - lv1 + (lv1.exp() + (m1 - m2).pow(2)) / lv2.exp() - 1).sum() / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return enc, dec, x_only


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="digits")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 16, 32])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--temperature", type=float, nargs="+", default=[1.0],
                        help="scale of the prior draws (below 1: the truncation trick)")
    parser.add_argument("--variants", nargs="+", default=["x", "x, y", "x, y + x-only"])
    args = parser.parse_args()
    if args.data == "digits":
        images, target = load_digits_images()
        X = images.reshape(len(images), -1).astype(np.float32)
        X_train, X_test, y_train, y_test = train_test_split(X, target, test_size=0.5, stratify=target, random_state=0)
        classifier = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    else:
        X_train, X_test, y_train, y_test = load_mnist_like(args.data)
        X_train = (X_train.reshape(len(X_train), -1) / 255).astype(np.float32)
        X_test = (X_test.reshape(len(X_test), -1) / 255).astype(np.float32)
        classifier = MLPClassifier((256,), early_stopping=True, random_state=0).fit(X_train, y_train)
    print(f"classifier test accuracy {classifier.score(X_test, y_test):.3f}")
    asked = np.repeat(np.arange(10), 1000)
    for k in args.dims:
        for label, sees_y, match in [("x", False, False), ("x, y", True, False), ("x, y + x-only", True, True),
                                     ("head", True, False)]:
            if label not in args.variants:
                continue
            enc, dec, x_only = fit(X_train, y_train, k, sees_y, args.epochs, match=match, head=label == "head")
            for temperature in args.temperature:
                with torch.no_grad():
                    z = temperature * torch.randn(len(asked), k, generator=torch.Generator().manual_seed(1))
                    samples = torch.sigmoid(dec(torch.cat([z, F.one_hot(torch.from_numpy(asked), 10).float()], 1)))
                read = classifier.predict(samples.numpy())
                per_class = np.array([np.mean(read[asked == c] == c) for c in range(10)])
                print(f"| {args.data} | {k} | {label} | {args.epochs} | {temperature:g} | {per_class.mean():.3f} | "
                      f"{per_class.min():.3f} |", flush=True)
            extra = ""
            if match:
                with torch.no_grad():
                    x = torch.from_numpy(X_test)
                    c = F.one_hot(torch.from_numpy(y_test).long(), 10).float()
                    m_xy = enc(torch.cat([x, c], 1)).chunk(2, -1)[0]
                    m_x = x_only(x).chunk(2, -1)[0]
                extra = f" x-only code vs q(z|x,y) mean, test rows: R^2 {1 - ((m_x - m_xy) ** 2).sum() / ((m_xy - m_xy.mean(0)) ** 2).sum():.3f}"
            if extra:
                print(extra, flush=True)


if __name__ == "__main__":
    main()
