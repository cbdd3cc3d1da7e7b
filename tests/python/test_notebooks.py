"""The example notebooks run top to bottom (nbclient, a fresh kernel), save their figures, and
their key numbers hold. The last cell of each notebook prints its key numbers as JSON."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbclient  # dev requirements (requirements-dev.txt): a missing one fails the run, not skips it
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
DOC = (NOTEBOOKS.parents[1] / "docs" / "notebooks.md").read_text()


def run(name: str, figures: Path, monkeypatch) -> dict:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    monkeypatch.setenv("PERFMODEL_FIGURES", str(figures))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"


def test_export_controls_notebook(tmp_path, monkeypatch):
    key = run("export_controls.ipynb", tmp_path, monkeypatch)
    assert (tmp_path / "export_controls_tpp_pd.png").stat().st_size > 10_000
    assert key["chips"] >= 20
    # H20: TPP 2,368 (148 dense BF16 TFLOP/s x 16) and PD 2.91 on 814 mm2: just under both 3A090.b bands.
    assert key["h20_tpp"] == pytest.approx(2368)
    assert key["h20_pd"] == pytest.approx(2368 / 814)
    assert key["h20_class"] == "below 3A090"
    assert key["h100_class"] == "3A090.a"
    # Compute is cut ~6.7x, but a bandwidth-bound decode step is within ~15 % of the H100.
    assert 5.5 < key["gemm_ratio_h100_over_h20"] < 8
    assert 0.9 < key["decode_ratio_h100_over_h20"] < 1.4
    # docs/notebooks.md quotes the share the notebook computes.
    share = re.search(r"keeps (\d+) % of an H100's", DOC).group(1)
    assert int(share) == round(100 / key["decode_ratio_h100_over_h20"])


def test_training_plans_notebook(tmp_path, monkeypatch):
    import perfmodel
    from perfmodel.validation import TRAINING_CASES

    key = run("training_plans.ipynb", tmp_path, monkeypatch)
    for png in ("training_breakdown_405b.png", "training_time_energy.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    tokens = 15.6e12
    # Meta's setup is the README's calibration row LLAMA3-01, called the same way here.
    case = TRAINING_CASES["LLAMA3-01"]
    meta = perfmodel.training(case["model"], case["system"], **case["plan"])
    assert key["meta_tflops_per_gpu"] == pytest.approx(meta.tflops_per_chip, rel=1e-9)
    assert key["meta_error_pct"] == pytest.approx((meta.tflops_per_chip / 430 - 1) * 100)
    # A known miss (README: +17.3 %): optimistic, and within the 20 % the accuracy test allows.
    assert 10 < key["meta_error_pct"] < 20
    # MFU is model TFLOP/s over the H100's 989.4 TFLOP/s dense BF16 peak.
    assert key["meta_mfu"] == pytest.approx(key["meta_tflops_per_gpu"] / 989.4)
    fit = perfmodel.training(case["model"], case["system"], **dict(case["plan"], recompute="full", check_memory=True))
    assert key["meta_recompute_full_tokens_per_s"] == pytest.approx(fit.tokens_per_s, rel=1e-9)

    s = key["systems"]
    h100, a2, cm = s["nvidia-dgx-h100"], s["huawei-atlas-800t-a2"], s["huawei-cloudmatrix-384"]
    # The H100 space holds Meta's plan with full recompute (the variant that fits in 80 GB in
    # this model; without recompute it needs 88 GB), so the best plan is at least as fast.
    assert h100["tokens_per_s"] >= key["meta_recompute_full_tokens_per_s"] * (1 - 1e-12)
    # Whole CloudMatrix 384 supernodes: 21 x 384 = 8,064, the most that does not exceed 8,192.
    assert (h100["plan"]["n_chips"], a2["plan"]["n_chips"], cm["plan"]["n_chips"]) == (8192, 8192, 8064)
    # Dense BF16 peaks: a plan cannot deliver more model TFLOP/s than the chip's peak (MFU < 1).
    # TDP caps the chip's draw: chips-only energy is at most TDP x chips x time (910C: TDP unknown).
    for sysid, peak, tdp in (("nvidia-dgx-h100", 989.4, 700), ("huawei-atlas-800t-a2", 294.9, 400),
                             ("huawei-cloudmatrix-384", 752, None)):
        k = s[sysid]
        assert 0 < k["tflops_per_chip"] < peak and k["mfu"] == pytest.approx(k["tflops_per_chip"] / peak)
        chips, seconds = k["plan"]["n_chips"], k["days_to_train"] * 86400
        # Time to train x tokens/s = the 15.6T tokens; chip-hours = chips x hours.
        assert seconds * k["tokens_per_s"] == pytest.approx(tokens)
        assert k["chip_hours"] == pytest.approx(chips * seconds / 3600)
        assert k["tokens_per_s"] == pytest.approx(k["tokens_per_s_per_chip"] * chips)
        if tdp is not None:
            assert k["energy_chips_only_MWh"] <= tdp * chips * seconds / 3.6e9
        # The searched winner is what the estimator gives for that plan, and it fits in HBM
        # (check_memory is on by default: a plan over memory would raise).
        r = perfmodel.training("llama-3.1-405b", sysid, layout=k["layout"], global_batch=2048, seq_len=8192,
                               train_tokens=tokens, **k["plan"])
        assert k["tokens_per_s"] == pytest.approx(r.tokens_per_s, rel=1e-9)
        # All-in energy is the all-in draw per chip x chips x time; the chips are part of it.
        if k["energy_all_in_MWh"] is not None:
            assert k["energy_all_in_MWh"] == pytest.approx(r.energy["watts_per_chip"] * chips * seconds / 3.6e9)
            assert k["energy_chips_only_MWh"] < k["energy_all_in_MWh"]
        n = k["search"]
        assert n["pruned"] + n["evaluated"] == n["total"] and 0 < n["feasible"] <= n["evaluated"]
    # The catalog has no power model for the Atlas 800T A2: its all-in energy stays unknown.
    assert a2["energy_all_in_MWh"] is None and h100["energy_all_in_MWh"] is not None
    # The H100 has 3.4x the 910B's BF16 peak and 2.1x its HBM bandwidth: more tokens/s per chip.
    assert h100["tokens_per_s_per_chip"] > a2["tokens_per_s_per_chip"]
    # Both search spaces have the same size: 4 tp x 3 cp x 5 pp x 4 v x 3 mb x 3 recompute x
    # 3 sharding x 2 sp x 2 overlap_tp; CloudMatrix: 7 tp x 3 cp x 2 pp x 2 v x the same switches.
    assert h100["search"]["total"] == a2["search"]["total"] == 4 * 3 * 5 * 4 * 3 * 3 * 3 * 2 * 2
    assert cm["search"]["total"] == 7 * 3 * 2 * 2 * 3 * 3 * 3 * 2 * 2


def _catalog_rate(chip: str, field: str) -> float | None:
    """A catalog figure in units of 1e12 (TFLOP/s or TB/s), read from the catalog text; None if unknown."""
    import perfmodel

    f = next(f for f in perfmodel.catalog.get(chip).figures() if f["field"] == field)
    if f["value"] == "unknown":
        return None
    number, unit = f["value"].split()
    assert unit in ("TFLOP/s", "TB/s"), f"{chip} {field}: {f['value']}"
    return float(number)


def test_roofline_and_operators_notebook(tmp_path, monkeypatch):
    import perfmodel

    key = run("roofline_and_operators.ipynb", tmp_path, monkeypatch)
    for png in ("roofline_six_chips.png", "gemm_efficiency_vs_size.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    assert key["chips"] == ["nvidia-h100-sxm", "nvidia-h20", "nvidia-h800-sxm", "huawei-ascend-910b",
                            "huawei-ascend-910c", "metax-c550"]
    N = K = 8192
    ridge_m = {}
    for chip in key["chips"]:
        peak, bw = _catalog_rate(chip, "compute.bf16.matrix"), _catalog_rate(chip, "memory.main.bandwidth")
        if bw is not None:
            assert key["hbm_tbs"][chip] == pytest.approx(bw)
        if peak is None or bw is None:
            # Unknown stays unknown: no ridge, no crossover, and a row that gives the reason.
            assert key["ridge"][chip] is None and key["crossover_m"][chip] is None
            assert "is unknown" in key["unknown"][chip]
            continue
        assert chip not in key["unknown"]
        # Ridge point = peak FLOP/s / HBM bandwidth, from the catalog's text (TFLOP/s over TB/s).
        assert key["ridge"][chip] == pytest.approx(peak / bw)
        # The achievable ridge scales both by the family's measured fractions.
        policy = perfmodel.efficiency_policy(chip)
        r_ach = peak * policy["matrix"] / (bw * policy["memory"])
        assert key["achievable_ridge"][chip] == pytest.approx(r_ach)
        # bf16 m x N x K reads m·K + K·N and writes m·N elements for 2·m·N·K FLOPs: its intensity
        # m·N·K / (m·K + K·N + m·N) reaches the achievable ridge at this m.
        ridge_m[chip] = r_ach * K * N / (K * N - r_ach * (K + N))
        assert key["ridge_m"][chip] == pytest.approx(ridge_m[chip])
        # The model's compute time counts whole tiles and waves, never less than FLOPs / achievable
        # peak, and its memory time is the bytes above / achievable bandwidth: so the estimate turns
        # compute bound no later than the ridge m.
        assert 1 <= key["crossover_m"][chip] <= 1.05 * ridge_m[chip]
        if ridge_m[chip] > 128:
            # Padding m to a whole tile (at most 128 rows) plus wave quantization at most doubles the
            # work here, so the switch is not earlier than half the ridge m.
            assert key["crossover_m"][chip] >= ridge_m[chip] / 2
        # Fractions of peak: positive, never above the family's achievable GEMM fraction, and an
        # 8192³ GEMM (thousands of tiles, a ms-long kernel vs a 4-5 us launch) gets within 10 % of it.
        assert 0 < key["square_fraction_min"][chip] <= key["square_fraction_max"][chip] <= policy["matrix"] + 1e-9
        assert 0.9 * policy["matrix"] < key["gemm8192_fraction"][chip] <= policy["matrix"] + 1e-9
        # Prefill attention (intensity in the thousands) is compute bound, decode (~4 FLOP/byte) memory bound.
        assert key["attention_bound"][f"{chip}/prefill"] == "compute"
        assert key["attention_bound"][f"{chip}/decode"] == "memory"
    assert "metax-c550" in key["unknown"]  # the catalog has no public C550 bf16 peak
    # H20: ~6.7x less peak with slightly more bandwidth: a ridge m below one 64-row tile, so it
    # turns compute bound far earlier than the H100 (the ridge m ratio is ~8).
    h20, h100 = key["crossover_m"]["nvidia-h20"], key["crossover_m"]["nvidia-h100-sxm"]
    assert ridge_m["nvidia-h20"] < 64 and h20 < h100 / 4
    # Below its smallest tile a library GEMM swaps A and B (rows padded to 8, not to 64): the H20
    # stays memory bound up to about its ridge m instead of from m = 1.
    assert h20 >= ridge_m["nvidia-h20"] / 2
    # Same bf16 peak, HBM and family: H800 and H100 are identical here.
    assert key["crossover_m"]["nvidia-h800-sxm"] == h100
    peak_ratio = _catalog_rate("nvidia-h100-sxm", "compute.bf16.matrix") / _catalog_rate("nvidia-h20", "compute.bf16.matrix")
    bw_ratio = _catalog_rate("nvidia-h20", "memory.main.bandwidth") / _catalog_rate("nvidia-h100-sxm", "memory.main.bandwidth")
    # Same family fractions: compute-bound work scales with peak (8192³ GEMM, prefill attention),
    # memory-bound work with bandwidth (decode attention: the H20 is faster).
    assert key["gemm8192_ratio_h100_over_h20"] == pytest.approx(peak_ratio, rel=0.05)
    assert key["prefill_attention_time_ratio_h20_over_h100"] == pytest.approx(peak_ratio, rel=0.05)
    assert key["decode_attention_time_ratio_h100_over_h20"] == pytest.approx(bw_ratio, rel=0.05)
    assert key["decode_attention_time_ratio_h100_over_h20"] > 1


def test_cloudmatrix384_vs_gb200_nvl72_notebook(tmp_path, monkeypatch):
    import perfmodel

    key = run("cloudmatrix384_vs_gb200_nvl72.ipynb", tmp_path, monkeypatch)
    for png in ("roofline", "decode_breakdown", "power", "efficiency"):
        assert (tmp_path / f"cm384_nvl72_{png}.png").stat().st_size > 10_000
    cm, nv = "CloudMatrix 384", "GB200 NVL72"
    # Per system = per chip x chips (384 and 72).
    assert key["decode_per_system"][cm] == pytest.approx(384 * key["decode_per_chip"][cm])
    assert key["decode_per_system"][nv] == pytest.approx(72 * key["decode_per_chip"][nv])
    # The conclusion the notebook states: a Blackwell GPU serves several times (> 2.5x) a 910C
    # package, CloudMatrix decodes about 1.8x per system and prefills more, and GB200 gives > 2x
    # the tokens per joule.
    assert key["decode_per_chip"][nv] > 2.5 * key["decode_per_chip"][cm]
    assert 1.6 < key["decode_per_system"][cm] / key["decode_per_system"][nv] < 2.0
    assert key["prefill_per_system"][cm] > key["prefill_per_system"][nv]
    assert key["tokens_per_joule"][nv] > 2 * key["tokens_per_joule"][cm]
    # Power rebuilt from components: CM384 within 10 % of SemiAnalysis' 559 kW; NVL72 inside the
    # published 120-145 kW range (10 % margin each side).
    assert key["modelled_kw"][cm] == pytest.approx(key["published_kw"][cm], rel=0.10)
    assert 0.9 * 120 < key["modelled_kw"][nv] < 1.1 * 145
    # Ridge = catalog peak / catalog bandwidth: 752 TFLOP/s / 3.2 TB/s and 2.5 PFLOP/s / 8 TB/s.
    assert key["ridge_bf16_peak"] == {"910C": pytest.approx(752 / 3.2), "GB200 GPU": pytest.approx(2500 / 8)}
    # No CM384 price in the catalog, so its cost per token stays unknown; the break-even price is
    # recomputed here from perfmodel.cost and must fall as electricity gets dearer (CM384 draws more).
    assert key["cm384_usd_per_m_tokens_known"] is False
    r = {s: perfmodel.serving_results(s)["decode"] for s in ("cm384", "nvl72")}
    nv_usd_per_token = perfmodel.cost(r["nvl72"], price_per_kwh=0.08)["usd_per_million_output_tokens"] / 1e6
    budget = nv_usd_per_token * r["cm384"].output_tokens_per_s_per_system * 3600 \
        - perfmodel.cost(r["cm384"], price_per_kwh=0.08)["power_usd_per_hour"]
    assert key["break_even_musd"]["0.08"] == pytest.approx(budget * 4 * 8760 / 1e6)
    known = [v for v in key["break_even_musd"].values() if v is not None]
    assert known == sorted(known, reverse=True) and len(known) >= 4
    assert key["break_even_musd"]["0.8"] is None  # power alone costs more per token than NVL72's total
    # docs/notebooks.md quotes the break-even at 0.08 USD/kWh, the first price with none, and the
    # what-if gain, as the notebook computes them.
    musd = re.search(r"\(([\d.]+) M USD\s+at 0\.08 USD/kWh; none from about ([\d.]+) USD/kWh", DOC)
    be = key["break_even_musd"]
    assert float(musd.group(1)) == round(be["0.08"], 1)
    # The break-even falls linearly with the electricity price: where it reaches zero.
    zero = 0.3 + be["0.3"] * (0.3 - 0.08) / (be["0.08"] - be["0.3"])
    assert float(musd.group(2)) == pytest.approx(zero, abs=0.006)
    gain = re.search(r"twice the HBM bandwidth \(\+(\d+) % decode tokens/s\)", DOC)
    assert int(gain.group(1)) == round(100 * (key["what_if_2x_hbm_decode_gain"] - 1))
    # Twice the HBM bandwidth on a mostly memory-bound decode step: faster, but not more than 2x.
    assert 1.0 < key["what_if_2x_hbm_decode_gain"] < 2.0
    # Looser TPOT limits: NVL72 never slower; CM384 within 1 % (the documented tile-granularity dip).
    for series in key["sweep_tokens_per_s_per_chip"].values():
        for i in range(1, len(series)):
            assert series[i] >= 0.99 * max(series[:i])
    assert key["sources_unknown"] == 3  # 910C FP8 and TDP, CM384 price: unknown, never guessed
