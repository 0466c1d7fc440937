"""Prototype for issue 27: can a cheaper power speed up placement's compiled loop?

    python benchmarks/proto_placement_power.py

Fits the default ``VAETransformer(2)`` on the digits' training half (seed 0),
captures the inputs that ``transform`` of 10,000 rows gives the compiled
placement loop (``skvae._placement._place_rows``), and times that loop, best
of three, with the power ``d^(2b)`` of each pull and push written in other
ways, against the built one (float32 ``powf``): ``exp(b log d)`` in float64 and
float32, ``frexp`` with polynomials and ``ldexp``, and ``d^2`` in its place
(wrong: a bound on what any power could save). Prints seconds and the largest
difference in a placed code.

Written for the loop as it was until the twelfth session, which moved the
power into ``_pull`` and ``_push`` and gave 2-D codes a loop of their own;
at later code the script stops at its check of the built power. Its
figures, and those of the polynomial powers tried then, are in
benchmarks/README.md.
"""

import math
import sys
import time

import numba
import numpy as np
from numba import prange

sys.path.insert(0, "benchmarks")
import bench_usecases as b  # noqa: E402
import skvae._placement as placement  # noqa: E402
from skvae import VAETransformer  # noqa: E402

FASTMATH = placement._FASTMATH
BUILT = "float(np.float32(d2) ** np.float32(b))"


@numba.njit(fastmath=FASTMATH, inline="always")
def frexp_power(x, b):
    """x ** b for x > 0: log2 by frexp and a polynomial in the mantissa, exp2 by a polynomial and ldexp."""
    m, e = math.frexp(x)
    t = 2.0 * m - 1.0
    log2 = t * (1.4426950408889634 + t * (-0.7213475204444817 + t * (0.4808983469629878 + t * (
        -0.3606737602222409 + t * (0.2885390081777927 + t * (-0.2404491734814939 + t * (
            0.2060992915555662 + t * -0.1803368801111204)))))))
    y = b * (e - 1 + log2)
    n = math.floor(y)
    f = y - n
    p = 1.0 + f * (0.6931471805599453 + f * (0.2402265069591007 + f * (0.05550410866482158 + f * (
        0.009618129107628477 + f * (0.0013333558146428443 + f * 0.00015403530393381606)))))
    return math.ldexp(p, int(n))


@numba.njit(fastmath=FASTMATH, inline="always")
def frexp_series_power(x, b):
    """x ** b for x > 0: log by frexp and the atanh series, exp2 by a polynomial and ldexp."""
    m, e = math.frexp(x)
    if m < 0.7071067811865476:
        m *= 2.0
        e -= 1
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    log = 2.0 * s * (1.0 + s2 * (1.0 / 3 + s2 * (0.2 + s2 * (1.0 / 7 + s2 / 9))))
    y = b * (e * 0.6931471805599453 + log) * 1.4426950408889634
    n = math.floor(y)
    f = y - n
    p = 1.0 + f * (0.6931471805599453 + f * (0.2402265069591007 + f * (0.05550410866482158 + f * (
        0.009618129107628477 + f * (0.0013333558146428443 + f * 0.00015403530393381606)))))
    return math.ldexp(p, int(n))


VARIANTS = {
    "float32 powf (built)": BUILT,
    "d^2 in its place (a bound)": "d2",
    "exp(b log d), float64": "math.exp(b * math.log(d2))",
    "exp(b log d), float32": "float(np.exp(np.float32(b) * np.log(np.float32(d2))))",
    "frexp, polynomial log2 and exp2, ldexp": "frexp_power(d2, b)",
    "frexp, series log, polynomial exp2, ldexp": "frexp_series_power(d2, b)",
}


def captured_inputs():
    """The arguments ``transform`` of 10,000 test digits gives the compiled loop."""
    X_train, X_test, _, _ = b.load("digits")
    model = VAETransformer(2, random_state=0).fit(X_train)
    captured = {}
    compiled = placement._numba

    def capture():
        numba_module, place = compiled()

        def wrapped(*args):
            captured["args"] = args
            return place(*args)
        return numba_module, wrapped

    placement._numba = capture
    try:
        model.transform(np.resize(X_test, (10_000, X_test.shape[1])))
    finally:
        placement._numba = compiled
    return captured["args"]


def main():
    args = captured_inputs()
    import inspect

    source = inspect.getsource(placement._place_rows).replace("_row_range", "prange")
    assert BUILT in source, "the built loop's power has changed: update BUILT"
    loops = {}
    for name, power in VARIANTS.items():
        namespace = {"np": np, "math": math, "prange": prange, "frexp_power": frexp_power,
                     "frexp_series_power": frexp_series_power}
        exec(source.replace(BUILT, power), namespace)
        loops[name] = numba.njit(parallel=True, fastmath=FASTMATH)(namespace["_place_rows"])
        loops[name](*args)  # compile
    reference = loops["float32 powf (built)"](*args)
    print("| power in the loop | seconds (best of 3) | largest difference in a code |\n|---|---|---|")
    for name, loop in loops.items():
        times = []
        for _ in range(3):
            start = time.perf_counter()
            out = loop(*args)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {min(times):.2f} | {np.abs(out - reference).max():.0e} |", flush=True)


if __name__ == "__main__":
    main()
