"""Prototype for issue 27: placement="neighbors" searching a PCA-50 projection of the kept rows instead of the pixels.

    python benchmarks/proto_placement_search.py

Fits VAETransformer(2, neighbor_weight=1, placement="neighbors") on the first
10,000 Fashion-MNIST training images and places the 10,000 test images twice:
with the exact search of the 784-pixel rows it ships with, and with the
neighbours found in a PCA-50 projection of the kept rows (their distances, and
so the weights, still computed on the pixels). Prints held-out 5-NN accuracy,
trustworthiness (10 neighbours, 2,000 rows) and the seconds to place 10,000
rows (the projection of the kept rows is computed once, outside the timing).
"""

import time, numpy as np, sys
sys.path.insert(0, "benchmarks")
import bench_usecases as b
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
from sklearn.manifold import trustworthiness
from skvae import VAETransformer
import skvae._neighbors as N
Xtr, Xte, ytr, yte = b.load("fashion-mnist"); Xtr, ytr = Xtr[:10000], ytr[:10000]
v = VAETransformer(2, neighbor_weight=1.0, placement="neighbors", random_state=0).fit(Xtr)
pca = PCA(50, random_state=0).fit(v.placement_rows_)
projected = pca.transform(v.placement_rows_).astype(np.float32)
class Projected:
    def __init__(self, n_neighbors): self.k = n_neighbors
    def fit(self, rows): self.nn = NearestNeighbors(n_neighbors=self.k).fit(projected); return self
    def kneighbors(self, X, return_distance=False): return self.nn.kneighbors(pca.transform(X).astype(np.float32), return_distance=False)
sub = np.random.RandomState(0).permutation(len(Xte))[:2000]
Xt = np.resize(Xte, (10000, 784))
for name in ("exact", "PCA-50 search"):
    if name != "exact": N.NearestNeighbors = Projected
    Ztr = v.transform(Xtr); Z = v.transform(Xte)
    t = time.perf_counter(); v.transform(Xt); s = time.perf_counter() - t
    print(name, round(KNeighborsClassifier(5).fit(Ztr, ytr).score(Z, yte), 3), round(trustworthiness(Xte[sub], Z[sub], n_neighbors=10), 3), f"{s:.2f} s for 10,000", flush=True)
