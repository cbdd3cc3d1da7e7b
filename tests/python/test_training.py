"""perfmodel.training: accuracy against calibration.csv, physics properties, bad input, CLI."""

import json

import pytest

import perfmodel
from perfmodel.validation import OUT_OF_SAMPLE_TRAINING_CASES, TRAINING_CASES, training_accuracy

# Rows the model misses by more than 10 %, each explained in the README; the test fails if the
# set changes in either direction.
KNOWN_MISSES = {"LLAMA3-01"}

SMALL = dict(tp=8, pp=4, dp=2, global_batch=64, micro_batch=1, seq_len=4096, recompute="selective")


def test_training_accuracy_against_calibration(calibration_csv):
    df = training_accuracy(calibration_csv)
    print()
    print(df[["id", "published", "modelled", "error_pct", "mfu", "bubble", "bottleneck"]].to_string(index=False))
    assert len(df) == len(TRAINING_CASES) == 4
    misses = set(df.loc[df["error_pct"].abs() > 10, "id"])
    assert misses == KNOWN_MISSES
    assert df["error_pct"].abs().max() < 20


def test_llama3_out_of_sample_configurations_track_the_published_scaling():
    # Llama 3 Table 4: 430 (8K GPUs, DP64), 400 (16K, DP128), 380 (16K, CP16 at 131K). Nothing
    # was fitted to the 16K rows; the model keeps its LLAMA3-01 offset but must follow the
    # published loss from DP64 to DP128 (half the micro-batches per pipeline, twice the bubble share).
    # At 131K with load-balanced CP chunks the model reads +50 %: what Meta's long-context run
    # loses is not modelled (until session 23 each CP rank was charged the last chunk's causal
    # work, up to twice the balanced share, and the row read +13 %).
    case = TRAINING_CASES["LLAMA3-01"]
    base = perfmodel.training(case["model"], case["system"], **case["plan"]).model_flops_per_chip / 1e12
    cases = [c for c in OUT_OF_SAMPLE_TRAINING_CASES if c.row == "LLAMA3-01 source"]
    rows = [(c.measured, c.predict()) for c in cases]
    print()
    for c, (published, modelled) in zip(cases, rows):
        print(f"{c.setup[:60]:60s} published {published:.0f} model {modelled:.1f} ({(modelled / published - 1) * 100:+.1f} %)")
    (pub_dp128, mod_dp128), _ = rows
    assert mod_dp128 / base == pytest.approx(pub_dp128 / 430.0, abs=0.03)
    (_, (pub_cp, mod_cp)) = rows
    assert 1.0 < mod_dp128 / pub_dp128 < 1.15   # optimistic like LLAMA3-01 (+10 %), not worse
    assert 1.3 < mod_cp / pub_cp < 1.6


def test_megatron_weak_scaling_table_out_of_sample(calibration_csv):
    # Narayanan et al. Table 1: ten GPT sizes from 1.7B on 32 A100 to 1T on 3,072, as scripted in
    # run_table_1.sh. Two rows are calibration rows; the eight between them were never used to set
    # anything. All ten must stay within 12 %; the paper's finding that per-GPU throughput rises
    # from the mid sizes (18B-39B, 135-138) to the largest (530B-1T, 163) must hold in the model.
    cases = [c for c in OUT_OF_SAMPLE_TRAINING_CASES if c.row == "MEG-A100-01 source"]
    assert len(cases) == 8
    cal = training_accuracy(calibration_csv).set_index("id")
    first, last = (tuple(cal.loc[cid, ["published", "modelled"]]) for cid in ("MEG-A100-03", "MEG-A100-01"))
    rows = [first] + [(c.measured, c.predict()) for c in cases] + [last]
    errors = [m / p - 1 for p, m in rows]
    print()
    for (p, m), e in zip(rows, errors):
        print(f"published {p:.0f} model {m:.1f} ({e * 100:+.1f} %)")
    assert all(abs(e) < 0.12 for e in errors)
    modelled = [m for _, m in rows]
    assert min(modelled[-2:]) > 1.15 * max(modelled[3:5])   # published: 163 vs 138, +18 %


def test_megatron_bridge_fp8_table_out_of_sample():
    # Megatron-Bridge's NeMo 25.11 table: Llama 3 8B/70B/405B in FP8 on H100, B200, GB200 and GB300 (tokens/s
    # per GPU, set up as published). Nothing was fitted to them. Before 8-bit casts were counted the
    # model read +1.9 % to +26.9 % (median +12.7 %) on the first seven; the nine now read -13.7 % to
    # +13.6 %. Each row must stay within 22 %, the median within 10 %.
    from perfmodel.validation import BRIDGE_2511_DENSE

    errors = []
    print()
    for c in BRIDGE_2511_DENSE:
        modelled = c.predict()
        errors.append(modelled / c.measured - 1)
        print(f"{c.setup[:70]:70s} published {c.measured:7.0f} model {modelled:7.0f} ({errors[-1] * 100:+.1f} %)")
    assert len(errors) == 9
    assert all(abs(e) < 0.22 for e in errors)
    assert sorted(abs(e) for e in errors)[4] < 0.10
    # The MoE rows (Qwen3-235B-A22B, 256 H100 with NCCL all-to-all as the recipe sets it, 256 GB200,
    # 256 GB300): +1.1, +14.6 and -0.5 % now; with DeepEP-style exchange on H100 the first read +48.5 %.
    moe = [c for c in OUT_OF_SAMPLE_TRAINING_CASES if c.row == "Megatron-Bridge 25.11" and "qwen3" in c.setup]
    assert len(moe) == 3 and all(abs(c.predict() / c.measured - 1) < 0.25 for c in moe)


def test_ascend_910b_mindspeed_table_out_of_sample():
    # MindSpeed-LLM's 910B pretraining table, set up from its scripts (tokens/s per NPU), nothing
    # fitted: Llama 2 70B (TP8 PP4 with mc2) and Llama 2 7B (TP1 PP2 DP4) within 10 %. Llama 3 8B at
    # TP8 reads +17 %: its TP collectives are half hidden by the model's overlap, and an 8B model
    # split 8 ways leaves mc2 little to hide them behind. DaVinci's flash attention at its measured
    # 0.40 of peak (not the decode kernel's 0.654) moved the 8K rows most: 8B +33 -> +23 %; the
    # backward's second all-gather of each block input (sequence parallel) then +23 -> +17 %.
    rows = [(c.setup, c.measured, c.predict()) for c in OUT_OF_SAMPLE_TRAINING_CASES if c.row == "MindSpeed-LLM README"]
    print()
    for setup, published, modelled in rows:
        print(f"{setup[:60]:60s} published {published:.0f} model {modelled:.0f} ({(modelled / published - 1) * 100:+.1f} %)")
    (_, p70, m70), (_, p7, m7), (_, p8, m8), (_, p31, m31), (_, p3170, m3170) = rows
    assert abs(m70 / p70 - 1) < 0.10 and abs(m7 / p7 - 1) < 0.05
    assert 0.10 < m8 / p8 - 1 < 0.25
    # Llama 3.1 8B, the same layout with its TP collectives not overlapped (no mc2): +0.2 %.
    assert abs(m31 / p31 - 1) < 0.05
    # Llama 3.1 70B with its script's uneven stages (17/20/22/21): -10.7 %.
    assert abs(m3170 / p3170 - 1) < 0.12


def test_fp8_training_pays_for_its_casts():
    # Each FP8 GEMM's 16-bit input (forward) and output gradient (backward) is cast to 8 bits in two
    # layouts: 4 bytes moved per element. That traffic is in the step's bytes, and it keeps the FP8
    # step well short of the 2x the tensor cores alone would give.
    plan = dict(tp=1, pp=1, dp=8, global_batch=128, micro_batch=1, seq_len=8192, recompute="none", sharding="zero1",
                check_memory=False)
    fp8 = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="fp8", **plan)
    bf16 = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="bf16", **plan)
    f8, b16 = fp8.breakdown().set_index("part"), bf16.breakdown().set_index("part")
    # Forward bytes, FP8 minus BF16: the casts add 4 bytes per GEMM input element (q/k/v, output
    # projection, gate/up and down: 4096 + 4096 + 4096 + 14336 per token per layer); the GEMMs read
    # each input and weight element in 1 byte instead of 2. 32 layers x 16 micro-batches of 8,192.
    reps = 32 * 16
    inputs = (4096 * 3 + 14336) * 8192 * reps
    weights = (4096 * 6144 + 4096 * 4096 + 4096 * 28672 + 14336 * 4096) * reps
    assert f8.loc["forward", "bytes"] - b16.loc["forward", "bytes"] == pytest.approx(4 * inputs - inputs - weights,
                                                                                    rel=1e-6)
    speedup = bf16.step_time_s / fp8.step_time_s
    print(f"\nFP8 over BF16 step speedup: {speedup:.2f}")
    assert 1.3 < speedup < 1.6


def test_attention_backward_runs_at_its_family_share_of_the_forward_rate(tmp_path):
    # Hopper's flash-attention backward reaches 0.86 of its forward's FLOP rate (FlashAttention-3
    # and cuDNN at 8K tokens). A what-if family at 1.0 differs exactly by the attention backward:
    # per layer 2.5 x the forward kernel's time x (1/0.86 - 1); FLOPs are unchanged.
    (tmp_path / "eff.json").write_text(json.dumps({
        "id": "hopper-even-bwd", "kind": "efficiency", "extends": "nvidia-hopper",
        "attention_backward": {"value": 1.0, "source": "what-if", "confidence": "derived", "derived_from": "test"}}))
    (tmp_path / "chip.json").write_text(json.dumps(
        {"id": "h100-even-bwd", "kind": "chip", "extends": "nvidia-h100-sxm", "family": "hopper-even-bwd"}))
    (tmp_path / "sys.json").write_text(json.dumps(
        {"id": "dgx-h100-even-bwd", "kind": "system", "extends": "nvidia-dgx-h100", "chip": "h100-even-bwd"}))
    cat = perfmodel.catalog.load(tmp_path)
    assert perfmodel.efficiency_policy("h100")["attention_backward"] == 0.86
    # Blackwell's from cuDNN's SDPA benchmarks on B200 and GB200 (8K tokens, causal).
    assert perfmodel.efficiency_policy("b200")["attention_backward"] == 0.82
    plan = dict(dp=8, global_batch=8, micro_batch=1, seq_len=8192, recompute="none", check_memory=False)
    hopper = perfmodel.training("llama-3.1-8b", "dgx-h100", **plan).breakdown().set_index("part")
    even = perfmodel.training("llama-3.1-8b", "dgx-h100-even-bwd", catalog=cat, **plan).breakdown().set_index("part")
    fwd = perfmodel.attention("h100", "prefill", "gqa", batch=1, q_len=8192, kv_len=8192, heads=32, kv_heads=8,
                              head_dim=128).time_s
    assert hopper.loc["backward", "time_s"] - even.loc["backward", "time_s"] == pytest.approx(
        32 * 2.5 * fwd * (1 / 0.86 - 1), rel=1e-6)
    assert hopper.loc["forward", "time_s"] == even.loc["forward", "time_s"]
    assert hopper.loc["backward", "flops"] == even.loc["backward", "flops"]


def test_flop_counts_follow_narayanan_formula():
    # Narayanan et al. eq. 3 with full recompute: 96 B s l h^2 (1 + s/6h + V/16lh) per step.
    r = perfmodel.training("megatron-gpt-1t", "dgx-a100", **TRAINING_CASES["MEG-A100-01"]["plan"])
    B, s, l, h, V = 3072, 2048, 128, 25600, 51200
    paper = 96 * B * s * l * h**2 * (1 + s / (6 * h) + V / (16 * l * h))
    assert r.hardware_flops == pytest.approx(paper, rel=0.002)
    # Model FLOPs drop the recomputed forward: 72 B s l h^2 (1 + s/6h) + 6 B s h V.
    assert r.model_flops == pytest.approx(72 * B * s * l * h**2 * (1 + s / (6 * h)) + 6 * B * s * h * V, rel=0.002)
    assert r.tflops_per_chip == pytest.approx(r.model_flops / r.step_time_s / 3072 / 1e12)


def test_breakdown_sums_to_step_time():
    r = perfmodel.training("llama-3.1-70b", "dgx-h100", **SMALL)
    b = r.breakdown()
    assert b["exposed_s"].sum() == pytest.approx(r.step_time_s, rel=1e-9)
    assert (b["exposed_s"] <= b["time_s"] + 1e-12).all()
    assert set(b["part"]) >= {"forward", "backward", "bubble", "tp_comm", "pp_comm", "dp_comm", "optimizer"}
    # Backward GEMMs are twice the forward's; flash-attention backward 2.5x: backward/forward in (2, 2.5].
    fwd, bwd = (b.set_index("part").loc[p, "flops"] for p in ("forward", "backward"))
    assert 2.0 <= bwd / fwd <= 2.5


def test_bubble_follows_1f1b_and_interleaving():
    base = dict(SMALL, pp=8, dp=1, tp=8, global_batch=32)
    plain = perfmodel.training("llama-3.1-70b", "dgx-h100", **base)
    inter = perfmodel.training("llama-3.1-70b", "dgx-h100", virtual_stages=2, **base)
    # bubble = (p - 1) / v micro-batch slots after m = 32 of them.
    for r, v in ((plain, 1), (inter, 2)):
        b = r.breakdown().set_index("part")
        outside = b["exposed_s"].reindex(["optimizer", "dp_comm"]).fillna(0.0).sum()
        slots = (r.step_time_s - outside - b.loc["bubble", "exposed_s"]) / 32
        assert b.loc["bubble", "exposed_s"] == pytest.approx(7 / v * slots, rel=1e-6)
    assert inter.step_time_s < plain.step_time_s


def test_more_data_parallel_replicas_scale_throughput_at_most_linearly():
    # Same per-replica work; only the gradient reduce-scatter / parameter all-gather are added,
    # partly hidden under the last micro-batch: tokens/s grows by at most 16x and close to it.
    one = perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8, dp=1, global_batch=16, seq_len=4096)
    many = perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8, dp=16, global_batch=256, seq_len=4096)
    b1, b16 = (r.breakdown().set_index("part") for r in (one, many))
    assert b16.loc["forward", "time_s"] == pytest.approx(b1.loc["forward", "time_s"])
    assert b16.loc["dp_comm", "exposed_s"] > 0
    assert 13 < many.tokens_per_s / one.tokens_per_s <= 16 * (1 + 1e-9)
    hidden = perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8, dp=16, global_batch=256, seq_len=4096,
                                overlap_dp=False)
    assert hidden.tokens_per_s < many.tokens_per_s


def test_switches_move_time_the_right_way():
    base = perfmodel.training("llama-3.1-70b", "dgx-h100", **SMALL)
    full = perfmodel.training("llama-3.1-70b", "dgx-h100", **dict(SMALL, recompute="full"))
    none = perfmodel.training("llama-3.1-70b", "dgx-h100", **dict(SMALL, recompute="none"))
    assert none.step_time_s <= base.step_time_s < full.step_time_s
    assert full.memory["activations"] < base.memory["activations"]
    # HFU counts what runs: recomputation adds a forward; a causal flash kernel computes half the
    # scores that model FLOPs count (so without recompute HFU sits a little below MFU).
    assert full.hfu > full.mfu and none.hfu < none.mfu
    assert none.hfu > 0.9 * none.mfu
    tp_ov = perfmodel.training("llama-3.1-70b", "dgx-h100", overlap_tp=True, **SMALL)
    assert tp_ov.step_time_s < base.step_time_s
    no_dp = perfmodel.training("llama-3.1-70b", "dgx-h100", overlap_dp=False, **SMALL)
    assert no_dp.step_time_s > base.step_time_s
    z3 = perfmodel.training("llama-3.1-70b", "dgx-h100", sharding="zero3", **SMALL)
    assert z3.memory["weights"] == pytest.approx(base.memory["weights"] / 2)
    assert z3.memory["optimizer"] == pytest.approx(base.memory["optimizer"])


def test_faster_network_never_slows_training(tmp_path):
    # An A100 whose NVLink and NIC are twice as fast, nothing else changed: every plan is at least
    # as fast, and strictly faster where communication is exposed.
    for name, part in {
        "a100-net.json": {"id": "a100-net", "kind": "chip", "extends": "a100", "name": "A100, 2x links",
                          "scale_up": {"bandwidth_bidirectional": _derived("1200 GB/s")},
                          "scale_out": {"bandwidth_per_direction": _derived("50 GB/s")}},
        "dgx-net.json": {"id": "dgx-a100-net", "kind": "system", "extends": "dgx-a100", "name": "x", "chip": "a100-net"},
    }.items():
        (tmp_path / name).write_text(json.dumps(part))
    cat = perfmodel.catalog.load(tmp_path)
    assert cat.get("a100-net")["scale_out"]["bandwidth_per_direction"]["value"] == "50 GB/s"
    for plan in (dict(dp=32, micro_batch=4, overlap_dp=False), dict(dp=32, micro_batch=4, overlap_dp=True),
                 dict(tp=8, dp=4, micro_batch=1, sequence_parallel=True), dict(tp=4, pp=2, dp=4, micro_batch=2)):
        kw = dict(global_batch=512, seq_len=2048, **plan)
        base = perfmodel.training("megatron-gpt-1.7b", "dgx-a100", n_chips=32, **kw)
        fast = perfmodel.training("megatron-gpt-1.7b", "dgx-a100-net", n_chips=32, catalog=cat, **kw)
        assert fast.step_time_s <= base.step_time_s, plan
        exposed = sum(exp for _, kind, _, exp, *_ in base.parts if kind == "communication")
        if exposed > 1e-3 * base.step_time_s:
            assert fast.step_time_s < base.step_time_s, plan


def _derived(value):
    return {"value": value, "source": "what-if", "confidence": "derived", "derived_from": "2 x A100"}


def test_time_to_train_and_chip_hours():
    r = perfmodel.training("llama-3.1-405b", "dgx-h100", train_tokens=15.6e12,
                           **dict(TRAINING_CASES["LLAMA3-01"]["plan"], recompute="full", check_memory=True))
    assert r.time_to_train_s == pytest.approx(15.6e12 / r.tokens_per_s)
    assert r.chip_hours == pytest.approx(r.time_to_train_s * 8192 / 3600)
    # Meta reports 30.84M H100-hours for Llama 3.1 405B pre-training (model card); the plan here
    # (full recompute to fit our memory model) is the same order.
    assert 15e6 < r.chip_hours < 60e6
    assert perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8).time_to_train_s is None
    # Text with an SI multiplier, as the CLI's --train-tokens takes it.
    plan = dict(TRAINING_CASES["LLAMA3-01"]["plan"], recompute="full")
    assert perfmodel.training("llama-3.1-405b", "dgx-h100", train_tokens="15.6T", **plan).time_to_train_s == \
        pytest.approx(r.time_to_train_s, rel=1e-12)
    with pytest.raises(perfmodel.InvalidArgument, match=r"train_tokens: expected a count such as 15\.6e12 or '15\.6T', got '15\.6X'"):
        perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8, train_tokens="15.6X")


@pytest.mark.parametrize("opts, match", [
    (dict(tp=8, dp=2, n_chips=24), "not the 24 chips asked"),
    (dict(tp=8, pp=3), "does not divide the 80 layers"),
    (dict(tp=8, dp=3, global_batch=512), "does not divide the global batch"),
    (dict(tp=3), "does not divide the 64 attention heads"),
    (dict(tp=16), "exceeds the scale-up domain"),
    (dict(tp=8, pp=4, virtual_stages=3), "virtual_stages=3"),
    (dict(tp=1, dp=1, recompute="none", seq_len=8192, micro_batch=8), "over by"),
    (dict(tp=8, recompute="some"), "expected none, selective or full"),
    (dict(tp=8, sharding="zero4"), "sharding"),
    (dict(tp=8, precision="int8"), "bf16, fp16 or fp8"),
    (dict(tp=8, ep=2), "has no experts"),
    (dict(tp=8, layout="lighter_ends", pp=3), "lighter_ends"),
    (dict(tp=8, grad_reduce_bytes=3), "grad_reduce_bytes"),
    (dict(tp=8, micro_batch=0), "micro_batch: must be >= 1"),
    (dict(tp=8, bf16_layers=1), "bf16_layers: keeps end layers in bf16 within an fp8 plan; precision is bf16"),
    (dict(tp=8, precision="fp8", bf16_layers=41), "bf16_layers: must be between 0 and half the 80 layers"),
    (dict(tp=8, precision="fp8", bf16_layers=-1), "bf16_layers"),
    (dict(tp=8, fp8_params=True), "fp8_params: holds weights in 8 bits for an fp8 plan"),
])
def test_bad_plans_name_the_constraint(opts, match):
    with pytest.raises(perfmodel.Error, match=match):
        perfmodel.training("llama-3.1-70b", "dgx-h100", **opts)


def test_bad_input_unknown_option_and_system():
    with pytest.raises(perfmodel.Error, match="unknown training option"):
        perfmodel.training("llama-3.1-8b", "dgx-h100", tensor_parallel=8)
    with pytest.raises(perfmodel.NotFound):
        perfmodel.training("llama-3.1-8b", "no-such-system")


def test_moe_training_runs_expert_parallel():
    r = perfmodel.training("mixtral-8x7b", "dgx-h100", tp=2, dp=8, ep=8, global_batch=64, seq_len=4096,
                           sharding="zero2")
    b = r.breakdown().set_index("part")
    assert b.loc["ep_comm", "time_s"] > 0
    # Active FLOPs: Mixtral runs 2 of 8 experts, so model FLOPs/token are far below 6 x 46.7B.
    assert r.model_flops / r.tokens_per_step < 6 * 20e9
    # The expert group may span TP ranks (Megatron-Core folding); MoE at tp > 1 needs sequence
    # parallelism (each TP rank routes its own quarter of the tokens: without it every rank ran every
    # token through its experts); EP16 exceeds the 8 ranks.
    with pytest.raises(perfmodel.InvalidArgument, match="mixtral-8x7b at tp=4 needs sequence parallelism"):
        perfmodel.training("mixtral-8x7b", "dgx-h100", tp=4, dp=2, ep=4, global_batch=64, seq_len=4096,
                           sequence_parallel=False)
    with pytest.raises(perfmodel.InvalidArgument, match="must divide tp x cp x dp = 8"):
        perfmodel.training("mixtral-8x7b", "dgx-h100", tp=4, dp=2, ep=16, global_batch=64, seq_len=4096)
    wide = perfmodel.training("mixtral-8x7b", "dgx-h100", tp=4, dp=2, ep=8, global_batch=64, seq_len=4096,
                              sharding="zero2", check_memory=False)
    assert wide.breakdown().set_index("part").loc["ep_comm", "time_s"] > 0


def test_moe_dispatcher_alltoall_sends_every_routed_copy():
    # Qwen3-235B (top-8 of 128 experts) over EP32 on four H100 nodes. NCCL all-to-all sends each
    # routed copy to its expert's rank; a DeepEP-style dispatcher sends a token once per rank (8 of 128
    # experts land on ~7.2 of 32 ranks: 1/0.9 the copies) and crosses InfiniBand once per remote node,
    # forwarding over NVLink. So all-to-all moves ~11 % more bytes but takes over twice as long.
    plan = dict(tp=2, pp=8, dp=16, ep=32, virtual_stages=4, global_batch=2048, seq_len=4096, precision="fp8",
                layout="lighter_ends", recompute="none", check_memory=False)
    deepep = perfmodel.training("qwen3-235b-a22b", "dgx-h100", **plan).breakdown().set_index("part")
    a2a = perfmodel.training("qwen3-235b-a22b", "dgx-h100", moe_dispatcher="alltoall", **plan).breakdown().set_index("part")
    ranks_hit = 32 * (1 - (1 - 1 / 32) ** 8)
    assert a2a.loc["ep_comm", "bytes"] / deepep.loc["ep_comm", "bytes"] == pytest.approx(8 / ranks_hit, rel=0.03)
    assert a2a.loc["ep_comm", "time_s"] > 2.0 * deepep.loc["ep_comm", "time_s"]
    assert (a2a.loc["forward", "flops"], a2a.loc["backward", "flops"]) == (deepep.loc["forward", "flops"],
                                                                          deepep.loc["backward", "flops"])
    with pytest.raises(perfmodel.InvalidArgument, match="moe_dispatcher: llama-3.1-8b has no experts to dispatch to"):
        perfmodel.training("llama-3.1-8b", "dgx-h100", dp=8, global_batch=8, seq_len=1024, moe_dispatcher="alltoall")
    with pytest.raises(perfmodel.InvalidArgument, match="moe_dispatcher: expected deepep or alltoall"):
        perfmodel.training("qwen3-235b-a22b", "dgx-h100", moe_dispatcher="nccl", **plan)


def test_result_repr_html_and_cli(capsys):
    r = perfmodel.training("llama-3.1-8b", "dgx-h100", tp=8)
    assert "MFU" in repr(r) and "<table>" in r._repr_html_()
    from perfmodel.cli import main

    assert main(["train", "llama-3.1-70b", "dgx-h100", "--tp", "8", "--pp", "4", "--dp", "2", "--global-batch", "64",
                 "--seq-len", "4096", "--train-tokens", "1e12"]) == 0
    out = capsys.readouterr().out
    assert "tflops_per_chip" in out and "bubble" in out and "chip_hours" in out
    assert main(["train", "mixtral-8x7b", "dgx-h100", "--tp", "2", "--dp", "16", "--ep", "8", "--global-batch", "64",
                 "--seq-len", "4096", "--moe-dispatcher", "alltoall", "--precision", "fp8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["moe_dispatcher"] == "alltoall"
    assert main(["train", "llama-3.1-8b", "dgx-h100", "--tp", "8", "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    assert js["summary"]["chips"] == 8
    assert main(["train", "llama-3.1-70b", "dgx-h100", "--tp", "3"]) == 2
    assert "does not divide" in capsys.readouterr().err
    assert main(["train", "llama-3.1-8b", "dgx-h100", "--tp", "8", "--precision", "fp8", "--bf16-layers", "1",
                 "--fp8-params", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["bf16_layers"] == 1 and plan["fp8_params"] is True
    assert main(["train", "llama-3.1-8b", "dgx-h100", "--tp", "8", "--bf16-layers", "1"]) == 2
    assert "bf16_layers: keeps end layers in bf16 within an fp8 plan" in capsys.readouterr().err


def test_explicit_stage_layout_list(capsys):
    # layout=[...] is Megatron's --num-layer-list: a list equal to the even split is the even
    # layout; an uneven one is paced by its heaviest stage; bad lists name the constraint.
    plan = dict(tp=8, pp=4, global_batch=64, seq_len=4096, recompute="none", check_memory=False)
    even = perfmodel.training("llama-3.1-70b", "dgx-h100", **plan)
    assert perfmodel.training("llama-3.1-70b", "dgx-h100", layout=[20, 20, 20, 20], **plan).step_time_s == \
        pytest.approx(even.step_time_s, rel=1e-12)
    uneven = perfmodel.training("llama-3.1-70b", "dgx-h100", layout=(24, 18, 19, 19), **plan)
    assert uneven.step_time_s > even.step_time_s
    import numpy as np  # numpy integers (or an array of them) are integers here too

    assert perfmodel.training("llama-3.1-70b", "dgx-h100", layout=np.array([24, 18, 19, 19]), **plan).step_time_s == \
        uneven.step_time_s
    with pytest.raises(perfmodel.InvalidArgument, match=r"parallel.stage_layers: the stages hold 79 layers, llama-3.1-70b has 80"):
        perfmodel.training("llama-3.1-70b", "dgx-h100", layout=[20, 20, 20, 19], **plan)
    with pytest.raises(perfmodel.InvalidArgument, match=r"layout: expected 'even', 'lighter_ends' or a list"):
        perfmodel.training("llama-3.1-70b", "dgx-h100", layout=[20, 20, 20, 20.0], **plan)
    from perfmodel.cli import main

    assert main(["train", "llama-3.1-70b", "dgx-h100", "--tp", "8", "--pp", "4", "--global-batch", "64",
                 "--layout", "24,18,19,19", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"]["layout"] == [24, 18, 19, 19]
    with pytest.raises(SystemExit):
        main(["train", "llama-3.1-70b", "dgx-h100", "--tp", "8", "--pp", "4", "--layout", "24;18"])
    assert "comma-separated layers per stage" in capsys.readouterr().err


def test_fp8_end_layers_in_bf16_cost_their_share_and_unbalance_the_pipeline():
    # Megatron-Bridge's FP8 current-scaling recipe keeps the first and last layer in bf16. On one
    # stage the step grows linearly with the bf16 layers, and all 32 in bf16 is the bf16 plan.
    plan = dict(tp=1, dp=1, global_batch=4, micro_batch=1, seq_len=4096, recompute="none", check_memory=False)
    step = {k: perfmodel.training("llama-3.1-8b", "dgx-h100", precision="fp8", bf16_layers=k, **plan).step_time_s
            for k in (0, 1, 2, 16)}
    bf16 = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="bf16", **plan).step_time_s
    assert step[2] - step[1] == pytest.approx(step[1] - step[0], rel=1e-9)
    assert step[16] == pytest.approx(bf16, rel=1e-9)
    assert step[1] > step[0]
    # With four stages both bf16 layers sit on the end stages: the slowest (last) stage carries one
    # of its 8 layers in bf16, so the pipeline slows by about twice the single stage's share (2 of 32).
    pipe = dict(plan, pp=4, global_batch=32)
    p0, p1 = (perfmodel.training("llama-3.1-8b", "dgx-h100", precision="fp8", bf16_layers=k, **pipe).step_time_s
              for k in (0, 1))
    assert (p1 / p0 - 1) > 1.5 * (step[1] / step[0] - 1)


def test_fp8_keeps_gemm_inputs_and_optionally_weights_in_8_bits():
    # An fp8 layer saves the inputs of its four weight GEMMs in 8 bits: per token and layer,
    # hidden (QKV) + hidden (FC1) + heads x head_dim (projection) + ffn (FC2) bytes fewer.
    plan = dict(tp=1, dp=1, global_batch=2, micro_batch=2, seq_len=4096, recompute="none", check_memory=False)
    bf16 = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="bf16", **plan).memory
    fp8 = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="fp8", **plan).memory
    assert bf16["activations"] - fp8["activations"] == pytest.approx(2 * 4096 * 32 * (4096 + 4096 + 4096 + 14336))
    assert fp8["weights"] == bf16["weights"]
    held = perfmodel.training("llama-3.1-8b", "dgx-h100", precision="fp8", fp8_params=True, **plan).memory
    assert held["weights"] == pytest.approx(fp8["weights"] / 2)


def test_published_fp8_configurations_fit_in_memory():
    # Megatron-Bridge ran these FP8 plans (NeMo 25.11 table); with 8-bit saved GEMM inputs, FP8
    # parameters and the memory the driver reports (GB200 185 GiB, GB300 276.5 GiB, not the
    # catalog's 186 and 279 GB stored until session 21; GB300's is NVIDIA's 288 GB now) the memory
    # model accepts all nine. With those capacity figures
    # GB200 405B (197 GB) and GB300 405B (294 GB) were rejected.
    from perfmodel.validation import BRIDGE_2511_DENSE

    fits = {}
    for c in BRIDGE_2511_DENSE:
        try:
            c.predict(check_memory=True)  # type: ignore[call-arg]
            fits[c.setup[:40]] = True
        except perfmodel.InvalidArgument as e:
            assert "memory:" in str(e)
            fits[c.setup[:40]] = False
    print()
    for k, v in fits.items():
        print(f"{k:40s} {'fits' if v else 'over'}")
    assert len(fits) == 9 and all(fits.values()), fits


def test_unfused_fp32_cross_entropy_moves_its_passes():
    # Megatron's default loss casts the logits to fp32 and makes six passes over them (38 bytes per
    # logit forward, 14 backward) where a fused loss makes one (4 and 8 bytes at 16 bits).
    plan = dict(tp=1, dp=1, global_batch=2, micro_batch=1, seq_len=4096, recompute="none", check_memory=False)
    fused = perfmodel.training("llama-3.1-8b", "dgx-h100", **plan)
    unfused = perfmodel.training("llama-3.1-8b", "dgx-h100", loss_fusion=False, **plan)
    f, u = fused.breakdown().set_index("part"), unfused.breakdown().set_index("part")
    logits = 2 * 4096 * 128256
    assert u.loc["forward", "bytes"] - f.loc["forward", "bytes"] == pytest.approx(34 * logits, rel=1e-6)
    assert u.loc["backward", "bytes"] - f.loc["backward", "bytes"] == pytest.approx(6 * logits, rel=1e-6)
    assert unfused.step_time_s > fused.step_time_s


def test_optimizer_step_moves_adam_clipping_and_loss_scaling_bytes():
    # Adam 30 B per parameter plus 4 B for the gradient-norm read; fp16 adds the fp32 gradient
    # copy and the unscale with its inf/NaN check (14 B). Unsharded, every rank steps every weight.
    plan = dict(tp=1, dp=8, global_batch=8, micro_batch=1, seq_len=2048, sharding="none", check_memory=False)
    opt = {p: perfmodel.training("llama-3.1-8b", "dgx-h100", precision=p, **plan).breakdown().set_index("part")
           .loc["optimizer", "bytes"] for p in ("bf16", "fp16")}
    params = perfmodel.models.get("llama-3.1-8b").parameters
    assert opt["bf16"] == pytest.approx(34 * params, rel=0.01)
    assert opt["fp16"] / opt["bf16"] == pytest.approx(48 / 34, rel=1e-9)


def test_ranks_on_the_dies_of_a_chip(capsys):
    # CANN runs each Ascend 910C die as a device. On 384 CloudMatrix chips, TP8 PP4 over whole
    # chips (DP12) and over their 768 dies (DP24) do the same compute-bound work per chip: the
    # per-chip throughput, MFU and memory capacity agree; the weights double (every die holds a
    # TP8 PP4 shard) and the result counts both chips and ranks.
    plan = dict(tp=8, pp=4, global_batch=1536, seq_len=4096, check_memory=False)
    chips = perfmodel.training("llama-3.1-70b", "cloudmatrix-384", dp=12, **plan)
    dies = perfmodel.training("llama-3.1-70b", "cloudmatrix-384", dp=24, ranks_per_chip=2, **plan)
    assert (chips.summary()["chips"], dies.summary()["chips"], dies.summary()["ranks"]) == (384, 384, 768)
    assert "ranks" not in chips.summary()
    assert dies.tokens_per_s_per_chip == pytest.approx(chips.tokens_per_s_per_chip, rel=0.03)
    assert dies.mfu == pytest.approx(chips.mfu, rel=0.03)
    assert dies.memory["capacity"] == pytest.approx(chips.memory["capacity"])
    assert dies.memory["weights"] == pytest.approx(2 * chips.memory["weights"])
    # n_chips without dp: dp is what the dies leave (384 x 2 / (8 x 4) = 24), the same plan.
    by_count = perfmodel.training("llama-3.1-70b", "cloudmatrix-384", n_chips=384, ranks_per_chip=2, **plan)
    assert by_count.plan["dp"] == 24 and by_count.step_time_s == dies.step_time_s
    # torchtitan-npu's DeepSeek-V3 run on 128 dies (tokens/s per die, per its README): the model
    # is within 25 % of the published 546 and reads twice that per chip.
    (row,) = [c for c in OUT_OF_SAMPLE_TRAINING_CASES if c.row == "torchtitan-npu README"]
    per_die = row.predict()
    print(f"torchtitan-npu DeepSeek-V3 on 128 dies: published {row.measured:.0f}, model {per_die:.0f} tokens/s/die "
          f"({per_die / row.measured - 1:+.1%})")
    assert abs(per_die / row.measured - 1) < 0.25  # -19.0 %
    with pytest.raises(perfmodel.InvalidArgument, match=r"parallel.ranks_per_chip: tp x cp x dp x pp = 3 ranks do not fill"):
        perfmodel.training("llama-3.1-8b", "cloudmatrix-384", dp=3, global_batch=3, ranks_per_chip=2)
    with pytest.raises(perfmodel.InvalidArgument, match=r"ranks_per_chip: expected a positive integer, got 0"):
        perfmodel.training("llama-3.1-8b", "cloudmatrix-384", ranks_per_chip=0)
    with pytest.raises(perfmodel.InvalidArgument, match=r"ranks_per_chip: expected an integer, got float 2.0"):
        perfmodel.training("llama-3.1-8b", "cloudmatrix-384", ranks_per_chip=2.0)
    from perfmodel.cli import main

    capsys.readouterr()
    assert main(["train", "llama-3.1-70b", "cloudmatrix-384", "--tp", "8", "--pp", "4", "--dp", "24",
                 "--global-batch", "1536", "--seq-len", "4096", "--ranks-per-chip", "2", "--no-memory-check",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    assert (summary["chips"], summary["ranks"]) == (384, 768)


def test_hfu_counts_executed_flops_and_stays_below_the_matrix_fraction():
    # GPT 1.7B at 32K tokens on A100: attention dominates, and model FLOPs count it non-causal
    # (the reporting convention), so MFU passes 1; HFU counts the causal kernel's half and stays
    # under the family's achievable GEMM fraction whatever the recomputation.
    plan = dict(n_chips=8, tp=1, dp=8, global_batch=8, seq_len=32768, check_memory=False)
    fraction = perfmodel.efficiency_policy("a100")["matrix"]
    for recompute in ("none", "selective", "full"):
        r = perfmodel.training("megatron-gpt-1.7b", "dgx-a100", recompute=recompute, **plan)
        assert r.hfu <= fraction, recompute
    assert perfmodel.training("megatron-gpt-1.7b", "dgx-a100", recompute="none", **plan).mfu > 1


def test_moe_layers_keep_each_tokens_routed_copies():
    # A MoE layer stores top_k copies of each token's hidden state (the experts' FC1 inputs) and
    # the experts' outputs (for the router probabilities' gradient), besides top_k intermediates:
    # top_k 2 -> 4 adds, per token and layer, 2 x (2 + 2) x hidden plus 2 x 3 x 2 x expert_ffn bytes.
    moe = {"routed_experts": 8, "expert_ffn": 2048}
    act = {}
    for k in (2, 4):
        m = perfmodel.models.define(id=f"moe-k{k}", layers=4, hidden=1024, heads=8, ffn=4096, vocab=32000,
                                    moe=dict(moe, top_k=k))
        act[k] = perfmodel.training(m, "dgx-h100", n_chips=1, global_batch=1, seq_len=2048, recompute="none",
                                    check_memory=False).memory["activations"]
    assert act[4] - act[2] == pytest.approx(2048 * 4 * 2 * (2 * 2 * 1024 + 3 * 2 * 2048))


def test_memory_is_the_fullest_stage_not_a_mix_of_stages():
    # Llama 3.1 70B on 4 x 8 910B (64 GiB), stages of 18/18/18/26 layers: the first stage keeps four
    # micro-batches' activations, the last the most weights. The check used the 26-layer stage's
    # weights with the first stage's activations (78.8 GB, rejected); each stage fits on its own.
    plan = dict(tp=8, pp=4, dp=1, global_batch=512, seq_len=8192)
    uneven = perfmodel.training("llama-3.1-70b", "atlas-800t-a2", layout=[18, 18, 18, 26], **plan)
    even = perfmodel.training("llama-3.1-70b", "atlas-800t-a2", check_memory=False, **plan)  # 69.6 GB: over
    assert uneven.memory["total"] <= uneven.memory["capacity"]
    # The fullest stage here is the last: more weights than an even stage, one micro-batch in flight.
    assert uneven.memory["weights"] > even.memory["weights"]
    assert uneven.memory["activations"] < even.memory["activations"]


def test_overlapped_classes_share_the_compute_they_hide_under(tmp_path):
    # ZeRO-3 gathers, their reduce-scatter and TP collectives each hid up to eta x the same compute,
    # so twice the matrix peak (less compute to hide under) lengthened this step 114 -> 118 ms.
    # Together they now hide at most eta x the step's compute: the faster chip is faster.
    (tmp_path / "chip.json").write_text(json.dumps({
        "id": "b200-2x-matrix", "kind": "chip", "extends": "nvidia-b200",
        "compute": {p: {"matrix": {"value": v, "source": "what-if", "confidence": "derived", "derived_from": "x2"}}
                    for p, v in {"bf16": "4.5 PFLOP/s", "fp16": "4.5 PFLOP/s", "fp8": "9 PFLOP/s"}.items()}}))
    (tmp_path / "sys.json").write_text(json.dumps({"id": "dgx-b200-2x-matrix", "kind": "system", "extends": "dgx-b200",
                                                   "chip": "b200-2x-matrix"}))
    cat = perfmodel.catalog.load(tmp_path)
    plan = dict(tp=8, dp=2, micro_batch=4, global_batch=8, seq_len=1024, recompute="full", sharding="zero3",
                overlap_tp=True)
    base = perfmodel.training("llama-3.1-8b", "dgx-b200", catalog=cat, **plan)
    fast = perfmodel.training("llama-3.1-8b", "dgx-b200-2x-matrix", catalog=cat, **plan)
    assert fast.step_time_s < base.step_time_s
    for r in (base, fast):
        b = r.breakdown()
        assert b["exposed_s"].sum() == pytest.approx(r.step_time_s, rel=1e-9)
        compute = b.set_index("part").loc[["forward", "backward", "recompute"], "time_s"].sum()
        comm = b[b["kind"] == "communication"]
        assert (comm["time_s"] - comm["exposed_s"]).sum() <= 0.5 * compute * (1 + 1e-9)


def test_breakdown_adds_up_with_bf16_end_layers_and_expert_parallelism():
    # The bf16 end layers of an FP8 plan exchange 16-bit activations: the expert and tensor
    # exchanges in the breakdown take them from those layers, as the step time does (the
    # parts fell 0.1-0.7 % short of the step, ep_comm the same for 0, 1 and 2 bf16 layers).
    kw = dict(tp=1, dp=8, ep=8, global_batch=64, seq_len=4096, precision="fp8", check_memory=False)
    ep = []
    for n in (0, 1, 2):
        r = perfmodel.training("mixtral-8x7b", "dgx-h100", bf16_layers=n, **kw)
        b = r.breakdown().set_index("part")
        assert b["exposed_s"].sum() == pytest.approx(r.step_time_s, rel=1e-12)
        ep.append(b.loc["ep_comm", "time_s"])
    assert ep[0] < ep[1] < ep[2]
    assert ep[2] - ep[1] == pytest.approx(ep[1] - ep[0], rel=1e-9)  # one more 16-bit layer each


def test_expert_state_shards_and_reduces_over_the_expert_group():
    # Mixtral on 8 H100s, DP8 x EP8 with ZeRO-3: each expert lives on one rank, so its weights,
    # gradients and optimizer state cannot be sharded over the 8 data-parallel ranks (the plan read
    # 53 GB and "fit"): 11.68 / 23.35 / 70.05 GB, as with ep=1, 145.0 GB in all.
    kw = dict(dp=8, sharding="zero3", global_batch=64, seq_len=4096, check_memory=False)
    ep8 = perfmodel.training("mixtral-8x7b", "dgx-h100", ep=8, **kw).memory
    ep1 = perfmodel.training("mixtral-8x7b", "dgx-h100", ep=1, **kw).memory
    for part in ("weights", "gradients", "optimizer"):
        assert ep8[part] == pytest.approx(ep1[part], rel=1e-9), part
    assert ep8["optimizer"] / 1e9 == pytest.approx(70.05, abs=0.01)
    with pytest.raises(perfmodel.InvalidArgument, match=r"memory: training plan \(mixtral-8x7b, tp 1 pp 1 cp 1 dp 8 ep 8\) needs 145 GB"):
        perfmodel.training("mixtral-8x7b", "dgx-h100", ep=8, **{**kw, "check_memory": True})
    # EP splits the experts and the expert group shards what EP leaves: fully sharded, every ep
    # holds 1/8 of each expert per rank; with only the optimizer sharded (ZeRO-1) EP cuts the
    # weights but not the optimizer state (EP2: 4 replicas of each expert share it 4 ways).
    z1 = {ep: perfmodel.training("mixtral-8x7b", "dgx-h100", ep=ep, **{**kw, "sharding": "zero1"}).memory for ep in (1, 2)}
    assert z1[2]["weights"] < 0.6 * z1[1]["weights"]
    assert z1[2]["optimizer"] == pytest.approx(z1[1]["optimizer"], rel=1e-9)


def _parts(r):
    return r.breakdown().set_index("part")


def test_pipeline_with_fewer_micro_batches_than_stages_waits_for_them():
    # A micro-batch crosses all pp x v chunks in turn: the schedule takes max(m, pp) +
    # (min(m, pp) - 1)/v micro-batch slots. 4 micro-batches over 8 stages, v = 2: 8 + 3/2 slots,
    # a bubble of 5.5 slots (the m >= pp formula, (pp - 1)/v, gave 3.5 and beat the physical bound).
    kw = dict(tp=8, pp=8, dp=1, global_batch=4, seq_len=4096, recompute="full", check_memory=False, overlap_pp=False)
    r = perfmodel.training("llama-3.1-70b", "dgx-h100", virtual_stages=2, **kw)
    b = _parts(r)["exposed_s"]
    steady = r.step_time_s - b["bubble"] - b["optimizer"]
    assert b["bubble"] / steady == pytest.approx(5.5 / 4, rel=1e-9)
    # One micro-batch: interleaving has nothing to interleave (pp slots either way, more sends).
    one = {v: perfmodel.training("llama-3.1-70b", "dgx-h100", virtual_stages=v, **{**kw, "global_batch": 1}) for v in (1, 10)}
    assert one[10].step_time_s >= one[1].step_time_s


def test_context_parallel_ranks_share_the_causal_work_evenly():
    # Load-balanced CP chunks: the ranks together do the work of one rank at cp = 1 (each was
    # charged the last chunk's causal pairs, 1.875x the share at cp 8).
    flops = {}
    for cp in (1, 8):
        r = perfmodel.training("llama-3.1-8b", "dgx-h100", tp=1, cp=cp, dp=8 // cp, global_batch=8, seq_len=32768,
                               recompute="none", check_memory=False)
        p = _parts(r)
        flops[cp] = (p.loc["forward", "flops"] + p.loc["backward", "flops"]) * 8
    assert flops[8] == pytest.approx(flops[1], rel=1e-3)
    # The ring runs again for recomputed attention: 4 passes of K/V, not 3.
    cpb = {rc: _parts(perfmodel.training("llama-3.1-8b", "dgx-h100", tp=1, cp=4, dp=2, global_batch=2, seq_len=65536,
                                         recompute=rc, check_memory=False)).loc["cp_comm", "bytes"]
           for rc in ("none", "selective", "full")}
    assert cpb["selective"] == cpb["full"] == pytest.approx(cpb["none"] * 4 / 3, rel=1e-12)
    # MLA expands K and V per head before the ring: DeepSeek-V3 at cp 2 moves T x 128 heads x
    # (128 + 64 + 128) x 2 bytes per pass (the 576-wide latent was sent instead).
    ds = perfmodel.training("deepseek-v3", "nvl72", tp=1, cp=2, dp=32, ep=64, global_batch=64, seq_len=8192,
                            recompute="full", check_memory=False)
    T = 8192 // 2
    per_layer = 4 * T * 128 * (128 + 64 + 128) * 2
    assert _parts(ds).loc["cp_comm", "bytes"] == pytest.approx(ds.micro_batches * 61 * per_layer, rel=1e-9)


def test_zero2_and_3_write_each_micro_batch_gradient_fresh():
    # ZeRO-2/3 reduce-scatter every micro-batch's gradients and hold only their shard: the
    # weight-gradient GEMMs write a new buffer, so two micro-batches move twice one's bytes. ZeRO-1
    # adds into its full fp32 buffer (read and written) from the second micro-batch on.
    kw = dict(tp=1, dp=8, seq_len=2048, recompute="full", check_memory=False)
    for sh in ("zero2", "zero3", "zero1"):
        b = [_parts(perfmodel.training("llama-3.1-8b", "dgx-h100", global_batch=g, sharding=sh, **kw)).loc["backward", "bytes"]
             for g in (8, 16)]
        if sh == "zero1":
            assert b[1] > 2.4 * b[0]
        else:
            assert b[1] == pytest.approx(2 * b[0], rel=1e-12)
    # The shard accumulates instead: each later micro-batch adds its reduce-scattered fp32 gradient
    # (read both, write one: 12 bytes per parameter of the 1/8 shard).
    opt = [_parts(perfmodel.training("llama-3.1-8b", "dgx-h100", global_batch=g, sharding="zero3", **kw)).loc["optimizer", "bytes"]
           for g in (8, 16, 24)]
    per_mb = 12 * perfmodel.models.get("llama-3.1-8b").parameters / 8
    assert opt[1] - opt[0] == pytest.approx(per_mb, rel=1e-9) and opt[2] - opt[1] == pytest.approx(per_mb, rel=1e-9)


def test_context_parallel_all_gather_as_llama_3_runs_it():
    # cp_comm="allgather": K/V all-gathered before attention (cp - 1 chunks in), dK/dV reduce-scattered
    # after it (cp - 1 out), all exposed; the ring moves K/V forward once and K/V plus dK/dV back: 3/2 of it.
    kw = dict(tp=8, cp=4, dp=1, global_batch=2, seq_len=65536, recompute="none", check_memory=False)
    ring = perfmodel.training("llama-3.1-70b", "dgx-h100", **kw)
    ag = perfmodel.training("llama-3.1-70b", "dgx-h100", cp_comm="allgather", **kw)
    T, kv = 65536 // 4, 2 * 1 * 128  # tokens per CP rank; one of 8 KV heads per TP rank, K and V
    per_layer = 2 * 3 * T * kv * 2  # (cp - 1) chunks each way, bf16
    assert _parts(ag).loc["cp_comm", "bytes"] == pytest.approx(ag.micro_batches * 80 * per_layer, rel=1e-12)
    assert _parts(ring).loc["cp_comm", "bytes"] == pytest.approx(1.5 * _parts(ag).loc["cp_comm", "bytes"], rel=1e-12)
    assert _parts(ag).loc["cp_comm", "exposed_s"] == _parts(ag).loc["cp_comm", "time_s"] > 0
    assert _parts(ring).loc["cp_comm", "exposed_s"] < _parts(ring).loc["cp_comm", "time_s"]
    # The gathered K/V stay for the backward: (cp - 1) x T x kv x 2 bytes per layer and micro-batch in flight.
    extra = ag.memory["activations"] - ring.memory["activations"]
    assert extra == pytest.approx(80 * 3 * T * kv * 2, rel=1e-9)
    # Recomputed attention gathers again (one more forward's bytes) and keeps no gathered K/V.
    sel_ring = perfmodel.training("llama-3.1-70b", "dgx-h100", **{**kw, "recompute": "selective"})
    sel_ag = perfmodel.training("llama-3.1-70b", "dgx-h100", cp_comm="allgather", **{**kw, "recompute": "selective"})
    assert _parts(sel_ag).loc["cp_comm", "bytes"] == pytest.approx(1.5 * _parts(ag).loc["cp_comm", "bytes"], rel=1e-12)
    assert sel_ag.memory["activations"] == sel_ring.memory["activations"]
    for bad, msg in ((dict(cp=1, dp=4, global_batch=4), "^cp_comm: sets how context-parallel ranks share K/V; cp is 1"),
                     (dict(cp_comm="p2p"), "^cp_comm: expected ring or allgather, got 'p2p'")):
        with pytest.raises(perfmodel.InvalidArgument, match=msg):
            perfmodel.training("llama-3.1-70b", "dgx-h100", **{**kw, "cp_comm": "allgather", **bad})


def test_tensor_parallel_collectives_as_megatron_runs_them():
    kw = dict(tp=8, dp=1, global_batch=2, seq_len=4096, recompute="none", check_memory=False)
    # Sequence parallel: the backward gathers each block's input again for the weight gradient,
    # 5 collectives of (tp-1)/tp x T x h x 2 bytes per block against the all-reduce's 2 + 2.
    sp = _parts(perfmodel.training("llama-3.1-8b", "dgx-h100", sequence_parallel=True, **kw)).loc["tp_comm", "bytes"]
    ar = _parts(perfmodel.training("llama-3.1-8b", "dgx-h100", sequence_parallel=False, **kw)).loc["tp_comm", "bytes"]
    assert sp / ar == pytest.approx(5 / 4, rel=1e-12)
    blocks = 2 * 32 + 1  # attention and FFN per layer, the LM head
    assert sp == pytest.approx(2 * blocks * 5 * 7 / 8 * 4096 * 4096 * 2, rel=1e-12)
    # A MoE layer with sequence parallelism routes the TP group's split tokens to unsplit experts:
    # no TP collective of its own (Mixtral: the attention blocks and the LM head only).
    mx = perfmodel.training("mixtral-8x7b", "dgx-h100", tp=2, dp=4, ep=4, global_batch=8, seq_len=4096,
                            sequence_parallel=True, recompute="none", check_memory=False)
    assert _parts(mx).loc["tp_comm", "bytes"] == pytest.approx(2 * (32 + 1) * 5 * 0.5 * 4096 * 4096 * 2, rel=1e-12)


def test_moe_gradients_travel_in_16_bits_and_1f1b_waits_for_its_sends():
    kw = dict(tp=1, dp=8, ep=8, global_batch=8, seq_len=4096, recompute="none", check_memory=False, moe_dispatcher="alltoall")
    ep = {p: _parts(perfmodel.training("mixtral-8x7b", "dgx-h100", precision=p, **kw)).loc["ep_comm", "bytes"]
          for p in ("bf16", "fp8")}
    # fp8 dispatches its forward tokens in 8 bits; the combine and both backward exchanges stay 16-bit.
    assert ep["fp8"] / ep["bf16"] == pytest.approx(7 / 8, rel=1e-9)
    # 1F1B has no other micro-batch's compute to hide a send under: overlap_pp changes nothing at v 1.
    pipe = dict(tp=8, pp=4, dp=1, global_batch=16, seq_len=4096, recompute="full", check_memory=False)
    on, off = (perfmodel.training("llama-3.1-70b", "dgx-h100", overlap_pp=o, **pipe) for o in (True, False))
    assert on.step_time_s == off.step_time_s
    assert _parts(on).loc["pp_comm", "exposed_s"] == _parts(on).loc["pp_comm", "time_s"] > 0


def test_sharded_gradients_are_reduced_every_micro_batch():
    # ZeRO-1 accumulates a full gradient buffer and reduce-scatters it once; ZeRO-2 holds only its
    # shard, so each of the 8 micro-batches reduce-scatters its gradients (fp32: 4 B, then 2 B of
    # parameters gathered once): 8 x 4 + 2 against 4 + 2 bytes per weight.
    kw = dict(dp=8, global_batch=64, seq_len=4096, recompute="full", check_memory=False)
    r = {s: perfmodel.training("llama-3.1-8b", "dgx-h100", sharding=s, **kw) for s in ("zero1", "zero2")}
    assert r["zero1"].micro_batches == 8
    dp = {s: _parts(x).loc["dp_comm", "bytes"] for s, x in r.items()}
    assert dp["zero2"] / dp["zero1"] == pytest.approx((8 * 4 + 2) / (4 + 2), rel=1e-9)
    assert r["zero2"].memory["gradients"] == pytest.approx(r["zero1"].memory["gradients"] / 8, rel=1e-9)
    assert r["zero2"].step_time_s >= r["zero1"].step_time_s
