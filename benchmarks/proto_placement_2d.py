"""Prototype for issue 27: where the time of a placed ``transform`` goes, and what a faster 2-D loop buys.

    python benchmarks/proto_placement_2d.py

Fits the default ``VAETransformer(2)`` on the digits' training half (seed 0)
and captures the inputs that ``transform`` of 10,000 rows (the test rows
repeated) gives placement's compiled loop. Prints the best of five timings
of the parts of that ``transform`` (the neighbour search, the edges'
weights, the loop, the whole call), then of three loops on the same inputs,
on 1 and on 2 threads, with the largest difference of their codes from the
built 2-D loop's:

- the loop for any number of components (``_place_rows``), a code and its
  steps held in arrays;
- the 2-D loop (``_place_rows_2d``), built: the same arithmetic on scalars;
- the 2-D loop with each epoch's powers ``d^(2b)`` gathered and taken in one
  pass by a float32 polynomial (exponent and mantissa split by bit casts),
  a loop LLVM can vectorise, where ``powf`` is a call per power.
"""

import math
import sys
import time

import numba
import numpy as np
import torch
from numba import prange, types
from numba.extending import intrinsic

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
from skvae import _placement as placement  # noqa: E402


@intrinsic
def _as_int32(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int32))
    return types.int32(types.float32), codegen


@intrinsic
def _as_float32(typingctx, x):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))
    return types.float32(types.int32), codegen


LN2, INV_LN2, SQRT2 = np.float32(math.log(2)), np.float32(1 / math.log(2)), np.float32(math.sqrt(2))
F = np.float32


@numba.njit(inline="always")
def pow32(x, b):
    """x ** b for float32 x > 0: ln of the mantissa by its atanh series, exp by a degree-6 polynomial."""
    bits = _as_int32(x)
    e = ((bits >> 23) & 255) - 127
    m = _as_float32((bits & 0x7FFFFF) | 0x3F800000)
    big = m > SQRT2
    m = F(m * F(0.5)) if big else m
    e = e + 1 if big else e
    t = (m - F(1)) / (m + F(1))
    t2 = t * t
    ln_m = F(2) * t * (F(1) + t2 * (F(1 / 3) + t2 * (F(0.2) + t2 * F(1 / 7))))
    y = b * (F(e) * LN2 + ln_m)
    kf = F(math.floor(y * INV_LN2 + F(0.5)))
    r = y - kf * LN2
    p = F(1) + r * (F(1) + r * (F(0.5) + r * (F(1 / 6) + r * (F(1 / 24) + r * (F(1 / 120) + r * F(1 / 720))))))
    return _as_float32(_as_int32(p) + (np.int32(kf) << 23))


@numba.njit(inline="always")
def powers(qx, qy, m, b, out):
    for q in range(m):
        out[q] = pow32(np.float32(max(qx[q] * qx[q] + qy[q] * qy[q], 1e-30)), b)


def place_2d_batched(layout, indices, weights, negatives, rate, a, b, per_positive):
    n, k = indices.shape
    n_epochs, draws = negatives.shape[0], negatives.shape[2]
    b32 = np.float32(b)
    out = np.empty((n, 2))
    for row in prange(n):
        qx, qy, pw = np.empty(k * draws), np.empty(k * draws), np.empty(k * draws, np.float32)
        start = placement._start(layout, indices[row], weights[row])
        x, y = start[0], start[1]
        every, next_pull, every_push, next_push, sampled = placement._schedule(weights[row], per_positive)
        for epoch in range(n_epochs):
            alpha = rate * (1.0 - epoch / n_epochs)
            m = 0
            for j in range(k):
                sampled[j] = next_pull[j] <= epoch
                if sampled[j]:
                    qx[m], qy[m] = x - layout[indices[row, j], 0], y - layout[indices[row, j], 1]
                    m += 1
            powers(qx, qy, m, b32, pw)
            step_x = step_y = 0.0
            for q in range(m):
                d2 = qx[q] * qx[q] + qy[q] * qy[q]
                pull = -2.0 * a * b * pw[q] / (d2 * (a * pw[q] + 1.0)) if d2 > 0 else 0.0
                step_x += min(max(pull * qx[q], -4.0), 4.0) * alpha
                step_y += min(max(pull * qy[q], -4.0), 4.0) * alpha
            x, y = x + step_x, y + step_y
            m = 0
            for j in range(k):
                if not sampled[j]:
                    continue
                next_pull[j] += every[j]
                for draw in range(placement._pushes_due(epoch, j, next_push, every_push, draws)):
                    other = negatives[epoch, j, draw]
                    qx[m], qy[m] = x - layout[other, 0], y - layout[other, 1]
                    m += 1
            powers(qx, qy, m, b32, pw)
            step_x = step_y = 0.0
            for q in range(m):
                d2 = qx[q] * qx[q] + qy[q] * qy[q]
                push = 2.0 * b / ((0.001 + d2) * (a * pw[q] + 1.0)) if d2 > 0 else 0.0
                step_x += min(max(push * qx[q], -4.0), 4.0) * alpha
                step_y += min(max(push * qy[q], -4.0), 4.0) * alpha
            x, y = x + step_x, y + step_y
        out[row, 0], out[row, 1] = x, y
    return out


def best_of(n, function, *args):
    best = math.inf
    for _ in range(n):
        start = time.perf_counter()
        function(*args)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    X_train, X_test, _, _ = b.load("digits")
    model = b.reduction_model(2).set_params(random_state=0).fit(X_train)
    X_timed = np.resize(X_test, (b.TRANSFORM_ROWS, X_test.shape[1]))
    model.transform(X_timed)  # compiles the built loops
    rows = model._flat_rows(model._validate_input(X_timed, reset=False))
    k = placement.N_NEIGHBORS
    indices, distances = placement._nearest(rows, model.placement_rows_, k)
    weights = placement.membership_strengths(distances, k).astype(np.float64)
    weights[weights < 1 / placement.PLACEMENT_EPOCHS] = 0
    layout = np.ascontiguousarray(model.placement_codes_, dtype=np.float64) * placement.CODE_SCALE
    negatives = torch.randint(len(layout), (placement.PLACEMENT_EPOCHS, k, placement._NEGATIVE_DRAWS),
                              generator=torch.Generator().manual_seed(0)).numpy()
    args = (layout, indices.astype(np.int64), weights, negatives, placement.PLACEMENT_RATE,
            placement.CURVE_A, placement.CURVE_B, float(placement.NEGATIVES_PER_POSITIVE))
    _, place = placement._numba()
    compile_ = numba.njit(parallel=True, fastmath=placement._FASTMATH)
    loops = {"any number of components": compile_(placement._place_rows),
             "2-D, scalars (built)": compile_(placement._place_rows_2d),
             "2-D, batched float32 polynomial powers": compile_(place_2d_batched)}
    print("| part of transform of 10,000 digits | seconds (best of 5) |\n|---|---|")
    parts = {"neighbour search": lambda: placement._nearest(rows, model.placement_rows_, k),
             "edge weights": lambda: placement.membership_strengths(distances, k),
             "loop (built)": lambda: place(*args), "whole transform": lambda: model.transform(X_timed)}
    for name, part in parts.items():
        print(f"| {name} | {best_of(5, part):.3f} |")
    reference = loops["2-D, scalars (built)"](*args)
    print("\n| loop | 1 thread s | 2 threads s | largest difference in a code |\n|---|---|---|---|")
    for name, loop in loops.items():
        difference = np.abs(loop(*args) - reference).max() / placement.CODE_SCALE
        seconds = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            seconds.append(best_of(5, loop, *args))
        print(f"| {name} | {seconds[0]:.3f} | {seconds[1]:.3f} | {difference:.1e} |")


if __name__ == "__main__":
    main()
