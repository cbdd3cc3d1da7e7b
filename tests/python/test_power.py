"""Power, energy and cost: system figures rebuilt from components, energy of estimates, cost, bad input."""

import json
import math

import pytest

import perfmodel
from perfmodel import cli

CM384, NVL72 = "huawei-cloudmatrix-384", "nvidia-gb200-nvl72"


def _it_kw(system, **kw):
    return perfmodel.power(system, **kw).attrs["it_watts"] / 1e3


# --- system power from components --------------------------------------------------------------

def test_cloudmatrix_power_from_components_within_10pct_of_semianalysis():
    kw = _it_kw(CM384)
    err = kw / 559.378 - 1
    print(f"CM384 modelled {kw:.1f} kW vs 559.4 kW published (SemiAnalysis): {err:+.1%}")
    assert abs(err) <= 0.10


def test_nvl72_power_from_components_within_the_published_range():
    # Published figures span ~120 kW (NVIDIA at GTC, OEM guides) to 145 kW (SemiAnalysis); the
    # build-up must land within 10 % of that range. The error against 145 kW is printed.
    kw = _it_kw(NVL72)
    print(f"NVL72 modelled {kw:.1f} kW: {kw / 145 - 1:+.1%} vs 145 kW (SemiAnalysis), {kw / 120 - 1:+.1%} vs 120 kW")
    assert 120 * 0.9 <= kw <= 145 * 1.1


def test_dgx_h100_power_below_the_datasheet_maximum():
    # The datasheet's 10.2 kW is the system's maximum (a supply rating): full load lies below it,
    # as DGX A100's does (5.2 of 6.5 kW). 9.0 kW since session 17 (NVSwitch gen 3 at 1.6 TB/s per
    # direction, 88 W; 177 W when its 3.2 TB/s both ways was read per direction: 9.42 kW).
    kw = _it_kw("nvidia-dgx-h100")
    print(f"DGX H100 modelled {kw:.2f} kW vs 10.2 kW datasheet maximum: {kw / 10.2 - 1:+.1%}")
    assert 0.0 < 1 - kw / 10.2 <= 0.15


def test_dgx_a100_power_during_gemm_matches_flagperf_measurement():
    # Out of sample for the system components: FlagPerf measured 4,485 W average system power with
    # 8 A100s at 338.4 W each running FP16 GEMMs (FlagOpen/FlagPerf computation-FP16/nvidia).
    kw = _it_kw("nvidia-dgx-a100", overrides={"chip_max_watts": 338.4})
    print(f"DGX A100 under GEMM: modelled {kw * 1e3:,.0f} W vs 4,485 W measured: {kw / 4.485 - 1:+.1%}")
    assert abs(kw / 4.485 - 1) <= 0.10


def test_power_ratios_cm384_vs_nvl72_are_printed_and_point_the_right_way():
    cm, nv = perfmodel.system_totals(CM384), perfmodel.system_totals(NVL72)
    p_cm, p_nv = _it_kw(CM384), _it_kw(NVL72)
    ratios = {
        "W per BF16 FLOP/s": (p_cm / cm["peak_flops"]["bf16"]) / (p_nv / nv["peak_flops"]["bf16"]),
        "W per TB/s": (p_cm / cm["memory_bandwidth"]) / (p_nv / nv["memory_bandwidth"]),
        "W per TB of HBM": (p_cm / cm["memory_capacity"]) / (p_nv / nv["memory_capacity"]),
    }
    published = {"W per BF16 FLOP/s": 2.3, "W per TB/s": 1.8, "W per TB of HBM": 1.1}
    for k, v in ratios.items():
        print(f"{k}: CM384 / NVL72 = {v:.2f} (SemiAnalysis {published[k]}; {v / published[k] - 1:+.0%})")
        assert v > 1.0, k  # CloudMatrix 384 spends more power per unit of each resource
        # A documented miss (power-and-cost.md: +28, +23, +17 %, the NVL72 side at 120.6 kW against
        # 145): pinned so a change in either system's components shows here.
        assert 0.15 < v / published[k] - 1 < 0.45, k


def test_power_grows_with_utilization_and_pue_scales_the_facility():
    lo, mid, hi = (perfmodel.power(NVL72, u).attrs["it_watts"] for u in (0.0, 0.5, 1.0))
    assert lo < mid < hi
    assert mid == pytest.approx((lo + hi) / 2, rel=1e-9)  # chips are linear in u, the rest constant
    df = perfmodel.power(NVL72, pue=1.5)
    assert df.attrs["facility_watts"] == pytest.approx(1.5 * df.attrs["it_watts"], rel=1e-12)
    assert df["component"].iloc[-1] == "facility overhead (PUE)"


def test_component_rows_add_up_and_carry_sources():
    df = perfmodel.power(CM384)
    assert df["watts"].sum() == pytest.approx(df.attrs["it_watts"], rel=1e-9)
    assert (df["watts"] == df["count"] * df["watts_each"]).all()
    assert df["source"].str.len().min() > 10
    assert set(df["confidence"]) <= {"official", "vendor-paper", "analyst", "rumour", "derived", "override"}


def test_a_rumour_grade_count_makes_its_row_rumour_grade():
    # 112 L2 switch chips is a rumour-grade count; the row showed its derived watts' label.
    rows = perfmodel.power(CM384).set_index("component")
    assert rows.loc["UB L2 switch chips", "confidence"] == "rumour"
    assert rows.loc["UB L1 switch chips (on-board)", "confidence"] == "derived"  # vendor-paper count, derived watts


def test_override_replaces_one_component():
    base = perfmodel.power(CM384)
    more = perfmodel.power(CM384, overrides={"Kunpeng 920 CPU": 300})
    delta = more.attrs["it_watts"] - base.attrs["it_watts"]
    eff = 0.93  # delivery efficiency in the catalog; cooling 5 %
    assert delta == pytest.approx(192 * 100 / eff * 1.05, rel=1e-9)
    assert more.set_index("component").loc["Kunpeng 920 CPU", "confidence"] == "override"


def test_chip_energy_tdp_and_derived_maximum():
    h100 = perfmodel.chip_energy("h100")
    assert h100["max_watts"] == 700 and h100["max_basis"] == "tdp"
    assert h100["matrix_pj_per_flop"]["fp8"] < h100["matrix_pj_per_flop"]["bf16"]
    c = perfmodel.chip_energy("huawei-ascend-910c")
    assert c["max_basis"].startswith("derived")
    # The same derivation applied to the 910B (whose TDP is known) lands near its 400 W TDP.
    b = perfmodel.chip_energy("huawei-ascend-910b")
    peak, eff, bw, mem = 294.9e12, 0.82, 1.6e12, 0.841
    bound = (b["matrix_pj_per_flop"]["bf16"] * eff * peak + b["hbm_pj_per_byte"] * mem * bw) * 1e-12 / (1 - 0.135)
    print(f"910B all-units bound {bound:.0f} W vs 400 W TDP")
    assert abs(bound / 400 - 1) < 0.10


# --- energy of estimates --------------------------------------------------------------------------

def _decode(system="nvl72", batch=96 * 72, **kw):
    opts = dict(mode="decode", batch=batch, kv_len=4096, precision="fp8", dp_attention=72, redundant_experts=32,
                mtp_tokens=1, overlap=True)
    opts.update(kw)
    return perfmodel.inference("deepseek-r1", system, **opts)


def test_serving_energy_is_consistent_with_throughput():
    r = _decode()
    e = r.energy
    assert e["basis"] == "system"
    assert e["output_tokens_per_joule"] * e["watts_per_chip"] == pytest.approx(r.output_tokens_per_s_per_chip, rel=1e-9)
    assert e["joules_per_output_token"] == pytest.approx(1 / e["output_tokens_per_joule"], rel=1e-9)
    idle = perfmodel.chip_energy("nvidia-gb200")["idle_watts"]
    assert idle < e["chip_watts"] <= 1200
    assert e["watts_per_chip"] > e["chip_watts"]


def test_bigger_decode_batch_raises_power_and_tokens_per_joule():
    small, big = _decode(batch=16 * 72), _decode(batch=128 * 72)
    assert big.energy["chip_watts"] > small.energy["chip_watts"]
    assert big.energy["output_tokens_per_joule"] > small.energy["output_tokens_per_joule"]


def test_serve_mode_reports_input_and_output_joules_separately():
    r = perfmodel.inference("llama-3.1-8b", "nvidia-dgx-h100", batch=64, input_len=2048, output_len=256)
    e = r.energy
    assert e["joules_per_input_token"] > 0 and e["joules_per_output_token"] > 0
    assert e["joules_per_input_token"] < e["joules_per_output_token"]  # prefill amortises weights over the prompt


def test_chips_only_basis_when_the_system_has_no_power_model():
    r = perfmodel.inference("llama-2-70b", "nvidia-hgx-h20", batch=32, tp=8)
    assert r.energy["basis"].startswith("chips only: nvidia-hgx-h20 has no power_model")
    assert r.energy["watts_per_chip"] == r.energy["chip_watts"]


def test_energy_unknown_for_a_family_without_energy_data():
    r = perfmodel.inference("llama-3.1-8b", "amd-mi300x-platform", batch=8, tp=1)
    assert r.energy is None
    assert "energy" in r.energy_missing and "amd-cdna3" in r.energy_missing
    assert r.summary()["energy"].startswith("unknown: ")


def test_training_energy_fields():
    t = perfmodel.training("llama-3.1-8b", "dgx-h100", n_chips=64, tp=1, dp=64, global_batch=512, seq_len=4096,
                           sharding="zero2", train_tokens=1e12)
    e = t.energy
    assert t.joules_per_token * t.tokens_per_s == pytest.approx(e["watts"], rel=1e-9)
    assert t.energy_to_train_j == pytest.approx(t.joules_per_token * 1e12, rel=1e-12)
    assert t.flops_per_watt == pytest.approx(t.model_flops_per_chip / e["watts_per_chip"], rel=1e-12)
    assert 94.5 < e["chip_watts"] <= 700


# --- cost -------------------------------------------------------------------------------------------

def test_cost_of_gb200_serving():
    r = _decode()
    c = perfmodel.cost(r, price_per_kwh=0.1, years=4, pue=1.2)
    capex_h = 3e6 / (4 * 8760)
    assert c["capex_usd_per_hour"] == pytest.approx(capex_h)
    assert c["power_usd_per_hour"] == pytest.approx(r.energy["watts_per_chip"] * 72 * 1.2 / 1e3 * 0.1)
    per_m = c["usd_per_hour"] / (r.output_tokens_per_s_per_chip * 72 * 3600) * 1e6
    assert c["usd_per_million_output_tokens"] == pytest.approx(per_m)
    half = perfmodel.cost(r, price_per_kwh=0.1, years=4, pue=1.2, utilization=0.5)
    assert half["capex_usd_per_hour"] == pytest.approx(2 * capex_h)


def test_cost_charges_idle_hours_and_idle_chips_and_prices_runs_and_served_tokens():
    # Training on two DGX H100 at half utilization: each busy hour carries one idle hour's draw.
    r = perfmodel.training("llama-3.1-8b", "dgx-h100", n_chips=16, tp=2, global_batch=256, seq_len=4096,
                           train_tokens=1e12)
    busy, idle = r.energy["watts_per_chip"], r.energy["idle_watts_per_chip"]
    assert 0 < idle < busy
    c = perfmodel.cost(r, capex=400_000, utilization=0.5, price_per_kwh=0.1, pue=1.2, years=5)
    assert c["power_usd_per_hour"] == pytest.approx((busy + idle) * 8 * 1.2 / 1e3 * 0.1, rel=1e-12)
    assert c["capex_usd_per_hour"] == pytest.approx(400_000 / (5 * 8760 * 0.5), rel=1e-12)
    # A run on two systems pays two systems' hours for the time to train.
    assert c["usd_per_run"] == pytest.approx(c["usd_per_hour"] * 2 * r.time_to_train_s / 3600, rel=1e-12)
    # Defaults: 0.08 USD/kWh, 4 years, full utilization, PUE 1.3.
    assert perfmodel.cost(r, capex=400_000) == perfmodel.cost(r, capex=400_000, price_per_kwh=0.08, years=4,
                                                               utilization=1.0, pue=1.3)
    # Serving end to end: priced per output token; chips outside the whole instances idle.
    s = perfmodel.inference("llama-3.1-70b", "dgx-h100", mode="serve", tp=4, batch=64, input_len=1024, output_len=512,
                            precision="fp8")
    assert s.input_tokens_per_s_per_chip > s.output_tokens_per_s_per_chip > 0
    c = perfmodel.cost(s, capex=400_000, price_per_kwh=0.1, pue=1.0)
    assert c["usd_per_million_output_tokens"] == pytest.approx(
        c["usd_per_hour"] / (s.output_tokens_per_s_per_chip * 8 * 3600) * 1e6, rel=1e-12)
    assert "usd_per_million_input_tokens" not in c
    d = _decode(batch=96 * 48, dp_attention=48)  # one 48-GPU instance in a 72-GPU rack
    e = d.to_dict()["decode"]["energy"]
    c = perfmodel.cost(d, price_per_kwh=0.1, pue=1.0)
    assert c["power_usd_per_hour"] == pytest.approx(
        (d.energy["watts_per_chip"] * 48 + e["idle_watts_per_chip"] * 24) / 1e3 * 0.1, rel=1e-12)


def test_unknown_price_stays_unknown_not_nan():
    r = _decode("cm384", batch=64 * 384, precision="int8", ranks_per_chip=2, dp_attention=768, redundant_experts=512)
    c = perfmodel.cost(r)
    assert "capex_usd" not in c and "usd_per_hour" not in c
    assert "price is unknown" in c["unknown"]["capex_usd"]
    assert all(not (isinstance(v, float) and math.isnan(v)) for v in c.values())
    assert c["power_usd_per_hour"] > 0
    with_capex = perfmodel.cost(r, capex=8.2e6)
    assert with_capex["usd_per_million_output_tokens"] > 0 and "unknown" not in with_capex


@pytest.mark.parametrize("kw, field", [
    (dict(price_per_kwh=-0.1), "price_per_kwh"), (dict(pue=0.9), "pue"), (dict(years=0), "years"),
    (dict(utilization=0), "utilization"), (dict(utilization=1.5), "utilization"), (dict(capex=-5), "capex"),
])
def test_cost_bad_input(kw, field):
    with pytest.raises(perfmodel.InvalidArgument, match=field):
        perfmodel.cost(_decode(batch=8 * 72), **kw)


@pytest.mark.parametrize("args, match", [
    (dict(utilization=-0.1), "utilization"), (dict(utilization=1.1), "utilization"), (dict(pue=0.5), "pue"),
    (dict(overrides={"no such part": 1}), "no component or setting named"),
    (dict(overrides={"Grace CPU with LPDDR5X": -1}), "Grace CPU"),
    (dict(overrides={"delivery_efficiency": 1.5}), "delivery_efficiency"),
])
def test_power_bad_input(args, match):
    with pytest.raises(perfmodel.InvalidArgument, match=match):
        perfmodel.power(NVL72, **args)


def test_power_of_a_system_without_component_data_names_the_field():
    with pytest.raises(perfmodel.InvalidArgument, match=r"nvidia-hgx-h20.json: power_model: not given"):
        perfmodel.power("nvidia-hgx-h20")


def test_unknown_component_watts_needs_an_override(tmp_path):
    part = {"id": "what-if-nvl72", "kind": "system", "extends": NVL72,
            "power_model": {"components": [{"name": "mystery ASIC", "count": {"value": 4, "source": "s", "confidence": "official"},
                                            "watts_each": {"unknown": True, "note": "not published"}}]}}
    f = tmp_path / "w.json"
    f.write_text(json.dumps(part))
    cat = perfmodel.catalog.load(f)
    with pytest.raises(perfmodel.InvalidArgument, match=r"components\[0\]\.watts_each \(mystery ASIC\): is unknown"):
        perfmodel.power("what-if-nvl72", catalog=cat)
    df = perfmodel.power("what-if-nvl72", overrides={"mystery ASIC": 50}, catalog=cat)
    assert df.set_index("component").loc["mystery ASIC", "watts"] == 200


# --- interfaces -------------------------------------------------------------------------------------

def test_cli_power(capsys):
    assert cli.main(["power", "cm384"]) == 0
    out = capsys.readouterr().out
    assert "system (IT) power:" in out and "Kunpeng 920 CPU" in out
    assert cli.main(["power", "nvl72", "--json", "--override", "NVLink switch chips=250"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {r["component"]: r["watts_each"] for r in doc["rows"]}["NVLink switch chips"] == 250
    assert cli.main(["power", "nvl72", "--override", "oops"]) == 2
    err = capsys.readouterr().err
    assert "NAME=VALUE" in err and "perfmodel power nvl72" in err and "Kunpeng" not in err
    # The same component twice is an error, not "the last one wins".
    assert cli.main(["power", "nvl72", "--override", "NVLink switch chips=250", "--override",
                     "NVLink switch chips=300"]) == 2
    assert "'NVLink switch chips' is given twice (250 and 300)" in capsys.readouterr().err


@pytest.mark.parametrize("field", ["years", "utilization", "capex"])
def test_cost_messages_agree_on_what_is_allowed(field):
    # -1 and 0 are both refused, with the same expectation (it said ">= 0" for -1, then refused 0).
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8)
    for bad in (-1, 0):
        with pytest.raises(perfmodel.InvalidArgument, match=rf"{field}: expected a positive number, got {bad}"):
            perfmodel.cost(r, **{field: bad})


def test_compare_gains_perf_per_watt_rows():
    df = perfmodel.compare([CM384, NVL72])
    row = df.loc["BF16 dense GFLOP/s per W (modelled)"]
    assert row[CM384] < row[NVL72]
    assert df.loc["Modelled power at full load (kW)", NVL72] == pytest.approx(_it_kw(NVL72))


def test_efficiency_frontier_plot(tmp_path):
    from perfmodel import plot

    rs = [_decode(batch=b * 72) for b in (16, 64)]
    fig = plot.efficiency_frontier(rs, path=tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000
    assert len(fig.axes[0].lines) == 1 and len(fig.axes[0].lines[0].get_xdata()) == 2
    fig = plot.efficiency_frontier(rs, x="cost")
    assert fig.axes[0].get_xlabel() == "USD per million tokens"
    cm = _decode("cm384", batch=64 * 384, precision="int8", ranks_per_chip=2, dp_attention=768, redundant_experts=512)
    with pytest.raises(perfmodel.InvalidArgument, match="capex"):
        plot.efficiency_frontier([cm], x="cost")
    with pytest.raises(perfmodel.InvalidArgument, match="x must be"):
        plot.efficiency_frontier(rs, x="speed")


def test_efficiency_frontier_says_when_bases_mix_and_keeps_phases_apart(tmp_path):
    # HGX H20 has no system power model: its watts are chips only, DGX H100's all-in. The axis and
    # a warning say so; a system's prefill and decode points are separate curves (input vs output tokens).
    from perfmodel import plot

    plan = dict(mode="decode", precision="fp8", tp=8, batch=64, kv_len=4096)
    rs = [perfmodel.inference("llama-3.1-70b", s, **plan) for s in ("dgx-h100", "hgx-h20")]
    with pytest.warns(UserWarning, match="nvidia-dgx-h100 all-in .*, nvidia-hgx-h20 chips only"):
        fig = plot.efficiency_frontier(rs)
    assert "chips only for nvidia-hgx-h20" in fig.axes[0].get_xlabel()
    assert fig.axes[0].get_xlabel() != plot.efficiency_frontier(rs[1:]).axes[0].get_xlabel() == \
        "chip power (W; no system power model)"
    pre = perfmodel.inference("llama-3.1-70b", "dgx-h100", mode="prefill", precision="fp8", tp=8, batch=8)
    fig = plot.efficiency_frontier([rs[0], pre])
    assert sorted(line.get_label() for line in fig.axes[0].lines) == ["nvidia-dgx-h100 (decode)",
                                                                      "nvidia-dgx-h100 (prefill)"]
    assert "input for prefill" in fig.axes[0].get_ylabel()


def test_cost_takes_a_price_per_system():
    # One capex for several systems would price them all alike; a mapping prices each, and a system
    # not in it keeps its catalog price (NVL72's) or stays unknown (CloudMatrix 384's).
    nvl = perfmodel.serving_results("nvl72")["decode"]
    cm = perfmodel.serving_results("cm384")["decode"]
    prices = {"cm384": 8.2e6}
    assert perfmodel.cost(cm, capex=prices)["capex_usd"] == 8.2e6
    assert perfmodel.cost(nvl, capex=prices)["capex_usd"] == perfmodel.cost(nvl)["capex_usd"]
    assert "capex_usd" in perfmodel.cost(cm, capex={"nvl72": 3e6})["unknown"]
    fig = perfmodel.plot.efficiency_frontier([nvl, cm], x="cost", capex=prices)
    xs = {line.get_label(): line.get_xdata()[0] for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")}
    assert len(xs) == 2 and len(set(xs.values())) == 2
    with pytest.raises(perfmodel.Error, match="capex"):
        perfmodel.cost(cm, capex={"cm384": -1.0})
    # Every price is checked and named by its key, not only the one this result uses.
    with pytest.raises(perfmodel.InvalidArgument, match=r"^capex\['nvl72'\]: expected a positive number, got -1"):
        perfmodel.cost(cm, capex={"cm384": 8.2e6, "nvl72": -1})


def _dynamic_joules_per_token(r, tokens):
    e = r.energy
    return (e["watts_per_chip"] - e["idle_watts_per_chip"]) * r.step_time_s * r.chips / tokens


def test_energy_is_the_work_done_not_the_slowest_rank_times_every_chip():
    # Serving: a pipeline rank holds one stage's work, which the energy counted a second time
    # over pp (Llama 3.1 70B prefill drew 593 W at PP1, 344 at PP2 and 219 at PP4, same MFU).
    watts = [perfmodel.inference("llama-3.1-70b", "dgx-h100", precision="fp8", mode="prefill", batch=64, input_len=4096,
                                 pp=pp, check_memory=False).to_dict()["prefill"]["energy"]["chip_watts"] for pp in (1, 2, 4)]
    assert watts[1] == pytest.approx(watts[0], rel=0.01) and watts[2] == pytest.approx(watts[0], rel=0.01)
    # Training: ranks that wait for the slowest stage (the LM head's) or the busiest expert rank
    # draw idle power; the dynamic energy per token is the work's, whatever the pipeline or skew.
    dyn = [_dynamic_joules_per_token(perfmodel.training("llama-3.1-8b", "dgx-h100", n_chips=8, pp=pp, dp=8 // pp,
                                                        global_batch=64, seq_len=4096, check_memory=False), 64 * 4096)
           for pp in (1, 2, 4)]
    assert dyn[1] == pytest.approx(dyn[0], rel=0.01) and dyn[2] == pytest.approx(dyn[0], rel=0.01)
    skew = [_dynamic_joules_per_token(perfmodel.training("mixtral-8x7b", "dgx-h100", n_chips=8, dp=8, ep=8, global_batch=64,
                                                         seq_len=4096, expert_imbalance=i, check_memory=False), 64 * 4096)
            for i in (1.0, 2.0)]
    assert skew[1] == pytest.approx(skew[0], rel=0.05)  # it was +34 % at skew 2
    # FP8 with bf16 end layers: the mean stage's mix of 8- and 16-bit GEMMs, not the slowest's (the
    # LM head's stage with a bf16 layer read +9.5 % at PP8).
    fp8 = [_dynamic_joules_per_token(perfmodel.training("llama-3.1-70b", "dgx-h100", n_chips=8 * pp, tp=8, pp=pp, dp=1,
                                                       global_batch=64, seq_len=4096, precision="fp8", bf16_layers=1,
                                                       check_memory=False), 64 * 4096) for pp in (1, 8)]
    assert fp8[1] == pytest.approx(fp8[0], rel=0.01)


def test_overrides_take_units_where_they_mean_watts_and_ratios_where_they_do_not():
    # "cooling_overhead=5 W" was read as a 500 % overhead; the Python API refused "1.5 kW" the CLI took.
    kw = perfmodel.power("cm384", overrides={"chip_max_watts": "1.5 kW"}).attrs["it_watts"]
    assert kw == perfmodel.power("cm384", overrides={"chip_max_watts": 1500}).attrs["it_watts"]
    assert perfmodel.power("cm384", overrides={"chip_max_watts": "1500"}).attrs["it_watts"] == kw  # a number as text
    pct = perfmodel.power("cm384", overrides={"delivery_efficiency": "90 %"}).attrs["it_watts"]
    assert pct == perfmodel.power("cm384", overrides={"delivery_efficiency": 0.9}).attrs["it_watts"]
    with pytest.raises(perfmodel.InvalidArgument, match=r"overrides\['cooling_overhead'\]: '5 W' is a power; expected a plain"):
        perfmodel.power("cm384", overrides={"cooling_overhead": "5 W"})
    with pytest.raises(perfmodel.InvalidArgument, match=r"overrides\['chip_max_watts'\]: '90 %' is a dimensionless ratio"):
        perfmodel.power("cm384", overrides={"chip_max_watts": "90 %"})
    assert cli.main(["power", "cm384", "--override", "cooling_overhead=5 W"]) == 2


def test_cost_says_which_power_basis_it_charged():
    # H800 and H100 nodes: the same silicon; without a power model the H800's electricity is the
    # chips' alone (about half), which the cost result did not say.
    plan = dict(mode="decode", precision="fp8", tp=8, batch=64, kv_len=2048)
    h100 = perfmodel.cost(perfmodel.inference("llama-3.1-70b", "dgx-h100", **plan))
    h800 = perfmodel.cost(perfmodel.inference("llama-3.1-70b", "hgx-h800", **plan))
    assert h100["power_basis"].startswith("all-in") and h800["power_basis"].startswith("chips only")
    assert h800["power_usd_per_hour"] < 0.7 * h100["power_usd_per_hour"]
    from perfmodel import plot

    rs = [perfmodel.inference("llama-3.1-70b", s, **plan) for s in ("dgx-h100", "hgx-h800")]
    with pytest.warns(UserWarning, match="mix bases"):
        fig = plot.efficiency_frontier(rs, x="cost", capex={"hgx-h800": 300000, "dgx-h100": 300000})
    assert "chips only for nvidia-hgx-h800" in fig.axes[0].get_xlabel()


def test_capped_draw_and_idle_rows_say_what_they_rest_on(capsys):
    # H20 INT8 decode: the work-based draw passes 400 W; the watts are held there (the step is not
    # slowed), and the summary says so (it printed watts_per_chip 400 with no word).
    r = perfmodel.inference("llama-3.1-70b", "hgx-h20", mode="decode", batch=64, kv_len=1024, tp=2, dp_attention=2,
                            precision="int8")
    assert r.summary()["chip_draw_capped"] and r.energy["chip_watts"] == pytest.approx(400)
    assert perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=8).summary()["chip_draw_capped"] is False
    # Below full load the chip row stands on the family's idle fraction: derived, whatever the TDP's grade.
    idle = perfmodel.power(NVL72, 0.0).iloc[0]
    assert idle["confidence"] == "derived" and "idle_fraction" in idle["source"]
    assert perfmodel.power(NVL72, 1.0).iloc[0]["confidence"] == "official"
    given = perfmodel.power(NVL72, 0.5, overrides={"chip_idle_watts": 150}).iloc[0]
    assert given["confidence"] == "override"
    # Component names are printed whole (the 910C row lost '(chip)' at 64 characters).
    assert cli.main(["power", "cm384"]) == 0
    assert "Atlas 900 A3 SuperPoD) (chip)" in capsys.readouterr().out
    # A value just under 1,000 prints as 1,000, not 1e+03.
    assert cli.main(["power", "dgx-h100", "--override", "chip_max_watts=999.7"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "(chip)" in line)
    assert "1,000" in row and "e+03" not in row
