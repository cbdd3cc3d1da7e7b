"""LLM serving estimates: TTFT, TPOT, tokens/s per chip, instance and system, memory per chip.

>>> import perfmodel
>>> r = perfmodel.inference("llama-3.1-8b", "dgx-h100", batch=64, input_len=1024, output_len=256)
>>> r.bottleneck in {"dense_ffn", "attention", "attention_proj"}
True
"""

from __future__ import annotations

import html
import itertools
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from . import _args, _core
from ._result import DictResult, fmt as _fmt
from .catalog import Catalog, using
from .models import Model, get as get_model

__all__ = ["InferenceResult", "inference", "best_inference"]

_PLAN_KEYS = {"mode", "batch", "input_len", "output_len", "kv_len", "tp", "dp_attention", "pp", "ep", "dense_tp",
              "ranks_per_chip", "redundant_experts", "sequence_parallel", "prefill_parallel", "prefill_batch",
              "overlap", "prefill_overlap", "mtp_tokens", "mtp_acceptance", "expert_imbalance", "check_memory",
              "systems"}


class InferenceResult(DictResult):
    """Result of :func:`inference`. Times in seconds, rates in tokens/s, memory in bytes per chip.

    ``prefill`` / ``decode`` hold the phase details (step time, memory, ``parts``);
    :meth:`breakdown` lays the parts out as a DataFrame.

    In serve mode TTFT is one prefill forward (a chunk of about 8,192 prompt tokens per attention
    group, or ``prefill_batch``): the wait of a request admitted into a running batch, without
    queueing behind other prompts. With pipeline stages it includes the pipeline's fill and drain:
    the forward's steady-state time x (2 pp - 1) / pp (pp stage slots of micro-batches, an
    overlapped pair being one slot, and pp - 1 more to drain). Energy (``energy``): ``joules_per_input_token`` is
    prefill energy per prompt token, ``joules_per_output_token`` decode energy per output token,
    and ``output_tokens_per_joule`` output tokens per joule of all serving energy, prefill
    included, so in serve mode it is not the reciprocal of ``joules_per_output_token``."""

    @property
    def ttft_s(self) -> float | None:
        """Time to first token: one prefill forward through the pipeline (serve mode: one chunk);
        None in decode mode, which has no prefill."""
        return None if self.plan.get("mode") == "decode" else self._get("ttft_s")

    @property
    def tpot_s(self) -> float | None:
        """Time per output token; None in prefill mode, which has no decode."""
        return None if self.plan.get("mode") == "prefill" else self._get("tpot_s")

    @property
    def ttft_ms(self) -> float | None:
        t = self.ttft_s
        return None if t is None else t * 1e3

    @property
    def tpot_ms(self) -> float | None:
        t = self.tpot_s
        return None if t is None else t * 1e3

    @property
    def memory(self) -> dict[str, float]:
        """Memory per chip of the decode instance (of the prefill instance in prefill mode)."""
        phase = self._d["decode"] or self._d["prefill"]
        return dict(phase["memory"])

    @property
    def max_batch(self) -> int:
        """The largest batch that fits, extrapolated linearly from this estimate's memory (in serve
        mode with the prefill chunk's activations beside it): exact for dense models, a lower bound
        for MoE models (their activations grow less than linearly with the batch), so asking again
        at this batch can give a larger one."""
        phase = self._d["decode"] or self._d["prefill"]
        return int(phase["max_batch"])

    def breakdown(self) -> pd.DataFrame:
        """Step time by part: one row per (phase, part) with time, exposed time [s], share of the
        step, FLOPs and bytes (HBM bytes for compute parts, bytes sent per rank for communication)."""
        rows = []
        for phase in ("prefill", "decode"):
            p = self._d[phase]
            if p is None:
                continue
            for name, kind, t, exposed, flops, nbytes in p["parts"]:
                if t <= 0:
                    continue
                rows.append({"phase": phase, "part": name, "kind": kind, "time_s": t, "exposed_s": exposed,
                             "share": exposed / p["time_s"] if p["time_s"] > 0 else 0.0, "flops": flops,
                             "bytes": nbytes})
        return pd.DataFrame(rows, columns=["phase", "part", "kind", "time_s", "exposed_s", "share", "flops", "bytes"])

    def summary(self) -> dict[str, Any]:
        """The headline numbers as a flat dict."""
        d = self._d
        out = {"model": d["model"], "system": d["system"], "chip": d["chip"], "mode": self.plan.get("mode", "serve")}
        if d["prefill"] is not None:
            out["ttft_ms"] = self.ttft_ms
            out["input_tokens_per_s_per_chip"] = d["input_tokens_per_s_per_chip"]
        if d["decode"] is not None:
            out["tpot_ms"] = self.tpot_ms
            out["output_tokens_per_s_per_chip"] = d["output_tokens_per_s_per_chip"]
            out["output_tokens_per_s_per_instance"] = d["output_tokens_per_s_per_instance"]
            out["output_tokens_per_s_per_system"] = d["output_tokens_per_s_per_system"]
        elif d["prefill"] is not None:
            out["input_tokens_per_s_per_system"] = d["input_tokens_per_s_per_system"]
        out["chips_per_instance"] = d["chips_per_instance"]
        out["instances_per_system"] = d["instances_per_system"]
        out["memory_per_chip_GB"] = self.memory["total"] / 1e9
        out["max_batch"] = self.max_batch
        out["mfu"] = d["mfu"]
        out["bottleneck"] = d["bottleneck"]
        e = d["energy"]
        if e is not None:
            out["watts_per_chip"] = e["watts_per_chip"]
            if e["joules_per_input_token"] is not None:
                out["joules_per_input_token"] = e["joules_per_input_token"]
            if e["joules_per_output_token"] is not None:
                out["joules_per_output_token"] = e["joules_per_output_token"]
                out["output_tokens_per_joule"] = e["output_tokens_per_joule"]
            out["energy_basis"] = e["basis"]
            # The work-based draw passed the chip's maximum: watts are held at it, the step time is
            # not slowed (the efficiencies already carry measured clocks), so joules are a floor.
            out["chip_draw_capped"] = bool(e["capped"])
        else:
            out["energy"] = "unknown: " + d["energy_missing"]
        return out

    def __repr__(self) -> str:
        s = self.summary()
        parts = [f"{s['model']} on {s['system']} ({s['mode']})"]
        if "ttft_ms" in s:
            parts.append(f"TTFT {s['ttft_ms']:.4g} ms, {s['input_tokens_per_s_per_chip']:.4g} input tok/s/chip")
        if "tpot_ms" in s:
            parts.append(f"TPOT {s['tpot_ms']:.4g} ms, {s['output_tokens_per_s_per_chip']:.4g} output tok/s/chip")
        parts.append(f"{s['memory_per_chip_GB']:.4g} GB/chip, bottleneck {s['bottleneck']}")
        return "<InferenceResult " + "; ".join(parts) + ">"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.summary().items())
        return (f"<table><caption>Serving estimate</caption>{rows}</table>"
                + self.breakdown().to_html(index=False, float_format=lambda x: f"{x:.4g}"))



_PRECISION_KEYS = {"weights", "kv_cache", "attention"}  # a result's plan spells precision this way


def _plan(precision: str | Mapping[str, str] | None, kw: Mapping[str, Any]) -> dict[str, Any]:
    given = sorted(_PRECISION_KEYS & set(kw))
    if given and precision is not None:
        raise _core.InvalidArgument(f"{given[0]}: give precision or weights/kv_cache/attention (as a result's plan "
                                    f"has them), not both")
    _args.refuse_unknown(kw, _PLAN_KEYS | _PRECISION_KEYS, "serving", ["precision", *sorted(_PLAN_KEYS)])
    plan = {k: v for k, v in kw.items() if v is not None}
    if isinstance(precision, str):
        plan["weights"] = _args.text("precision", precision)
    elif precision is not None:
        if not isinstance(precision, Mapping):
            raise _core.InvalidArgument(f"precision: expected a string such as 'fp8' or a dict with weights, kv_cache "
                                        f"and attention, got {type(precision).__name__} {precision!r}")
        bad = sorted(set(precision) - {"weights", "kv_cache", "attention"})
        if bad:
            raise _core.InvalidArgument(f"precision.{bad[0]}: unknown key; expected weights, kv_cache, attention")
        plan.update(precision)
    return plan


def inference(model: str | Model, system: str, *, precision: str | Mapping[str, str] | None = None,
              catalog: Catalog | None = None, **options: Any) -> InferenceResult:
    """Serving estimate of ``model`` on the catalog ``system``.

    ``precision`` is the weight/GEMM precision (``"bf16"``, ``"fp8"``, ``"int8"`` for W8A8,
    ``"fp4"``) or a dict with ``weights``, ``kv_cache`` and ``attention`` (which may also be given
    as keywords, as a result's ``plan`` holds them: ``inference(m, s, **r.plan)`` repeats an
    estimate). Options (docs/explanation/serving.md; the CLI's ``infer`` searches the batch when
    none is given, this function takes 1):
    ``mode`` ("serve", "prefill", "decode"), ``batch`` (sequences per instance), ``input_len``
    [1024], ``output_len`` [128], ``kv_len``, ``tp``, ``dp_attention``, ``pp``, ``ep``, ``dense_tp``,
    ``sequence_parallel`` (pure TP: reduce-scatter + all-gather, token-wise work on 1/tp of the
    tokens), ``ranks_per_chip``, ``redundant_experts``, ``prefill_parallel`` (dict: disaggregated
    prefill instance), ``prefill_batch``, ``overlap``, ``prefill_overlap`` (the disaggregated
    prefill instance's own micro-batch overlap), ``mtp_tokens``, ``mtp_acceptance``,
    ``expert_imbalance`` (the busiest expert rank's load over what random routing gives it, >= 1;
    the model adds random routing's own excess), ``check_memory``, ``systems`` (copies of the
    system). ``overlap`` splits a batch in two only where a layer communicates (TP, DP attention
    with MoE) and, in decode, each half holds a sequence per stage. Options that
    would change nothing are refused: ``mtp_acceptance`` without ``mtp_tokens``, and
    ``input_len``/``output_len`` beside a decode step's ``kv_len``.

    Results (and :class:`TrainingResult`) carry ``rumour_inputs``: the catalog figures of
    ``rumour`` confidence the estimate rests on (:func:`perfmodel.catalog.rumour_inputs`)."""
    m = get_model(model)
    cat = using(catalog)
    system = _args.text("system", system)
    # Options that would change nothing (as the CLI refuses them): an acceptance rate with no
    # drafts asked, prompt lengths for a decode step whose cache length is given.
    if options.get("mtp_acceptance") is not None and options.get("mtp_tokens") is None:
        raise _core.InvalidArgument("mtp_acceptance: the acceptance rate of MTP drafts; give mtp_tokens >= 1 with it")
    if options.get("kv_len") is not None and options.get("mode") == "decode":
        for k in ("input_len", "output_len"):
            if options.get(k) is not None:
                raise _core.InvalidArgument(f"{k}: a decode step given kv_len takes its cache length from it; drop {k}")
    plan = _plan(precision, options)
    rpc = plan["ranks_per_chip"] = _args.integer("ranks_per_chip", plan.get("ranks_per_chip", 1), 1, _args.INT32_MAX)
    prepared = cat._prepared(("serving", system, rpc), lambda: _core.ServingSystem(cat._core, system, rpc))
    r = InferenceResult(_core.estimate_inference_prepared(m._core, prepared, plan), plan)
    r.__dict__["_catalog"] = cat  # for rumour_inputs, read on demand (not on the hot path)
    return r


def _as_list(name: str, v: Any) -> list[Any]:
    """A best_inference dimension as a list: None (the option's default), a value or a list of values."""
    if v is None:
        return [None]
    if isinstance(v, (str, bytes, Mapping)) or not hasattr(v, "__iter__"):
        values = [v]
    else:  # lists, tuples, ranges, sets, generators, numpy arrays
        values = list(v)
        if not values:
            raise _core.InvalidArgument(f"{name}: an empty list leaves nothing to try; give a value or a list of values")
    for x in values:
        if name == "overlap":
            if not isinstance(x, (bool, np.bool_)):
                raise _core.InvalidArgument(f"overlap: expected True, False or a list of them, got {x!r}")
        else:
            _args.integer(name, x, 0 if name == "ep" else 1)  # ep 0: every rank of a stage
    return values


def best_inference(model: str | Model, system: str, *, tpot_ms: float | None = None, ttft_ms: float | None = None,
                   tp: int | Iterable[int] | None = None, dp_attention: int | Iterable[int] | None = None,
                   ep: int | Iterable[int] | None = None, overlap: bool | Iterable[bool] | None = None,
                   max_batch: int = 1 << 20, catalog: Catalog | None = None, **options: Any) -> InferenceResult:
    """The highest output tokens/s per chip under a TPOT (and/or TTFT) limit.

    Searches the batch for every combination of the ``tp``, ``dp_attention``, ``ep`` and
    ``overlap`` values given (a value or a list; ``overlap=[True, False]`` keeps whichever is
    faster). Throughput and TPOT step where a batch starts a new GEMM tile (Llama 3.1 70B INT8
    decode on an H20 node at TP4 x DP2 serves 19 % less at 142 sequences than at 128), so up to 1,024
    sequences per attention group every batch that fits is tried and the fastest kept (then a
    looser limit never serves less); beyond that, the best batch seen while bisecting for the
    largest within the limits, or a smaller one whose tokens per group fill whole tiles (8 to 512
    rows), and batches between those are not all tried.
    Layouts the model or system rejects are skipped; raises ``perfmodel.InvalidArgument`` with
    the reasons when nothing fits or meets the limits."""
    for name, limit in (("tpot_ms", tpot_ms), ("ttft_ms", ttft_ms)):
        if limit is not None and not _args.number(name, limit) > 0:
            raise _core.InvalidArgument(f"{name}: must be positive, got {limit}")
    max_batch = _args.integer("max_batch", max_batch)
    mode = options.get("mode", "serve")
    for name, limit, phase, absent in (("ttft_ms", ttft_ms, "decode", "prefill"), ("tpot_ms", tpot_ms, "prefill", "decode")):
        if limit is not None and mode == phase:  # the result reports 0 for a phase the plan lacks
            raise _core.InvalidArgument(f"{name}: a {phase}-only plan (mode={phase!r}) has no {absent} phase to limit; "
                                        f"use mode='serve', or drop {name}")
    if "batch" in options:
        raise _core.InvalidArgument("batch: best_inference searches the batch; pass max_batch to bound it")
    best: InferenceResult | None = None
    rejected: list[_core.InvalidArgument] = []  # layouts the plan check refused before any batch was tried
    layouts = 0
    reasons: dict[str, int] = {}
    example: dict[str, str] = {}  # the first message of each kind, quoted when nothing fits

    def failed(key: str, message: str) -> None:
        reasons[key] = reasons.get(key, 0) + 1
        example.setdefault(key, message)

    def ok(r: InferenceResult) -> bool:  # TPOT / TTFT are None when the plan has no decode / prefill phase
        if tpot_ms is not None and r.tpot_ms is not None and r.tpot_ms > tpot_ms:
            return False
        return not (ttft_ms is not None and r.ttft_ms is not None and r.ttft_ms > ttft_ms)

    def fits(batch: int, layout: dict[str, int]) -> InferenceResult | None:
        """The estimate at ``batch`` if it fits and meets the limits, else None."""
        try:
            r = inference(model, system, catalog=catalog, batch=batch, **layout, **options)
        except _core.InvalidArgument:
            return None
        return r if ok(r) else None

    for t, dp, e, o in itertools.product(_as_list("tp", tp), _as_list("dp_attention", dp_attention), _as_list("ep", ep),
                                         _as_list("overlap", overlap)):
        layout = {k: v for k, v in (("tp", t), ("dp_attention", dp), ("ep", e), ("overlap", o)) if v is not None}
        layouts += 1
        step = _args.integer("dp_attention", layout.get("dp_attention", 1))
        try:
            probe = inference(model, system, catalog=catalog, batch=step, check_memory=False, **layout, **options)
        except _core.InvalidArgument as exc:
            failed(str(exc).split(":")[0], str(exc))
            rejected.append(exc)
            continue
        hi = min(probe.max_batch, max_batch) // step
        # max_batch extrapolates memory linearly from the batch asked; MoE activations grow less
        # than linearly (fewer new experts hit), so re-ask at the bound until it stops growing.
        for _ in range(4):
            if hi < 1 or hi * step >= max_batch:
                break
            try:
                again = min(inference(model, system, catalog=catalog, batch=hi * step, check_memory=False,
                                      **layout, **options).max_batch, max_batch) // step
            except _core.InvalidArgument:
                break
            if again <= hi:
                break
            hi = again
        if hi < 1:
            try:
                inference(model, system, catalog=catalog, batch=step, **layout, **options)
                failed("memory", "memory: nothing fits")
            except _core.InvalidArgument as exc:
                failed("memory", str(exc))
            continue
        lo_r = inference(model, system, catalog=catalog, batch=step, **layout, **options)
        if not ok(lo_r):
            seen = ", ".join(f"{k} {v:.3g} ms" for k, v in (("TPOT", lo_r.tpot_ms), ("TTFT", lo_r.ttft_ms)) if v is not None)
            failed("latency limit", f"latency limit: at batch {step} {seen} (limits: tpot_ms={tpot_ms}, ttft_ms={ttft_ms})")
            continue
        lo, found = 1, lo_r
        if hi <= _SCAN:
            # Few enough batches to try them all (an estimate costs ~20 us): throughput and even TPOT step
            # at GEMM tiles (an NVL72 expert GEMM grows 16 % from 73 to 74 sequences per rank), so the
            # fastest batch under a limit need not be the largest, and a looser limit then never loses.
            for b in range(2, hi + 1):
                r = fits(b * step, layout)
                if r is not None:
                    lo = b
                    if _rate(r) > _rate(found):
                        found = r
            hi = lo
        while lo < hi:  # largest multiple of `step` meeting the limits
            mid = (lo + hi + 1) // 2
            r = fits(mid * step, layout)
            if r is not None:
                lo = mid
                if _rate(r) > _rate(found):  # the best seen, not only the last
                    found = r
            else:
                hi = mid - 1
        # Throughput is not monotone in the batch: one sequence past a GEMM tile pads a whole tile
        # (an H20 decode step grows 30 % from 128 to 130 sequences). Batches whose tokens per group
        # fill whole tiles of 8 to 512 rows are tried below the largest one.
        q = 1 + int(options.get("mtp_tokens", 0) or 0) if options.get("mode", "serve") != "prefill" else 0
        for rows in (8, 16, 32, 64, 128, 256, 512) if q else ():
            seqs = (lo * q // rows) * rows // q
            if 1 <= seqs < lo:
                r = fits(seqs * step, layout)
                if r is not None and _rate(r) > _rate(found):
                    found = r
        if best is None or _rate(found) > _rate(best):
            best = found
    # Every layout refused for the same reason (one layout, or an argument no layout changes, such as
    # a kv_len beyond the model's context): the plan check's own message, not "no plan fits".
    if best is None and len(rejected) == layouts and len({str(e) for e in rejected}) == 1:
        raise rejected[0]
    if best is None:
        detail = "; ".join(f"{n} layout(s) failed on {k}, e.g. {example[k]}" for k, n in sorted(reasons.items()))
        raise _core.InvalidArgument(f"best_inference: no plan of {model} on {system} fits the limits: "
                                    f"{detail or 'no layout given'}")
    return best


# Batches per attention group up to which best_inference tries every one (about 20 us each).
_SCAN = 1024


def _rate(r: InferenceResult) -> float:
    """Output tokens/s per chip; input tokens/s in prefill mode (no output there)."""
    return r.output_tokens_per_s_per_chip or r.input_tokens_per_s_per_chip
