"""Python speed of the operator model (pytest-benchmark), each against a numpy baseline over the
same arrays measured in the same run. Run: scripts/run-benchmarks.sh (not part of the tests)."""

import numpy as np
import pytest

import perfmodel

N = 1_000_000
RNG = np.random.default_rng(0)
M, NN, K = (RNG.integers(1, 16384, N) for _ in range(3))


def test_baseline_numpy_flop_count(benchmark):
    """Baseline: 2*m*n*k and a division over the same 1e6 shapes in numpy."""
    benchmark(lambda: (2.0 * M * NN * K) / 1e15)


def test_vectorised_gemm_1e6(benchmark):
    df = benchmark(lambda: perfmodel.gemm("h100", M, NN, K))
    assert len(df) == N


def test_scalar_gemm_call(benchmark):
    r = benchmark(lambda: perfmodel.gemm("h100", 4096, 4096, 4096))
    assert r.bound == "compute"


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    bench = request.config._benchmarksession.benchmarks  # type: ignore[attr-defined]
    by = {b.name: b.stats.mean for b in bench if b.stats}
    if {"test_baseline_numpy_flop_count", "test_vectorised_gemm_1e6"} <= by.keys():
        vec = by["test_vectorised_gemm_1e6"]
        print(f"\nvectorised GEMM: {N / vec / 1e6:.2f} M estimates/s "
              f"({vec / by['test_baseline_numpy_flop_count']:.1f}x the numpy FLOP-count baseline)")
