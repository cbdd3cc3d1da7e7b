"""Operator estimates from Python: scalar and vectorised paths agree, bad input names the
parameter, no NaN for valid shapes, and the accuracy table against calibration.csv."""

import math

import numpy as np
import pandas as pd
import pytest

import perfmodel
from perfmodel import validation


def test_gemm_scalar_fields_are_consistent():
    r = perfmodel.gemm("h100", 8192, 8192, 8192, dtype="fp8")
    assert r.chip == "nvidia-h100-sxm"
    assert r.flops == 2 * 8192**3
    assert r.bound == "compute"
    assert r.achieved_flops == pytest.approx(r.flops / r.time_s)
    assert r.intensity == pytest.approx(r.flops / r.hbm_bytes)
    assert r.time_s == pytest.approx(max(r.compute_time_s, r.memory_time_s) + r.overhead_s)
    policy = perfmodel.efficiency_policy("h100")
    # Hopper's epilogue does not overlap: compute time = main loop + the BF16 output at HBM speed.
    assert policy["epilogue_overlap"] is False
    main_loop = r.flops / (r.peak_flops * policy["matrix"] * r.wave_efficiency)
    store = 8192 * 8192 * 2 / (perfmodel.operators.device("h100").memory_bandwidth * policy["memory"])
    assert r.compute_time_s == pytest.approx(main_loop + store, rel=1e-9)
    overlapped = perfmodel.gemm("h100", 8192, 8192, 8192, dtype="fp8", efficiency={"epilogue_overlap": True})
    assert overlapped.compute_time_s == pytest.approx(main_loop, rel=1e-9)
    assert overlapped.fraction_of_peak == pytest.approx(policy["matrix"] * r.wave_efficiency, rel=0.01)
    assert "compute-bound" in repr(r)
    assert "<table>" in r._repr_html_()


def test_vectorised_gemm_matches_scalar_calls_and_broadcasts():
    m = np.array([1, 64, 1000, 4096, 30000])
    df = perfmodel.gemm("h800", m, 7168, 2048, dtype="fp8")
    assert isinstance(df, pd.DataFrame)
    assert list(df["n"]) == [7168] * 5
    for row in df.itertuples():
        one = perfmodel.gemm("h800", int(row.m), 7168, 2048, dtype="fp8")
        assert row.time_s == one.time_s
        assert row.bound == one.bound
    assert df["bound"].iloc[0] in {"memory", "latency"}
    assert df["bound"].iloc[-1] == "compute"


def test_decode_gemm_is_memory_bound_and_bandwidth_helps_only_then():
    base = perfmodel.gemm("h100", 64, 7168, 16384, dtype="fp8")
    faster = perfmodel.gemm("h100", 64, 7168, 16384, dtype="fp8", efficiency={"memory": 0.95})
    assert base.bound == "memory"
    assert faster.time_s < base.time_s
    # A compute-bound GEMM gains nothing where the epilogue overlaps (Blackwell), and only its
    # output store (under 3 % here) where it does not (Hopper).
    big = perfmodel.gemm("gb200", 16384, 16384, 16384, dtype="fp8")
    big_fast = perfmodel.gemm("gb200", 16384, 16384, 16384, dtype="fp8", efficiency={"memory": 0.95})
    assert big.bound == "compute" and big_fast.time_s == big.time_s
    hop = perfmodel.gemm("h100", 16384, 16384, 16384, dtype="fp8")
    hop_fast = perfmodel.gemm("h100", 16384, 16384, 16384, dtype="fp8", efficiency={"memory": 0.95})
    assert hop.bound == "compute" and 0.97 * hop.time_s < hop_fast.time_s < hop.time_s


def test_random_shapes_never_give_nan_or_inf():
    rng = np.random.default_rng(3)
    m, n, k = (rng.integers(1, 1 << 20, 20000) for _ in range(3))
    for chip, dtype in [("h100", "fp8"), ("910c", "int8"), ("gb200", "fp4"), ("a100", "tf32")]:
        df = perfmodel.gemm(chip, m, n, k % 65536 + 1, dtype=dtype)
        numeric = df.select_dtypes("number").to_numpy()
        assert np.isfinite(numeric).all(), chip
        assert (df["time_s"] > 0).all()
        assert (df["fraction_of_peak"] <= 1.2).all()
    el = perfmodel.elementwise("910b", "softmax", rng.integers(1, 1 << 40, 1000))
    assert np.isfinite(el.select_dtypes("number").to_numpy()).all()


def test_attention_and_elementwise():
    prefill = perfmodel.attention("h100", "prefill", "gqa", batch=1, kv_len=8192, heads=64, kv_heads=8)
    assert prefill.bound == "compute"
    decode = perfmodel.attention("h100", "decode", "gqa", batch=64, kv_len=8192, heads=64, kv_heads=8)
    assert decode.bound == "memory"
    mla = perfmodel.attention("910c", "decode", "mla", batch=96, kv_len=4096, heads=128, q_len=2)
    assert mla.bound == "compute"
    df = perfmodel.attention("h20", "decode", "mla", batch=[1, 8, 64], kv_len=4096, heads=128)
    assert list(df["batch"]) == [1, 8, 64]
    assert df["time_s"].is_monotonic_increasing
    add = perfmodel.elementwise("h100", "add", 1 << 28)
    assert add.bound == "memory"
    assert add.hbm_bytes == 3 * 2 * (1 << 28)
    emb = perfmodel.embedding("h100", tokens=4096, hidden=7168)
    assert emb.hbm_bytes == 2 * 2 * 4096 * 7168
    head = perfmodel.lm_head("h100", tokens=4096, hidden=7168, vocab=129280)
    assert head.flops == 2 * 4096 * 7168 * 129280


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: perfmodel.gemm("h100", 0, 8, 8), ["gemm", "m must be a positive integer, got 0"]),
        (lambda: perfmodel.gemm("h100", 8, 8, -1), ["k must be a positive"]),
        (lambda: perfmodel.gemm("910b", 8, 8, 8, dtype="fp8"), ["precision", "fp8", "huawei-ascend-910b"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, dtype="fp7"), ["unknown precision 'fp7'"]),
        (lambda: perfmodel.gemm("h100", 2**40, 2**40, 2**20), ["overflows a 64-bit count"]),
        (lambda: perfmodel.gemm("no-such-chip", 8, 8, 8), ["no-such-chip"]),
        (lambda: perfmodel.gemm("h100", [8, 0], 8, 8), ["index 1", "m must be"]),
        (lambda: perfmodel.gemm("h100", [8.5], 8, 8), ["m: expected integers"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"matrx": 0.5}), ["unknown key 'matrx'"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"matrix": 1.5}), ["'matrix'", "(0, 1.2]"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"matrix": "0.7"}), ["'matrix'", "expected a number", "'0.7'"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency=[("matrix", 0.7)]), ["efficiency", "expected a dict"]),
        (lambda: perfmodel.attention("h100", "prefill", "gqa", kv_len=10, q_len=20, heads=8, kv_heads=8),
         ["q_len (20) must not exceed kv_len (10)"]),
        (lambda: perfmodel.attention("h100", "decode", "mqb", heads=8), ["variant", "mqb"]),
        (lambda: perfmodel.elementwise("h100", "gelu", 10), ["expected one of copy"]),
        (lambda: perfmodel.gemm("bi150", 8, 8, 8), ["iluvatar-bi150", "bandwidth is unknown"]),
        # A narrow output format the chip lacks cannot be written (bf16 -> fp8 on an A100 was accepted).
        (lambda: perfmodel.gemm("a100", 8, 8, 8, out_dtype="fp8"), ["gemm: output", "no fp8 support", "a100"]),
    ],
)
def test_bad_input_raises_perfmodel_error_naming_the_parameter(call, words):
    with pytest.raises(perfmodel.Error) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def test_roofline_data_has_ridges_and_ceilings():
    r = perfmodel.roofline_data("h100", "bf16")
    top = r["compute"][0]
    assert top["flops"] == pytest.approx(989.4e12)
    hbm = [m for m in r["memory"] if not m["achievable"] and not m["onchip"]][0]
    assert hbm["ridge"] == pytest.approx(989.4e12 / 3.35e12)
    assert any(c["achievable"] for c in r["compute"])


def test_vectorised_path_releases_the_gil(main_thread_share):
    # While one thread runs a long vectorised call, another keeps running Python code at least a
    # fifth as fast as beside a sleeping thread (a call holding the GIL leaves it about 2 %).
    m = np.full(2_000_000, 4096, dtype=np.int64)
    share = main_thread_share(lambda: perfmodel.gemm("h100", m, m, m))
    assert share > 0.2, f"main thread ran at {share:.1%} of its rate beside a sleeping thread"
    # The measure tells the two apart: sorting a list holds the GIL throughout (about 1 %).
    xs = np.random.default_rng(0).random(1_000_000).tolist()
    assert main_thread_share(lambda: sorted(xs)) < 0.2


def test_operator_accuracy_against_calibration_csv(calibration_csv):
    df = validation.operator_accuracy(calibration_csv)
    with pd.option_context("display.width", 200, "display.max_colwidth", 70):
        print("\n" + df[["row", "unit", "measured", "predicted", "error", "status"]].to_string())
    ok = df[df["status"] == "ok"]
    # Rows are skipped only when the catalog lacks a figure, and the reason says which.
    skipped = df[df["status"] != "ok"]
    assert all("unknown" in s for s in skipped["status"]), skipped["status"].tolist()
    assert len(ok) >= 20
    worst = ok.loc[ok["error"].abs().idxmax()]
    assert abs(worst["error"]) <= 0.10, f"{worst['row']}: {worst['error']:+.1%}"
    assert ok["error"].abs().median() <= 0.05
    assert not any(math.isnan(x) for x in ok["predicted"])


def test_out_of_sample_notes_are_reported(capsys):
    df = validation.operator_accuracy(None, out_of_sample=True)
    print("\n" + df[["row", "setup", "measured", "predicted", "error"]].to_string())
    assert len(df) >= 31 and df["predicted"].notna().all()
    # Large and memory-bound cases generalise; the 1024^3 GEMM is a known miss (see README).
    notes = df[~df["row"].isin(["DeepGEMM table", "FA3 forward"])]
    big = notes[~notes["setup"].str.contains("1024")]
    assert big["error"].abs().max() <= 0.10
    # DeepGEMM's H800 table: most shapes within 10 %; the misses beyond 15 % are the ones the
    # explanation page names (few tiles at small M, short K or narrow N at M = 4096).
    table = df[df["row"] == "DeepGEMM table"]
    assert len(table) == 15
    assert table["error"].abs().median() <= 0.10
    misses = set(table.loc[table["error"].abs() > 0.15, "setup"].str.extract(r"(\d+x\d+x\d+)")[0])
    assert misses == {"64x7168x2048", "128x7168x2048", "4096x2112x7168", "4096x32768x512"}
    # FlashAttention-3 forward from 512 to 16K tokens: Hopper's serialized query load and output
    # store keep every length within 10 % (without them 512 tokens read +48 %).
    fa3 = df[df["row"] == "FA3 forward"]
    assert len(fa3) == 6 and fa3["error"].abs().max() <= 0.10


def test_estimates_follow_each_loaded_catalog_and_freed_catalogs_are_released(tmp_path):
    # Regression: prepared devices/networks/systems were cached globally by id(catalog): a catalog
    # loaded after another was freed could reuse its id and get the freed one's parts, and the
    # serving/training caches kept every catalog alive. Now the cache lives on the catalog.
    import gc
    import json
    import weakref

    def load(tbps):
        d = tmp_path / f"hbm{tbps}"
        d.mkdir(exist_ok=True)
        (d / "chip.json").write_text(json.dumps({
            "id": "what-if-h100", "kind": "chip", "extends": "h100",
            "memory": {"main": {"bandwidth": {"value": f"{tbps} TB/s", "source": "test", "confidence": "derived",
                                              "derived_from": "test"}}}}))
        (d / "system.json").write_text(json.dumps({
            "id": "what-if-dgx", "kind": "system", "extends": "dgx-h100", "chip": "what-if-h100"}))
        return perfmodel.catalog.load(d)

    base = perfmodel.gemm("h100", 1, 8192, 8192).memory_time_s * 3.35  # seconds at 1 TB/s
    refs = []
    for i in range(24):
        tbps = (1, 2, 4, 8)[i % 4]
        cat = load(tbps)
        # Memory-bound GEMV: time is inversely proportional to the bandwidth of *this* catalog.
        assert perfmodel.gemm("what-if-h100", 1, 8192, 8192, catalog=cat).memory_time_s == pytest.approx(base / tbps)
        perfmodel.collective("what-if-dgx", "all_reduce", "1G", 8, catalog=cat)
        perfmodel.inference("llama-3.1-8b", "what-if-dgx", mode="decode", batch=8, kv_len=1024, catalog=cat)
        perfmodel.training("llama-3.1-8b", "what-if-dgx", dp=8, global_batch=64, seq_len=2048, catalog=cat)
        refs.append(weakref.ref(cat))
        del cat
        gc.collect()
    assert all(r() is None for r in refs), "a freed catalog is still referenced by a cache"


def test_efficiency_policy_output_feeds_back_as_overrides():
    # What efficiency_policy() reports can be passed back unchanged: the same estimate results.
    pol = perfmodel.efficiency_policy("h100")
    keys = ("matrix", "attention", "vector", "memory", "launch_overhead_s")
    same = perfmodel.gemm("h100", 1024, 1024, 1024, efficiency={k: pol[k] for k in keys})
    assert same.time_s == pytest.approx(perfmodel.gemm("h100", 1024, 1024, 1024).time_s)
    slower = perfmodel.gemm("h100", 1024, 1024, 1024, efficiency={"launch_overhead_s": pol["launch_overhead_s"] + 10e-6})
    assert slower.time_s == pytest.approx(same.time_s + 10e-6)
    with pytest.raises(perfmodel.InvalidArgument, match="not both"):
        perfmodel.gemm("h100", 8, 8, 8, efficiency={"launch_overhead_s": 1e-6, "launch_overhead": "1 us"})


def test_gemm_time_never_falls_as_k_or_batch_grow():
    # Split-K over idle SMs pads K to the next 256 where that splits once more: 511 deep ran in
    # 1.8x the time of 512 (A100 FP32 128 x 128: 32 us vs 18 us).
    for chip, dtype in (("a100", "fp32"), ("h800", "fp64"), ("h20", "bf16"), ("h100", "bf16")):
        t = perfmodel.gemm(chip, 128, 128, np.arange(64, 4097), dtype=dtype)["time_s"].to_numpy()
        assert (np.diff(t) >= 0).all(), chip
    # A strided batched GEMM swaps A and B per element like a single one: batch 2 of a 16-row
    # decode GEMM costs two weight reads (it padded to 64 rows: 4.8x batch 1 on an H20).
    one, two = (perfmodel.gemm("h20", 16, 8192, 8192, batch=b).time_s for b in (1, 2))
    assert two <= 2 * one
    assert two == pytest.approx(2 * one, rel=0.05)


@pytest.mark.parametrize("call, words", [
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"attention_backward": "0.5"}), ["'attention_backward'", "number"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={1: 0.5}), ["override names are strings"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"swap_ab_rows": 2**70}), ["'swap_ab_rows'", "<= 256"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"tile_shapes": [(128.5, 128)]}), ["'tile_shapes'", "integer"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"tile_shapes": 5}), ["list of (m, n) pairs"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency={"launch_overhead": None}), ["'launch_overhead'", "number"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, efficiency=0), ["efficiency: expected a dict"]),
    (lambda: perfmodel.gemm("h100", [[1], [2, 3]], 8, 8), ["m: expected a flat list or array of integers"]),
    (lambda: perfmodel.gemm("h100", np.array([1e20]), 8, 8), ["m: expected integers <= 4611686018427387904"]),
    (lambda: perfmodel.gemm("h100\x00x", 8, 8, 8), ["chip:", "NUL"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, dtype="bogus"), ["dtype: unknown precision 'bogus'"]),
    (lambda: perfmodel.gemm("h100", 8, 8, 8, out_dtype="fp7"), ["out_dtype: unknown precision 'fp7'"]),
    (lambda: perfmodel.attention("h100", "decode", "mha", heads=32, kv_heads=8), ["kv_heads: variant='mha' has 32"]),
    (lambda: perfmodel.attention("h100", "decode", "mla", kv_heads=8), ["kv_heads: MLA's heads share one latent"]),
    (lambda: perfmodel.attention("h100", "decode", "gqa", kv_heads=8, kv_lora_rank=512), ["apply to variant='mla' only"]),
    (lambda: perfmodel.attention("h100", "decode", "mla", kv_lora_rank=2**62, rope_dim=2**62), ["kv_lora_rank: expected"]),
    (lambda: perfmodel.attention("h100", head_dim=0), ["head_dim: expected a positive integer"]),
    (lambda: perfmodel.lm_head("h100", 0, 8, 8), ["tokens: expected a positive integer"]),
    (lambda: perfmodel.embedding("h100", 2**31, 2**31), ["tokens x hidden", "at most 2^40"]),
    (lambda: perfmodel.roofline_data("h100", "bogus"), ["precision: unknown precision"]),
])
def test_operator_bad_input_is_named(call, words):
    with pytest.raises(perfmodel.InvalidArgument) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def test_operator_results_carry_their_arguments():
    import json

    a = perfmodel.attention("h100", "decode", "gqa", heads=np.int64(32), kv_heads=8, kv_dtype="fp8")
    d = a.to_dict()
    assert (d["heads"], d["kv_heads"], d["head_dim"], d["kv_dtype"], d["causal"]) == (32, 8, 128, "fp8", True)
    json.dumps(d)  # numpy integers made this fail
    assert perfmodel.gemm("h100", 64, 64, 64, dtype="fp8", out_dtype="fp32").to_dict()["out_dtype"] == "fp32"
