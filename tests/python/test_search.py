"""Design-space search from Python: the GPT-3 175B / 64-GPU plan space, serving under a TPOT
limit, identical results for any thread count, the GIL released, progress, and bad input."""

from __future__ import annotations


import pandas as pd
import pytest

import perfmodel

GPT3_SPACE = dict(n_chips=64, tp=[1, 2, 4, 8, 16, 32, 64], pp=[1, 2, 4, 8, 16, 32, 64], dp=[1, 2, 4, 8, 16, 32, 64],
                  micro_batch=[1, 2, 4, 8, 16, 32, 64, 128], virtual_stages=[1, 2, 3, 4, 6, 8],
                  recompute=["none", "selective", "full"], sharding=["none", "optimizer", "gradients", "parameters"],
                  sequence_parallel=[False, True], overlap_dp=[False, True], overlap_tp=[False, True],
                  overlap_pp=[False, True], global_batch=1536, seq_len=2048)


@pytest.fixture(scope="module")
def gpt3() -> pd.DataFrame:
    return perfmodel.search_training("gpt-3-175b", "dgx-a100", objective="mfu", progress=False, **GPT3_SPACE)


def test_gpt3_plan_space_counts_and_best(gpt3):
    a = gpt3.attrs
    assert a["total"] == 7 * 7 * 7 * 8 * 6 * 3 * 4 * 2 * 2 * 2 * 2 == 3_161_088
    assert a["pruned"] + a["evaluated"] == a["total"]
    assert 0 < a["feasible"] < a["evaluated"]
    assert sum(a["reasons"].values()) == a["total"] - a["feasible"]
    assert a["reasons"]["exceeds memory"] > 0
    print(f"\nGPT-3 175B / 64 A100 plan search: {a['summary']}; {a['candidates_per_second']:,.0f} candidates/s")
    assert len(gpt3) == 10
    assert list(gpt3["mfu"]) == sorted(gpt3["mfu"], reverse=True)
    assert (gpt3["tp"] * gpt3["pp"] * gpt3["dp"] == 64).all()
    # The best plan, re-estimated through perfmodel.training, gives the same numbers and fits.
    best = gpt3.iloc[0]
    plan = {k: best[k].item() if hasattr(best[k], "item") else best[k]
            for k in ("tp", "pp", "dp", "cp", "ep", "virtual_stages", "micro_batch", "recompute", "sharding",
                      "sequence_parallel", "overlap_dp", "overlap_tp", "overlap_pp", "precision")}
    r = perfmodel.training("gpt-3-175b", "dgx-a100", n_chips=64, global_batch=1536, seq_len=2048, **plan)
    assert r.mfu == pytest.approx(best["mfu"], rel=1e-12)
    assert r.step_time_s == pytest.approx(best["step_time_s"], rel=1e-12)
    assert r.memory["total"] / 1e9 == pytest.approx(best["memory_per_chip_GB"], rel=1e-12)
    assert not gpt3.isna().any().any()  # A100 has energy data and a catalog price: nothing unknown


def test_results_do_not_depend_on_thread_count():
    space = dict(GPT3_SPACE, overlap_dp=None, overlap_pp=None, sequence_parallel=None)
    runs = [perfmodel.search_training("gpt-3-175b", "dgx-a100", objective=["tokens_per_s_per_chip", "memory_per_chip_GB"],
                                      threads=t, progress=False, **space) for t in (1, 2, 3)]
    assert [r.attrs["threads"] for r in runs] == [1, 2, 3]
    for r in runs[1:]:
        pd.testing.assert_frame_equal(r, runs[0])
        assert r.attrs["reasons"] == runs[0].attrs["reasons"]


def test_pareto_front_is_non_dominated():
    df = perfmodel.search_training("gpt-3-175b", "dgx-a100", objective=["tokens_per_s_per_chip", "min:memory_per_chip_GB"],
                                   progress=False, **dict(GPT3_SPACE, overlap_dp=None, overlap_tp=None, overlap_pp=None))
    assert len(df) >= 2
    assert df.attrs["objectives"] == ["max:tokens_per_s_per_chip", "min:memory_per_chip_GB"]
    t, m = df["tokens_per_s_per_chip"].to_numpy(), df["memory_per_chip_GB"].to_numpy()
    for i in range(len(df)):
        dominated = (t >= t[i]) & (m <= m[i]) & ((t > t[i]) | (m < m[i]))
        assert not dominated.any()
    assert (t[:-1] >= t[1:]).all()  # ordered by the first objective


def test_constraints_and_keep_all():
    df = perfmodel.search_training("llama-3.1-8b", "dgx-h100", tp=[1, 2, 4, 8], pp=[1, 2, 4], micro_batch=[1, 2, 4],
                                   recompute=["none", "selective", "full"], global_batch=128, seq_len=4096,
                                   constraints=["memory_per_chip_GB <= 40"], keep_all=True, progress=False)
    assert len(df) == df.attrs["feasible"] > 0
    assert (df["memory_per_chip_GB"] <= 40).all()
    assert df.attrs["reasons"]["violates constraint on memory_per_chip_GB"] > 0
    # keep_all rows come best first (the objective, tokens/s per chip), ties by candidate id
    assert df["tokens_per_s_per_chip"].is_monotonic_decreasing
    # Dict bounds (None: open) remove plans on either side: of TP2/4/8 (MFU 0.52, 0.42, 0.31; steps
    # 6.6, 8.1, 11.2 s) only TP4 is inside both.
    space = dict(tp=[1, 2, 4, 8], global_batch=128, seq_len=4096, progress=False, keep_all=True)
    assert len(perfmodel.search_training("llama-3.1-8b", "dgx-h100", **space)) == 3
    both = perfmodel.search_training("llama-3.1-8b", "dgx-h100", constraints={"mfu": (0.35, None), "step_time_s": (7.0, None)},
                                     **space)
    assert list(both["tp"]) == [4] and 0.35 <= both["mfu"].iloc[0] and both["step_time_s"].iloc[0] >= 7.0


def test_serving_search_under_tpot_limit():
    df = perfmodel.search_inference("deepseek-r1", ["cloudmatrix-384", "gb200-nvl72"], mode="decode", kv_len=4096,
                                    precision=["int8", "fp8"], dp_attention=[8, 16, 32, 64], mtp_tokens=[0, 1],
                                    batch=[8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096], tpot_ms=50,
                                    keep_all=True, progress=False)
    a = df.attrs
    assert a["pruned"] + a["evaluated"] == a["total"] == 2 * 2 * 4 * 2 * 10
    assert a["reasons"]["precision not supported by the chip"] == 80  # the 910C has no FP8
    assert (df["tpot_ms"] <= 50).all()
    # Rows name systems by catalog id whatever alias was searched (estimates do the same).
    assert set(df["system"]) == {"huawei-cloudmatrix-384", "nvidia-gb200-nvl72"}
    # CM384 has no public price: its cost is <NA> (nullable), never NaN; GB200's is known.
    cm = df[df["system"] == "huawei-cloudmatrix-384"]
    assert str(df["usd_per_million_tokens"].dtype) == "Float64"
    assert cm["usd_per_million_tokens"].isna().all()
    assert df[df["system"] == "nvidia-gb200-nvl72"]["usd_per_million_tokens"].notna().all()
    # A capex for CM384 prices its rows; a bare number is ambiguous with two systems.
    priced = perfmodel.search_inference("deepseek-r1", ["cloudmatrix-384", "gb200-nvl72"], mode="decode", kv_len=4096,
                                        precision="int8", dp_attention=[16], batch=[256], progress=False, keep_all=True,
                                        cost={"capex": {"cloudmatrix-384": 8.2e6}})
    assert priced["usd_per_million_tokens"].notna().all() and len(priced) == 2
    with pytest.raises(perfmodel.InvalidArgument, match="cost.capex: several systems"):
        perfmodel.search_inference("deepseek-r1", ["cloudmatrix-384", "gb200-nvl72"], cost={"capex": 1e6})
    # The best row equals a direct estimate.
    best = perfmodel.search_inference("deepseek-r1", "gb200-nvl72", mode="decode", kv_len=4096, precision="fp8",
                                      dp_attention=[8, 16, 32], batch=[64, 256, 1024], tpot_ms=50, progress=False).iloc[0]
    r = perfmodel.inference("deepseek-r1", "gb200-nvl72", mode="decode", kv_len=4096, precision="fp8",
                            dp_attention=int(best["dp_attention"]), batch=int(best["batch"]))
    assert r.output_tokens_per_s_per_chip == pytest.approx(best["output_tokens_per_s_per_chip"], rel=1e-12)


def test_nothing_fits_returns_empty_frame_with_reasons():
    df = perfmodel.search_training("gpt-3-175b", "dgx-a100", progress=False, **dict(GPT3_SPACE, n_chips=8))
    assert df.empty
    assert "tp" in df.columns and "mfu" in df.columns
    assert df.attrs["feasible"] == 0
    assert df.attrs["reasons"]["exceeds memory"] > 0
    assert "exceeds memory" in df.attrs["summary"]


def test_estimator_rejections_carry_an_example_message():
    # The MI300X platform has no known scale-out bandwidth: 64 chips span unconnected nodes.
    df = perfmodel.search_training("llama-3.1-70b", "amd-mi300x-platform", n_chips=64, tp=[4, 8], pp=[2, 4], global_batch=256,
                                   seq_len=4096, progress=False)
    assert df.empty
    (reason, n), = df.attrs["reasons"].items()
    assert n == 4 and reason.startswith("rejected by the estimator, e.g. chips: 64 chips span several")
    assert "scale_out bandwidth is unknown" in reason


def test_progress_callback_and_cancel():
    calls = []

    def progress(done, total):
        calls.append((done, total))

    perfmodel.search_training("gpt-3-175b", "dgx-a100", objective="mfu", progress=progress, **GPT3_SPACE)
    assert calls and calls[-1] == (3_161_088, 3_161_088)
    assert all(d <= t for d, t in calls)
    assert calls[0] == (0, 3_161_088)  # a first report before any work
    full = perfmodel.search_training("gpt-3-175b", "dgx-a100", progress=False, threads=1, **GPT3_SPACE)
    assert not full.attrs["cancelled"] and full.attrs["evaluated"] == 121_920
    # Cancelling at that first report stops the search before it evaluates anything.
    stopped = perfmodel.search_training("gpt-3-175b", "dgx-a100", progress=lambda d, t: False, threads=1, **GPT3_SPACE)
    assert stopped.attrs["cancelled"] and stopped.attrs["evaluated"] == 0 and stopped.empty


def test_progress_bar_draws_on_a_terminal_like_stream(monkeypatch, capsys):
    import perfmodel._progress as prog

    monkeypatch.setattr(prog, "_isatty", lambda f: True)
    perfmodel.search_training("gpt-3-175b", "dgx-a100", objective="mfu", **GPT3_SPACE)
    err = capsys.readouterr().err
    assert "search training" in err and "100%" in err and "3,161,088/3,161,088" in err


def test_search_releases_the_gil(main_thread_share):
    """The main thread keeps running Python while a search runs in another thread: its loop runs
    at least a fifth as fast as beside a sleeping thread (a search holding the GIL: about 2 %)."""
    share = main_thread_share(lambda: perfmodel.search_training("gpt-3-175b", "dgx-a100", threads=1, progress=False,
                                                                **GPT3_SPACE))
    assert share > 0.2, f"main thread ran at {share:.1%} of its rate beside a sleeping thread"


def test_cost_field_takes_the_name_cost_uses():
    # cost() calls it usd_per_million_output_tokens (input in prefill mode, trained in training).
    kw = dict(tp=[1, 2], global_batch=64, seq_len=4096, cost={"capex": 400_000}, progress=False)
    a = perfmodel.search_training("llama-3.1-8b", "dgx-h100", objective="usd_per_million_trained_tokens",
                                  constraints=["usd_per_million_trained_tokens <= 1e9"], **kw)
    b = perfmodel.search_training("llama-3.1-8b", "dgx-h100", objective="usd_per_million_tokens", **kw)
    assert a.equals(b) and len(a) > 0


def test_fields_listing():
    f = perfmodel.search_fields("serving")
    assert {"tpot_ms", "output_tokens_per_s_per_chip", "joules_per_output_token", "usd_per_million_tokens"} <= set(f["field"])
    assert dict(zip(f["field"], f["sense"]))["tpot_ms"] == "min"


@pytest.mark.parametrize("kwargs, match", [
    (dict(tp=[]), "tp: expected a value or a non-empty list"),
    (dict(objective="tokens_per_watt"), "'tokens_per_watt' is not an output field"),
    (dict(objective=["mfu", "hfu", "step_time_s", "bubble_fraction"]), "a Pareto front takes 2 or 3"),
    (dict(objective="best:mfu"), "prefix must be 'min:' or 'max:'"),
    (dict(objective=[]), "objective: expected a field name"),
    (dict(constraints={"step_time_s": (10, 1)}), "constraints.step_time_s: contradictory"),
    (dict(constraints=["mfu >= 0.6", "mfu <= 0.5"]), "constraints.mfu: contradictory bounds"),
    (dict(constraints=["mfu is high"]), "expected 'field <= value'"),
    (dict(constraints={"mfu": 0.5}), "expected (min, max)"),
    (dict(recompute=["sometimes"]), "recompute"),
    (dict(tp=[0, 1]), "space.tp: values must be >= 1"),
    (dict(tp=["8"]), "tp: '8' is not a valid value"),
    (dict(precision=["int8"]), "space.precision"),
    (dict(cost={"pue": 0.9}), "cost.pue"),
    (dict(cost={"euros": 1}), "cost.euros: unknown key"),
    (dict(top_k=-1), "top_k"),
    (dict(flux_capacitor=1), "flux_capacitor: unknown training option"),
])
def test_bad_input_names_the_field(kwargs, match):
    args = dict(tp=[1, 2, 4, 8], global_batch=64, seq_len=4096, progress=False)
    args.update(kwargs)
    with pytest.raises(perfmodel.InvalidArgument, match=match.replace("(", r"\(").replace(")", r"\)")):
        perfmodel.search_training("llama-3.1-8b", "dgx-h100", **args)


def test_a_misspelt_fixed_option_is_a_typo_not_a_rejection():
    # It raises UnknownOption (a TypeError too) before the search runs, so a sweep over searches stops.
    with pytest.raises(perfmodel.UnknownOption, match="^tp_sz: unknown training option"):
        perfmodel.search_training("llama-3.1-8b", "dgx-h100", tp=[1, 2], tp_sz=1, progress=False)
    with pytest.raises(TypeError, match="^kv_lenn: unknown serving option"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", tp=[1, 2], kv_lenn=10, progress=False)
    # cp_comm fixed over several cp values: the cp = 1 plans stay candidates (it changes nothing for them).
    df = perfmodel.search_training("llama-3.1-70b", "dgx-h100", n_chips=64, tp=8, cp=[1, 2, 4], global_batch=64,
                                   seq_len=32768, cp_comm="allgather", check_memory=False, keep_all=True, progress=False)
    assert set(df["cp"]) == {1, 2, 4}


def test_bad_systems_and_serving_input():
    with pytest.raises(perfmodel.InvalidArgument, match="systems"):
        perfmodel.search_training("llama-3.1-8b", [], tp=[1, 2])
    with pytest.raises(perfmodel.NotFound, match="no-such-system"):
        perfmodel.search_training("llama-3.1-8b", "no-such-system", tp=[1, 2])
    with pytest.raises(perfmodel.InvalidArgument, match="tpot_ms"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", tpot_ms=-1)
    with pytest.raises(perfmodel.InvalidArgument, match="batch: not a searchable|batch: expected"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", batch=[])
    with pytest.raises(perfmodel.InvalidArgument, match="prefill_parallel"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", prefill_parallel=[8])


def test_energy_basis_is_labelled_per_system():
    # DGX H100 has a system power model (all-in energy); the Atlas 800T A2 does not (chips only).
    df = perfmodel.search_training("llama-3.1-8b", ["dgx-h100", "atlas-800t-a2"], n_chips=8, global_batch=64,
                                   seq_len=4096, tp=[1, 2, 4, 8], micro_batch=[1, 2], keep_all=True, progress=False)
    basis = {s: list(v) for s, v in df.groupby("system")["energy_basis"].unique().items()}
    assert basis == {"nvidia-dgx-h100": ["system"], "huawei-atlas-800t-a2": ["chips only"]}   # by catalog id
    assert any("atlas-800t-a2" in w and "chips only" in w for w in df.attrs["warnings"])
    one = perfmodel.search_training("llama-3.1-8b", "dgx-h100", n_chips=8, global_batch=64, seq_len=4096,
                                    tp=[1, 2], progress=False)
    assert set(one["energy_basis"]) == {"system"} and "warnings" not in one.attrs


def test_search_honours_check_memory_off():
    # check_memory=False reaches the search as it reaches training(): a plan over the HBM is kept.
    space = dict(n_chips=64, tp=[8], pp=[1], recompute=["none"], global_batch=512, seq_len=8192, keep_all=True,
                 progress=False)
    kept = perfmodel.search_training("llama-3.1-70b", "dgx-h100", check_memory=False, **space)
    assert len(kept) == 1 and kept.iloc[0]["memory_per_chip_GB"] > 80
    dropped = perfmodel.search_training("llama-3.1-70b", "dgx-h100", **space)
    assert len(dropped) == 0 and dropped.attrs["reasons"] == {"exceeds memory": 1}


def test_serving_search_rows_carry_the_plan_that_reproduces_them():
    # Dense models reported ep = tp x dp_attention (inference refuses ep > 1 without experts), and
    # the attention and KV-cache precisions were not in the row. Prefill searches rank input tokens.
    df = perfmodel.search_inference("llama-3.1-70b", "dgx-h100", tp=[4, 8], batch=[8, 16], mode="decode", kv_len=2048,
                                    precision=["bf16", {"weights": "bf16", "attention": "fp8"}], top_k=8)
    assert set(df["ep"]) == {1} and set(df["attention_precision"]) == {"bf16", "fp8"}
    for r in df.itertuples():
        again = perfmodel.inference("llama-3.1-70b", "dgx-h100", tp=int(r.tp), ep=int(r.ep), batch=int(r.batch),
                                    mode="decode", kv_len=2048, precision={"weights": r.precision, "attention":
                                    r.attention_precision, "kv_cache": r.kv_cache_precision})
        assert again.tpot_ms == pytest.approx(r.tpot_ms, rel=1e-12)
    pre = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", mode="prefill", tp=[1, 8], batch=[1, 8], top_k=2)
    assert len(pre) == 2 and pre.attrs["objectives"] == ["max:input_tokens_per_s_per_chip"]


def test_serving_search_spans_several_systems_per_instance():
    # DeepSeek-R1 FP8 does not fit on one 8-GPU H20 node; `systems=2` collided with the list of
    # systems searched (a TypeError), so only best_inference could join two nodes. The list is now
    # positional-only and systems=N is the plan's option, as in inference().
    with pytest.raises(perfmodel.InvalidArgument, match=r"but nvidia-h20 has .* GB: over by .*the weights do not fit at any batch"):
        perfmodel.inference("deepseek-r1", "hgx-h20", mode="decode", kv_len=4096, precision="fp8", dp_attention=8,
                            batch=64)
    df = perfmodel.search_inference("deepseek-r1", "hgx-h20", systems=2, mode="decode", kv_len=4096,
                                    precision="fp8", dp_attention=16, batch=[256, 512])
    assert list(df["systems"]) == [2, 2] and set(df["chips_per_instance"]) == {16}
    for r in df.itertuples():
        again = perfmodel.inference("deepseek-r1", "hgx-h20", systems=int(r.systems), mode="decode",
                                    kv_len=4096, precision="fp8", dp_attention=16, batch=int(r.batch))
        assert again.tpot_ms == pytest.approx(r.tpot_ms, rel=1e-12)
    assert "nvidia-h20: memory.main.bandwidth" in df.attrs["rumour"]["nvidia-hgx-h20"]
    with pytest.raises(perfmodel.InvalidArgument, match="systems: expected a positive integer"):
        perfmodel.search_inference("deepseek-r1", "hgx-h20", systems=0)
    # search_training has no plan option of that name: its systems may still be given by keyword.
    assert len(perfmodel.search_training("llama-3.1-8b", systems="dgx-h100", n_chips=8, tp=8, global_batch=8,
                                         seq_len=2048)) == 1


def test_energy_basis_warning_covers_the_searched_systems_not_only_the_rows_shown():
    # The top three rows are all HGX H200 (chips only), but they were ranked against all-in H100s.
    df = perfmodel.search_inference("llama-3.1-70b", ["dgx-h100", "hgx-h200"], objective="min:joules_per_output_token",
                                    top_k=3, tp=8, batch=[8, 64], mode="decode", kv_len=2048)
    assert any("nvidia-hgx-h200 chips only (no system power model" in w for w in df.attrs.get("warnings", []))


def test_repeated_dimension_values_count_once_and_oversized_dimensions_are_named():
    df = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", tp=[1, 1, 8], batch=[8, 8], mode="decode", kv_len=1024,
                                    keep_all=True)
    assert len(df) == len(df.drop_duplicates(subset=["tp", "batch"])) == 2
    with pytest.raises(perfmodel.InvalidArgument, match=r"batch: 70,000 values; a dimension takes at most 65,535"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", batch=list(range(1, 70001)), mode="decode")


def test_a_fixed_option_every_candidate_refuses_is_an_error():
    with pytest.raises(perfmodel.InvalidArgument, match=r"input_len: must be >= 1 token, got -5"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", tp=[1, 8], batch=[8], input_len=-5)


def test_strict_constraints_exclude_the_bound():
    kw = dict(tp=8, batch=[8, 16, 32], mode="decode", kv_len=1024, keep_all=True)
    rows = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", **kw)
    edge = float(rows["tpot_ms"].min())
    le = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", constraints=[f"tpot_ms <= {edge!r}"], **kw)
    lt = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", constraints=[f"tpot_ms < {edge!r}"], **kw)
    assert len(le) == 1 and len(lt) == 0
    top = float(rows["tpot_ms"].max())  # and from below
    ge = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", constraints=[f"tpot_ms >= {top!r}"], **kw)
    gt = perfmodel.search_inference("llama-3.1-8b", "dgx-h100", constraints=[f"tpot_ms > {top!r}"], **kw)
    assert len(ge) == 1 and len(gt) == 0


def test_search_refuses_fields_its_mode_or_kind_does_not_have():
    # A cost alias for tokens the search does not price ranked or filtered on another figure (a
    # serve-mode "usd_per_million_input_tokens <= v" filtered on the output-token cost), and a limit
    # on a phase the mode lacks emptied the frame; both now name the argument.
    kw = dict(mode="serve", input_len=1024, output_len=256, tp=[1, 2], batch=[8, 32], progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="constraints: usd_per_million_input_tokens: a serve-mode "
                                                        "search prices output tokens; use usd_per_million_output_tokens"):
        perfmodel.search_inference("llama-3.1-8b", "gb200-nvl72", constraints=["usd_per_million_input_tokens <= 1"], **kw)
    with pytest.raises(perfmodel.InvalidArgument, match="objective: usd_per_million_output_tokens: a training search "
                                                        "prices trained tokens"):
        perfmodel.search_training("llama-3.1-8b", "dgx-h100", n_chips=8, global_batch=64, seq_len=2048, tp=[1, 8],
                                  objective="usd_per_million_output_tokens", progress=False)
    df = perfmodel.search_inference("llama-3.1-8b", "gb200-nvl72", objective="usd_per_million_output_tokens",
                                    constraints=["usd_per_million_output_tokens <= 1e9"], **kw)
    assert len(df) == 4 and df["usd_per_million_tokens"].is_monotonic_increasing
    dec = dict(mode="decode", kv_len=1024, tp=[1, 8], batch=[8, 16], progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="^ttft_ms: a decode-only plan .* has no prefill phase"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", ttft_ms=1000, **dec)
    with pytest.raises(perfmodel.InvalidArgument, match="^constraints: ttft_ms: a decode-only plan"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", constraints=["ttft_ms <= 1000"], **dec)
    with pytest.raises(perfmodel.InvalidArgument, match="objective: input_tokens_per_s_per_chip: a decode-only plan"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", objective="input_tokens_per_s_per_chip", **dec)
    with pytest.raises(perfmodel.InvalidArgument, match="^tpot_ms: a prefill-only plan .* has no decode phase"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", mode="prefill", input_len=1024, tp=[1, 8], batch=[1, 2],
                                   tpot_ms=50, progress=False)


def test_capex_keys_name_one_system_each():
    kw = dict(mode="decode", kv_len=1024, tp=[1], batch=[8], progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match=r"cost.capex\['nvidia-dgx-h100'\]: names nvidia-dgx-h100, which another"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", cost={"capex": {"dgx-h100": 1e6, "nvidia-dgx-h100": 3e5}}, **kw)
    with pytest.raises(perfmodel.InvalidArgument, match=r"cost.capex\['dgx-h100x'\]: no catalog system"):
        perfmodel.search_inference("llama-3.1-8b", "dgx-h100", cost={"capex": {"dgx-h100x": 1e6}}, **kw)
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="decode", kv_len=1024, batch=8)
    with pytest.raises(perfmodel.InvalidArgument, match="capex: key 'nvidia-dgx-h100' names nvidia-dgx-h100, which another"):
        perfmodel.cost(r, capex={"dgx-h100": 1e6, "nvidia-dgx-h100": 3e5})


def test_a_system_named_twice_is_refused():
    with pytest.raises(perfmodel.InvalidArgument, match="systems: 'nvl72' and 'nvidia-gb200-nvl72' name the same system"):
        perfmodel.search_inference("llama-3.1-8b", ["nvl72", "nvidia-gb200-nvl72"], mode="decode", kv_len=1024,
                                   tp=[1, 2], batch=[8], progress=False)


def test_rows_with_and_without_a_prefill_instance_pass_back_to_inference():
    # prefill_pp came back as a float column (1.0 / NaN) when some rows had no prefill instance,
    # which inference() refuses as a degree.
    kw = dict(mode="serve", input_len=1024, output_len=256, tp=1, batch=64)
    df = perfmodel.search_inference("llama-3.1-8b", "hgx-h200", prefill_parallel=[None, {"tp": 8}], keep_all=True,
                                    progress=False, **kw)
    assert str(df["prefill_pp"].dtype) == "Int64" and df["prefill_pp"].isna().sum() == 1
    row = df[df["prefill_tp"].notna()].iloc[0]
    r = perfmodel.inference("llama-3.1-8b", "hgx-h200", prefill_parallel={
        "tp": row["prefill_tp"], "dp_attention": row["prefill_dp_attention"], "pp": row["prefill_pp"]}, **kw)
    assert r.output_tokens_per_s_per_chip == pytest.approx(row["output_tokens_per_s_per_chip"], rel=1e-12)


def test_cost_without_a_price_says_why():
    df = perfmodel.search_inference("llama-3.1-70b", ["nvidia-dgx-h100", "nvl72"], mode="decode", tp=[8], batch=[64],
                                    precision="fp8", kv_len=2048, cost={"price_per_kwh": 0.1}, progress=False)
    assert list(df.attrs["cost_unknown"]) == ["nvidia-dgx-h100"]  # the NVL72 has a (rumour-grade) price
    assert "no price" in df.attrs["cost_unknown"]["nvidia-dgx-h100"]
    assert df.loc[df["system"] == "nvidia-dgx-h100", "usd_per_hour"].isna().all()
    priced = perfmodel.search_inference("llama-3.1-70b", "nvidia-dgx-h100", mode="decode", tp=[8], batch=[64],
                                        precision="fp8", kv_len=2048, cost={"capex": 3e5}, progress=False)
    assert "cost_unknown" not in priced.attrs and priced["usd_per_hour"].notna().all()


def test_searches_take_what_the_estimators_take():
    # 256 routed + 32 redundant experts make 288 slots: EP72 and EP48 divide them, as inference()
    # accepts (the search required the routed experts alone to divide and found nothing). Three of the
    # four batches divide over their attention groups (4,800 over 72 does not).
    df = perfmodel.search_inference("deepseek-r1", "nvl72", dp_attention=[48, 72], batch=[4800, 7200], mode="decode",
                                    redundant_experts=32, precision="fp8", kv_len=4096, threads=1, progress=False)
    assert len(df) == 3
    for row in df.itertuples():
        direct = perfmodel.inference("deepseek-r1", "nvl72", mode="decode", batch=row.batch, dp_attention=row.dp_attention,
                                     redundant_experts=32, precision="fp8", kv_len=4096)
        assert row.output_tokens_per_s_per_chip == pytest.approx(direct.output_tokens_per_s_per_chip, rel=1e-9)
    # A bad fixed size is an argument error, not a divisibility reason (-5 read as "does not divide").
    with pytest.raises(perfmodel.InvalidArgument, match=r"^global_batch: must be >= 1, got -5"):
        perfmodel.search_training("llama-3.1-8b", "dgx-h100", global_batch=-5, seq_len=4096, progress=False)
    # Interleaving without a pipeline says so (it read "virtual_stages does not divide a stage's layers").
    df = perfmodel.search_training("llama-3.1-8b", "dgx-h100", n_chips=8, pp=[1], virtual_stages=[2], global_batch=64,
                                   seq_len=4096, progress=False)
    assert df.empty and "virtual_stages above 1 needs pp >= 2" in df.attrs["reasons"]


def test_best_inference_never_serves_less_under_a_looser_limit():
    # Throughput and TPOT step at the expert GEMM's tiles (73 -> 74 sequences per rank on an NVL72):
    # bisecting for the largest batch under 15.95 ms returned 72 (4,669 tokens/s per chip) where
    # 73 fits and serves 4,703, as under the tighter 15.55 ms.
    kw = dict(mode="decode", kv_len=4096, dp_attention=72, redundant_experts=32, mtp_tokens=1, precision="fp8",
              overlap=[True, False])
    rates = [perfmodel.best_inference("deepseek-r1", "nvl72", tpot_ms=t, **kw).output_tokens_per_s_per_chip
             for t in (15.55, 15.95, 16.5)]
    assert rates[0] <= rates[1] <= rates[2]
