"""Bad input across the API raises perfmodel.Error naming the argument: no TypeError from the
bindings, no truncated float, no number read as a bool, no empty string read as the default,
no overflow into inf. Each case below was found by fuzzing the public API (session 16)."""

import csv
import json
import pathlib
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import perfmodel

H100 = "nvidia-dgx-h100"


@pytest.mark.parametrize(
    "call, words",
    [
        # floats, numeric strings, NaN and huge ints where an integer is expected
        (lambda: perfmodel.gemm("h100", 1.5, 8, 8), ["m: expected an integer", "1.5"]),
        (lambda: perfmodel.gemm("h100", "8", 8, 8), ["m: expected an integer", "str '8'"]),
        (lambda: perfmodel.gemm("h100", float("nan"), 8, 8), ["m: expected an integer"]),
        (lambda: perfmodel.gemm("h100", 2**63, 1, 1), ["m: expected an integer <="]),
        (lambda: perfmodel.elementwise("h100", "add", 1.5), ["elements: expected an integer"]),
        (lambda: perfmodel.embedding("h100", 1.5, 8), ["tokens: expected an integer"]),
        (lambda: perfmodel.collective(H100, "all_reduce", 1.5), ["size: expected an integer"]),
        (lambda: perfmodel.collective(H100, "all_reduce", "1.5"), ["'1.5' is not a positive whole number of bytes"]),
        (lambda: perfmodel.collective(H100, "all_reduce", 2**20, nodes=1.5), ["nodes: expected an integer"]),
        (lambda: perfmodel.topology(H100, nodes=2**40), ["nodes: expected an integer <="]),
        (lambda: perfmodel.moe_exchange(H100, hidden="abc"), ["hidden: expected an integer"]),
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8, ranks_per_chip=float("nan")),
         ["ranks_per_chip: expected an integer"]),
        (lambda: perfmodel.best_inference("llama-3.1-8b", H100, tpot_ms=50, max_batch=1.5),
         ["max_batch: expected an integer"]),
        # numbers where a bool is expected
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8, overlap=float("nan")),
         ["overlap: expected True or False"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, tp=8, dp=1, flash_attention=0.5),
         ["flash_attention: expected True or False"]),
        (lambda: perfmodel.topology(H100, check="yes"), ["check: expected True or False"]),
        (lambda: perfmodel.attention("h100", causal="no"), ["causal: expected True or False"]),
        # empty strings
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8, precision=""), ["precision: expected a non-empty"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, tp=8, dp=1, sharding=""), ["sharding: expected a non-empty"]),
        (lambda: perfmodel.collective(H100, "all_reduce", 2**20, algorithm=""), ["algorithm: expected a non-empty"]),
        # wrong types that the bindings would reject with a bare TypeError
        (lambda: perfmodel.inference(None, H100), ["model: expected a model id"]),
        (lambda: perfmodel.inference("llama-3.1-8b", None), ["system: expected a non-empty string"]),
        (lambda: perfmodel.gemm(None, 8, 8, 8), ["expected a chip or system id"]),
        (lambda: perfmodel.gemm("h100", 8, 8, 8, catalog="x"), ["catalog: expected a perfmodel Catalog"]),
        (lambda: perfmodel.inference("llama-3.1-8b", H100, precision=1), ["precision: expected a string"]),
        (lambda: perfmodel.best_inference("llama-3.1-8b", H100, tpot_ms="50"), ["tpot_ms: expected a number"]),
        (lambda: perfmodel.power("cm384", pue="1.3"), ["pue: expected a number"]),
        (lambda: perfmodel.cost(None), ["result: expected an InferenceResult or TrainingResult"]),
        (lambda: perfmodel.compare(None), ["compare() needs a list"]),
        (lambda: perfmodel.collective(H100, "all_reduce", 2**20, bogus=1), ["unknown option(s) bogus"]),
        (lambda: perfmodel.gemm("h100", [1, 2, 3], [1, 2], 1), ["do not broadcast together"]),
        (lambda: perfmodel.gemm("h100", 8192, [], 1), ["n: expected at least one value"]),
        (lambda: perfmodel.gemm("h100", 8192, [8], 1, dtype=3), ["dtype: expected a non-empty string"]),
        (lambda: perfmodel.collectives.parse_sizes(1024), ["sizes: expected a string"]),
        (lambda: perfmodel.models.from_hf_config(None), ["path: expected a file or directory path"]),
        (lambda: perfmodel.catalog.load(None), ["path: expected a file or directory path"]),
        (lambda: perfmodel.models.define("x"), ["spec: expected a dict"]),
        # values a model or plan cannot have
        (lambda: perfmodel.models.define(id="", layers=2, hidden=256, heads=4, vocab=100, ffn=256),
         ["id: expected a non-empty model id"]),
        (lambda: perfmodel.models.define(id="m", layers=2, hidden=256, heads=4, vocab=100, ffn=-5,
                                         moe={"routed_experts": 4, "top_k": 2, "expert_ffn": 64}),
         ["ffn: expected a positive integer, got -5"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, tp=8, dp=1, n_chips=0), ["n_chips: expected a positive"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, tp=8, dp=1, train_tokens=float("inf")),
         ["train_tokens: expected a whole count of tokens in [1, 1e18], got inf"]),
        (lambda: perfmodel.attention("h100", variant="mla", rope_dim=-1), ["rope_dim: expected a positive integer, got -1"]),
        (lambda: perfmodel.attention("h100", heads=8, kv_heads=-8), ["kv_heads: expected a positive integer, got -8"]),
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8, kv_len=-1), ["kv_len: must be >= 0"]),
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8, mode="decode", output_len=0),
         ["output_len: must be >= 1"]),
        (lambda: perfmodel.search_inference("llama-3.1-8b", H100, top_k=0, progress=False),
         ["top_k: expected a positive integer"]),
        (lambda: perfmodel.catalog.get(None), ["expected a chip or system id"]),
        (lambda: perfmodel.catalog.builtin().names(1), ["kind: expected a non-empty string"]),
        (lambda: perfmodel.units.parse_unit(None), ["unit: expected a non-empty string"]),
        (lambda: perfmodel.units.format("x", "B"), ["value: expected a number"]),
        (lambda: perfmodel.roofline_data("h100", precision=None), ["precision: expected a non-empty string"]),
        (lambda: perfmodel.chip_energy(None), ["expected a chip or system id"]),
        # a 2-port switch: the fat tree never grew, the estimate hung
        (lambda: perfmodel.collective(H100, "all_reduce", 2**20, nodes=3, switch_radix=2), ["switch_radix", ">= 4"]),
        # messages in Python's terms (session 17, from a new-user exploration)
        (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=8.0), ["batch: expected an integer, got float 8.0"]),
        (lambda: perfmodel.collective(H100, "all_reduce", "1GB"), ["size: cannot read '1GB'"]),
        (lambda: perfmodel.models.get("llama-9"), ["is not built in", "perfmodel.models.load(path)"]),
        (lambda: perfmodel.collective(H100, "all_reduce", 2**20, ranks=16), ["ranks: must be in [2, 8]", "copies of the system (nodes)"]),
        (lambda: perfmodel.topology(H100, nodes=100000, check=True), ["leave the graph check off", "check=False"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, n_chips=12, tp=8), ["dp: not given", "tp x cp x pp = 8"]),
        (lambda: perfmodel.training("llama-3.1-8b", H100, n_chips=72, pp=2, global_batch=576, seq_len=4096),
         ["parallel: tp x cp x dp = 1 x 1 x 36 = 36 ranks per pipeline stage", "multiple of 8"]),
        (lambda: perfmodel.power("hgx-h20"), ["power_model: not given", "chip_energy(nvidia-h20)"]),
        # finite inputs whose result overflows
        (lambda: perfmodel.power("cm384", overrides={"chip_max_watts": 1e308}), ["figures overflow"]),
        (lambda: perfmodel.power("cm384", pue=1e308), ["figures overflow"]),
    ],
)
def test_bad_input_raises_perfmodel_error_naming_the_argument(call, words):
    with pytest.raises(perfmodel.Error) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def test_cost_overflow_is_an_error_not_inf():
    r = perfmodel.inference("llama-3.1-8b", H100, batch=8)
    with pytest.raises(perfmodel.InvalidArgument, match="power_usd_per_hour overflow"):
        perfmodel.cost(r, price_per_kwh=1e308)
    assert perfmodel.cost(r, price_per_kwh=0.1)["power_usd_per_hour"] > 0


def test_hf_config_with_a_zero_expert_ffn_is_a_config_error(tmp_path):
    # This used to kill the process with SIGFPE (a division by the expert FFN size).
    cfg = {"architectures": ["Qwen2MoeForCausalLM"], "num_hidden_layers": 4, "hidden_size": 512,
           "num_attention_heads": 8, "intermediate_size": 1536, "vocab_size": 32000, "num_experts": 16,
           "num_experts_per_tok": 4, "moe_intermediate_size": 0, "shared_expert_intermediate_size": 1024}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(perfmodel.ConfigError, match="moe_intermediate_size: expected a positive integer, got 0"):
        perfmodel.models.from_hf_config(path)
    cfg["moe_intermediate_size"] = 512
    path.write_text(json.dumps(cfg))
    assert perfmodel.models.from_hf_config(path).to_dict()["moe"]["shared_experts"] == 2


def _part(tmp_path, obj):
    (tmp_path / f"{obj['id']}.json").write_text(json.dumps(obj))


def _unknown(note):
    return {"unknown": True, "note": note}


def test_unknown_figures_stay_unknown_instead_of_taking_a_default(tmp_path):
    # A matrix peak stated unknown borrowed the vector rate (a 4096^3 GEMM 7x slower); unknown
    # losses and cooling read as none; an unknown link count as one link.
    _part(tmp_path, {"id": "h100-x", "kind": "chip", "extends": "h100", "name": "x",
                     "compute": {"bf16": {"matrix": _unknown("not public")}},
                     "scale_up": {"links": _unknown("not public")}})
    _part(tmp_path, {"id": "dgx-x", "kind": "system", "extends": "dgx-h100", "name": "x", "chip": "h100-x"})
    _part(tmp_path, {"id": "dgx-y", "kind": "system", "extends": "dgx-h100", "name": "y",
                     "power_model": {"delivery_efficiency": _unknown("not public")}})
    cat = perfmodel.catalog.load(tmp_path)
    with pytest.raises(perfmodel.InvalidArgument, match=r"compute\.bf16\.matrix is unknown \(not public\)"):
        perfmodel.gemm("h100-x", 4096, 4096, 4096, catalog=cat)
    with pytest.raises(perfmodel.InvalidArgument, match=r"h100-x: scale_up\.links is unknown \(not public\)"):
        perfmodel.collective("dgx-x", "all_to_all", "16M", catalog=cat)
    with pytest.raises(perfmodel.InvalidArgument, match=r"power_model\.delivery_efficiency is unknown"):
        perfmodel.power("dgx-y", catalog=cat)
    base = perfmodel.power("dgx-h100").attrs["it_watts"]
    assert perfmodel.power("dgx-y", catalog=cat, overrides={"delivery_efficiency": 0.93}).attrs["it_watts"] == \
        pytest.approx(base)
    # On a switch only a direct exchange needs the link count; a ring all-reduce runs.
    assert perfmodel.collective("dgx-x", "all_reduce", "16M", catalog=cat).time_s > 0
    # A torus has two links per dimension whether or not the chip lists them (TPU v5p: unknown):
    # the same small all-to-all (a direct exchange) as a what-if v5p that states 6, faster than one
    # that states 1.
    for n in (1, 6):
        _part(tmp_path, {"id": f"v5p-{n}", "kind": "chip", "extends": "tpu-v5p", "name": "x",
                         "scale_up": {"links": {"value": n, "source": "test", "confidence": "derived", "derived_from": "t"}}})
        _part(tmp_path, {"id": f"pod-{n}", "kind": "system", "extends": "tpu-v5p-pod", "name": "x", "chip": f"v5p-{n}"})
    cat = perfmodel.catalog.load(tmp_path)
    t = {n: perfmodel.collective(f"pod-{n}", "all_to_all", "64K", ranks=64, catalog=cat).time_s for n in (1, 6)}
    assert perfmodel.collective("tpu-v5p-pod", "all_to_all", "64K", ranks=64).time_s == pytest.approx(t[6], rel=1e-12)
    assert t[6] < t[1]


def test_a_new_family_near_an_existing_one_declares_itself(tmp_path):
    # "amd-cdna4" is one edit from amd-cdna3: refused as a likely typo, with the fix in the message;
    # with its own efficiency part it loads. A user part near a built-in family (enflame-gcu) does
    # not make the built-in chip fail.
    chip = {"id": "mi355x-x", "kind": "chip", "extends": "mi300x", "name": "x", "family": "amd-cdna4"}
    _part(tmp_path, chip)
    with pytest.raises(perfmodel.ConfigError, match=r'did you mean "amd-cdna3"\? For a new family, add its efficiency part'):
        perfmodel.catalog.load(tmp_path)
    _part(tmp_path, {"id": "amd-cdna4", "kind": "efficiency", "extends": "amd-cdna3"})
    _part(tmp_path, {"id": "enflame-gcu2", "kind": "efficiency", "extends": "default"})
    cat = perfmodel.catalog.load(tmp_path)
    assert perfmodel.efficiency_policy("mi355x-x", catalog=cat)["id"] == "amd-cdna4"
    assert cat.get("enflame-s60")["family"] == "enflame-gcu"  # loads as before


def test_unknown_matrix_peak_is_unknown_in_compare_and_the_roofline_too(tmp_path):
    _part(tmp_path, {"id": "h100-x", "kind": "chip", "extends": "h100", "name": "x",
                     "compute": {"bf16": {"matrix": _unknown("not public")}}})
    _part(tmp_path, {"id": "dgx-x", "kind": "system", "extends": "dgx-h100", "name": "x", "chip": "h100-x"})
    cat = perfmodel.catalog.load(tmp_path)
    with pytest.raises(perfmodel.InvalidArgument, match=r"compute\.bf16\.matrix is unknown \(not public\)"):
        perfmodel.roofline_data("h100-x", "bf16", catalog=cat)  # it drew only the vector roof
    df = perfmodel.compare(["dgx-x", "dgx-h100"], catalog=cat)
    assert df.loc["BF16 dense (PFLOP/s)", "dgx-x"] is pd.NA  # not the 134 TFLOP/s vector rate
    assert df.loc["BF16 dense (PFLOP/s)", "nvidia-dgx-h100"] == pytest.approx(8 * 0.9894, rel=1e-3)


def test_gemms_on_vector_units_cost_energy():
    # FP32 has no tensor-core peak on an H100: its GEMMs run on the vector units, and a
    # compute-bound FP32 prefill drew idle power only (100 W against 596 W in BF16).
    kw = dict(mode="prefill", batch=64, input_len=512)
    fp32 = perfmodel.inference("llama-3.1-8b", "dgx-h100", precision="fp32", **kw).energy["chip_watts"]
    idle = perfmodel.chip_energy("h100")["idle_watts"]
    assert fp32 > 2 * idle


def test_a_progress_callback_stops_a_search_only_by_returning_false():
    seen = []
    kw = dict(tp=[1, 2], global_batch=64, seq_len=4096)
    df = perfmodel.search_training("llama-3.1-8b", "dgx-h100", progress=lambda d, t: seen.append(d) or d, **kw)
    assert seen[0] == 0 and not df.attrs["cancelled"] and len(df) > 0  # returned 0 (falsy) at the first report
    df = perfmodel.search_training("llama-3.1-8b", "dgx-h100", progress=lambda d, t: False, **kw)
    assert df.attrs["cancelled"] and df.attrs["evaluated"] == 0


def test_a_price_written_without_a_space_is_read_as_the_loader_reads_it(tmp_path):
    _part(tmp_path, {"id": "dgx-priced", "kind": "system", "extends": "dgx-h100", "name": "x",
                     "price": {"value": "300000USD", "source": "test", "confidence": "rumour"}})
    cat = perfmodel.catalog.load(tmp_path)
    r = perfmodel.inference("llama-3.1-8b", "dgx-priced", batch=8, catalog=cat)
    assert perfmodel.cost(r, catalog=cat)["capex_usd"] == 300000.0
    assert perfmodel.cost(r)["capex_usd"] == 300000.0  # the result's own catalog by default


def test_model_files_refuse_null_and_name_the_line_of_a_syntax_error(tmp_path):
    # "moe": null read as a dense model; activation=None turned GPT-3's gelu into swiglu (+33 %
    # parameters). Hugging Face configs keep null as "not set".
    mixtral = json.loads((pathlib.Path(__file__).resolve().parents[2] / "data" / "models" / "mixtral-8x7b.json").read_text())
    (tmp_path / "m.json").write_text(json.dumps({**mixtral, "moe": None}))
    with pytest.raises(perfmodel.ConfigError, match=r"m\.json: moe: null is not a value"):
        perfmodel.models.load(tmp_path / "m.json")
    gpt3 = json.loads((pathlib.Path(__file__).resolve().parents[2] / "data" / "models" / "gpt-3-175b.json").read_text())
    with pytest.raises(perfmodel.ConfigError, match=r"models\.define\(gpt-3-175b\): activation: None is not a value"):
        perfmodel.models.define(gpt3, activation=None)
    # A result's to_dict() (None: not set) defines the same model again.
    llama = perfmodel.models.get("llama-3.1-8b")
    assert llama.to_dict()["moe"] is None
    assert perfmodel.models.define(llama.to_dict(), id="x").parameters == llama.parameters
    (tmp_path / "t.json").write_text('{\n  "id": "x",\n  "layers": 2,,\n}')
    with pytest.raises(perfmodel.ConfigError, match=r"t\.json:3:\d+: malformed JSON"):
        perfmodel.models.load(tmp_path / "t.json")
    (tmp_path / "u.json").write_text(json.dumps({**mixtral, "hidden": 2**64 - 1}))
    with pytest.raises(perfmodel.ConfigError, match="hidden: out of range: 18446744073709551615"):
        perfmodel.models.load(tmp_path / "u.json")


@pytest.mark.parametrize("change, words", [
    ({"num_experts_per_tok": 300}, ["num_experts_per_tok: expected 1..routed_experts=256, got 300"]),
    ({"kv_lora_rank": 0}, ["kv_lora_rank: expected a positive integer"]),
    ({"first_k_dense_replace": 61}, ["first_k_dense_replace: expected 0..layers-1=60, got 61"]),
    ({"max_position_embeddings": -1}, ["max_position_embeddings: expected a non-negative integer"]),
    ({"rope_scaling": None, "q_lora_rank": None}, []),  # null: not set
])
def test_hf_config_errors_name_the_configs_keys(tmp_path, change, words):
    cfg = {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "num_hidden_layers": 61,
           "hidden_size": 7168, "num_attention_heads": 128, "intermediate_size": 18432, "vocab_size": 129280,
           "q_lora_rank": 1536, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128,
           "v_head_dim": 128, "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 8,
           "first_k_dense_replace": 3, "moe_intermediate_size": 2048, "max_position_embeddings": 163840}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**cfg, **change}))
    if not words:
        assert perfmodel.models.from_hf_config(path).to_dict()["mla"]["q_lora_rank"] == 0
        return
    with pytest.raises(perfmodel.ConfigError) as exc:
        perfmodel.models.from_hf_config(path)
    for w in words:
        assert f"config.json: {w}" in str(exc.value)


def test_integral_numpy_values_are_accepted():
    a = perfmodel.gemm("h100", np.int64(4096), np.int32(4096), 4096)
    b = perfmodel.gemm("h100", 4096, 4096, 4096)
    assert a.time_s == b.time_s
    assert perfmodel.topology(H100, check=np.bool_(False)).shape == perfmodel.topology(H100).shape


@pytest.mark.parametrize("argv, words", [
    (["validate", "{bad}"], ["not UTF-8 text"]),
    (["validate", "{good}", "--out", "/nonexistent/dir/x.md"], ["/nonexistent/dir/x.md", "No such file"]),
    (["gemm", "h100", "99999999999999999999", "1", "1"], ["m: expected an integer <="]),
    (["topology", H100, "--nodes", "3", "--switch-radix", "2"], ["switch_radix"]),
    (["--catalog", "", "list"], ["path: expected a file or directory path"]),
    (["infer", "missing/config.json", H100], ["model: no such file 'missing/config.json'", "llama-3.1-8b"]),
    (["infer", "llama-3.1-8b", H100, "--mode", "decode", "--kv-len", "0"], ["--kv-len: expected cached tokens"]),
    (["infer", "llama-3.1-8b", H100, "--kv-len", "4096"], ["--kv-len: a decode step's cache length; add --mode decode"]),
    (["compare", "cm384", "nvl72", "--tpot-ms", "30"], ["--tpot-ms", "--serving"]),
    (["compare", "cm384", "nvl72", "--serving", "deepseek-r1", "--tpot-ms", "-3"], ["--tpot-ms: expected a positive"]),
    (["compare", "cm384", "nvl72", "--serving", "deepseek-r1", "--tpot-ms", "inf"], ["--tpot-ms: expected a positive, finite"]),
    # Listed every built-in name as "close" and pointed CLI users to a Python call.
    (["infer", "", H100], ["model: expected a built-in model id", "or the path of a config.json, got ''"]),
    (["validate", "{dir}"], ["is a directory, expected a CSV file"]),
    (["power", "nvl72", "--override", "chip_max_watts=1.5 TB"], ["'1.5 TB' is a data size; expected watts"]),
    (["infer", "llama-3.1-8b", H100, "--redundant-experts", "8"], ["redundant_experts: llama-3.1-8b has no experts"]),
    (["infer", "llama-3.1-8b", H100, "--mode", "prefill", "--output-len", "5"], ["--output-len: a prefill-only estimate"]),
    (["infer", "llama-3.1-8b", H100, "--batch", "99999999999999999999"], ["batch: expected an integer under 2^31"]),
    (["show", "nvidia-h100"], ['did you mean "nvidia-h100-sxm"']),
    (["infer", "{list_json}", H100], ["top level: expected a JSON object, got []"]),
    # From the CLI fuzz: each exited 0 with inf or a dropped section, or ended in a traceback.
    (["power", H100, "--override", "chip_max_watts=0"], ['overrides["chip_max_watts"]: got 0', "expected watts > 0"]),
    (["collective", H100, "all_reduce", "--nodes", "1000", "--oversubscription", "1e308"],
     ["oversubscription: must be 0 (the catalog's) or a number in [1, 1000]"]),
    (["train", "llama-3.1-8b", H100, "--tp", "8", "--train-tokens", "1e308"], ["train_tokens", "[1, 1e18]"]),
    (["train", "llama-3.1-8b", H100, "--tp", "8", "--train-tokens", "0.5"], ["train_tokens", "[1, 1e18]"]),
    (["train", "llama-3.1-8b", H100, "--tp", "8", "--train-tokens", "1.5"], ["train_tokens", "whole count"]),
    (["validate", "{good}", "--out", ""], ["--out: expected a file path, got an empty string"]),
    (["validate", "{good}", "--out", "/dev/full"], ["/dev/full: No space left on device"]),
    (["compare", "nvl72", "cm384", "--serving", ""], ["--serving: expected a model id"]),
    (["export-control", "h100", "nvidia-h100-sxm"], ["'nvidia-h100-sxm' names nvidia-h100-sxm, already given as 'h100'"]),
    (["infer", "llama-3.1-70b", H100, "--tp", "8", "--batch", "8", "--mtp-acceptance", "0.5"],
     ["--mtp-acceptance: the acceptance rate of MTP drafts; give --mtp-tokens N"]),
    (["collective", "nvl72", "all_reduce", "--ranks-per-chip", "1000000"], ["ranks_per_chip: must be in [1, 64]"]),
    (["train", "llama-3.1-8b", H100, "--tp", "8", "--seq-len", "1000000000"], ["seq_len: must be at most 2^24"]),
    (["infer", "llama-3.1-8b", H100, "--mode", "decode", "--kv-len", "50", "--input-len", "100", "--batch", "1"],
     ["--input-len: a decode step given --kv-len takes its cache length from it"]),
    (["show", "h100", "--catalog", "/dev/null"], ["/dev/null: not a regular file or a directory"]),
    (["validate", "/dev/null"], ["calibration_csv: /dev/null: not a regular file"]),
    (["roofline", "metax-c550"], ["compute.bf16.matrix is unknown", "give --catalog PATH with a what-if part"]),
    (["infer", "{big_hf}", H100], ["hidden_size: expected at most 1048576, got 1099511627776"]),
])
def test_cli_reports_one_line_without_a_traceback(argv, words, tmp_path, calibration_csv):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,value\n\xff\xfe,1\n")
    (tmp_path / "list.json").write_text("[]")
    hf = {"architectures": ["LlamaForCausalLM"], "hidden_size": 2**40, "num_hidden_layers": 2, "num_attention_heads": 8,
          "num_key_value_heads": 8, "intermediate_size": 64, "vocab_size": 100}
    (tmp_path / "config.json").write_text(json.dumps(hf))
    argv = [a.format(bad=bad, good=calibration_csv, dir=tmp_path, list_json=tmp_path / "list.json",
                     big_hf=tmp_path / "config.json") for a in argv]
    p = subprocess.run([sys.executable, "-m", "perfmodel", *argv], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert p.stdout == ""  # nothing printed before the error (compare printed its hardware table first)
    for w in words:
        assert w in p.stderr


def test_cli_prints_sizes_and_numbers_as_given():
    def run(*argv):
        return subprocess.run([sys.executable, "-m", "perfmodel", *argv], capture_output=True, text=True, timeout=120)

    out = run("collective", "nvl72", "all_reduce", "--sizes", "1.5M,8G")
    assert out.returncode == 0 and "1.5 MiB" in out.stdout and "8 GiB" in out.stdout   # was "1.57 MB"
    csv = run("collective", "nvl72", "all_reduce", "--sizes", "1K,2K", "--csv").stdout.splitlines()
    assert csv[1].split(",")[csv[0].split(",").index("size")] == "1024"                # was "1024.0"
    assert run("units", "5").stdout.strip() == "5 = 5 = 5 (dimensionless ratio)"     # a stray unit "1"


def test_cli_takes_units_and_upper_case_where_it_can():
    def run(*argv):
        return subprocess.run([sys.executable, "-m", "perfmodel", *argv], capture_output=True, text=True, timeout=120)

    kw, plain = run("power", "nvl72", "--override", "chip_max_watts=1.5 kW", "--json"), \
        run("power", "nvl72", "--override", "chip_max_watts=1500", "--json")
    assert kw.returncode == 0 and json.loads(kw.stdout)["it_watts"] == json.loads(plain.stdout)["it_watts"]
    upper, lower = run("gemm", "h100", "4096", "4096", "4096", "--dtype", "FP8", "--json"), \
        run("gemm", "h100", "4096", "4096", "4096", "--dtype", "fp8", "--json")
    assert upper.returncode == 0 and upper.stdout == lower.stdout
    big = run("power", "nvl72", "--pue", "1e300")  # printed a 300-digit kW figure
    assert big.returncode == 0 and "facility: 1.21e+302 kW" in big.stdout and max(len(w) for w in big.stdout.split() if set(w) != {"-"}) < 40


def test_what_the_api_now_fills_in_or_accepts():
    # dp left out with n_chips: what the chips leave (64 chips / TP8 = DP8).
    r = perfmodel.training("llama-3.1-8b", H100, n_chips=64, tp=8, global_batch=64, seq_len=4096)
    assert r.plan["dp"] == 8
    # chip_max_watts alone scales idle with it (idle was 0.135 x TDP, above a 100 W maximum).
    df = perfmodel.power("nvl72", overrides={"chip_max_watts": 100})
    assert df.attrs["chip_watts"] == pytest.approx(100)
    # --train-tokens takes SI multipliers; list --kind model lists the built-in models.
    out = subprocess.run([sys.executable, "-m", "perfmodel", "train", "llama-3.1-8b", H100, "--tp", "8", "--dp", "1",
                          "--train-tokens", "15.6T", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["plan"]["train_tokens"] == pytest.approx(15.6e12)
    out = subprocess.run([sys.executable, "-m", "perfmodel", "list", "--kind", "model"], capture_output=True, text=True)
    assert out.returncode == 0 and "deepseek-r1" in out.stdout and "qwen3-235b-a22b" in out.stdout


MISTRAL_7B = {"architectures": ["MistralForCausalLM"], "model_type": "mistral", "num_hidden_layers": 32,
              "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
              "vocab_size": 32000, "max_position_embeddings": 32768, "sliding_window": 4096}


@pytest.mark.parametrize("change, words", [
    # Mistral 7B v0.1 attends a 4,096-token window: modelling full attention would overstate its
    # long-context KV cache and attention (17 GB/chip at 32K), so the config is refused.
    ({}, ["sliding_window", "4096 tokens is not modelled", "null"]),
    # Errors name the config's own keys, not perfmodel's field names.
    ({"sliding_window": None, "num_hidden_layers": -1}, ["num_hidden_layers: expected a positive integer, got -1"]),
    ({"sliding_window": None, "num_key_value_heads": 5}, ["num_key_value_heads: expected a divisor of "
                                                          "num_attention_heads=32, got 5"]),
])
def test_hf_config_refuses_what_it_does_not_model(tmp_path, change, words):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**MISTRAL_7B, **change}))
    with pytest.raises(perfmodel.ConfigError) as exc:
        perfmodel.models.from_hf_config(path)
    for w in words:
        assert w in str(exc.value)


def test_hf_config_full_attention_and_disabled_windows_load(tmp_path):
    # v0.3 has no window (null); Qwen2-style configs carry a window but switch it off.
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**MISTRAL_7B, "sliding_window": None}))
    assert perfmodel.models.from_hf_config(path).to_dict()["kv_heads"] == 8
    path.write_text(json.dumps({**MISTRAL_7B, "use_sliding_window": False}))
    assert perfmodel.models.from_hf_config(path).to_dict()["layers"] == 32


def test_kv_len_outside_decode_mode_is_an_error_not_ignored():
    # Serve mode attends input_len plus the generated tokens; a kv_len there used to be dropped silently.
    with pytest.raises(perfmodel.InvalidArgument, match=r"kv_len: is read in decode mode only.*serve mode takes "
                                                        r"input_len and output_len, got kv_len 100000"):
        perfmodel.inference("llama-3.1-8b", H100, tp=8, batch=8, kv_len=100000)
    long = perfmodel.inference("llama-3.1-8b", H100, tp=8, batch=8, mode="decode", kv_len=100000)
    short = perfmodel.inference("llama-3.1-8b", H100, tp=8, batch=8, mode="decode", kv_len=1000)
    assert long.tpot_ms > 2 * short.tpot_ms


def test_a_missing_ffn_is_called_missing():
    # It said "expected a positive integer, got 0" for a field the user had not written.
    with pytest.raises(perfmodel.ConfigError, match=r"ffn: missing \(or 0\); the dense FFN layers need"):
        perfmodel.models.define(id="x", layers=32, hidden=4096, heads=32, vocab=32000)


@pytest.mark.parametrize("call, words", [
    # True is a Python int but not a count: it ran as tp=1.
    (lambda: perfmodel.training("llama-3.1-8b", H100, n_chips=8, tp=True), ["tp: expected an integer, got bool True"]),
    (lambda: perfmodel.inference("llama-3.1-8b", H100, batch=True), ["batch: expected an integer, got bool True"]),
    # Overflowing sizes are named, not reported from deep inside a GEMM (or as inf activations).
    (lambda: perfmodel.training("llama-3.1-8b", H100, n_chips=8, seq_len=2**40), ["seq_len: must be at most 2^31"]),
    (lambda: perfmodel.training("qwen3-235b-a22b", H100, n_chips=16, tp=4, pp=2, ep=2, global_batch=4, micro_batch=2,
                                seq_len=1024, check_memory=False, expert_imbalance=1e300),
     ["expert_imbalance: must be in [1, 2^20]"]),
])
def test_counts_are_integers_and_sizes_are_bounded(call, words):
    with pytest.raises(perfmodel.InvalidArgument) as exc:
        call()
    for w in words:
        assert w in str(exc.value)


def _edited_calibration(src: pathlib.Path, dst: pathlib.Path, edit) -> pathlib.Path:
    with src.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    with dst.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(edit(rows))
    return dst


def _set(cid: str, column: str, value: str):
    def edit(rows):
        i, j = rows[0].index("id"), rows[0].index(column)
        return [r if r[i] != cid else r[:j] + [value] + r[j + 1:] for r in rows]
    return edit


@pytest.mark.parametrize("edit, words", [
    # Each used to end in a Python traceback (ZeroDivisionError, ValueError, TypeError, KeyError).
    (_set("AZ-H100-01", "value", "0"), ["cal.csv: line ", "column value: expected a positive number for AZ-H100-01, got '0'"]),
    # A subnormal published value gave an error column of +inf % (exit 0); the bound applies in
    # the model's unit, so the same figure in base units (B/s for TB/s) is still taken.
    (_set("CM384-PF-01", "value", "5e-324"), ["column value: 5e-324 tokens/s/NPU for CM384-PF-01 is",
                                               "expected 1e-6 to 1e12 in that unit"]),
    (_set("AZ-H100-01", "value", "1.2k"), ["column value", "got '1.2k'"]),
    (lambda rows: rows + [next(r for r in rows if r[0] == "CM384-DC-01")], ["column id: 'CM384-DC-01' repeats line 3"]),
    (lambda rows: [r for r in rows if r[0] != "MEG-A100-01"], ["no row with id 'MEG-A100-01'"]),
    (lambda rows: rows + [["X-1", "a", "b"]], ["expected 12 fields as in the header, got 3"]),
    # A unit the model does not predict in is refused, not compared.
    (_set("AZ-H100-02", "unit", "furlongs"), ["column unit: AZ-H100-02 is given in 'furlongs'; the model predicts it in 'TB/s'"]),
])
def test_validate_names_line_and_column_of_a_bad_calibration_row(edit, words, tmp_path, calibration_csv):
    bad = _edited_calibration(calibration_csv, tmp_path / "cal.csv", edit)
    p = subprocess.run([sys.executable, "-m", "perfmodel", "validate", str(bad)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    for w in words:
        assert w in p.stderr


def test_validate_does_not_overwrite_its_input(tmp_path, calibration_csv):
    # --out naming the CSV itself replaced the calibration data with the Markdown report.
    copy = tmp_path / "cal.csv"
    copy.write_bytes(calibration_csv.read_bytes())
    p = subprocess.run([sys.executable, "-m", "perfmodel", "validate", str(copy), "--out", str(copy)],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "is the calibration file itself" in p.stderr
    assert copy.read_bytes() == calibration_csv.read_bytes()


def test_validate_converts_units_reads_a_bom_and_lists_rows_it_does_not_predict(tmp_path, calibration_csv):
    from perfmodel import validation

    # 2,970 GB/s for a row the model predicts in TB/s is converted (it was compared as 2,970 TB/s).
    gbs = _edited_calibration(calibration_csv, tmp_path / "gbs.csv",
                              lambda rows: _set("AZ-H100-02", "unit", "GB/s")(_set("AZ-H100-02", "value", "2970")(rows)))
    df = validation.operator_accuracy(gbs).set_index("row")
    ref = validation.operator_accuracy(calibration_csv).set_index("row")
    assert df.loc["AZ-H100-02", "error"] == pytest.approx(ref.loc["AZ-H100-02", "error"], rel=1e-3)
    # In base units the raw number is past the plausibility bound; it applies after conversion.
    base = _edited_calibration(calibration_csv, tmp_path / "bs.csv",
                               lambda rows: _set("AZ-H100-02", "unit", "B/s")(_set("AZ-H100-02", "value", "2970000000000")(rows)))
    assert validation.operator_accuracy(base).set_index("row").loc["AZ-H100-02", "error"] == \
        pytest.approx(ref.loc["AZ-H100-02", "error"], rel=1e-3)
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + calibration_csv.read_bytes())  # as a spreadsheet saves it
    assert validation.read_calibration(bom).keys() == validation.read_calibration(calibration_csv).keys()
    text = validation.report(calibration_csv)
    assert "no model case predicts (not in the tables above): A2-MEM-01." in text
    assert "not modelled: iluvatar-bi150: memory.main.bandwidth is unknown" in text


def test_validate_refuses_a_case_without_a_recorded_unit(calibration_csv, monkeypatch):
    # A case missing from the unit table was compared in whatever unit its row used.
    from perfmodel import validation

    units = dict(validation._ROW_UNITS)
    del units["AZ-H100-02"]
    monkeypatch.setattr(validation, "_ROW_UNITS", units)
    with pytest.raises(perfmodel.ConfigError, match=r"no unit recorded for AZ-H100-02"):
        validation.operator_accuracy(calibration_csv)


def test_model_fields_are_integers_not_floats():
    # layers=32.0 was taken as 32 (and 32.5 reported as "3.25E1").
    spec = dict(id="x", hidden=4096, heads=32, ffn=11008, vocab=32000)
    for bad in (32.0, 32.5, float("nan")):
        with pytest.raises(perfmodel.ConfigError, match=r"layers: expected an integer, got"):
            perfmodel.models.define(layers=bad, **spec)
    assert perfmodel.models.define(layers=np.int64(32), **spec).to_dict()["layers"] == 32


def test_cli_refuses_undecodable_arguments_and_a_missing_subcommand():
    # Bytes that are not UTF-8 reached the C++ binding as lone surrogates (a TypeError traceback).
    p = subprocess.run([sys.executable, "-m", "perfmodel", "show", "h\udcff"], capture_output=True, text=True,
                       timeout=120, errors="surrogateescape")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "perfmodel: error: argument 2 (h\\udcff) is not valid UTF-8 text" in p.stderr
    p = subprocess.run([sys.executable, "-m", "perfmodel"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and p.stdout == "" and "usage: perfmodel" in p.stderr
