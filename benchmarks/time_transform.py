"""Transform time of 10,000 rows: UMAP and skvae's placements side by side, in one process, interleaved.

    python benchmarks/time_transform.py --data fashion-mnist [--rounds 5] [--rows 10000 1] [--n-train N]

Fits UMAP (seed 0) and a 2-D ``VAETransformer(placement="network")`` on the
training rows, then times ``transform`` of 10,000 test rows (repeated if
fewer) by UMAP and by the skvae model with each placement: "network" (the
network fitted at the end of fit), "neighbors" (the search and placement)
and "encoder". Rounds are interleaved, so that whatever else the machine
does weighs on all alike; it prints the best and the median of each and how
many times faster than UMAP's each is. Only the time is measured here: the
skvae model trains ``--max-epochs`` epochs (1 by default; the network and
the rows it reads are the default's shapes whatever the epochs), and the
quality of its maps is in ``bench_usecases.py reduction``. ``--rows 10000
1`` also times a one-row ``transform``: a call of fewer than 1,000 rows is
timed as the mean of enough calls for 1,000 rows. ``--n-train N`` fits on the
first N training rows: what a search among the training rows costs grows with them.
"""

import argparse
import pickle
import sys
import time

import numpy as np

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import VAETransformer  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-epochs", type=int, default=1)
    parser.add_argument("--rows", type=int, nargs="+", default=[b.TRANSFORM_ROWS], help="rows a call transforms")
    parser.add_argument("--n-train", type=int, help="fit on the first N training rows")
    args = parser.parse_args()
    import umap

    X_train, X_test, _, _ = b.load(args.data)
    X_train = X_train[: args.n_train]
    start = time.perf_counter()
    reducer = umap.UMAP(n_components=2, random_state=b.SEED).fit(X_train)
    print(f"UMAP fit: {time.perf_counter() - start:.1f} s", flush=True)
    start = time.perf_counter()
    model = VAETransformer(2, placement="network", max_epochs=args.max_epochs, random_state=b.SEED).fit(X_train)
    print(f"skvae fit ({args.max_epochs} epochs, placement='network'): {time.perf_counter() - start:.1f} s",
          flush=True)
    methods = {
        "UMAP": reducer.transform,
        # a copy of the model for each placement, so that no set_params is timed with it
        **{f"skvae, placement={p!r}": pickle.loads(pickle.dumps(model)).set_params(placement=p).transform
           for p in ("network", "neighbors", "encoder")},
    }
    for rows in args.rows:
        X_timed = np.resize(X_test, (rows, X_test.shape[1]))
        calls = max(1, 1000 // rows)
        for transform in methods.values():  # once each first: caches, numba's compiled loop, small batches
            transform(X_timed[:100])
            transform(X_timed)
        times = {name: [] for name in methods}
        for _ in range(args.rounds):
            for name, transform in methods.items():
                start = time.perf_counter()
                for _ in range(calls):
                    transform(X_timed)
                times[name].append((time.perf_counter() - start) / calls)
        umap_median = np.median(times["UMAP"])
        print(f"| {args.data}, {len(X_train)} training rows, {rows} rows a call | best s | median s "
              "| times faster than UMAP (medians) |")
        print("|---|---|---|---|")
        for name, seconds in times.items():
            print(f"| {name} | {min(seconds):.4g} | {np.median(seconds):.4g} | "
                  f"{umap_median / np.median(seconds):.1f} |", flush=True)


if __name__ == "__main__":
    main()
