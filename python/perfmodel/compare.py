"""Side-by-side comparison of catalog systems: totals, per-chip figures, power ratios."""

from __future__ import annotations

from typing import Any, Sequence

import pandas as pd

from . import _args, _core
from .catalog import Catalog, using
from .power import mixed_basis_warning

__all__ = ["compare", "export_control", "serving_comparison", "serving_results", "system_totals", "training_comparison",
           "training_results"]

_PRECISION_LABEL = {"fp64": "FP64", "fp32": "FP32", "tf32": "TF32", "bf16": "BF16", "fp16": "FP16",
                    "fp8": "FP8", "fp4": "FP4", "int8": "INT8", "int4": "INT4"}


def system_totals(system: str, catalog: Catalog | None = None) -> dict:
    """Totals of one system in SI units (FLOP/s, B, B/s, W, USD); unknown inputs are None and
    listed under ``"missing"``. Peaks are dense; FP32 is the IEEE figure of the vector units where
    the chip lists one (a cube path running FP32 GEMMs at reduced internal precision, Ascend's, is
    not the same number), else its only figure (BR100, MLU370-X8)."""
    cat = using(catalog)
    return dict(cat._core.system_totals(cat.resolve(system)))


def export_control(chip: str, catalog: Catalog | None = None) -> dict:
    """TPP, performance density and the ECCN 3A090 classification of a chip, with the reason:
    keys ``tpp``, ``tpp_precision``, ``die_area_mm2``, ``performance_density``, ``classification``,
    ``reason``, ``rumour_inputs`` (catalog fields of rumour confidence the class rests on) and
    ``rule``. Per integrated circuit (a board entry with ``packages`` > 1 is divided); datacenter
    parts are assumed (Note 2 to 3A090 exempts others below TPP 4800)."""
    cat = using(catalog)
    return dict(cat._core.export_control(cat.resolve(chip)))


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def _rows(t: dict, precisions: list[str]) -> dict[str, float | None]:
    n = t["chips"]
    peak = t["peak_flops"]
    bf16 = peak.get("bf16")
    power = t["power"]
    cap, bw = t["memory_capacity"], t["memory_bandwidth"]
    su = t["scale_up_per_direction"]
    rows: dict[str, float | None] = {"Chips": float(n)}
    for p in precisions:
        v = peak.get(p)
        unit = "POP/s" if p.startswith("int") else "PFLOP/s"
        rows[f"{_PRECISION_LABEL[p]} dense ({unit})"] = None if v is None else v / 1e15
    rows["BF16 dense per chip (TFLOP/s)"] = None if bf16 is None else bf16 / n / 1e12
    rows["HBM capacity (TB)"] = None if cap is None else cap / 1e12
    rows["HBM capacity per chip (GB)"] = None if cap is None else cap / n / 1e9
    rows["HBM bandwidth (TB/s)"] = None if bw is None else bw / 1e12
    rows["HBM bandwidth per chip (TB/s)"] = None if bw is None else bw / n / 1e12
    rows["Scale-up bandwidth, both directions (TB/s)"] = None if su is None else 2 * su / 1e12
    rows["Scale-up per chip, per direction (GB/s)"] = None if su is None else su / n / 1e9
    so = t["scale_out_per_direction"]
    rows["Scale-out bandwidth, per direction (TB/s)"] = None if so is None else so / 1e12
    rows["System power (kW)"] = None if power is None else power / 1e3
    rows["Power per BF16 PFLOP/s (W)"] = _div(power, None if bf16 is None else bf16 / 1e15)
    rows["Power per TB/s of HBM bandwidth (W)"] = _div(power, None if bw is None else bw / 1e12)
    rows["Power per TB of HBM (W)"] = _div(power, None if cap is None else cap / 1e12)
    rows["Price (USD)"] = t["price"]
    # Perf per watt on the modelled full-load power (chips at TDP plus the system's components).
    modelled = t.get("modelled_power")
    rows["Modelled power at full load (kW)"] = None if modelled is None else modelled / 1e3
    rows["BF16 dense GFLOP/s per W (modelled)"] = _div(None if bf16 is None else bf16 / 1e9, modelled)
    rows["HBM bandwidth GB/s per W (modelled)"] = _div(None if bw is None else bw / 1e9, modelled)
    rows["HBM capacity GB per kW (modelled)"] = _div(None if cap is None else cap / 1e9, None if modelled is None else modelled / 1e3)
    return rows


def _modelled_power(system: str, cat: Catalog) -> tuple[float | None, str | None]:
    from .power import power

    try:
        return power(system, 1.0, catalog=cat).attrs["it_watts"], None
    except _core.Error as exc:
        return None, f"{system}: modelled power unknown ({exc})"


def _system_list(where: str, systems: Any, cat: Catalog | None = None) -> None:
    """A list or tuple of ids: columns follow its order and the first is the ratios' numerator, so
    the order must be the caller's (a set's is not; arrays and Series: pass list(...)). Given the
    catalog, two names of one system are refused (they would be one column)."""
    if not isinstance(systems, (list, tuple)) or len(systems) == 0:
        first = " (the first is the ratios' numerator)" if where == "compare" else " (rows follow its order)"
        raise _core.InvalidArgument(f"{where}() needs a list or tuple of one or more system ids{first}, "
                                    f"got {type(systems).__name__}")
    if cat is not None:
        ids = [cat.resolve(_args.text("systems", s)) for s in systems]
        if len(set(ids)) != len(ids):
            raise _core.InvalidArgument(f"{where}() got the same system twice: {list(systems)}")


def compare(systems: Sequence[str], catalog: Catalog | None = None) -> pd.DataFrame:
    """Compare systems (a list or tuple of ids): one column per system (canonical id), one row per
    headline metric (peaks as :func:`system_totals` takes them: dense, FP32 on the vector units),
    and a ratio column ``"A / B"`` of the first system to each other one. Unknown figures are ``<NA>``
    (never NaN or zero); ``df.attrs["missing"]`` says which inputs were unknown,
    ``df.attrs["rumour"]`` which rest on figures of ``rumour`` confidence (per system, see
    :func:`perfmodel.catalog.rumour_inputs`) and ``df.attrs["chips"]`` which chip each system uses.
    HBM capacity is each datasheet's figure in the unit it states: NVIDIA's "80 GB" counts as 80 GB
    though the stacks hold 80 GiB, where a 910B source's "64 GiB" converts to 68.7 GB (what an
    estimate may fill is the chip's ``usable_capacity``, as results report it)."""
    _system_list("compare", systems)
    cat = using(catalog)
    ids = [cat.resolve(s) for s in systems]
    for given, sid in zip(systems, ids):
        if cat.kind(sid) != "system":
            raise _core.InvalidArgument(
                f"compare() takes systems; {given!r} is a chip (try a node such as 'nvidia-dgx-h100')"
            )
    if len(set(ids)) != len(ids):
        raise _core.InvalidArgument(f"compare() got the same system twice: {list(systems)}")
    totals = [system_totals(s, cat) for s in ids]
    for t in totals:
        t["modelled_power"], why = _modelled_power(t["system"], cat)
        if why:
            t["missing"] = [*t["missing"], why]
    precisions = [p for p in _PRECISION_LABEL if any(p in t["peak_flops"] for t in totals)]
    columns = {sid: _rows(t, precisions) for sid, t in zip(ids, totals)}
    df = pd.DataFrame(columns).astype("Float64")
    for other in ids[1:]:
        num, den = df[ids[0]], df[other]
        ratio = num / den.where(den != 0)
        df[f"{ids[0]} / {other}"] = ratio
    df.index.name = "metric"
    df.attrs["chips"] = {t["system"]: t["chip"] for t in totals}
    df.attrs["missing"] = [m for t in totals for m in t["missing"]]
    from .catalog import rumour_inputs  # every figure of the table: all precisions, power included

    df.attrs["rumour"] = {sid: rumour_inputs(sid, precisions, energy=True, cost=True, catalog=cat) for sid in ids}
    return df


def _devices(chip: dict) -> int:
    """Ranks per package a recipe runs: the chip's ``devices`` figure (the 910C is two CANN devices,
    Zuo et al. 2025 Sec. 3; NVIDIA's two-die B200 is one CUDA device), 1 where absent or unknown."""
    fig = chip.get("devices", {})
    return int(fig["value"]) if isinstance(fig, dict) and "value" in fig else 1


def _whole_system(system: str, ranks_per_chip: int | None, cat: Catalog, caller: str) -> tuple[str, dict, int, int]:
    """A comparison recipe's system: its id, catalog dict, chip count and ranks per chip (the chip's
    ``devices`` unless given)."""
    sid = cat.resolve(system)
    if cat.kind(sid) != "system":
        raise _core.InvalidArgument(f"{caller}() takes systems; {system!r} is a {cat.kind(sid)}")
    sysd = cat.get(sid).to_dict()
    rpc = _devices(cat.get(sysd["chip"]).to_dict()) if ranks_per_chip is None else \
        _args.integer("ranks_per_chip", ranks_per_chip, 1, _args.INT32_MAX)
    return sid, sysd, int(sysd["chips"]["value"]), rpc


def _serving_precision(part: dict) -> str:
    """The recipe's GEMM format: the faster of FP8 and INT8 (W8A8) by known dense matrix peak, FP8
    on a tie (a TPU v5p lists FP8 at its BF16 rate and INT8 at twice it), else BF16."""
    from .units import parse

    compute = part.get("compute", {})
    peaks = {}
    for p in ("fp8", "int8", "bf16"):
        fig = compute.get(p, {}).get("matrix", {})
        if isinstance(fig, dict) and fig.get("value") not in (None, "unknown"):
            peaks[p] = parse(str(fig["value"])).value
    eight = [p for p in ("fp8", "int8") if p in peaks]
    if eight:
        return max(eight, key=lambda p: (peaks[p], p == "fp8"))
    if "bf16" in peaks:
        return "bf16"
    raise _core.InvalidArgument(f"serving_comparison: chip {part.get('id')!r} has no known FP8, INT8 or BF16 peak")


def _mtp_drafts(model: str, mtp_tokens: int | None) -> int:
    """The recipe's MTP drafts: as given, else one where the model has MTP modules and none where it has not."""
    from .models import get

    spec = get(model).to_dict()
    if mtp_tokens is not None:
        drafts = _args.integer("mtp_tokens", mtp_tokens, 0, _args.INT32_MAX)
        if drafts and spec.get("mtp_layers", 0) == 0:  # an argument error, not a row per system
            raise _core.InvalidArgument(f"mtp_tokens: {spec['id']} has no multi-token-prediction modules "
                                        f"(mtp_layers 0); pass mtp_tokens=0 or leave it out")
        return drafts
    return 1 if spec.get("mtp_layers", 0) > 0 else 0


def serving_results(system: str, model: str = "deepseek-r1", *, tpot_ms: float = 50.0, kv_len: int = 4096,
                    input_len: int = 4096, mtp_tokens: int | None = None, mtp_acceptance: float = 0.7,
                    prefill_chips: int = 16, prefill_seqs_per_chip: int = 4, ranks_per_chip: int | None = None,
                    catalog: Catalog | None = None) -> dict[str, Any]:
    """The decode and prefill :class:`~perfmodel.InferenceResult` of ``model`` on one system under the
    recipe of :func:`serving_comparison` (pass them to :func:`perfmodel.cost`), with ``"system"``,
    ``"chips"``, ``"ranks_per_chip"`` and ``"precision"``. ``ranks_per_chip`` defaults to the
    chip's ``devices`` figure, the devices its software stack addresses (2 for a 910C and parts that
    extend it; 1 where absent);
    ``mtp_tokens`` to one draft for models with MTP modules and none for the others. Raises
    :class:`perfmodel.InvalidArgument` when no plan of the recipe fits."""
    r = _serving_phases(system, model, tpot_ms, kv_len, input_len, mtp_tokens, mtp_acceptance, prefill_chips,
                        prefill_seqs_per_chip, ranks_per_chip, catalog)
    for phase in ("decode", "prefill"):
        if isinstance(r[phase], Exception):
            raise r[phase]
    return r


def _serving_phases(system: str, model: str, tpot_ms: float, kv_len: int, input_len: int, mtp_tokens: int | None,
                    mtp_acceptance: float, prefill_chips: int, prefill_seqs_per_chip: int, ranks_per_chip: int | None,
                    catalog: Catalog | None) -> dict[str, Any]:
    """serving_results' dict, where a phase with no plan that fits holds the perfmodel.Error saying why."""
    from .inference import best_inference, inference

    if _args.number("tpot_ms", tpot_ms) <= 0:  # an argument error, not "no plan fits" on every system
        raise _core.InvalidArgument(f"tpot_ms: expected a positive number of milliseconds, got {tpot_ms!r}")
    _args.number("mtp_acceptance", mtp_acceptance, 0.0, 1.0)
    spec = _model_dict(model)  # read once: context, id, experts and heads below
    ctx = spec.get("max_context")
    for name, v in (("prefill_chips", prefill_chips), ("prefill_seqs_per_chip", prefill_seqs_per_chip)):
        _args.integer(name, v, 1, _args.INT32_MAX)  # named here, not as the plan field it becomes
    for name, tokens in (("kv_len", kv_len), ("input_len", input_len)):  # an argument error, not a row per system
        tokens = _args.integer(name, tokens, 1, _args.INT32_MAX)
        new = 1 + _mtp_drafts(model, mtp_tokens) if name == "kv_len" else 0  # a decode step's own positions
        if ctx and tokens + new > ctx:
            what = f"{tokens} cached + {new} new tokens" if new else f"{tokens} tokens"
            raise _core.InvalidArgument(f"{name}: {what} exceed the {ctx}-token context of {spec['id']} "
                                        "(max_context); "
                                        f"pass {name}= (--{name.replace('_', '-')}) within it")
    cat = using(catalog)
    sid, sysd, n, rpc = _whole_system(system, ranks_per_chip, cat, "serving_comparison")
    prec = _serving_precision(cat.get(sysd["chip"]).to_dict())
    routed = int(spec["moe"]["routed_experts"]) if spec["moe"] else 0
    ranks = n * rpc
    # Micro-batch overlap hides communication but reads every weight once per micro-batch: the
    # recipe keeps whichever is faster for each system and phase, as a deployment would.
    common = dict(precision=prec, ranks_per_chip=rpc, catalog=cat)
    out: dict[str, Any] = {"system": sid, "chips": n, "ranks_per_chip": rpc, "precision": prec}
    # MoE models: one instance over the whole system (attention data-parallel, experts over every
    # rank). Dense models: tensor-parallel instances of 1 to 8 ranks, whichever serves more (data-
    # parallel attention over every rank would copy the whole model onto each rank).
    heads = int(spec["heads"])
    tps = [t for t in (1, 2, 4, 8) if t <= ranks and heads % t == 0]
    # Each layout's best batch per chip, then the layout that serves most per system (whole
    # instances: TP8 on a 12-chip system leaves 4 chips idle where TP4 fills it).
    layouts = [dict(dp_attention=ranks, redundant_experts=(-routed) % ranks)] if routed else [dict(tp=t) for t in tps]
    drafts = _mtp_drafts(model, mtp_tokens)

    def decode(**layout: Any) -> Any:  # no plan fits (memory, latency): a row of its own, not an abort
        try:
            return best_inference(model, sid, tpot_ms=tpot_ms, mode="decode", kv_len=kv_len, mtp_tokens=drafts,
                                  mtp_acceptance=mtp_acceptance, overlap=[True, False], **layout, **common)
        except _core.InvalidArgument as exc:
            return exc

    decodes = [decode(**layout) for layout in layouts]
    ok = [r for r in decodes if not isinstance(r, Exception)]
    # None fits: one layout's reason, or best_inference's summary over every TP size at once.
    out["decode"] = max(ok, key=lambda r: r.output_tokens_per_s_per_system) if ok else \
        decodes[0] if len(layouts) == 1 else decode(tp=tps)
    pc = min(prefill_chips, n)  # a system smaller than the prefill instance is one instance
    # (ranks, layout) of a prefill instance: pc chips of MoE ranks, or each TP size for dense models.
    shapes = [(pc * rpc, dict(dp_attention=pc * rpc))] if routed else [(t, dict(tp=t)) for t in tps]
    tried: list[Any] = []  # overlap on and off; one may not fit where the other does (activations per micro-batch)
    for r_inst, shape in shapes:
        for o in (True, False):
            try:
                tried.append(inference(model, sid, mode="prefill", input_len=input_len, overlap=o,
                                       batch=max(1, prefill_seqs_per_chip * r_inst // rpc), **shape, **common))
            except _core.InvalidArgument as exc:
                tried.append(exc)
    fits = [r for r in tried if not isinstance(r, Exception)]
    out["prefill"] = max(fits, key=lambda r: r.input_tokens_per_s_per_system) if fits else tried[0]
    return out


def serving_comparison(systems: Sequence[str], model: str = "deepseek-r1", *, tpot_ms: float = 50.0,
                       kv_len: int = 4096, input_len: int = 4096, mtp_tokens: int | None = None, mtp_acceptance: float = 0.7,
                       prefill_chips: int = 16, prefill_seqs_per_chip: int = 4,
                       catalog: Catalog | None = None) -> pd.DataFrame:
    """Serving throughput of ``model`` on each system under one recipe, the same for every system.

    Decode: for MoE models the whole system is one instance (attention data-parallel over all
    ranks, experts spread over all ranks with the fewest redundant replicas that make them
    divide); dense models run tensor-parallel instances of 1, 2, 4 or 8 ranks, whichever serves
    more, as many as the system holds. KV length ``kv_len``,
    ``mtp_tokens`` MTP drafts at ``mtp_acceptance`` (default: one where the model has MTP modules,
    none where it has not), and the batch that serves most with its TPOT within ``tpot_ms``, with or
    without micro-batch overlap, whichever serves more (two micro-batches hide communication but
    read every weight twice). Prefill: MoE instances of ``prefill_chips`` chips (the whole system
    where it has fewer; dense models: the decode TP sizes), prompts of
    ``input_len`` tokens, ``prefill_seqs_per_chip`` prompts per chip per batch, micro-batch overlap
    on or off, whichever is faster. GEMMs run in the
    chip's faster 8-bit format (FP8 or INT8 W8A8 by known peak, FP8 on a tie), else BF16. Rows per system; per-system
    throughput counts the whole instances that fit in the system, as the results do (GB200 NVL72
    prefill: four 16-chip instances, 8 chips idle; the layout row says so). A phase with no plan that fits shows None in its
    rows and the reason in its bottleneck row. The underlying results: :func:`serving_results`."""
    cat = using(catalog)
    _system_list("serving_comparison", systems, cat)
    moe = _routed_experts(model) > 0
    rows: dict[str, dict[str, float | str | None]] = {}
    for given in systems:
        r = _serving_phases(given, model, tpot_ms, kv_len, input_len, mtp_tokens, mtp_acceptance, prefill_chips,
                            prefill_seqs_per_chip, None, cat)
        sid, n, dec, pre = r["system"], r["chips"], r["decode"], r["prefill"]
        ok_dec, ok_pre = not isinstance(dec, Exception), not isinstance(pre, Exception)
        racks = _racks(sid, cat)
        rows[sid] = {
            "GEMM precision": r["precision"].upper(),
            "Decode tokens/s per chip": dec.output_tokens_per_s_per_chip if ok_dec else None,
            "Decode tokens/s per system": dec.output_tokens_per_s_per_system if ok_dec else None,
            "Decode tokens/s per rack": _per_rack(dec.output_tokens_per_s_per_system if ok_dec else None, racks),
            "Decode batch per chip": dec.plan["batch"] / dec.chips_per_instance if ok_dec else None,
            "Decode TPOT (ms)": dec.tpot_ms if ok_dec else None,
            "Decode layout": _layout(dec, moe, n) if ok_dec else None,
            "Decode micro-batch overlap": ("on" if dec.plan.get("overlap") else "off") if ok_dec else None,
            "Decode bottleneck": dec.bottleneck if ok_dec else f"no decode plan fits: {dec}",
            "Prefill tokens/s per chip": pre.input_tokens_per_s_per_chip if ok_pre else None,
            "Prefill tokens/s per system": pre.input_tokens_per_s_per_system if ok_pre else None,
            "Prefill tokens/s per rack": _per_rack(pre.input_tokens_per_s_per_system if ok_pre else None, racks),
            "Prefill TTFT (ms)": pre.ttft_ms if ok_pre else None,
            "Prefill layout": _layout(pre, moe, n) if ok_pre else None,
            "Prefill micro-batch overlap": ("on" if pre.plan.get("overlap") else "off") if ok_pre else None,
            "Prefill bottleneck": pre.bottleneck if ok_pre else f"no prefill plan fits: {pre}",
        }
        # Energy rows: average draw per chip during the phase, all-in (chips + share of CPUs,
        # switches, optics, delivery losses, cooling) where the system has a power model, else chips only.
        de = dec.to_dict()["energy"] if ok_dec else None
        pe = pre.to_dict()["energy"] if ok_pre else None
        missing = (dec if ok_dec else pre).to_dict()["energy_missing"] if ok_dec or ok_pre else "no plan fits"
        rows[sid].update({
            "Decode power per chip (W)": None if de is None else de["watts_per_chip"],
            # Chips outside the whole instances idle (as cost() charges them).
            "Decode power per system (kW)": None if de is None else _system_kw(dec, de, n),
            "Decode output tokens per joule": None if de is None else de["output_tokens_per_joule"],
            "Decode joules per output token": None if de is None else de["joules_per_output_token"],
            "Prefill power per chip (W)": None if pe is None else pe["watts_per_chip"],
            "Prefill joules per input token": None if pe is None else pe["joules_per_input_token"],
            "Energy basis": _basis((de or pe or {}).get("basis", "unknown: " + str(missing))),
        })
    df = pd.DataFrame(rows).astype(object)
    df = df.where(df.notna(), None)
    df.index.name = "metric"
    drafts = _mtp_drafts(model, mtp_tokens)
    mtp = f"{drafts} MTP draft(s) at {mtp_acceptance:.0%}" if drafts else "no MTP"
    df.attrs["warnings"] = _basis_warnings(df, "serving_comparison")
    df.attrs["recipe"] = (f"{model}; decode: {'whole system as one instance' if moe else 'TP1-8 instances, the fastest'}, "
                          f"KV {kv_len}, {mtp}, TPOT <= {tpot_ms:g} ms; prefill: "
                          f"{f'{prefill_chips}-chip instances' if moe else 'TP1-8 instances'}, {input_len}-token prompts, "
                          f"{prefill_seqs_per_chip} per chip; "
                          "micro-batch overlap on or off, whichever is faster")
    return df


# Degrees the training recipe searches (a plan must also fit in memory and fill the system exactly).
_TRAIN_TP = [1, 2, 4, 8]
_TRAIN_PP = [1, 2, 3, 4, 6, 7, 8, 9, 12, 14, 16, 18]
_TRAIN_V = [1, 2]
_TRAIN_EP = [1, 8, 16, 32, 64, 128]  # MoE models only; dense models keep ep 1
# 2,304 sequences (2^8 x 9) per step: about Llama 3's 16M tokens at 8K, and divisible by the
# data-parallel degrees that 72-, 384- and 768-rank systems leave (9, 18, 36, 72, 96, 128, 192, 768, ...).
_TRAIN_BATCH = 2304
_TRAIN_ROWS = ("Training tokens/s per chip", "Training tokens/s per system", "Training tokens/s per rack",
               "Model TFLOP/s per chip", "MFU (%)",
               "Step time (s)", "Memory per chip (GB)", "Memory limit per chip (GB)", "Training bottleneck",
               "Training power per chip (W)",
               "Trained tokens per joule", "Days per trillion tokens (one system)", "Energy basis")


class _NoTrainingPlan(_core.InvalidArgument):
    """training_results' error when the search refused every candidate; ``why`` lists the reasons."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


def training_results(system: str, model: str = "llama-3.1-405b", *, seq_len: int = 8192,
                     global_batch: int = _TRAIN_BATCH, ranks_per_chip: int | None = None,
                     catalog: Catalog | None = None) -> dict[str, Any]:
    """The :class:`~perfmodel.TrainingResult` of the fastest plan for ``model`` on one whole system
    under the recipe of :func:`training_comparison`, with ``"system"``, ``"chips"``,
    ``"ranks_per_chip"``, ``"plan"`` and ``"reasons"`` (candidates the search refused, by reason).
    Raises :class:`perfmodel.InvalidArgument` with those reasons when no plan of the recipe fits,
    as :func:`serving_results` does."""
    from .models import get
    from .search import search_training
    from .training import training

    for name, v in (("seq_len", seq_len), ("global_batch", global_batch)):  # argument errors, not "no plan fits"
        _args.integer(name, v, 1, _args.INT32_MAX)
    cat = using(catalog)
    sid, _, n, rpc = _whole_system(system, ranks_per_chip, cat, "training_comparison")
    # Every overlap on, as the recipe says (overlap_dp and overlap_pp are on by default; TP's is not).
    fixed = dict(global_batch=global_batch, seq_len=seq_len, precision="bf16", micro_batch=1, ranks_per_chip=rpc,
                 overlap_tp=True)
    moe = bool(get(model).moe)
    best, reasons = None, {}
    # Both stage layouts: even, and one layer fewer on the end stages (layers + 2 over pp), which
    # is what lets a prime layer count such as DeepSeek-V3's 61 be pipelined at all.
    for layout in ("even", "lighter_ends"):
        df = search_training(model, sid, catalog=cat, n_chips=n, tp=_TRAIN_TP, pp=_TRAIN_PP, virtual_stages=_TRAIN_V,
                             ep=_TRAIN_EP if moe else None, recompute=["selective", "full"],
                             sharding=["zero1", "fsdp"], top_k=1, layout=layout, **fixed)
        for why, count in df.attrs.get("reasons", {}).items():
            reasons[why] = reasons.get(why, 0) + count
        if len(df) and (best is None or df.iloc[0]["tokens_per_s_per_chip"] > best[0]["tokens_per_s_per_chip"]):
            best = (df.iloc[0], layout)
    if best is None:
        why = "; ".join(f"{k} ({v})" for k, v in reasons.items() if v) or "no candidate"
        raise _NoTrainingPlan(f"training_results: no plan of the recipe fits {model} on {sid}: {why}", why)
    out: dict[str, Any] = {"system": sid, "chips": n, "ranks_per_chip": rpc, "reasons": reasons}
    row, layout = best
    plan: dict[str, Any] = {k: (int(row[k]) if k in ("tp", "pp", "dp", "ep", "virtual_stages") else str(row[k]))
                            for k in ("tp", "pp", "dp", "ep", "virtual_stages", "recompute", "sharding")}
    plan["layout"] = layout
    out["plan"] = plan
    out["result"] = training(model, sid, catalog=cat, n_chips=n, **plan, **fixed)
    return out


def training_comparison(systems: Sequence[str], model: str = "llama-3.1-405b", *, seq_len: int = 8192,
                        global_batch: int = _TRAIN_BATCH, catalog: Catalog | None = None) -> pd.DataFrame:
    """Training throughput of ``model`` on each whole system under one recipe, the same for every system.

    The recipe: BF16, ``global_batch`` sequences of ``seq_len`` tokens per step, micro-batch 1,
    sequence parallelism and every overlap on, one rank per device as the chip's software stack
    addresses it (a die of a 910C); the fastest plan (tokens/s per chip) over TP 1-8, PP 1-18
    with an even or lighter-ends layer split, 1 or 2 virtual stages, EP 1-128 for MoE models,
    selective or full recompute and ZeRO-1 or FSDP that fits in memory and fills the system
    exactly. The default batch, 2,304 sequences, divides over the data-parallel degrees of 72-,
    384- and 768-rank systems. Rows per system; per-system figures are
    per-chip figures times the chips. The underlying results: :func:`training_results`."""
    cat = using(catalog)
    _system_list("training_comparison", systems, cat)
    for name, v in (("seq_len", seq_len), ("global_batch", global_batch)):  # argument errors, not a column's
        _args.integer(name, v, 1, _args.INT32_MAX)
    rows: dict[str, dict[str, float | str | None]] = {}
    for given in systems:
        sid = _whole_system(given, None, cat, "training_comparison")[0]  # not a system: an argument error
        try:
            t = training_results(given, model, seq_len=seq_len, global_batch=global_batch, catalog=cat)
        except _NoTrainingPlan as exc:  # the search refused every candidate: its reasons
            rows[sid] = {"Plan": f"no plan of the recipe fits: {exc.why}", **{k: None for k in _TRAIN_ROWS}}
            continue
        except _core.InvalidArgument as exc:  # a system the recipe cannot run (a figure it lacks): its column says why
            rows[sid] = {"Plan": f"no plan of the recipe fits: {exc}", **{k: None for k in _TRAIN_ROWS}}
            continue
        sid, n, r, p = t["system"], t["chips"], t["result"], t["plan"]
        s = r.summary()
        ranks = f" on {n * t['ranks_per_chip']} die ranks" if t["ranks_per_chip"] > 1 else ""
        rows[sid] = {
            "Plan": (f"TP{p['tp']} PP{p['pp']}" + (f" V{p['virtual_stages']}" if p["virtual_stages"] > 1 else "")
                     + f" DP{p['dp']}" + (f" EP{p['ep']}" if p["ep"] > 1 else "") + f"{ranks}, "
                     + ("lighter end stages, " if p["layout"] == "lighter_ends" else "")
                     + f"{p['recompute']} recompute, " + ("FSDP" if p["sharding"] == "parameters" else "ZeRO-1")),
            "Training tokens/s per chip": s["tokens_per_s_per_chip"],
            "Training tokens/s per system": s["tokens_per_s_per_chip"] * n,
            "Training tokens/s per rack": _per_rack(s["tokens_per_s_per_chip"] * n, _racks(sid, cat)),
            "Model TFLOP/s per chip": s["tflops_per_chip"],
            "MFU (%)": 100.0 * s["mfu"],
            "Step time (s)": s["step_time_s"],
            "Memory per chip (GB)": s["memory_per_chip_GB"],
            # What the plan must fit in: the memory the driver reports (GB200 185 GiB = 198.6 GB),
            # not the datasheet's rounder capacity the system rows show.
            "Memory limit per chip (GB)": r.memory["capacity"] / 1e9,
            "Training bottleneck": s["bottleneck"],
            "Training power per chip (W)": s.get("watts_per_chip"),
            "Trained tokens per joule": s.get("tokens_per_joule"),
            "Days per trillion tokens (one system)": _div(1e12 / 86400.0, s["tokens_per_s_per_chip"] * n),
            "Energy basis": _basis(str(s.get("energy_basis", s.get("energy", "unknown")))),  # summary: "unknown: why"
        }
    # A system without a fitting plan has None (shown as unknown) in every row but "Plan", never NaN.
    df = pd.DataFrame(rows).astype(object)
    df = df.where(df.notna(), None)
    df.index.name = "metric"
    df.attrs["warnings"] = _basis_warnings(df, "training_comparison")
    df.attrs["recipe"] = (f"{model}; BF16, {global_batch} x {seq_len} tokens per step, micro-batch 1; fastest plan "
                          "over TP 1-8, PP 1-18 (even or lighter ends), V 1-2, EP (MoE), selective/full recompute, "
                          "ZeRO-1/FSDP that fits")
    return df


def _basis_warnings(df: pd.DataFrame, where: str) -> list[str]:
    """A warning when the systems' energy rows stand on different bases (all-in vs chips only)."""
    if "Energy basis" not in df.index:
        return []
    bases = {sid: str(b) for sid, b in df.loc["Energy basis"].items() if b is not None}
    msg = mixed_basis_warning(where, [s for s, b in bases.items() if b.startswith("all-in")],
                              [s for s, b in bases.items() if b.startswith("chips only")])
    return [msg] if msg else []


def _basis(basis: str) -> str:
    """The energy rows' basis for a table cell: all-in (the system's power model: chips plus their
    share of CPUs, switches, optics, losses and cooling) or chips only, with the reason."""
    return "all-in (system power model)" if basis == "system" else basis  # whole: long cells become notes


def _racks(system: str, cat: Catalog) -> int | None:
    """Racks the system occupies (CloudMatrix 384: 12 compute + 4 switch racks), None if unknown."""
    fig = cat.get(system).to_dict().get("racks") or {}
    value = fig.get("value") if isinstance(fig, dict) else None
    return int(value) if isinstance(value, (int, float)) and value > 0 else None


def _per_rack(value: float | None, racks: int | None) -> float | None:
    return None if value is None or racks is None else value / racks


def _system_kw(r: Any, energy: dict[str, Any], chips: float) -> float:
    """A phase's all-in draw per system: its instances busy, the rest of the chips idle."""
    busy = min(chips, r.to_dict()["busy_chips_per_system"])
    idle = 0.0
    if busy < chips:
        d = r.to_dict()
        idle = (d["decode"] or d["prefill"])["energy"]["idle_watts_per_chip"]
    return (energy["watts_per_chip"] * busy + idle * (chips - busy)) / 1e3


def _layout(r: Any, moe: bool, chips: float) -> str:
    """An instance's parallel layout in a table cell, with the instances a system holds: 'TP8,
    9 x 8 chips' or 'DP32 EP32, 4 x 16 chips, 8 idle'."""
    tp, dp = int(r.plan.get("tp", 1)), int(r.plan.get("dp_attention", 1))
    ep = int(r.plan.get("ep", 0)) or tp * dp
    text = " ".join(x for x in (f"TP{tp}" if tp > 1 or dp == 1 else "", f"DP{dp}" if dp > 1 else "") if x)
    text += f" EP{ep}" if moe and ep > 1 else ""
    inst, per = r.instances_per_system, r.chips_per_instance
    if inst >= 1 and inst == int(inst):
        text += f", {int(inst)} x {per:g} chips"
        idle = chips - inst * per
        text += f", {idle:g} idle" if idle > 0 else ""
    return text


def _model_dict(model: str) -> dict[str, Any]:
    from .models import get

    return get(model).to_dict()


def _routed_experts(model: str) -> int:
    moe = _model_dict(model)["moe"]
    return int(moe["routed_experts"]) if moe else 0
