"""Serving model: models, HF config reader, estimates, properties, bad input, accuracy."""

import json
import re
import pathlib
import math

import pytest

import perfmodel
from perfmodel import models, validation

# Rows the model misses by more than 15 %, each explained in the README; the test fails if the
# set changes in either direction.
# MLPI-H100-01 became a miss when serve mode stopped undercounting chunked prefill (session 5):
# the model runs prompt chunks and decode steps one after the other, while in-flight batching
# fuses them into one pass over the weights.
KNOWN_MISSES = {"CM384-PF-01", "SGL-GB200-DC-01"}

DS_DECODE = dict(mode="decode", precision="int8", kv_len=4096, batch=96 * 160, dp_attention=320, ranks_per_chip=2,
                 redundant_experts=64, mtp_tokens=1, overlap=True)


def test_builtin_models_have_published_sizes():
    # Model cards: 671B / 37B, 405B, 70B, 46.7B / 12.9B, 235B / 22B, 175B.
    expect = {"deepseek-r1": (671, 37), "llama-3.1-405b": (405, None), "llama-2-70b": (69, None),
              "mixtral-8x7b": (46.7, 12.9), "qwen3-235b-a22b": (235, 22), "gpt-3-175b": (175, None),
              "llama-3.1-8b": (8.0, None), "qwen3-8b": (8.2, None)}
    for name, (total, active) in expect.items():
        m = models.get(name)
        assert m.parameters / 1e9 == pytest.approx(total, rel=0.03), name
        if active is not None:
            assert m.active_parameters / 1e9 == pytest.approx(active, rel=0.05), name
    assert len(models.names()) >= 12
    assert models.get("dsr1").id == "deepseek-r1"
    assert models.table().loc["deepseek-v3", "attention"] == "MLA"


def test_hf_config_reader_matches_builtin(tmp_path):
    cfg = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "hidden_size": 7168,
           "num_hidden_layers": 61, "num_attention_heads": 128, "intermediate_size": 18432, "vocab_size": 129280,
           "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
           "v_head_dim": 128, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
           "first_k_dense_replace": 3, "moe_intermediate_size": 2048, "num_nextn_predict_layers": 1}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    m = models.from_hf_config(tmp_path)  # a directory works too
    assert m.parameters == pytest.approx(models.get("deepseek-v3").parameters)
    qwen = {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 4096,
            "num_hidden_layers": 94, "num_attention_heads": 64, "num_key_value_heads": 4, "head_dim": 128,
            "intermediate_size": 12288, "vocab_size": 151936, "num_experts": 128, "num_experts_per_tok": 8,
            "moe_intermediate_size": 1536, "hidden_act": "silu"}
    p = tmp_path / "qwen.json"
    p.write_text(json.dumps(qwen))
    assert models.from_hf_config(p).parameters == pytest.approx(models.get("qwen3-235b-a22b").parameters)


def test_bad_model_files_name_file_and_field(tmp_path):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({"architectures": ["MambaForCausalLM"], "hidden_size": 10}))
    with pytest.raises(perfmodel.ConfigError, match=r'config.json: architectures: "MambaForCausalLM" is not supported'):
        models.from_hf_config(p)
    p.write_text(json.dumps({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2}))
    with pytest.raises(perfmodel.ConfigError, match="hidden_size: missing"):
        models.from_hf_config(p)
    q = tmp_path / "m.json"
    q.write_text(json.dumps({"id": "x", "source": "s", "layers": 2, "hidden": 64, "heads": 4, "kv_heads": 3,
                             "ffn": 128, "vocab": 100}))
    with pytest.raises(perfmodel.ConfigError, match=r"m.json: kv_heads: expected a positive divisor of heads=4"):
        models.load(q)
    q.write_text(json.dumps({"id": "x", "source": "s", "layers": 2, "hidden": 64, "heads": 4, "ffn": 128,
                             "vocab": 100, "layer": 3}))
    with pytest.raises(perfmodel.ConfigError, match="layer: unknown field"):
        models.load(q)
    with pytest.raises(perfmodel.NotFound, match="llama-2-7b"):
        models.get("llama-2-7")


LLAMA_8B_HF = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
               "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
               "intermediate_size": 14336, "vocab_size": 128256, "max_position_embeddings": 131072,
               "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192}}


@pytest.mark.parametrize("change, message", [
    # transformers picks the class from model_type: two names for different models is not guessed
    (dict(architectures="LlamaForCausalLM"), r"architectures: expected a list of class names"),
    # hidden / heads rounded down to a head size transformers refuses
    (dict(hidden_size=4100), r"hidden_size: expected a multiple of num_attention_heads=32 \(or a head_dim value\), got 4100"),
    # two supported models named at once are not guessed between
    (dict(model_type="qwen2"), r'model_type: "qwen2" does not match architectures "LlamaForCausalLM"'),
    (dict(architectures=[], model_type="gemma2"), r'model_type: "gemma2" is not supported; expected one of llama, '),
    (dict(rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": -5}),
     r"rope_scaling.original_max_position_embeddings: expected a positive integer up to 2\^30, got -5"),
    # the stretched context is named as rope_scaling's, not as max_position_embeddings
    (dict(rope_scaling={"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": 2**28}),
     r"rope_scaling: original_max_position_embeddings 268435456 x factor 8 is past 2\^30"),
    (dict(max_position_embeddings=None, rope_scaling="junk"), r"rope_scaling: expected a JSON object"),
    # a message cut inside a two-byte character was undecodable (UnicodeDecodeError)
    (dict(rope_scaling="\u00e9" * 40), r'rope_scaling: expected a JSON object, got "\u00e9+\.\.\.'),
    (dict(model_type="lla\u0000ma"), r'model_type: expected text without NUL characters, got "lla\\u0000ma"'),
])
def test_hf_config_refuses_what_transformers_would_not_read_alike(tmp_path, change, message):
    p = tmp_path / "config.json"
    p.write_text(json.dumps({**LLAMA_8B_HF, **change}))
    with pytest.raises(perfmodel.ConfigError, match=message):
        models.from_hf_config(p)


def test_hf_config_reads_a_type_of_its_own_as_its_class(tmp_path):
    # Kimi-K2 ships DeepseekV3ForCausalLM with model_type "kimi_k2" (run as DeepSeek-V3); an empty
    # architectures list reads as absent; a local _name_or_path is not an id.
    ds = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "kimi_k2", "hidden_size": 7168,
          "num_hidden_layers": 61, "num_attention_heads": 64, "intermediate_size": 18432, "vocab_size": 163840,
          "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
          "v_head_dim": 128, "n_routed_experts": 384, "n_shared_experts": 1, "num_experts_per_tok": 8,
          "first_k_dense_replace": 1, "moe_intermediate_size": 2048, "_name_or_path": "/home/me/ckpt/k2"}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(ds))
    k2 = models.from_hf_config(p)
    assert k2.moe["routed_experts"] == 384 and k2.id == "deepseek_v3"
    assert k2.parameters / 1e9 == pytest.approx(1026, rel=0.01)  # Kimi-K2's card: 1T total, 32B active
    assert k2.active_parameters / 1e9 == pytest.approx(32, rel=0.05)
    p.write_text(json.dumps({**LLAMA_8B_HF, "architectures": []}))
    assert models.from_hf_config(p).parameters / 1e9 == pytest.approx(8.03, abs=0.005)


def test_hf_config_names_its_own_keys_and_its_repository(tmp_path):
    qwen2_moe = {"architectures": ["Qwen2MoeForCausalLM"], "model_type": "qwen2_moe", "hidden_size": 2048,
                 "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 5632, "vocab_size": 151936,
                 "num_experts": 60, "num_experts_per_tok": 4, "moe_intermediate_size": 1408,
                 "shared_expert_intermediate_size": 5632, "_name_or_path": "Qwen/Qwen1.5-MoE-A2.7B"}
    p = tmp_path / "config.json"
    p.write_text(json.dumps(qwen2_moe))
    m = models.from_hf_config(p)
    assert m.id == "Qwen/Qwen1.5-MoE-A2.7B" and m.moe["shared_experts"] == 4
    assert m.parameters / 1e9 == pytest.approx(14.3, abs=0.05)  # the model card's 14.3B
    # 1408 x 2^32 narrowed to an int read as 0 shared experts; now refused under the config's key
    p.write_text(json.dumps({**qwen2_moe, "shared_expert_intermediate_size": 1408 * 2**32}))
    with pytest.raises(perfmodel.ConfigError, match="shared_expert_intermediate_size: expected at most 256 x"):
        models.from_hf_config(p)
    p.write_text(json.dumps({**qwen2_moe, "mlp_only_layers": 5}))
    with pytest.raises(perfmodel.ConfigError, match="mlp_only_layers: expected a list of layer indices, got 5"):
        models.from_hf_config(p)


def test_hf_config_paths_the_core_cannot_open_are_named(tmp_path):
    import os
    import pickle

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # reading it blocked forever
    with pytest.raises(perfmodel.NotFound, match="not a regular file"):
        models.from_hf_config(fifo)
    with pytest.raises(perfmodel.NotFound, match="not a regular file"):
        models.load(fifo)
    with pytest.raises(perfmodel.NotFound, match="File name too long"):
        models.from_hf_config(tmp_path / ("a" * 300))
    with pytest.raises(perfmodel.InvalidArgument, match="contains a NUL character"):
        models.from_hf_config(str(tmp_path) + "/x\0y")
    with pytest.raises(perfmodel.InvalidArgument, match="is not valid UTF-8"):
        models.from_hf_config(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.json"))
    with pytest.raises(perfmodel.InvalidArgument, match="contains a NUL character"):
        models.get("llama-3.1-8b\0x")

    class BytesPath:
        def __fspath__(self) -> bytes:
            return bytes(tmp_path / "config.json")

    (tmp_path / "config.json").write_text(json.dumps(LLAMA_8B_HF))
    m = models.from_hf_config(BytesPath())  # was read as the path "b'/...'"
    assert m.parameters / 1e9 == pytest.approx(8.03, abs=0.005)
    # A Model pickles (for Dask workers): a built-in one by id, a loaded one by its fields.
    again = pickle.loads(pickle.dumps(m))
    assert again.to_dict() == m.to_dict() and again.parameters == m.parameters
    assert pickle.loads(pickle.dumps(models.get("deepseek-r1"))) is models.get("deepseek-r1")


def test_models_defined_in_python_match_files_and_name_bad_fields(tmp_path):
    import numpy as np

    spec = json.loads((pathlib.Path(__file__).parents[2] / "data/models/llama-3.1-70b.json").read_text())
    m = models.define(spec, id="my-70b")                       # a file's content, one field overridden
    assert m.id == "my-70b" and m.parameters == models.get("llama-3.1-70b").parameters
    # Narayanan et al. Table 1 quote 39.1B for h=8192, 48 layers: 12 l h^2 (1 + 13/12h + (V + s)/12lh)
    gpt = models.define(id="gpt-39b", layers=np.int64(48), hidden=8192, heads=64, ffn=32768, vocab=51200,
                        activation="gelu", tied_embeddings=True)
    assert gpt.parameters / 1e9 == pytest.approx(39.1, abs=0.05)
    assert perfmodel.training(gpt, "dgx-a100", tp=8, pp=2, dp=2, global_batch=16, micro_batch=2).tflops_per_chip > 0
    base = dict(id="x", layers=2, hidden=64, heads=4, vocab=100, ffn=128)
    for bad, msg in [(dict(hidden=64.5), r"models.define\(x\): hidden: expected an integer"),
                     (dict(hidden=float("nan")), r"models.define\(x\): hidden: expected an integer, got nan"),
                     (dict(moe={"top_k": object()}), r"moe.top_k: expected an integer, string"),
                     (dict(kv_heads=3), r"kv_heads: expected a positive divisor of heads=4"),
                     (dict(layer=3), r"layer: unknown field")]:
        with pytest.raises(perfmodel.ConfigError, match=msg):
            models.define(base, **bad)
    with pytest.raises(perfmodel.ConfigError, match=r"models.define\(\?\): id: missing"):
        models.define(layers=2)
    # to_dict() and attributes are copies: editing one to define a variant leaves the model as it is,
    # and the variant needs an id of its own (a built-in's id with other fields is refused).
    d = models.get("deepseek-v3").to_dict()
    d["moe"]["top_k"] = 4
    d2 = models.get("deepseek-v3").moe
    d2["top_k"] = 2
    assert models.get("deepseek-v3").moe["top_k"] == 8 and models.table().loc["deepseek-v3", "top_k"] == 8
    with pytest.raises(perfmodel.ConfigError, match=r"models.define\(deepseek-v3\): id: 'deepseek-v3' is a built-in"):
        models.define(d)
    assert models.define(d, id="ds-top4").moe["top_k"] == 4
    # A file under a built-in's id with other fields is refused too; a distinct one pickles (Dask).
    import pickle

    d = models.get("llama-3.1-8b").to_dict()
    d["layers"] = 16
    f = tmp_path / "half.json"
    f.write_text(json.dumps({k: v for k, v in d.items() if v is not None}))
    with pytest.raises(perfmodel.ConfigError, match="id: 'llama-3.1-8b' is a built-in model with other fields"):
        models.load(f)
    f.write_text(json.dumps({**{k: v for k, v in d.items() if v is not None}, "id": "llama-half"}))
    half = models.load(f)
    assert pickle.loads(pickle.dumps(half)).to_dict() == half.to_dict()
    assert models.define(models.get("llama-3.1-8b").to_dict()).parameters == models.get("llama-3.1-8b").parameters


def test_prefill_expert_exchange_permutes_tokens_and_decode_does_not():
    # Mixtral on one H100 node, DP attention + EP8 (one expert per GPU), FP8. A normal-mode (prefill)
    # exchange copies the routed rows into expert order at the dispatch width (1 byte in, 1 out) and
    # gathers them back at 16 bits (2 + 2): 6 bytes per routed element on top of the two grouped GEMMs
    # and SwiGLU. The low-latency (decode) exchange writes the expert layout directly: no copies.
    import math

    h, f, layers = 4096, 14336, 32

    def expert_bytes(tokens_per_rank, permute):
        mean = tokens_per_rank * 8 * 2 / 8  # 8 ranks' tokens x top-2 over 8 experts
        rows = math.ceil(mean * (1 + math.sqrt(2 * math.log(8) / mean)))
        per = (perfmodel.gemm("h100-sxm", rows, 2 * f, h, dtype="fp8").hbm_bytes
               + perfmodel.gemm("h100-sxm", rows, h, f, dtype="fp8").hbm_bytes
               + perfmodel.elementwise("h100-sxm", "gated", rows * f).hbm_bytes)
        return layers * (per + (6 * rows * h if permute else 0))

    for mode, kw, tokens in (("prefill", dict(input_len=4096, batch=32), 4 * 4096), ("decode", dict(kv_len=4096, batch=512), 64)):
        r = perfmodel.inference("mixtral-8x7b", "dgx-h100", mode=mode, precision="fp8", dp_attention=8, overlap=False, **kw)
        b = r.breakdown().set_index("part")
        assert b.loc["moe_experts", "bytes"] == pytest.approx(expert_bytes(tokens, mode == "prefill"), rel=1e-9)


def test_decode_estimate_is_consistent():
    r = perfmodel.inference("deepseek-r1", "cm384", **DS_DECODE)
    d = r.decode
    assert r.accepted_tokens_per_step == pytest.approx(1.7)
    assert r.tpot_s == pytest.approx(d["time_s"] / 1.7)
    assert r.output_tokens_per_s_per_chip == pytest.approx(96 * 1.7 / d["time_s"])
    # Two 160-NPU instances fit in the 384: 320 NPUs serve, 64 idle.
    assert r.output_tokens_per_s_per_system == pytest.approx(r.output_tokens_per_s_per_chip * 320)
    b = r.breakdown()
    assert b["exposed_s"].sum() == pytest.approx(d["time_s"], rel=1e-9)
    assert set(b["part"]) >= {"attention", "moe_experts", "moe_dispatch", "moe_combine", "mtp"}
    mem = r.memory
    assert mem["total"] < mem["capacity"] == pytest.approx(128 * 2**30)  # 2 x 64 GiB, as npu-smi counts
    assert 0 < r.mfu < 1
    assert "<table>" in r._repr_html_()


@pytest.mark.parametrize("system", ["dgx-h100", "cm384", "nvl72"])
def test_runtime_reserve_is_2_gib_plus_4_percent_of_hbm(system):
    # serving.md: "2 GiB + 4 % of HBM is held back" per chip (runtime, allocator, graphs).
    m = perfmodel.inference("llama-3.1-8b", system, batch=8, tp=1).memory
    assert m["buffers"] == pytest.approx(2 * 2**30 + 0.04 * m["capacity"], rel=1e-12)


def test_a_results_plan_repeats_the_estimate():
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8, tp=2, precision={"weights": "fp8", "kv_cache": "fp8"})
    assert r.plan["weights"] == "fp8" and r.plan["kv_cache"] == "fp8"
    again = perfmodel.inference("llama-3.1-8b", "dgx-h100", **r.plan)
    assert again.tpot_s == r.tpot_s and again.memory == r.memory
    with pytest.raises(perfmodel.InvalidArgument, match="kv_cache: give precision or weights/kv_cache/attention"):
        perfmodel.inference("llama-3.1-8b", "dgx-h100", precision="fp8", kv_cache="fp8")


def test_a_phase_the_plan_does_not_run_has_no_latency():
    # A decode step has no TTFT and a prefill no TPOT: None, not a 0 ms that averages in.
    dec = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="decode", batch=8, kv_len=100)
    pre = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="prefill", batch=8, input_len=100)
    assert dec.ttft_ms is None and dec.ttft_s is None and dec.tpot_ms > 0 and "ttft_ms" not in dec.summary()
    assert pre.tpot_ms is None and pre.tpot_s is None and pre.ttft_ms > 0 and "tpot_ms" not in pre.summary()
    both = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8, input_len=100, output_len=10)
    assert both.ttft_ms == pytest.approx(pre.ttft_ms) and both.tpot_ms > 0


def test_mtp_drafts_are_accepted_in_a_chain():
    # Draft k is kept only if drafts 1..k-1 were: a step emits 1 + a + a^2 + ... tokens per
    # sequence (2 drafts at 0.7: 2.19, where independent drafts would give 2.4).
    kw = dict(mode="decode", precision="fp8", kv_len=4096, dp_attention=16, systems=2, batch=256, mtp_acceptance=0.7)
    for n, per_seq in ((0, 1.0), (1, 1.7), (2, 2.19)):
        d = perfmodel.inference("deepseek-r1", "dgx-h100", mtp_tokens=n, **kw).to_dict()["decode"]
        assert d["tokens"] == pytest.approx(256 * per_seq, rel=1e-12), n
        assert d["tokens_per_second_per_chip"] == pytest.approx(d["tokens"] / d["time_s"] / 16, rel=1e-12)


def test_more_hbm_bandwidth_alone_never_slows_decode(tmp_path):
    # An H100 with 1.5x the HBM bandwidth and nothing else changed decodes no slower at any batch,
    # and strictly faster where the step reads weights and cache (every batch here).
    (tmp_path / "h100-bw.json").write_text(json.dumps({
        "id": "h100-bw", "kind": "chip", "extends": "h100", "name": "H100, 1.5x HBM bandwidth",
        "memory": {"main": {"bandwidth": {"value": "5.025 TB/s", "source": "what-if", "confidence": "derived",
                                          "derived_from": "1.5 x H100"}}}}))
    (tmp_path / "dgx-bw.json").write_text(json.dumps({"id": "dgx-bw", "kind": "system", "extends": "dgx-h100",
                                                      "name": "x", "chip": "h100-bw"}))
    cat = perfmodel.catalog.load(tmp_path)
    for model, plan in (("llama-3.1-70b", dict(tp=8, precision="fp8")), ("deepseek-r1", dict(dp_attention=16, systems=2, precision="fp8"))):
        for batch in (16, 64, 256, 512):
            kw = dict(mode="decode", kv_len=2048, batch=batch, **plan)
            base = perfmodel.inference(model, "dgx-h100", **kw)
            fast = perfmodel.inference(model, "dgx-bw", catalog=cat, **kw)
            assert fast.tpot_s < base.tpot_s, (model, batch)


def test_properties_batch_bandwidth_and_linearity():
    base = dict(mode="decode", precision="fp8", kv_len=2048, tp=8)
    rates = [perfmodel.inference("llama-3.1-70b", "dgx-h100", batch=b, **base) for b in (1, 8, 64, 256)]
    tok = [r.output_tokens_per_s_per_chip for r in rates]
    tpot = [r.tpot_s for r in rates]
    assert tok == sorted(tok) and tpot == sorted(tpot)  # bigger batches: more tokens/s, slower steps
    # A single sequence is weight-bandwidth bound: TPOT is at least weights / HBM bandwidth.
    weights_per_gpu = models.get("llama-3.1-70b").parameters / 8
    assert tpot[0] > weights_per_gpu / 3.35e12
    # H200 (more bandwidth, same compute) never decodes slower than H100.
    h200 = perfmodel.inference("llama-3.1-70b", "hgx-h200", batch=64, **base)
    assert h200.tpot_s < rates[2].tpot_s
    # Prefill of a dense model scales linearly in sequences once compute-bound.
    p1 = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="prefill", batch=8, input_len=2048)
    p2 = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="prefill", batch=16, input_len=2048)
    assert p2.ttft_s / p1.ttft_s == pytest.approx(2.0, rel=0.05)


def test_serving_and_disaggregation_and_search():
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=64, input_len=1024, output_len=256)
    assert r.ttft_s > 0 and r.tpot_s > 0 and 0 < r.prefill_chip_share < 1
    assert r.output_tokens_per_s_per_chip * 4 == pytest.approx(r.input_tokens_per_s_per_chip)  # 1024 / 256
    d = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=64, input_len=1024, output_len=256,
                            prefill_parallel={"tp": 1}, prefill_batch=8)
    assert d.prefill["chips"] == 1 and math.isfinite(d.output_tokens_per_s_per_chip)
    best = perfmodel.best_inference("llama-3.1-8b", "dgx-h100", tpot_ms=20, precision="fp8", tp=[1, 2],
                                    input_len=1024, output_len=256)
    assert best.tpot_ms <= 20
    worse = perfmodel.inference("llama-3.1-8b", "dgx-h100", precision="fp8", input_len=1024, output_len=256,
                                tp=best.plan.get("tp", 1), batch=best.plan["batch"] + 64, check_memory=False)
    assert worse.tpot_ms > 20 or worse.memory["total"] > worse.memory["capacity"]


def test_serve_mode_units_agree_with_its_throughput():
    import math as m

    # MTP with 3 drafts: a request of L output tokens takes ceil(L / accepted) decode steps, so the
    # time and joules per delivered token carry the last step's unused drafts (tpot was step /
    # accepted: 6.81 ms against 17.2 ms per delivered token at L = 1).
    kw = dict(mode="serve", batch=512, dp_attention=32, precision="fp8", input_len=1024, mtp_tokens=3)
    one = perfmodel.inference("deepseek-r1", "nvl72", output_len=1, **kw)
    assert one.tpot_s == pytest.approx(one.decode["time_s"])  # one token: one whole step
    long = perfmodel.inference("deepseek-r1", "nvl72", output_len=4096, **kw)
    steady = long.decode["time_s"] / long.accepted_tokens_per_step  # the decode-mode TPOT
    assert steady <= long.tpot_s <= 1.001 * steady
    for out in (1, 3, 128):
        r = perfmodel.inference("deepseek-r1", "nvl72", output_len=out, **kw)
        # Time per delivered token times the tokens is the requests' decode time, which the
        # throughput charges: output_len / (chip-seconds per request) per chip.
        decode_s = r.tpot_s * out
        assert decode_s >= r.decode["time_s"] * out / r.accepted_tokens_per_step
        e = r.energy
        per_out = (1024 * e["joules_per_input_token"] + out * e["joules_per_output_token"]) / out
        assert 1 / e["output_tokens_per_joule"] == pytest.approx(per_out, rel=1e-9)
    # Disaggregated: the unit filling a system is a decode instance plus its share of prefill
    # chips (4 GPUs / (1 - 0.57) = 9.3 here, so 0.86 per 8-GPU node), and the per-instance rate
    # is the decode instance's own (it was that rate x (1 - share)).
    d = perfmodel.inference("llama-3.1-70b", "dgx-h100", mode="serve", tp=4, batch=64, precision="fp8",
                            input_len=2048, output_len=256, prefill_parallel={"tp": 4})
    unit = d.chips_per_instance / (1 - d.prefill_chip_share)
    assert d.instances_per_system == pytest.approx(8 / unit)
    assert d.output_tokens_per_s_per_instance == pytest.approx(d.decode["tokens"] / d.decode["time_s"])
    assert d.output_tokens_per_s_per_system == pytest.approx(d.output_tokens_per_s_per_chip * 8)
    # Search rows price what cost() prices: co-located, prefill runs on the instance's own chips
    # (usd_per_hour was / (1 - share), 2.45x, while usd per million tokens agreed).
    # 16-GPU instances on a 72-GPU rack leave 8 GPUs idle: a row's dollars carry its share of them.
    idle_plan = dict(mode="serve", tp=16, batch=64, precision="fp8", input_len=2048, output_len=256)
    row = perfmodel.search_inference("llama-3.1-70b", "nvl72", cost={"capex": 3e6}, progress=False,
                                     **{k: [v] if k in ("tp", "batch") else v for k, v in idle_plan.items()}).iloc[0]
    c = perfmodel.cost(perfmodel.inference("llama-3.1-70b", "nvl72", **idle_plan), capex=3e6)
    assert row["usd_per_million_tokens"] == pytest.approx(c["usd_per_million_output_tokens"], rel=1e-9)
    assert row["usd_per_hour"] * 4 == pytest.approx(c["usd_per_hour"], rel=1e-9)  # 4 instances per rack
    for extra in ({}, {"prefill_parallel": {"tp": 4}}):
        plan = dict(mode="serve", tp=8 if not extra else 4, batch=64, precision="fp8", input_len=2048,
                    output_len=256, **extra)
        row = perfmodel.search_inference("llama-3.1-70b", "nvidia-dgx-h100", cost={"capex": 3e5}, progress=False,
                                         **{k: [v] if k in ("tp", "batch") else v for k, v in plan.items()}).iloc[0]
        c = perfmodel.cost(perfmodel.inference("llama-3.1-70b", "nvidia-dgx-h100", **plan), capex=3e5)
        assert row["usd_per_million_tokens"] == pytest.approx(c["usd_per_million_output_tokens"], rel=1e-9)
        instances = 1 / (row["chips_per_instance"] / (1 - (0 if not extra else
                         perfmodel.inference("llama-3.1-70b", "nvidia-dgx-h100", **plan).prefill_chip_share)) / 8)
        assert row["usd_per_hour"] * instances == pytest.approx(c["usd_per_hour"], rel=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch=0), r"batch: must be in \[1, 2\^31\] sequences, got 0"),
    (dict(batch=8, input_len=0), r"input_len: must be >= 1"),
    (dict(batch=8, tp=3), r"tp: tp=3 does not divide the 32 attention heads of llama-3.1-8b \(10.7 heads per rank\)"),
    (dict(batch=8, pp=5), r"pp: pp=5 does not divide the 32 layers"),
    (dict(batch=8, tp=16), r"ranks: the instance needs 16 chips .* nvidia-dgx-h100 has 8"),
    (dict(batch=8, precision="fp4"), r"precision.weights: nvidia-h100-sxm has no known dense matrix throughput at fp4"),
    (dict(batch=8, mtp_tokens=1), r"mtp_tokens: llama-3.1-8b has no multi-token-prediction modules"),
    (dict(batch=8, expert_imbalance=0.5), r"expert_imbalance: must be in \[1, 2\^20\]"),
    (dict(batch=8, tpp=2), r"tpp: unknown serving option"),
    (dict(batch=100000, input_len=4096, output_len=4096), r"memory: decode plan needs .* largest batch that fits is \d+"),
])
def test_bad_input_names_the_constraint(kwargs, match):
    with pytest.raises(perfmodel.InvalidArgument, match=match):
        perfmodel.inference("llama-3.1-8b", "dgx-h100", **kwargs)


def test_does_not_fit_and_expert_divisibility():
    with pytest.raises(perfmodel.InvalidArgument, match=r"weights do not fit at any batch"):
        perfmodel.inference("deepseek-r1", "dgx-h100", batch=8, precision="fp8")
    # Llama 3.1 70B in FP8 fits one H100 (72.7 GB with the embedding and LM head in bf16), but a
    # single 16K-token prompt's prefill (5.4 GB of KV cache, 4.4 GB of activations) does not: the
    # message must not blame the weights.
    with pytest.raises(perfmodel.InvalidArgument, match=r"prefill chunk of 1 prompts .* not even one sequence fits "
                       r"beside the weights \(7\.\d+ GB free") as err:
        perfmodel.inference("llama-3.1-70b", "dgx-h100", batch=1, input_len=16384, output_len=64,
                            precision={"weights": "fp8"})
    assert "weights do not fit" not in str(err.value)
    with pytest.raises(perfmodel.InvalidArgument, match=r"ep: ep=3 does not divide the 256 expert slots"):
        perfmodel.inference("deepseek-r1", "nvl72", batch=24, precision="fp8", dp_attention=24, ep=3)


def test_serving_accuracy_against_calibration_csv(calibration_csv):
    df = validation.serving_accuracy(calibration_csv)
    print()
    print(df[["id", "published", "modelled", "error_pct", "tpot_ms", "bottleneck"]].to_string(index=False))
    misses = set(df.loc[df["error_pct"].abs() > 15, "id"])
    assert misses == KNOWN_MISSES
    assert len(df) == 5
    # The issue's median bar (10 %) holds since session 10's kernel-fusion model.
    assert df["error_pct"].abs().median() <= 10.0


def test_serving_out_of_sample_figures():
    # From the SGLang large-scale-EP blog, not fitted: prefill with perfect EPLB, decode without
    # two-batch overlap, and DeepSeek's H800 prefill profile as the blog converts it. Prefill must
    # hold the serving bar; the no-overlap decode is a known miss (+16 %: the model's overlap gains
    # 8 % where SGLang measured 25.5 %).
    rows = [(c.setup, c.measured, c.predict()) for c in validation.OUT_OF_SAMPLE_SERVING_CASES]
    print()
    for setup, published, modelled in rows:
        print(f"{setup[:60]:60s} published {published:,.0f} model {modelled:,.0f} ({(modelled / published - 1) * 100:+.1f} %)")
    (_, pub_pf, mod_pf), (_, pub_nt, mod_nt), (_, pub_ds, mod_ds), *rest = rows
    gb200, cann, cann_decode, xds, (h200, b200, mi300x), amd_rocm, h20 = (rest[:2], rest[2:4], rest[4], rest[5],
                                                                          rest[6:9], rest[9:11], rest[11:15])
    h20_prefill, imax = rest[15], rest[16:29]
    assert abs(mod_pf / pub_pf - 1) < 0.15
    assert 0.15 < mod_nt / pub_nt - 1 < 0.25
    # DeepSeek's own H800 prefill profile (62,713 tok/s per node): within the serving bar.
    assert abs(mod_ds / pub_ds - 1) < 0.15
    # SGLang's GB200 decode three months after SGL-GB200-DC-01 (Part II, BF16 and FP8/NVFP4 paths):
    # the model stays optimistic on both, as on the calibration row (+36 %): +13 % on the BF16 path
    # (within the bar since the MLA kernel streams at its measured rate), +28 % on FP8/NVFP4.
    (_, pub_bf16, mod_bf16), (_, pub_fp4, mod_fp4) = gb200
    assert 0.05 < mod_bf16 / pub_bf16 - 1 < 0.15 and 0.2 < mod_fp4 / pub_fp4 - 1 < 0.35
    # Huawei's CANN recipe runs CM384-PF-01's layout at 5,237 (no micro-batch) and 6,522 tok/s/NPU:
    # the model is optimistic on both, more without the overlap (+38 / +24 % with DaVinci's flash
    # attention at its measured 0.40 of peak; +53 / +39 % at the decode kernel's 0.654), as on the row.
    (_, pub_nomb, mod_nomb), (_, pub_mb, mod_mb) = cann
    assert 0.3 < mod_nomb / pub_nomb - 1 < 0.45 and 0.15 < mod_mb / pub_mb - 1 < 0.3
    # Its decode benchmark (64 NPUs, batch 96 per NPU, INT8 KV, MTP1, no overlap): within the bar.
    assert abs(cann_decode[2] / cann_decode[1] - 1) < 0.15
    # xDeepServe's colocated decode (288 dies, batch 60 per die, no overlap): optimistic by about a
    # quarter. Its own breakdown puts dispatch and combine at 33 ms of a 93 ms step, where the model
    # has 19 ms: the average call waits 50-150 us beyond the fastest for the slowest of 288 ranks.
    assert 0.15 < xds[2] / xds[1] - 1 < 0.3
    # MLPerf v4.1 Llama 2 70B Offline on other systems, set up as MLPI-H100-01: H200 within the bar;
    # B200 (a preview submission, FP4) is optimistic by 16 %.
    assert abs(h200[2] / h200[1] - 1) < 0.15
    assert 0.1 < b200[2] / b200[1] - 1 < 0.2
    # MI300X (vLLM, August 2024) on AMD's measured GEMM and HBM fractions: optimistic by a third
    # (+86 % on the default policy before the amd-cdna3 file); a known miss.
    assert 0.2 < mi300x[2] / mi300x[1] - 1 < 0.45
    # AMD's own vLLM results eight months later (Llama 3.1 70B and 405B, TP8): the same offset, so
    # it is not the 2024 software alone.
    assert len(amd_rocm) == 2 and all(0.2 < modelled / published - 1 < 0.45 for _, published, modelled in amd_rocm)
    # Ant Group's H20 decode (EP16 at batch 48, 32 and 12 per GPU, EP32 at 32): within the serving
    # bar, and the model ranks EP16 above EP32 at batch 32 as the blog measured (675 vs 585).
    assert len(h20) == 4 and all(abs(modelled / published - 1) < 0.15 for _, published, modelled in h20)
    assert h20[1][2] > h20[2][2]
    # Its TP8 prefill with sequence parallelism (16.5k input tokens/s per node): within the bar
    # (-6 %; -18 % without sequence parallelism, -36 % before shared experts were tensor-parallel).
    assert abs(h20_prefill[2] / h20_prefill[1] - 1) < 0.15
    # InferenceMAX online serving on one node (TP8, TP8 + EP8, DP8 attention + EP8): the model ranks
    # B200 > H200 > MI300X at TP8, 1k/1k, concurrency 64 as measured (332.8 > 224.6 > 149.3), but is
    # optimistic on all 13 rows (+25 to +79 %, median +36 %); at concurrency 4 it was 43-46 %
    # pessimistic until a decode step read only
    # the experts its tokens are routed to (about 31 of 256 per layer at 4 sequences). The B200 8k/1k
    # row read +75 % until MLA decode paid for the 128-row tiles its 16 heads per GPU leave empty.
    h200_c4, h200_c64, _, b200_c4, b200_c64, b200_8k, mi300x_c64 = imax[:7]
    assert b200_c64[2] > h200_c64[2] > mi300x_c64[2]
    assert all(0.2 < modelled / published - 1 < 0.85 for _, published, modelled in imax)
    assert b200_8k[2] / b200_8k[1] - 1 < 0.45
    assert b200_c4[2] / b200_c4[1] - 1 < 0.35 and h200_c4[2] / h200_c4[1] - 1 < 0.75


def test_inferencemax_gap_is_a_per_step_cost_not_the_batch_scaling():
    # InferenceMAX's mean TPOT at concurrency 4 to 64 (TP8, 1k/1k) against the model's decode step:
    # what the model adds per extra sequence from 4 to 16 is within 20 % of what the engines add
    # (H200 -9 %, B200 -16 %, MI300X -1 %), while the published TPOT sits a near-constant amount
    # above the model's at those batches (H200 5.3-6.0 ms, B200 1.6-2.3, MI300X 13.4-14.5): a
    # per-step cost outside the kernels the model prices, which drives the +28 to +150 % of these
    # rows at low concurrency.
    from perfmodel.validation import inferencemax_tpot

    df = inferencemax_tpot()
    print("\n" + df.round(2).to_string(index=False))
    assert len(df) == 15 and (df["model_ms"] > 0).all()
    for gpu, g in df.groupby("gpu"):
        g = g.set_index("concurrency")
        published_slope = g.published_ms[16] - g.published_ms[4]
        model_slope = g.model_ms[16] - g.model_ms[4]
        assert abs(model_slope / published_slope - 1) < 0.2, gpu
        low = g.gap_ms.loc[[4, 8, 16]]
        assert (low > 1.0).all() and low.max() - low.min() < 1.5, gpu
        # Past 16 sequences the engines' TPOT rises faster than the model's (the gap widens).
        assert g.gap_ms[64] > low.max(), gpu


def test_gb200_decode_batch_sensitivity_matches_sglang_part_ii():
    # SGLang's GB200 Part II post: at 2K input with FP8 KV the batch is 1,408 per GPU (KV cache
    # about full), and "changing batch size from 1408 to 768 for 2k ISL reduces performances by
    # roughly one tenth". The model's decode, set up as that row, loses 5-15 % (8.3 %): the
    # per-step weight and expert traffic it spreads over the batch is about the published share.
    plan = dict(mode="decode", precision={"weights": "fp4", "kv_cache": "fp8", "attention": "fp8"}, kv_len=2050,
                dp_attention=48, redundant_experts=32, overlap=False)
    big = perfmodel.inference("deepseek-v3", "nvidia-gb200-nvl72", batch=1408 * 48, **plan)
    small = perfmodel.inference("deepseek-v3", "nvidia-gb200-nvl72", batch=768 * 48, **plan)
    drop = 1 - small.output_tokens_per_s_per_chip / big.output_tokens_per_s_per_chip
    print(f"\nGB200 decode, 1,408 -> 768 per GPU: throughput {-drop:+.1%} (SGLang: about -10 %)")
    assert 0.05 < drop < 0.15


def test_cli_infer(capsys):
    from perfmodel.cli import main

    assert main(["infer", "llama-3.1-8b", "dgx-h100", "--batch", "32", "--precision", "fp8"]) == 0
    out = capsys.readouterr().out
    assert "tpot_ms" in out and "dense_ffn" in out
    assert main(["infer", "llama-3.1-8b", "dgx-h100", "--batch", "32", "--tp", "3"]) == 2
    assert "does not divide" in capsys.readouterr().err
    # Sequence parallelism: accepted under pure TP, refused with DP attention, naming the option.
    assert main(["infer", "deepseek-r1", "hgx-h20", "--mode", "prefill", "--batch", "4", "--input-len", "4096",
                 "--precision", "fp8", "--tp", "8", "--sequence-parallel", "--json"]) == 0
    sp = json.loads(capsys.readouterr().out)
    assert sp["plan"]["sequence_parallel"] is True
    assert main(["infer", "deepseek-r1", "hgx-h20", "--mode", "prefill", "--batch", "8", "--precision", "fp8",
                 "--dp-attention", "8", "--sequence-parallel"]) == 2
    assert "sequence_parallel: applies to pure tensor parallelism" in capsys.readouterr().err
    # At TP1 there is no TP group to split over: the flag would change nothing.
    assert main(["infer", "llama-3.1-8b", "dgx-h100", "--batch", "8", "--sequence-parallel"]) == 2
    assert "sequence_parallel: splits token-wise work over the TP group; at tp=1 there is none" in capsys.readouterr().err
    with pytest.raises(perfmodel.InvalidArgument, match="^parallel.sequence_parallel: splits token-wise work"):
        perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8, sequence_parallel=True)
    # --overlap best searches both settings as the comparison recipe does; --ttft-ms limits the search.
    r1 = ["infer", "deepseek-r1", "nvl72", "--mode", "decode", "--precision", "fp8", "--dp-attention", "72",
          "--redundant-experts", "32", "--kv-len", "4096", "--tpot-ms", "50", "--json"]
    assert main([*r1, "--overlap", "best"]) == 0
    best = json.loads(capsys.readouterr().out)
    want = perfmodel.best_inference("deepseek-r1", "nvl72", mode="decode", precision="fp8", dp_attention=72,
                                    redundant_experts=32, kv_len=4096, tpot_ms=50, overlap=[True, False])
    assert best["plan"]["overlap"] == want.plan["overlap"] and best["plan"]["batch"] == want.plan["batch"]
    assert main([*r1, "--overlap", "off"]) == 0
    assert json.loads(capsys.readouterr().out)["plan"].get("overlap", False) is False
    assert main(["infer", "llama-3.1-8b", "dgx-h100", "--tp", "8", "--ttft-ms", "200", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["ttft_ms"] <= 200
    assert main(["infer", "llama-3.1-8b", "dgx-h100", "--mode", "prefill", "--tpot-ms", "20"]) == 2
    assert "use --mode serve, or drop --tpot-ms" in capsys.readouterr().err


def test_lazy_result_reads_the_same_as_its_dict_and_pickles():
    import pickle

    r = perfmodel.inference("deepseek-r1", "cm384", mode="decode", precision="int8", kv_len=4096, batch=96 * 160,
                            dp_attention=320, ranks_per_chip=2, redundant_experts=64, mtp_tokens=1, overlap=True)
    # Headline fields come straight from the C++ result before the dict exists; afterwards from the dict.
    before = {k: getattr(r, k) for k in ("tpot_s", "output_tokens_per_s_per_chip", "mfu", "bottleneck", "system")}
    d = r.to_dict()
    assert before == {k: d[k] for k in before}
    assert r.tpot_ms == pytest.approx(d["tpot_s"] * 1e3)
    back = pickle.loads(pickle.dumps(r))
    assert back.to_dict() == d and back.plan == r.plan and back.summary() == r.summary()
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        r.nope


def test_fused_mla_prologue_saves_exactly_its_launches(tmp_path):
    # A what-if Ascend family whose stack runs the MLA prologue as separate kernels: the same
    # work and traffic, and per MLA layer five more launches (q norm, q up projection, kv norm,
    # RoPE, key absorption) at the family's launch overhead.
    (tmp_path / "eff.json").write_text(json.dumps({
        "id": "ascend-unfused", "kind": "efficiency", "extends": "huawei-ascend-davinci",
        "fused_mla_prologue": {"value": False, "source": "what-if", "confidence": "derived", "derived_from": "test"}}))
    (tmp_path / "chip.json").write_text(json.dumps(
        {"id": "ascend-910c-unfused", "kind": "chip", "extends": "huawei-ascend-910c", "family": "ascend-unfused"}))
    (tmp_path / "sys.json").write_text(json.dumps(
        {"id": "cm384-unfused", "kind": "system", "extends": "huawei-cloudmatrix-384", "chip": "ascend-910c-unfused"}))
    cat = perfmodel.catalog.load(tmp_path)
    assert perfmodel.efficiency_policy("910c")["fused_mla_prologue"] is True
    assert perfmodel.efficiency_policy("ascend-910c-unfused", catalog=cat)["fused_mla_prologue"] is False
    plan = dict(mode="decode", precision="int8", kv_len=4096, batch=96 * 160, dp_attention=320, ranks_per_chip=2,
                redundant_experts=64)
    fused = perfmodel.inference("deepseek-r1", "huawei-cloudmatrix-384", **plan)
    apart = perfmodel.inference("deepseek-r1", "cm384-unfused", catalog=cat, **plan)
    launch = perfmodel.efficiency_policy("910c")["launch_overhead_s"]
    layers = perfmodel.models.get("deepseek-r1").layers
    print(f"DeepSeek-R1 decode on CM384: TPOT {fused.tpot_ms:.2f} ms fused, {apart.tpot_ms:.2f} ms as separate kernels")
    assert apart.tpot_ms - fused.tpot_ms == pytest.approx(5 * layers * launch * 1e3, rel=1e-9)
    f, a = fused.breakdown(), apart.breakdown()
    assert f["flops"].sum() == pytest.approx(a["flops"].sum(), rel=1e-12)
    assert f["bytes"].sum() == pytest.approx(a["bytes"].sum(), rel=1e-12)


def test_per_system_throughput_counts_whole_instances():
    # 48-GPU decode instances in a 72-GPU rack: one fits, 24 GPUs idle; per system = per instance.
    plan = dict(mode="decode", precision="fp8", dp_attention=48, redundant_experts=32, kv_len=2048, batch=48 * 64)
    r = perfmodel.inference("deepseek-r1", "nvl72", **plan)
    d = r.to_dict()
    assert d["instances_per_system"] == 1 and r.summary()["instances_per_system"] == 1
    assert d["output_tokens_per_s_per_system"] == pytest.approx(d["output_tokens_per_s_per_instance"])
    # 8-GPU instances tile it: 9 per rack, per system = per chip x 72.
    tp8 = perfmodel.inference("llama-3.1-70b", "nvl72", mode="decode", precision="fp8", tp=8, batch=64, kv_len=2048)
    assert tp8.to_dict()["instances_per_system"] == 9
    assert tp8.output_tokens_per_s_per_system == pytest.approx(tp8.output_tokens_per_s_per_chip * 72)
    # An instance over nine 8-GPU nodes: a ninth of it per node.
    h100 = perfmodel.inference("deepseek-v3", "dgx-h100", systems=9, mode="decode", precision="fp8", dp_attention=72,
                               redundant_experts=32, kv_len=2000, batch=72 * 256, overlap=True)
    assert h100.to_dict()["instances_per_system"] == pytest.approx(1 / 9)
    assert h100.output_tokens_per_s_per_system == pytest.approx(h100.output_tokens_per_s_per_chip * 8)
    # Cost counts the instance's tokens and the idle GPUs' power: dearer per token than 72 busy GPUs.
    c48 = perfmodel.cost(r)
    naive = (c48["capex_usd_per_hour"] + c48["power_usd_per_hour"]) / (r.output_tokens_per_s_per_chip * 72 * 3600) * 1e6
    assert c48["usd_per_million_output_tokens"] > 1.4 * naive


def test_best_inference_says_why_nothing_fits_and_respects_the_prefill_chunk():
    # The error quotes one message of each kind of failure, not just its category; one layout the
    # plan check refuses raises that check's own message (it was wrapped in "1 layout(s) failed").
    with pytest.raises(perfmodel.InvalidArgument, match=r"^weights: unknown precision 'FP8'"):
        perfmodel.best_inference("llama-3.1-70b", "dgx-h100", precision="FP8")
    with pytest.raises(perfmodel.InvalidArgument, match=r"^weights: unknown precision 'FP8'"):  # the same for every tp
        perfmodel.best_inference("llama-3.1-70b", "dgx-h100", precision="FP8", tp=[4, 8])
    with pytest.raises(perfmodel.InvalidArgument, match=r"2 layout\(s\) failed on parallel\.tp, e\.g\. parallel\.tp: tp=3 does not divide"):
        perfmodel.best_inference("llama-3.1-70b", "dgx-h100", tp=[3, 5])
    with pytest.raises(perfmodel.InvalidArgument, match=r"failed on latency limit, e\.g\. latency limit: at batch 1 TPOT"):
        perfmodel.best_inference("llama-3.1-8b", "dgx-h100", tpot_ms=0.01)
    # 70B deepened to 84 layers, FP8, on one H100: the prefill chunk that shares the GPU, beside the
    # batch's KV cache, caps the batch at 5 (decode alone: 9; the chunk on its own: 6).
    spec = perfmodel.models.get("llama-3.1-70b").to_dict()
    deep = perfmodel.models.define(**{**{k: v for k, v in spec.items() if v is not None},
                                      "id": "llama-70b-84l", "layers": 84})
    r = perfmodel.best_inference(deep, "dgx-h100", precision="fp8")
    assert r.plan["batch"] == 5 and r.max_batch == 5
    # One more sequence overflows: 5 is the bound, not a rounding of it.
    with pytest.raises(perfmodel.InvalidArgument, match=r"decode plan .* the largest batch that fits is 5 \(asked 6\)"):
        perfmodel.inference(deep, "dgx-h100", precision="fp8", batch=6)


def test_contexts_beyond_the_released_model_are_refused(tmp_path):
    # max_context (the config's max_position_embeddings): a 4K Llama 2 ran 8K prompts, an HF config
    # of 16 positions ran at 1,024.
    assert perfmodel.models.get("llama-2-70b").to_dict()["max_context"] == 4096
    assert perfmodel.models.get("deepseek-r1").to_dict()["max_context"] == 163840
    ok = perfmodel.inference("llama-2-70b", "dgx-h100", tp=8, batch=8, input_len=3072, output_len=1024)
    assert ok.ttft_ms > 0
    for kw, field in ((dict(input_len=3072, output_len=1025), "input_len + output_len: 4097 tokens"),
                      (dict(mode="prefill", input_len=8192), "input_len: 8192 tokens"),
                      (dict(mode="decode", kv_len=5000), "kv_len: 5000 cached + 1 new tokens")):
        with pytest.raises(perfmodel.InvalidArgument, match=re.escape(field) + r" exceed the 4096-token context of llama-2-70b"):
            perfmodel.inference("llama-2-70b", "dgx-h100", tp=8, batch=8, **kw)
    cfg = {"architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 256, "num_attention_heads": 4,
           "intermediate_size": 512, "vocab_size": 1000, "max_position_embeddings": 16}
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    tiny = perfmodel.models.from_hf_config(tmp_path / "config.json")
    assert tiny.to_dict()["max_context"] == 16
    with pytest.raises(perfmodel.InvalidArgument, match="16-token context"):
        perfmodel.inference(tiny, "dgx-h100", batch=1, input_len=16, output_len=1)
    # RoPE scaling stretches it (Qwen documents YaRN x4 over 32,768 for 128K); Llama 3.1's llama3
    # scaling already states its scaled maximum.
    cfg.update(max_position_embeddings=40960, rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                            "original_max_position_embeddings": 32768})
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert perfmodel.models.from_hf_config(tmp_path / "config.json").to_dict()["max_context"] == 131072
    cfg.update(max_position_embeddings=131072, rope_scaling={"rope_type": "llama3", "factor": 32.0,
                                                             "original_max_position_embeddings": 8192})
    (tmp_path / "config.json").write_text(json.dumps(cfg))  # Llama 3.2 1B/3B: not 8192 x 32 = 262,144
    assert perfmodel.models.from_hf_config(tmp_path / "config.json").to_dict()["max_context"] == 131072
    # A decode step at kv_len writes position kv_len, and its MTP drafts the ones after it.
    r1 = dict(mode="decode", precision="fp8", dp_attention=72, redundant_experts=32, batch=72, mtp_tokens=1)
    assert perfmodel.inference("deepseek-r1", "nvl72", kv_len=163838, **r1).tpot_ms > 0
    with pytest.raises(perfmodel.InvalidArgument, match=r"kv_len: 163839 cached \+ 2 new tokens exceed the 163840-token context"):
        perfmodel.inference("deepseek-r1", "nvl72", kv_len=163839, **{**r1, "mtp_tokens": 1})
    # Serve: a prompt plus outputs exactly at the context is accepted with MTP (drafts past the last
    # output are discarded); one more token is refused, and the message's sum is the two lengths.
    r1 = dict(mode="serve", mtp_tokens=1, precision="fp8", dp_attention=72, redundant_experts=32, batch=72,
              check_memory=False)
    assert perfmodel.inference("deepseek-r1", "nvl72", input_len=163839, output_len=1, **r1).tpot_ms > 0
    with pytest.raises(perfmodel.InvalidArgument, match=r"input_len \+ output_len: 163841 tokens exceed"):
        perfmodel.inference("deepseek-r1", "nvl72", input_len=163000, output_len=841, **r1)
    # A model that states no context is not checked; define() round-trips the field.
    spec = {k: v for k, v in perfmodel.models.get("llama-2-7b").to_dict().items() if v is not None}
    assert perfmodel.models.define(**{**spec, "id": "l2-copy"}).to_dict()["max_context"] == 4096
    free = perfmodel.models.define(**{**{k: v for k, v in spec.items() if k != "max_context"}, "id": "l2-free"})
    assert free.to_dict()["max_context"] is None
    assert perfmodel.inference(free, "dgx-h100", batch=1, input_len=8192, output_len=8).ttft_ms > 0


def test_best_inference_refuses_a_limit_on_a_phase_the_plan_lacks():
    # A decode-only plan reports TTFT 0, so ttft_ms=1 "passed"; a prefill-only one has no TPOT.
    with pytest.raises(perfmodel.InvalidArgument, match=r"ttft_ms: a decode-only plan .* has no prefill phase"):
        perfmodel.best_inference("llama-3.1-8b", "dgx-h100", ttft_ms=1, mode="decode", kv_len=1024)
    with pytest.raises(perfmodel.InvalidArgument, match=r"tpot_ms: a prefill-only plan .* has no decode phase"):
        perfmodel.best_inference("llama-3.1-8b", "dgx-h100", tpot_ms=50, mode="prefill")


def test_plan_checks_name_the_option_not_an_operation():
    # 2^31 - 256 redundant experts overflowed the slot count ("gemm: batch must be a positive integer").
    with pytest.raises(perfmodel.InvalidArgument, match=r"redundant_experts: must be in \[0, 2\^20\]"):
        perfmodel.inference("deepseek-r1", "nvl72", mode="decode", redundant_experts=2**31 - 256, check_memory=False)
    # A chip without a bf16 peak: the router and LM head need one ("gemm: precision: ..." before).
    with pytest.raises(perfmodel.InvalidArgument, match=r"^precision: huawei-ascend-950dt has no known bf16 matrix"):
        perfmodel.inference("llama-3.1-8b", "atlas-950-superpod", precision={"weights": "fp8", "attention": "fp8"})
    # Two ranks per MI300X make a 16-rank mesh its 7 links per chip cannot connect: the option is named.
    with pytest.raises(perfmodel.InvalidArgument, match=r"ranks_per_chip: 2 ranks on each of 8 chips of amd-mi300x-platform"):
        perfmodel.inference("llama-3.1-8b", "mi300x-platform", ranks_per_chip=2, tp=2, batch=8)


def test_dense_models_refuse_expert_options_in_training_too():
    with pytest.raises(perfmodel.InvalidArgument, match="expert_imbalance: llama-3.1-8b has no experts; must be 1"):
        perfmodel.training("llama-3.1-8b", "dgx-h100", n_chips=8, tp=8, global_batch=8, seq_len=2048,
                           expert_imbalance=1.3)


def test_best_inference_checks_its_lists():
    with pytest.raises(perfmodel.InvalidArgument, match="overlap: an empty list leaves nothing to try"):
        perfmodel.best_inference("llama-2-7b", "dgx-h100", tpot_ms=50, overlap=[])
    with pytest.raises(perfmodel.InvalidArgument, match=r"overlap: expected True, False or a list of them, got 1"):
        perfmodel.best_inference("llama-2-7b", "dgx-h100", tpot_ms=50, overlap=[1, 0])
    assert perfmodel.best_inference("llama-2-7b", "dgx-h100", tpot_ms=50, tp={4, 8}).plan["tp"] in (4, 8)
    with pytest.raises(perfmodel.InvalidArgument, match="tp: an empty list leaves nothing to try"):
        perfmodel.best_inference("llama-2-7b", "dgx-h100", tpot_ms=50, tp=set())
    # The same refusal for every layout is the plan check's message, not "2 layout(s) failed".
    with pytest.raises(perfmodel.InvalidArgument, match=r"^kv_len: 8192 cached \+ 1 new tokens exceed the 4096-token context"):
        perfmodel.best_inference("llama-2-7b", "dgx-h100", tpot_ms=50, mode="decode", kv_len=8192, overlap=[True, False])


def test_best_inference_tries_tile_filling_batches_below_the_largest():
    # One sequence past a 128-row GEMM tile pads a whole tile: on an H20 (INT8, compute bound)
    # batch 142 takes 52 ms per token where 128 takes 38. The largest batch under the limit is
    # not the fastest; best_inference now returns the tile-filling one.
    kw = dict(mode="decode", precision="int8", kv_len=13363, tp=4, dp_attention=2)
    r = perfmodel.best_inference("llama-3.1-70b", "hgx-h20", tpot_ms=200, **kw)
    scan = max(perfmodel.inference("llama-3.1-70b", "hgx-h20", batch=b, **kw).output_tokens_per_s_per_chip
               for b in range(2, 144, 2))
    assert r.output_tokens_per_s_per_chip == pytest.approx(scan)
    assert r.plan["batch"] == 128


def test_max_batch_is_a_batch_that_works_and_moe_bounds_are_refined():
    # Disaggregated, with the chunk left to the batch: the prefill instance (70B in BF16 on one
    # H200) holds 4 prompts, so the served batch is capped there (it said 3,910; 8 failed). One
    # rank has nothing to overlap, so the prefill runs whole, not in halves (it held 6).
    kw = dict(mode="serve", tp=4, dp_attention=2, input_len=496, output_len=172, overlap=True, prefill_parallel={"tp": 1})
    r = perfmodel.inference("llama-3.1-70b", "hgx-h200", batch=2, **kw)
    assert r.max_batch == 4
    perfmodel.inference("llama-3.1-70b", "hgx-h200", batch=4, **kw)
    with pytest.raises(perfmodel.InvalidArgument, match=r"the largest batch that fits is 4 \(asked 8\)"):
        perfmodel.inference("llama-3.1-70b", "hgx-h200", batch=8, **kw)
    # MoE activations grow less than linearly with the batch: max_batch from a small batch is a
    # lower bound, and asking again at it gives more. best_inference asks until it stops growing.
    kw = dict(mode="decode", precision="int8", ranks_per_chip=2, tp=8, dp_attention=2, ep=1, kv_len=34, overlap=True)
    low = perfmodel.inference("mixtral-8x7b", "cm384", batch=2, **kw).max_batch
    again = perfmodel.inference("mixtral-8x7b", "cm384", batch=low, **kw).max_batch
    assert again > low
    best = perfmodel.best_inference("mixtral-8x7b", "cm384", tpot_ms=1e6, **kw)
    assert best.plan["batch"] > low


def test_moe_tokens_per_rank_round_up():
    # With DP attention each of a group's 16 TP ranks routes ceil(T / 16) of its T tokens; the
    # floor sent 31 tokens as 1, so dispatch bytes did not grow from 2 to 31 sequences per group.
    kw = dict(mode="decode", precision="fp8", tp=16, dp_attention=2, kv_len=2048)

    def dispatch_bytes(batch):
        b = perfmodel.inference("deepseek-v3", "nvl72", batch=batch, **kw).breakdown().set_index("part")
        return b.loc["moe_dispatch", "bytes"]
    assert dispatch_bytes(2 * 31) == pytest.approx(2 * dispatch_bytes(2 * 16), rel=0.01)
    assert dispatch_bytes(2 * 16) == pytest.approx(dispatch_bytes(2 * 2), rel=0.01)


def test_moe_decode_step_never_shrinks_as_the_batch_grows():
    # At one token per TP rank the statistical imbalance factor shrank while the (ceil) token count
    # held: Qwen3-235B on NVL72 took 17.834 ms at batch 8 and 17.833 at 12. The busiest link now
    # carries the larger of the busiest sender's whole tokens and the mean times the imbalance.
    kw = dict(mode="decode", precision="fp8", tp=16, dp_attention=4, kv_len=2048, overlap=True)
    t = [perfmodel.inference("qwen3-235b-a22b", "nvl72", batch=b, **kw).tpot_ms for b in range(4, 132, 4)]
    assert t == sorted(t)


def test_step_flops_are_model_work_once_whatever_the_batch_or_imbalance():
    # Step FLOPs (and so MFU and FLOP/s per watt) are each token's model work once: about 2 x the
    # active parameters plus attention per token at every batch and expert imbalance. The busiest
    # expert slot's extra rows and TP-replicated projections cost time, not model FLOPs; a batch of
    # one read 545 GFLOP per Mixtral token before.
    m = perfmodel.models.get("mixtral-8x7b").to_dict()
    attention = 2 * 2 * m["heads"] * m["head_dim"] * 1025 * m["layers"]
    expected = 2 * perfmodel.models.get("mixtral-8x7b").active_parameters + attention
    per_token = [perfmodel.inference("mixtral-8x7b", "dgx-h100", mode="decode", precision="fp8", tp=8, batch=b,
                                     kv_len=1024, expert_imbalance=imb).to_dict()["decode"]["flops"] / b
                 for b in (1, 2, 64) for imb in (1.0, 2.0)]
    assert per_token == pytest.approx([per_token[0]] * 6, rel=1e-9)
    assert per_token[0] == pytest.approx(expected, rel=0.03)
    # DeepSeek-V3 on 8 H200s: TP8 (down projections and router on every rank) books what TP1 does.
    ds = [perfmodel.inference("deepseek-v3", "hgx-h200", mode="decode", precision="fp8", tp=tp, batch=64,
                              kv_len=1024, check_memory=False).to_dict()["decode"]["flops"] for tp in (1, 8)]
    assert ds[1] == pytest.approx(ds[0], rel=1e-3)


def test_a_few_more_tokens_never_shorten_a_moe_decode_step():
    # A slot holds at most the stage's tokens: the tail bound on the busiest slot charged 10 rows
    # for one token and 8 for three on a GB300 at INT8 (compute bound at 165 TOPS), so 3 tokens
    # stepped faster than 2 (2.66 vs 3.60 ms).
    kw = dict(mode="decode", precision="int8", tp=8, kv_len=247, expert_imbalance=1.826)
    t = [perfmodel.inference("mixtral-8x7b", "gb300-nvl72", batch=b, **kw).tpot_ms for b in range(1, 9)]
    assert t == sorted(t) and t[-1] < 1.05 * t[0]


def test_prefill_ttft_includes_the_pipeline_fill():
    # The forward's time is the pipeline's steady state (what throughput is priced at); the first
    # token waits for the last of pp micro-batches to leave the last stage: (pp + pp - 1) slots.
    # Overlapped halves run each layer together, so a pair is the slot (it counted half-slots).
    for tp, pp, overlap in ((1, 1, False), (1, 2, False), (1, 8, False), (2, 4, True)):
        r = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="prefill", batch=8 * pp, input_len=1024, tp=tp, pp=pp,
                                overlap=overlap)
        step = r.to_dict()["prefill"]["time_s"]
        assert r.ttft_s == pytest.approx(step * (2 * pp - 1) / pp, rel=1e-12)
        assert r.input_tokens_per_s_per_chip == pytest.approx(8 * pp * 1024 / step / (tp * pp), rel=1e-9)
    # One prompt in chunks over 8 stages: the last chunk attends to the whole prompt and drains
    # slower than the mean slot (32K: 253 ms, where mean slots would give 212).
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="prefill", batch=1, input_len=32768, pp=8, precision="fp8")
    step = r.to_dict()["prefill"]["time_s"]
    assert step * (2 * 8 - 1) / 8 * 1.1 < r.ttft_s < step * 8 / 8 * 2.5


def test_routed_experts_run_the_grouped_kernel_however_few_get_tokens():
    # One busy expert on a rank ran as a library GEMM (rows padded to 8) and two as the grouped
    # kernel (rows padded to the 64-row tile): Mixtral BF16 on an H20 at TP4 went 5.2 -> 17.1 ms
    # per token from batch 2 to 3, and splitting a batch made it faster. Now TPOT never falls as
    # the batch grows, and the step's expert part holds the grouped kernel's padded rows.
    tpot = [perfmodel.inference("mixtral-8x7b", "hgx-h20", mode="decode", precision="bf16", tp=4, batch=b,
                                kv_len=2048).tpot_ms for b in range(1, 9)]
    assert tpot == sorted(tpot)
    assert tpot[0] > 0.5 * tpot[2]
    # Serving MFU is over the fastest format the plan runs: INT8 weights on a GB300 (INT8 peak far
    # below BF16, which attention runs in) read 2.2 over the INT8 peak.
    r = perfmodel.inference("deepseek-r1", "nvidia-gb300-nvl72", mode="decode", precision="int8", tp=1, batch=1024,
                            kv_len=32768, overlap=True, check_memory=False)
    assert 0 < r.mfu <= 1


def test_options_that_would_change_nothing_are_refused():
    kw = dict(mode="decode", batch=8, tp=1)
    # None means the default (no drafts, no acceptance): taken, not refused.
    assert perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=1024, mtp_acceptance=None, mtp_tokens=None,
                               **kw).to_dict() == perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=1024, **kw).to_dict()
    # A result's to_dict() is a copy: editing it does not change the result.
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=1024, **kw)
    r.to_dict()["decode"]["max_batch"] = 1
    r.decode["max_batch"] = 2
    assert r.max_batch > 2 and r.to_dict()["decode"]["max_batch"] == r.max_batch
    with pytest.raises(perfmodel.InvalidArgument, match="^mtp_acceptance: the acceptance rate of MTP drafts"):
        perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=1024, mtp_acceptance=0.5, **kw)
    with pytest.raises(perfmodel.InvalidArgument, match="^input_len: a decode step given kv_len"):
        perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=50, input_len=100, **kw)
    # Without kv_len the prompt lengths set the cache (input + output / 2), so they are taken.
    a = perfmodel.inference("llama-3.1-8b", "dgx-h100", input_len=1000, output_len=100, **kw)
    b = perfmodel.inference("llama-3.1-8b", "dgx-h100", kv_len=1050, **kw)
    assert a.tpot_ms == pytest.approx(b.tpot_ms, rel=1e-12)


def test_weights_are_held_as_the_step_runs_them():
    # Llama 3.1 8B in FP8: 7.50B weights at 1 byte, the embedding and LM head (2 x 0.525B) in bf16
    # as lm_head() and embedding() read them: 9.08 GB (all-FP8 said 8.03).
    m = perfmodel.models.get("llama-3.1-8b")
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="decode", kv_len=1024, batch=1, precision="fp8")
    emb = m.vocab * m.hidden
    assert r.memory["weights"] == pytest.approx((m.parameters - 2 * emb) * 1 + 2 * emb * 2)
    # FP4 weights carry NVFP4's block scales, one byte per 16 values: 0.5625 B, not 0.5.
    r4 = perfmodel.inference("llama-3.1-8b", "dgx-b200", mode="decode", kv_len=1024, batch=1, precision="fp4")
    assert r4.memory["weights"] == pytest.approx((m.parameters - 2 * emb) * 0.5625 + 2 * emb * 2)
    # DeepSeek's MLA down projections run whole on every TP rank: TP8 holds more than 1/8 of them.
    d8 = perfmodel.inference("deepseek-r1", "hgx-h20", mode="decode", kv_len=1024, batch=8, tp=8, precision="fp8")
    ds = perfmodel.models.get("deepseek-r1")
    down = ds.layers * ds.hidden * (ds.mla["q_lora_rank"] + ds.mla["kv_lora_rank"] + ds.mla["rope_dim"])
    d1 = perfmodel.inference("deepseek-r1", "hgx-h20", mode="decode", kv_len=1024, batch=8, tp=8, precision="fp8",
                             check_memory=False)
    assert d8.memory["weights"] == d1.memory["weights"] > down * (1 - 1 / 8)
    # A pipeline stage holds its own layers' FFNs: 8 layers, the first 4 dense; at pp=2 the fullest
    # stage is the second, 4 MoE layers and the LM head (a stage held both kinds' counts before).
    small = perfmodel.models.define(id="mixed", layers=8, hidden=4096, heads=32, ffn=14336, vocab=32000,
                                    moe={"routed_experts": 8, "top_k": 2, "dense_layers": 4, "expert_ffn": 14336})
    two = perfmodel.inference(small, "dgx-h100", mode="decode", kv_len=1024, batch=1, pp=2, check_memory=False)
    attn, experts, router, head = 4096 * 128 * (2 * 32 + 2 * 32), 8 * 3 * 4096 * 14336, 4096 * 8, 32000 * 4096
    assert two.memory["weights"] == pytest.approx(2 * (4 * (attn + experts + router) + head))  # 12.07 GB, bf16


def test_kv_heads_must_split_or_replicate_evenly_over_tp():
    m = perfmodel.models.define(id="g24", layers=2, hidden=3072, heads=24, kv_heads=8, ffn=8192, vocab=32000)
    for tp in (3, 6):  # 8 KV heads over 3 or 6 ranks: parts of heads
        with pytest.raises(perfmodel.InvalidArgument, match=rf"tp={tp} neither divides nor is a multiple of the 8 KV heads"):
            perfmodel.inference(m, "dgx-h100", mode="decode", kv_len=1024, batch=1, tp=tp)
    perfmodel.inference(m, "dgx-h100", mode="decode", kv_len=1024, batch=1, tp=8)  # one KV head per rank
    tiny = perfmodel.models.define(id="tiny", layers=1, hidden=64, heads=1, ffn=64, vocab=16)
    r = perfmodel.inference(tiny, "nvl72", mode="decode", kv_len=16, batch=64, dp_attention=64)
    assert r.max_batch <= 2**31  # the batch limit: a larger figure could not be asked for


def _part(r, phase, part):
    b = r.breakdown()
    return b[(b.phase == phase) & (b.part == part)].iloc[0]


def test_micro_batches_carry_the_sequences_they_hold():
    I = perfmodel.inference
    # One 32K prompt over 8 stages runs as 8 chunks, each attending to the prompt before it: the
    # stages together do one prompt's causal work (each stage was charged the whole prompt's
    # attention, 8x the FLOPs, and TTFT 922 ms against 858 at pp 1).
    kw = dict(mode="prefill", batch=1, input_len=32768, precision="fp8")
    one, eight = (I("llama-3.1-8b", "dgx-h100", pp=pp, **kw) for pp in (1, 8))
    assert eight.to_dict()["prefill"]["flops"] == pytest.approx(one.to_dict()["prefill"]["flops"], rel=1e-4)
    assert 8 * _part(eight, "prefill", "attention").time_s == pytest.approx(_part(one, "prefill", "attention").time_s, rel=0.01)
    assert eight.ttft_s < one.ttft_s / 3
    # Decode micro-batches hold whole sequences: 3 over 2 stages are 2 and 1, between batch 2's
    # step and batch 4's (it took batch 4's), and one sequence over 4 stages is model work once.
    kw = dict(mode="decode", kv_len=2048, tp=2, precision="fp8")
    tpot = [I("llama-3.1-70b", "dgx-h100", batch=b, pp=2, **kw).tpot_ms for b in (2, 3, 4)]
    assert tpot[0] < tpot[1] < tpot[2]
    flops = [I("llama-3.1-70b", "dgx-h100", batch=1, pp=pp, **kw).to_dict()["decode"]["flops"] for pp in (1, 4)]
    assert flops[1] == pytest.approx(flops[0], rel=1e-9)
    # Overlap splits a batch only where a layer has communication to hide: one rank runs it whole.
    kw = dict(mode="prefill", batch=2, input_len=128, precision="fp8", tp=1, check_memory=False)
    assert I("llama-3.1-70b", "dgx-h100", overlap=True, **kw).ttft_s == I("llama-3.1-70b", "dgx-h100", overlap=False, **kw).ttft_s


def test_moe_layouts_pay_for_the_tokens_they_move():
    # DP attention with the experts tensor-parallel over all 64 ranks (ep=1) gathers the stage's
    # 2,048 tokens before each of the 58 MoE layers and reduce-scatters them after (it moved
    # nothing and beat EP64); EP64 is now the faster layout.
    kw = dict(mode="decode", batch=2048, kv_len=4096, dp_attention=64, precision="fp8", check_memory=False)
    tp_moe = perfmodel.inference("deepseek-r1", "nvl72", ep=1, **kw)
    assert _part(tp_moe, "decode", "tp_collectives").bytes == 58 * 2 * 2048 * 7168 * 2
    assert perfmodel.inference("deepseek-r1", "nvl72", ep=64, **kw).tpot_ms < tp_moe.tpot_ms
    # With expert-parallel exchanges each TP rank routes its own 1/tp of the tokens and all-gathers
    # the outputs back (it was charged an all-reduce): 64 all-reduces (attention, dense FFNs) and
    # 58 all-gathers of 64 tokens x 7168 x 2 bytes over TP4.
    kw = dict(mode="decode", batch=1152, kv_len=2048, tp=4, dp_attention=18, redundant_experts=32, precision="fp8")
    tpc = _part(perfmodel.inference("deepseek-r1", "nvl72", **kw), "decode", "tp_collectives").time_s
    ar, ag = (perfmodel.collective("nvl72", k, 64 * 7168 * 2, ranks=4).time_s for k in ("all_reduce", "all_gather"))
    assert tpc == pytest.approx(64 * ar + 58 * ag, rel=1e-9)
    # An MTP draft runs one module: a model with three modules pays one per draft, as with one.
    ds = perfmodel.models.get("deepseek-r1").to_dict()
    three = perfmodel.models.define(**{**ds, "id": "r1-mtp3", "mtp_layers": 3})
    kw = dict(mode="decode", batch=64, kv_len=2048, tp=8, precision="fp8", mtp_tokens=1, check_memory=False)
    runs = [perfmodel.inference(m, "hgx-h200", **kw) for m in ("deepseek-r1", three)]
    assert _part(runs[1], "decode", "mtp").time_s == pytest.approx(_part(runs[0], "decode", "mtp").time_s, rel=1e-12)
    assert runs[1].memory["weights"] == runs[0].memory["weights"]  # and holds only the module it runs
    # K/V heads every TP rank repeats past kv_heads are not model work: Qwen3 (4 KV heads) at TP8
    # books the FLOPs of TP4 (+1.7 % before).
    q = [perfmodel.inference("qwen3-235b-a22b", "dgx-h100", mode="decode", batch=64, kv_len=2048, tp=tp, precision="fp8",
                             check_memory=False).to_dict()["decode"]["flops"] for tp in (4, 8)]
    assert q[1] == pytest.approx(q[0], rel=1e-3)


def test_an_oversized_prefill_batch_is_named():
    # A serve plan's prefill_batch of 4,096 4K prompts: it is what to lower, and 107 fit (the message
    # said that not even one sequence fits beside the weights).
    with pytest.raises(perfmodel.InvalidArgument, match=r"the largest prefill_batch that fits is 107 \(asked 4096\)"):
        perfmodel.inference("llama-3.1-70b", "dgx-h100", mode="serve", batch=64, input_len=4096, output_len=256, tp=8,
                            prefill_batch=4096, precision="fp8")
