"""perfmodel.compare / export_control and the CLI on the headline comparison."""

import json
import subprocess
import sys

import pandas as pd
import numpy as np
import pytest

import perfmodel


def _rel(got, want):
    return abs(got / want - 1.0)


def test_compare_cloudmatrix_vs_nvl72_headlines():
    df = perfmodel.compare(["huawei-cloudmatrix-384", "nvidia-gb200-nvl72"])
    assert list(df.columns[:2]) == ["huawei-cloudmatrix-384", "nvidia-gb200-nvl72"]
    ratio = df["huawei-cloudmatrix-384 / nvidia-gb200-nvl72"]
    cm = df["huawei-cloudmatrix-384"]
    assert _rel(cm["BF16 dense (PFLOP/s)"], 300) < 0.05
    assert _rel(df["nvidia-gb200-nvl72"]["BF16 dense (PFLOP/s)"], 180) < 0.05
    assert _rel(ratio["HBM capacity (TB)"], 3.6) < 0.05
    assert _rel(ratio["HBM bandwidth (TB/s)"], 2.1) < 0.05
    assert _rel(ratio["System power (kW)"], 3.9) < 0.05
    assert _rel(ratio["Power per BF16 PFLOP/s (W)"], 2.3) < 0.05
    assert _rel(ratio["Power per TB/s of HBM bandwidth (W)"], 1.8) < 0.05
    assert _rel(ratio["Power per TB of HBM (W)"], 1.1) < 0.05
    # Documented disagreements (see tests/cpp/model/system_metrics_test.cpp): paper figures.
    assert ratio["BF16 dense (PFLOP/s)"] == pytest.approx(1.604, rel=0.005)
    assert ratio["Scale-up bandwidth, both directions (TB/s)"] == pytest.approx(2.32, rel=0.01)
    # Absolute: NVIDIA's 130 TB/s is 72 x 900 GB/s each way, counted both ways; per chip 900 GB/s.
    nvl = df["nvidia-gb200-nvl72"]
    assert nvl["Scale-up bandwidth, both directions (TB/s)"] == pytest.approx(72 * 0.9 * 2, rel=1e-9)
    assert nvl["Scale-up per chip, per direction (GB/s)"] == pytest.approx(900, rel=1e-9)


def test_compare_marks_unknown_as_na_not_nan_or_zero():
    df = perfmodel.compare(["cm384", "nvl72"])
    assert pd.isna(df.loc["Price (USD)", "huawei-cloudmatrix-384"])
    assert df.loc["Price (USD)", "huawei-cloudmatrix-384"] is pd.NA
    assert any("huawei-cloudmatrix-384: price" in m for m in df.attrs["missing"])
    assert str(df.dtypes.iloc[0]) == "Float64"


def test_compare_rejects_chips_and_duplicates():
    with pytest.raises(perfmodel.InvalidArgument, match="is a chip"):
        perfmodel.compare(["h100", "nvl72"])
    with pytest.raises(perfmodel.InvalidArgument, match="twice"):
        perfmodel.compare(["nvl72", "nvidia-gb200-nvl72"])
    with pytest.raises(perfmodel.InvalidArgument):
        perfmodel.compare("nvl72")
    with pytest.raises(perfmodel.NotFound):
        perfmodel.compare(["nvl73"])


def test_export_control_public_record():
    h100 = perfmodel.export_control("h100")
    h20 = perfmodel.export_control("h20")
    assert h100["classification"] == "3A090.a" and h100["tpp"] == pytest.approx(15832)
    assert h20["classification"] == "below 3A090"
    assert h20["tpp"] < 2400 and h20["performance_density"] < 3.2
    assert "3A090" in h20["rule"]
    unknown = perfmodel.export_control("cambricon-mlu590")
    assert unknown["classification"] == "undetermined" and unknown["tpp"] is None


def test_export_control_with_unknown_precisions_is_a_lower_bound(tmp_path):
    # An H20 whose FP8 and INT8 rates are unknown: TF32 alone gives TPP 2,368 and, on a 700 mm2
    # die, PD 3.38, a 3A090.b reading; the unknown rates could lift it to .a, which the class says.
    unknown = {"unknown": True, "note": "what-if"}
    (tmp_path / "c.json").write_text(json.dumps({
        "id": "h20-unk", "kind": "chip", "extends": "h20", "name": "H20, 8-bit rates unknown",
        "compute": {"fp8": {"matrix": unknown}, "int8": {"matrix": unknown}},
        "die_area_mm2": {"value": 700, "source": "what-if", "confidence": "derived", "derived_from": "assumption"}}))
    cat = perfmodel.catalog.load(tmp_path)
    ec = perfmodel.export_control("h20-unk", cat)
    assert ec["classification"] == "3A090.b or 3A090.a"
    assert "PD 3.38 in [3.2, 5.92)" in ec["reason"] and "lower bound" in ec["reason"]
    out = _cli("export-control", "h20-unk", "h20", "--catalog", str(tmp_path))
    assert out.returncode == 0 and "3A090.b or 3A090.a [1]" in out.stdout
    assert "[1] h20-unk: TPP 2368 (bf16)" in out.stdout  # TF32 ties; its 32-bit count is an assumption


def test_export_control_per_ic_rumour_inputs_and_threshold_digits(tmp_path):
    # The MLU370-X8 entry is a card of two Siyuan 370s; 3A090 applies per integrated circuit:
    # 256 INT8 TOPS x 8 / 2 = 1,024 < 1,600 (the card's 2,048 read as undetermined).
    mlu = perfmodel.export_control("mlu370-x8")
    assert mlu["tpp"] == pytest.approx(1024) and mlu["classification"] == "below 3A090"
    assert "per integrated circuit: the entry holds 2" in mlu["reason"]
    # Classes resting on rumour-grade figures name them (C600's one FP8 figure; H20's die area).
    assert perfmodel.export_control("c600")["rumour_inputs"] == ["compute.fp8.matrix"]
    assert "die_area_mm2" in perfmodel.export_control("h20")["rumour_inputs"]
    assert perfmodel.export_control("h100")["rumour_inputs"] == []
    # Ties go to a format whose bit length is not an assumption (A100: TF32 = BF16 = INT8 = 4,992).
    assert perfmodel.export_control("a100")["tpp_precision"] == "bf16"
    # Near a threshold the numbers shown keep their side of it: TPP 4,799.52 and PD 5.9195 were
    # printed '4800' and '5.92' beside a 3A090.b class.
    fig = {"source": "what-if", "confidence": "derived", "derived_from": "assumption"}
    (tmp_path / "c.json").write_text(json.dumps({
        "id": "edge", "kind": "chip", "vendor": "v", "name": "edge",
        "compute": {"bf16": {"matrix": {"value": "299.97 TFLOP/s", **fig}}},
        "dies": {"value": 1, **fig}, "die_area_mm2": {"value": 810.78, **fig}}))
    (tmp_path / "d.json").write_text(json.dumps({
        "id": "dies-unknown", "kind": "chip", "vendor": "v", "name": "d", "compute": {"bf16": {"matrix": {"value": "200 TFLOP/s", **fig}}},
        "dies": {"unknown": True, "note": "n"}, "die_area_mm2": {"value": 800, **fig}}))
    cat = perfmodel.catalog.load(tmp_path)
    edge = perfmodel.export_control("edge", cat)
    assert edge["classification"] == "3A090.b"
    assert "TPP 4799.5 " in edge["reason"] and "PD 5.92 " not in edge["reason"]
    out = _cli("export-control", "edge", "--catalog", str(tmp_path))
    row = next(line for line in out.stdout.splitlines() if line.startswith("edge"))
    assert "4,800" not in row and " 5.92 " not in row
    assert "the number of dies is unknown" in perfmodel.export_control("dies-unknown", cat)["reason"]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "perfmodel", *args], capture_output=True, text=True)


def test_cli_compare_table_csv_json():
    out = _cli("compare", "huawei-cloudmatrix-384", "nvidia-gb200-nvl72")
    assert out.returncode == 0, out.stderr
    assert "BF16 dense (PFLOP/s)" in out.stdout and "3.86x" in out.stdout
    assert "unknown" in out.stdout
    csv = _cli("compare", "cm384", "nvl72", "--csv")
    assert csv.stdout.startswith("metric,huawei-cloudmatrix-384,nvidia-gb200-nvl72")
    js = json.loads(_cli("compare", "cm384", "nvl72", "--json").stdout)
    assert js["columns"]["nvidia-gb200-nvl72"]["Chips"] == 72
    assert js["columns"]["huawei-cloudmatrix-384"]["Price (USD)"] is None


def test_cli_list_show_and_errors(tmp_path):
    assert "huawei-ascend-910c" in _cli("list").stdout
    show = _cli("show", "h20")
    assert "rumour" in show.stdout and "below 3A090" in show.stdout
    assert json.loads(_cli("show", "h100", "--json").stdout)["id"] == "nvidia-h100-sxm"
    bad = _cli("show", "h1000")
    assert bad.returncode == 2 and "no catalog part" in bad.stderr
    p = tmp_path / "x.json"
    p.write_text('{"id": "x", "kind": "chip", "vendor": "v", "name": "n", "tdp": {"value": "3 TB", "source": "s", "confidence": "official"}}')
    bad = _cli("--catalog", str(p), "list")
    assert bad.returncode == 2 and "$.tdp.value" in bad.stderr
    assert "3A090.a" in _cli("export-control", "h100").stdout
    # --catalog works before or after the command, and repeated: every file is layered in order
    # (only the last one was used, so a part extending one from an earlier file was not found).
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "c.json").write_text('{"id": "what-if-h100", "kind": "chip", "extends": "h100"}')
    (tmp_path / "more.json").write_text('{"id": "what-if-2", "kind": "chip", "extends": "what-if-h100"}')
    for args in (("--catalog", str(tmp_path / "mine"), "show", "what-if-h100"),
                 ("show", "what-if-h100", "--catalog", str(tmp_path / "mine")),
                 ("--catalog", str(tmp_path / "mine"), "--catalog", str(tmp_path / "more.json"), "show", "what-if-2"),
                 ("--catalog", str(tmp_path / "mine"), "show", "what-if-2", "--catalog", str(tmp_path / "more.json"))):
        out = _cli(*args)
        assert out.returncode == 0 and "what-if" in out.stdout, (args, out.stderr)
    bad = _cli("--catalog", str(p), "show", "what-if-h100", "--catalog", str(tmp_path / "mine"))
    assert bad.returncode == 2 and "$.tdp.value" in bad.stderr  # a bad file is not skipped for a later one


def test_serving_comparison_same_recipe_on_both_racks():
    from perfmodel.compare import serving_comparison

    df = serving_comparison(["cm384", "nvl72"], "deepseek-r1")
    cm, nv = df["huawei-cloudmatrix-384"], df["nvidia-gb200-nvl72"]
    # The 910C has no FP8 peak in the catalog, so its GEMMs run W8A8; GB200 runs FP8.
    assert (cm["GEMM precision"], nv["GEMM precision"]) == ("INT8", "FP8")
    # Per system counts the whole instances that fit, as the results do: decode fills both racks;
    # prefill fills CloudMatrix with 24 instances of 16 chips, NVL72 with 4 (8 GPUs idle).
    for col, chips, busy in ((cm, 384, 384), (nv, 72, 64)):
        assert col["Decode TPOT (ms)"] <= 50.0
        assert col["Decode tokens/s per system"] == pytest.approx(col["Decode tokens/s per chip"] * chips)
        assert col["Prefill tokens/s per system"] == pytest.approx(col["Prefill tokens/s per chip"] * busy)
    assert cm["Prefill layout"].endswith(", 24 x 16 chips") and nv["Prefill layout"].endswith(", 4 x 16 chips, 8 idle")
    for sid in ("cm384", "nvl72"):
        r = perfmodel.serving_results(sid)
        col = df[perfmodel.catalog.get(sid).id]
        assert col["Prefill tokens/s per system"] == r["prefill"].input_tokens_per_s_per_system
        assert col["Decode tokens/s per system"] == r["decode"].output_tokens_per_s_per_system
        # TPOT is time per output token of one sequence (MTP included), so rate = batch / TPOT.
        assert col["Decode tokens/s per chip"] == pytest.approx(
            col["Decode batch per chip"] / (col["Decode TPOT (ms)"] / 1e3), rel=1e-6)
    # Per chip a Blackwell GPU serves several times an Ascend 910C; per rack the 5.3x chip count
    # more than makes up for it in decode (Huawei's published CloudMatrix decode: 1,943 tok/s/NPU
    # at 49 ms with overlap, 2,138 without in its CANN recipe, 2,400 in xDeepServe).
    assert nv["Decode tokens/s per chip"] > 2.5 * cm["Decode tokens/s per chip"]
    assert 1.5 < cm["Decode tokens/s per system"] / nv["Decode tokens/s per system"] < 2.1
    assert 1000 < cm["Decode tokens/s per chip"] < 2500


def test_serving_recipe_runs_dense_models_as_tensor_parallel_instances():
    # Data-parallel attention over every rank copied a dense 70B onto each H100 (6 sequences fit:
    # 201 tok/s per chip; TP instances serve about 6x that), and on a 910C onto each die (no plan).
    df = perfmodel.serving_comparison(["dgx-h100", "cm384"], "llama-3.1-70b")
    h100, cm = df["nvidia-dgx-h100"], df["huawei-cloudmatrix-384"]
    assert h100["Decode layout"].startswith("TP") and h100["Decode tokens/s per chip"] > 1000
    assert cm["Decode tokens/s per chip"] is not None and cm["Prefill tokens/s per chip"] is not None
    assert df.attrs["recipe"].startswith("llama-3.1-70b; decode: TP1-8 instances, the fastest")
    # The per-chip batch counts the chips of one instance, not the system's.
    tp = int(h100["Decode layout"].split(",")[0][2:])
    r = perfmodel.serving_results("dgx-h100", "llama-3.1-70b")["decode"]
    assert h100["Decode batch per chip"] == pytest.approx(r.plan["batch"] / tp)
    # Prefill keeps the overlap setting that fits when the other does not (overlap-off prefill of
    # 70B on one H100 needs 85.9 GB of 85.5; the row was 'no prefill plan fits').
    assert h100["Prefill tokens/s per chip"] is not None


def test_serving_recipe_picks_the_layout_that_serves_most_per_system(tmp_path):
    # On 12 H100s TP8 serves more per chip but leaves 4 chips idle; TP4 fills the system (3 x 4).
    # The idle chips draw idle power in the per-system power row, as cost() charges them.
    (tmp_path / "x12.json").write_text(json.dumps({"id": "h100-x12", "kind": "system", "extends": "dgx-h100",
                                                   "name": "12 H100", "chips": {"value": 12, "source": "what-if",
                                                   "confidence": "derived", "derived_from": "x"},
                                                   "nodes": {"count": {"value": 1, "source": "what-if",
                                                   "confidence": "derived", "derived_from": "x"}, "chips_per_node": 12},
                                                   "scale_up": {"domain_size": {"value": 12, "source": "what-if",
                                                   "confidence": "derived", "derived_from": "x"}}}))
    cat = perfmodel.catalog.load(tmp_path)
    col = perfmodel.serving_comparison(["h100-x12"], "llama-3.1-70b", tpot_ms=20, catalog=cat)["h100-x12"]
    per_tp = {}
    for tp in (4, 8):
        r = perfmodel.best_inference("llama-3.1-70b", "h100-x12", tpot_ms=20, mode="decode", kv_len=4096, tp=tp,
                                     precision="fp8", overlap=[True, False], catalog=cat)
        per_tp[tp] = r
    assert per_tp[8].output_tokens_per_s_per_chip > per_tp[4].output_tokens_per_s_per_chip
    assert per_tp[4].output_tokens_per_s_per_system > per_tp[8].output_tokens_per_s_per_system
    assert col["Decode layout"].startswith("TP4") and col["Decode layout"].endswith("3 x 4 chips")
    assert col["Decode tokens/s per system"] == pytest.approx(per_tp[4].output_tokens_per_s_per_system)


def test_serving_recipe_refuses_a_context_beyond_the_model_up_front():
    with pytest.raises(perfmodel.InvalidArgument, match=r"kv_len: 4096 cached \+ 1 new tokens exceed the 2048-token context of gpt-3-175b"):
        perfmodel.serving_comparison(["dgx-h100", "nvl72"], "gpt-3-175b")
    df = perfmodel.serving_comparison(["dgx-h100"], "gpt-3-175b", kv_len=1536, input_len=1024)
    assert df.loc["Decode tokens/s per chip", "nvidia-dgx-h100"] > 0
    out = _cli("compare", "dgx-h100", "--serving", "gpt-3-175b", "--kv-len", "1536", "--input-len", "1024")
    assert out.returncode == 0 and "Decode tokens/s per chip" in out.stdout
    bad = _cli("compare", "dgx-h100", "--kv-len", "1536")
    assert bad.returncode == 2 and "--kv-len: sets the serving recipe" in bad.stderr


def test_serving_recipe_keeps_the_faster_of_overlap_on_and_off():
    # Two micro-batches hide the expert exchange but read every weight twice. The recipe forced
    # overlap on until session 19: CloudMatrix decode 1,582 tok/s per chip where 2,327 fit without.
    import perfmodel

    r = perfmodel.serving_results("cm384")
    common = dict(tpot_ms=50, mode="decode", kv_len=4096, dp_attention=768, redundant_experts=512, mtp_tokens=1,
                  mtp_acceptance=0.7, precision="int8", ranks_per_chip=2)
    forced = {o: perfmodel.best_inference("deepseek-r1", "cm384", overlap=o, **common) for o in (True, False)}
    best = max(forced.values(), key=lambda x: x.output_tokens_per_s_per_chip)
    assert r["decode"].output_tokens_per_s_per_chip == pytest.approx(best.output_tokens_per_s_per_chip)
    assert r["decode"].plan["overlap"] is False
    assert forced[False].output_tokens_per_s_per_chip > 1.3 * forced[True].output_tokens_per_s_per_chip
    pre = {o: perfmodel.inference("deepseek-r1", "cm384", mode="prefill", input_len=4096, batch=64, dp_attention=32,
                                  precision="int8", ranks_per_chip=2, overlap=o) for o in (True, False)}
    assert r["prefill"].input_tokens_per_s_per_chip == pytest.approx(
        max(p.input_tokens_per_s_per_chip for p in pre.values()))
    df = perfmodel.serving_comparison(["cm384"])
    assert df.loc["Decode micro-batch overlap", "huawei-cloudmatrix-384"] == "off"
    assert df.loc["Prefill micro-batch overlap", "huawei-cloudmatrix-384"] == "on"


def test_serving_comparison_tighter_tpot_never_raises_throughput():
    from perfmodel.compare import serving_comparison

    loose = serving_comparison(["nvl72"], tpot_ms=60.0)["nvidia-gb200-nvl72"]
    tight = serving_comparison(["nvl72"], tpot_ms=30.0)["nvidia-gb200-nvl72"]
    assert tight["Decode TPOT (ms)"] <= 30.0
    assert tight["Decode tokens/s per chip"] < loose["Decode tokens/s per chip"]


def test_serving_comparison_bad_input():
    from perfmodel.compare import serving_comparison

    with pytest.raises(perfmodel.Error, match="takes systems"):
        serving_comparison(["huawei-ascend-910c"])
    with pytest.raises(perfmodel.Error, match="list or tuple of one or more"):
        serving_comparison("cm384")
    # A latency limit nothing meets: serving_results raises; the comparison keeps the system's
    # column, with no figures and the reason where its bottleneck would be (prefill still runs).
    with pytest.raises(perfmodel.Error, match="no plan .* fits the limits"):
        perfmodel.serving_results("cm384", tpot_ms=1.0)
    df = serving_comparison(["cm384", "nvl72"], tpot_ms=1.0)
    col = df["huawei-cloudmatrix-384"]
    assert col["Decode tokens/s per chip"] is None and col["Decode TPOT (ms)"] is None
    assert col["Decode bottleneck"].startswith("no decode plan fits: ") and "latency" in col["Decode bottleneck"]
    assert col["Prefill tokens/s per chip"] > 0


def test_serving_comparison_takes_models_without_mtp_and_small_systems():
    # Qwen3 has no MTP modules: the recipe drops the draft (it used to fail every system). A DGX
    # H100 is smaller than the 16-chip prefill instance: it prefills as one 8-GPU instance.
    df = perfmodel.serving_comparison(["nvl72", "dgx-h100"], "qwen3-235b-a22b")
    assert "no MTP" in df.attrs["recipe"]
    assert df.loc["Decode tokens/s per chip"].map(lambda v: v > 0).all()
    assert df.loc["Prefill tokens/s per chip"].map(lambda v: v > 0).all()
    assert "1 MTP draft" in perfmodel.serving_comparison(["nvl72"]).attrs["recipe"]  # DeepSeek-R1 keeps its draft
    # Asked for explicitly, a draft on a model without MTP modules is an argument error, raised once
    # (it was a "no decode plan fits" row on every system).
    with pytest.raises(perfmodel.InvalidArgument, match="^mtp_tokens: qwen3-235b-a22b has no multi-token-prediction"):
        perfmodel.serving_comparison(["nvl72", "cm384"], "qwen3-235b-a22b", mtp_tokens=1)


def test_serving_results_are_the_comparison_rows_and_take_ranks_per_chip():
    r = perfmodel.serving_results("cm384")
    row = perfmodel.serving_comparison(["cm384"])["huawei-cloudmatrix-384"]
    assert (r["system"], r["chips"], r["ranks_per_chip"], r["precision"]) == ("huawei-cloudmatrix-384", 384, 2, "int8")
    assert r["decode"].output_tokens_per_s_per_chip == row["Decode tokens/s per chip"]
    assert r["prefill"].input_tokens_per_s_per_chip == row["Prefill tokens/s per chip"]
    # The results feed perfmodel.cost: NVL72 has a (rumour-grade) price, CM384 none, so its $/M tokens stays unknown.
    assert "usd_per_million_output_tokens" in perfmodel.cost(perfmodel.serving_results("nvl72")["decode"])
    assert "usd_per_million_output_tokens" in perfmodel.cost(r["decode"])["unknown"]
    # One rank per package instead of per die halves the attention-DP ranks the decode batch spreads over.
    one = perfmodel.serving_results("cm384", ranks_per_chip=1)
    assert one["ranks_per_chip"] == 1 and one["decode"].to_dict()["decode"] != r["decode"].to_dict()["decode"]
    for bad in (0, 1.5, True):
        with pytest.raises(perfmodel.Error, match="ranks_per_chip"):
            perfmodel.serving_results("cm384", ranks_per_chip=bad)
    # numpy integers are integers, as everywhere else.
    np_one = perfmodel.serving_results("cm384", ranks_per_chip=np.int64(1))
    assert np_one["decode"].to_dict()["decode"] == one["decode"].to_dict()["decode"]


def test_cli_compare_serving_rows():
    out = _cli("compare", "cm384", "nvl72", "--serving", "deepseek-r1")
    assert out.returncode == 0, out.stderr
    assert "Decode tokens/s per chip" in out.stdout and "Prefill tokens/s per system" in out.stdout
    assert "recipe: deepseek-r1" in out.stdout
    js = json.loads(_cli("compare", "cm384", "nvl72", "--serving", "deepseek-r1", "--json").stdout)
    assert js["serving"]["columns"]["nvidia-gb200-nvl72"]["GEMM precision"] == "FP8"


def test_training_comparison_same_recipe_on_both_racks():
    df = perfmodel.training_comparison(["cm384", "nvl72"], "llama-3.1-405b")
    cm, nv = df["huawei-cloudmatrix-384"], df["nvidia-gb200-nvl72"]
    # The 910C trains on its dies (768 ranks); each row is the fastest recipe plan that fits.
    assert "on 768 die ranks" in cm["Plan"] and "die ranks" not in nv["Plan"]
    for col, chips in ((cm, 384), (nv, 72)):
        assert col["Training tokens/s per system"] == pytest.approx(col["Training tokens/s per chip"] * chips)
        # Below what the driver reports (185 GiB = 198.6 GB on a GB200; the 910C's 128 GB is 2 x 64 GiB).
        limit = {384: 128 * 2**30 / 1e9, 72: 185 * 2**30 / 1e9}[chips]
        assert col["Memory per chip (GB)"] <= limit and col["Memory limit per chip (GB)"] == pytest.approx(limit)
        assert 20 < col["MFU (%)"] < 70
        assert col["Days per trillion tokens (one system)"] == pytest.approx(
            1e12 / col["Training tokens/s per system"] / 86400)
        # The step trains global_batch x seq_len tokens: the step time and the rate agree.
        assert col["Step time (s)"] == pytest.approx(2304 * 8192 / col["Training tokens/s per system"], rel=1e-9)
    # Per chip a GB200 trains more than twice a 910C; the rack of 384 trains more in all.
    assert nv["Training tokens/s per chip"] > 2 * cm["Training tokens/s per chip"]
    assert cm["Training tokens/s per system"] > nv["Training tokens/s per system"]
    r = perfmodel.training_results("cm384")
    assert (r["chips"], r["ranks_per_chip"]) == (384, 2)
    assert r["result"].tokens_per_s_per_chip == cm["Training tokens/s per chip"]
    # A MoE model with a prime layer count (DeepSeek-V3, 61): the recipe finds expert-parallel
    # plans, pipelining only with one layer fewer on the end stages (61 + 2 = 63 = 7 x 9).
    moe = perfmodel.training_comparison(["cm384", "nvl72"], "deepseek-v3")
    for sid in ("huawei-cloudmatrix-384", "nvidia-gb200-nvl72"):
        plan = moe[sid]["Plan"]
        assert " EP" in plan and (" PP1 " in plan or "lighter end stages" in plan), plan
    # Nothing fits: the row says so, with the search's reasons, and no NaN anywhere.
    h20 = perfmodel.training_comparison(["nvidia-hgx-h20"], "llama-3.1-405b")["nvidia-hgx-h20"]
    assert h20["Plan"].startswith("no plan of the recipe fits") and "exceeds memory" in h20["Plan"]
    assert h20["MFU (%)"] is None
    # training_results raises on it, as serving_results does, with the same reasons.
    with pytest.raises(perfmodel.InvalidArgument, match="no plan of the recipe fits llama-3.1-405b on nvidia-hgx-h20: .*exceeds memory"):
        perfmodel.training_results("nvidia-hgx-h20")
    with pytest.raises(perfmodel.Error, match="takes systems"):
        perfmodel.training_comparison(["huawei-ascend-910c"])
    with pytest.raises(perfmodel.Error, match="list or tuple of one or more"):
        perfmodel.training_comparison("cm384")
    out = _cli("compare", "cm384", "nvl72", "--training", "llama-3.1-405b")
    assert out.returncode == 0, out.stderr
    assert "Training tokens/s per chip" in out.stdout and "recipe: llama-3.1-405b" in out.stdout
    js = json.loads(_cli("compare", "cm384", "nvl72", "--training", "llama-3.1-405b", "--json").stdout)
    assert "TP" in js["training"]["columns"]["nvidia-gb200-nvl72"]["Plan"]


def test_cli_compare_workload_tables_with_a_system_that_has_no_plan():
    # The first system has no plan: its cells are unknown, its ratios too (no traceback), and the
    # long reason is a numbered note under the table.
    out = _cli("compare", "dgx-h100", "nvl72", "--training", "llama-3.1-405b")
    assert out.returncode == 0, out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("Training tokens/s per chip"))
    assert line.split()[-3] == "unknown" and float(line.split()[-2]) > 0 and line.split()[-1] == "unknown"
    assert "[1] nvidia-dgx-h100, Plan: no plan of the recipe fits:" in out.stdout
    # --csv keeps the workload tables: one table, a section column says which.
    csv = _cli("compare", "cm384", "nvl72", "--serving", "deepseek-r1", "--training", "llama-3.1-405b", "--csv")
    assert csv.returncode == 0, csv.stderr
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(csv.stdout), index_col=0)
    assert set(table["section"]) == {"hardware", "serving", "training"}
    assert float(table.loc["Decode tokens/s per chip", "nvidia-gb200-nvl72"]) > 0
    # --tpot-ms only means something with --serving.
    bad = _cli("compare", "cm384", "nvl72", "--tpot-ms", "30")
    assert bad.returncode == 2 and "--tpot-ms" in bad.stderr and "--serving" in bad.stderr


def test_comparisons_warn_when_energy_bases_differ():
    # NVL72 has a system power model (all-in), DGX B200 none (chips only): per-joule rows would
    # flatter the B200, so the tables say so; two all-in systems get no warning.
    mixed = perfmodel.training_comparison(["nvl72", "dgx-b200"], "llama-3.1-70b")
    assert mixed.attrs["warnings"] and "mix bases" in mixed.attrs["warnings"][0]
    assert "nvidia-dgx-b200 chips only" in mixed.attrs["warnings"][0]
    assert perfmodel.serving_comparison(["cm384", "nvl72"]).attrs["warnings"] == []


def test_energy_basis_of_a_chip_without_energy_data_is_said_once_and_whole():
    # It read 'unknown: unknown: data/catalog/efficiency/default.json: ener' (prefix doubled, cut mid-word).
    df = perfmodel.training_comparison(["amd-mi300x-platform", "nvl72"], "llama-3.1-8b")
    basis = df.loc["Energy basis", "amd-mi300x-platform"]
    assert basis.startswith("unknown: data/catalog/efficiency/amd-cdna3.json") and "unknown: unknown" not in basis
    assert basis.endswith("so its power cannot be modelled")


def test_fp32_row_is_ieee_vector_and_small_ratios_keep_their_digits(capsys):
    from perfmodel.cli import main

    df = perfmodel.compare(["huawei-cloudmatrix-384", "nvidia-gb200-nvl72"])
    # 384 x 22 TFLOP/s of vector FP32 against 72 x 80: the 910C's 199 TFLOP/s cube path (HF32-like)
    # made the row 76.4 PFLOP/s, 13.3x.
    assert df.loc["FP32 dense (PFLOP/s)", "huawei-cloudmatrix-384"] == pytest.approx(384 * 22e12 / 1e15)
    assert df.loc["FP32 dense (PFLOP/s)", "nvidia-gb200-nvl72"] == pytest.approx(72 * 80e12 / 1e15)
    # Ratios below 1 in 3 significant digits (0.0086 and 0.0139 both printed 0.01x).
    assert main(["compare", "dgx-a100", "cm384", "nvl72"]) == 0
    bf16 = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("BF16 dense"))
    assert bf16.split()[-2:] == ["0.00864x", "0.0139x"]


def test_serving_and_training_rows_per_rack():
    # CloudMatrix 384 fills 16 racks (12 compute, 4 switch), an NVL72 one: per system and per rack
    # differ by that count (the tutorial printed per-system figures as per rack).
    t = perfmodel.training_comparison(["cm384", "nvl72"], "llama-3.1-405b")
    for sid, racks in (("huawei-cloudmatrix-384", 16), ("nvidia-gb200-nvl72", 1)):
        assert t.loc["Training tokens/s per rack", sid] == pytest.approx(t.loc["Training tokens/s per system", sid] / racks)
    s = perfmodel.serving_comparison(["cm384", "nvl72", "dgx-h100"], "llama-3.1-8b")
    assert s.loc["Decode tokens/s per rack", "huawei-cloudmatrix-384"] == pytest.approx(
        s.loc["Decode tokens/s per system", "huawei-cloudmatrix-384"] / 16)
    assert s.loc["Prefill tokens/s per rack", "nvidia-dgx-h100"] is None  # the catalog does not give its racks


def test_recipes_name_their_own_arguments():
    with pytest.raises(perfmodel.InvalidArgument, match="^serving_comparison\\(\\) got the same system twice"):
        perfmodel.serving_comparison(["nvl72", "nvidia-gb200-nvl72"])
    with pytest.raises(perfmodel.InvalidArgument, match="^training_comparison\\(\\) got the same system twice"):
        perfmodel.training_comparison(["nvl72", "nvidia-gb200-nvl72"])
    with pytest.raises(perfmodel.InvalidArgument, match="^seq_len"):
        perfmodel.training_results("nvl72", seq_len=0)
    for field in ("prefill_chips", "prefill_seqs_per_chip"):
        with pytest.raises(perfmodel.InvalidArgument, match=f"^{field}"):
            perfmodel.serving_results("nvl72", **{field: 0})
    # MTP arguments are checked once, not reported as "no decode plan fits" on every system.
    for kw, msg in ((dict(mtp_acceptance=2.0), "^mtp_acceptance: expected a number <= 1"),
                    (dict(mtp_acceptance=float("nan")), "^mtp_acceptance: expected a finite number"),
                    (dict(mtp_tokens="x"), "^mtp_tokens: expected an integer, got str"),
                    (dict(mtp_tokens=-1), "^mtp_tokens: expected a non-negative integer")):
        with pytest.raises(perfmodel.InvalidArgument, match=msg):
            perfmodel.serving_comparison(["nvl72", "dgx-h100"], **kw)
