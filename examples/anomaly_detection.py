"""
Anomaly detection on the digits
===============================

Train on one digit, find all the others.

AutoencoderOutlierDetector has the API of IsolationForest; this compares its
scores with IsolationForest on the one-class protocol for every digit.

    python examples/anomaly_detection.py
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skvae import AutoencoderOutlierDetector, VAETransformer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.5, stratify=y, random_state=0)
aucs = {"IsolationForest": [], "skvae density": [], "skvae elbo": []}
for digit in range(10):
    normal = X_train[y_train == digit]
    is_normal = y_test == digit
    aucs["IsolationForest"].append(
        roc_auc_score(is_normal, IsolationForest(random_state=0).fit(normal).score_samples(X_test)))
    detector = AutoencoderOutlierDetector(VAETransformer(n_components=8, random_state=0)).fit(normal)
    aucs["skvae density"].append(roc_auc_score(is_normal, detector.score_samples(X_test)))
    # the ELBO of the fitted VAE itself, for comparison (anomaly_score="elbo" would detect with it)
    aucs["skvae elbo"].append(roc_auc_score(is_normal, detector.estimator_.score_samples(X_test)))
    flagged = detector.predict(X_test) == -1
    print(f"digit {digit}: flags {flagged[~is_normal].mean():.0%} of other digits, "
          f"{flagged[is_normal].mean():.0%} of its own")
for name, values in aucs.items():
    print(f"{name:16s} mean ROC-AUC {np.mean(values):.3f}")

# %%
# ROC-AUC per digit: 1 ranks every other digit below every digit of the trained class.
fig, ax = plt.subplots(figsize=(8, 3.5))
for offset, (name, values) in zip((-0.27, 0, 0.27), aucs.items()):
    ax.bar(np.arange(10) + offset, values, width=0.27, label=name)
ax.set_xticks(np.arange(10))
ax.set_xlabel("digit trained on")
ax.set_ylabel("ROC-AUC")
ax.set_ylim(0.8, 1.0)
ax.legend(fontsize="small", loc="lower left")
fig.tight_layout()
plt.show()
