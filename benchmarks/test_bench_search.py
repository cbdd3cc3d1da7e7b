"""Python speed of single estimates and of a plan search (pytest-benchmark), each reported against
a baseline measured in the same run. Run: scripts/run-benchmarks.sh (not part of the tests).
The scaling tables (candidates 1e3..1e7, chips 8..1M) come from benchmarks/search_scaling.py."""

import pytest

import perfmodel
from perfmodel import _core

TRAIN = dict(n_chips=64, tp=8, pp=8, dp=1, micro_batch=1, global_batch=1536, seq_len=2048)
DECODE = dict(mode="decode", kv_len=4096, precision="int8", batch=96 * 160, dp_attention=320, ranks_per_chip=2,
              redundant_experts=64, mtp_tokens=1, overlap=True)
SPACE = dict(n_chips=64, tp=[1, 2, 4, 8, 16, 32, 64], pp=[1, 2, 4, 8, 16, 32, 64], dp=[1, 2, 4, 8, 16, 32, 64],
             micro_batch=[1, 2, 4, 8, 16, 32, 64, 128], virtual_stages=[1, 2, 3, 4, 6, 8],
             recompute=["none", "selective", "full"], sharding=["none", "optimizer", "gradients", "parameters"],
             sequence_parallel=[False, True], overlap_dp=[False, True], overlap_tp=[False, True],
             overlap_pp=[False, True], global_batch=1536, seq_len=2048)


def test_baseline_binding_call(benchmark):
    """Baseline: a trivial call into the extension (pybind11 overhead)."""
    benchmark(lambda: _core.search_fields("training"))


def test_training_estimate(benchmark):
    r = benchmark(lambda: perfmodel.training("gpt-3-175b", "dgx-a100", **TRAIN))
    assert r.mfu > 0


def test_serving_estimate(benchmark):
    r = benchmark(lambda: perfmodel.inference("deepseek-r1", "cloudmatrix-384", **DECODE))
    assert r.tpot_ms > 0


def test_gpt3_plan_search(benchmark):
    df = benchmark.pedantic(lambda: perfmodel.search_training("gpt-3-175b", "dgx-a100", objective="mfu",
                                                              progress=False, **SPACE), rounds=5, iterations=1)
    assert df.attrs["total"] == 3_161_088


@pytest.fixture(scope="module", autouse=True)
def _report(request):
    yield
    bench = request.config._benchmarksession.benchmarks  # type: ignore[attr-defined]
    by = {b.name: b.stats.mean for b in bench if b.stats}
    base = by.get("test_baseline_binding_call")
    if base:
        for name in ("test_training_estimate", "test_serving_estimate"):
            if name in by:
                print(f"\n{name}: {by[name] * 1e6:.1f} us per call ({by[name] / base:.0f}x a trivial binding call)")
        if "test_gpt3_plan_search" in by:
            t = by["test_gpt3_plan_search"]
            print(f"GPT-3 175B / 64 GPU plan search: {t:.3f} s, {3_161_088 / t:,.0f} candidates/s "
                  f"({t / by.get('test_training_estimate', t):.0f} Python training estimates' time)")
