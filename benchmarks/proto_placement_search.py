"""Prototype for issue 27: placement="neighbors" on Fashion-MNIST's pixels, searched whole or in PCA-50.

    python benchmarks/proto_placement_search.py

Fits VAETransformer(2, neighbor_weight=1, placement="neighbors") on the first
10,000 Fashion-MNIST training images and places the 10,000 test images twice:
as skvae now does (the rows kept as their first 50 principal components, in
which new rows' neighbours are found and weighed), and with the 784-pixel rows
kept whole, as the first version did. Prints held-out 5-NN accuracy,
trustworthiness (10 neighbours, 2,000 rows) and the seconds to place 10,000
rows. (Its first version, at commit 1bd3730, measured a search in PCA-50 with
the weights still from the pixels, before that was built.)
"""

import pickle
import sys
import time

import numpy as np
from sklearn.manifold import trustworthiness
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import VAETransformer  # noqa: E402

Xtr, Xte, ytr, yte = b.load("fashion-mnist")
Xtr, ytr = Xtr[:10000], ytr[:10000]
built = VAETransformer(2, neighbor_weight=1.0, placement="neighbors", random_state=0).fit(Xtr)
whole = pickle.loads(pickle.dumps(built))
del whole.placement_projection_
whole.placement_rows_ = Xtr.reshape(len(Xtr), -1).astype(np.float32)
sub = np.random.RandomState(0).permutation(len(Xte))[:2000]
Xt = np.resize(Xte, (10000, Xte.shape[1]))
for name, model in (("PCA-50 (built)", built), ("whole pixel rows", whole)):
    Ztr, Z = model.transform(Xtr), model.transform(Xte)
    t = time.perf_counter()
    model.transform(Xt)
    s = time.perf_counter() - t
    print(name, round(KNeighborsClassifier(5).fit(Ztr, ytr).score(Z, yte), 3),
          round(float(trustworthiness(Xte[sub], Z[sub], n_neighbors=10)), 3), f"{s:.2f} s for 10,000", flush=True)
