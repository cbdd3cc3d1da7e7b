"""LLM training estimates: step time with its breakdown, memory per chip, MFU/HFU, tokens/s, time to train.

>>> import perfmodel
>>> r = perfmodel.training("llama-3.1-8b", "dgx-h100", n_chips=8, dp=8, global_batch=64, seq_len=4096, sharding="zero2")
>>> 0.2 < r.mfu < 0.8
True
"""

from __future__ import annotations

import html
import numbers
from typing import Any

import numpy as np
import pandas as pd

from . import _args, _core
from ._result import DictResult, fmt as _fmt
from .catalog import Catalog, using
from .models import Model, get as get_model

__all__ = ["TrainingResult", "training"]

_PLAN_KEYS = {"global_batch", "micro_batch", "seq_len", "precision", "tp", "cp", "dp", "pp", "ep", "virtual_stages",
              "ranks_per_chip",
              "sequence_parallel", "layout", "recompute", "sharding", "overlap_dp", "overlap_tp", "overlap_pp",
              "flash_attention", "dropout", "loss_fusion", "grad_reduce_bytes", "bf16_layers", "fp8_params", "expert_imbalance", "moe_dispatcher", "cp_comm", "n_chips",
              "train_tokens",
              "check_memory"}


class TrainingResult(DictResult):
    """Result of :func:`training`. Times in seconds, FLOPs per step (whole cluster), FLOP/s per
    chip, memory in bytes per chip (with ``ranks_per_chip`` > 1, its ranks' together). :meth:`breakdown`
    lays the step parts out as a DataFrame."""

    @property
    def tflops_per_chip(self) -> float:
        """Achieved model TFLOP/s per chip (MFU numerator)."""
        return self._d["model_flops_per_chip"] / 1e12

    @property
    def memory(self) -> dict[str, float]:
        return dict(self._d["memory"])

    def breakdown(self) -> pd.DataFrame:
        """One row per step part: time and exposed time [s] (exposed: on the critical path),
        share of the step, FLOPs per rank (compute) and bytes sent per rank (communication)."""
        step = self._d["step_time_s"]
        rows = [{"part": name, "kind": kind, "time_s": t, "exposed_s": exposed, "share": exposed / step,
                 "flops": flops, "bytes": nbytes}
                for name, kind, t, exposed, flops, nbytes in self._d["parts"] if t > 0]
        return pd.DataFrame(rows, columns=["part", "kind", "time_s", "exposed_s", "share", "flops", "bytes"])

    def summary(self) -> dict[str, Any]:
        d = self._d
        out = {"model": d["model"], "system": d["system"], "chip": d["chip"], "chips": d["chips"],
               "step_time_s": d["step_time_s"], "tokens_per_s": d["tokens_per_s"],
               "tokens_per_s_per_chip": d["tokens_per_s_per_chip"], "tflops_per_chip": self.tflops_per_chip,
               "mfu": d["mfu"], "hfu": d["hfu"], "bubble_fraction": d["bubble_fraction"],
               "memory_per_chip_GB": d["memory"]["total"] / 1e9, "bottleneck": d["bottleneck"]}
        if d["ranks"] != d["chips"]:
            out["ranks"] = d["ranks"]
        if d["time_to_train_s"] is not None:
            out["days_to_train"] = d["time_to_train_s"] / 86400.0
            out["chip_hours"] = d["chip_hours"]
        if d["energy"] is not None:
            out["watts_per_chip"] = d["energy"]["watts_per_chip"]
            out["joules_per_token"] = d["joules_per_token"]
            out["tokens_per_joule"] = d["tokens_per_joule"]
            out["gflops_per_watt"] = d["flops_per_watt"] / 1e9
            if d["energy_to_train_j"] is not None:
                out["energy_to_train_MWh"] = d["energy_to_train_j"] / 3.6e9
            out["energy_basis"] = d["energy"]["basis"]
            out["chip_draw_capped"] = bool(d["energy"]["capped"])  # as in InferenceResult.summary()
        else:
            out["energy"] = "unknown: " + d["energy_missing"]
        return out

    def __repr__(self) -> str:
        s = self.summary()
        return (f"<TrainingResult {s['model']} on {s['chips']} x {s['chip']}: step {s['step_time_s']:.4g} s, "
                f"{s['tflops_per_chip']:.4g} TFLOP/s/chip (MFU {s['mfu']:.1%}), "
                f"{s['memory_per_chip_GB']:.4g} GB/chip, bottleneck {s['bottleneck']}>")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.summary().items())
        return (f"<table><caption>Training estimate</caption>{rows}</table>"
                + self.breakdown().to_html(index=False, float_format=lambda x: f"{x:.4g}"))



def training(model: str | Model, system: str, *, catalog: Catalog | None = None, **options: Any) -> TrainingResult:
    """Training estimate of ``model`` on chips of the catalog ``system`` (a node or rack; copies
    are joined by its scale-out network).

    Options (defaults in brackets): ``n_chips`` [tp·cp·dp·pp / ranks_per_chip; else must equal it], ``tp``,
    ``cp``, ``cp_comm`` [cp > 1: "ring", K/V passed around the CP ranks under the attention kernels
    (Megatron-Core); "allgather", K/V all-gathered before attention and dK/dV reduce-scattered after it,
    exposed (Llama 3)], ``dp`` [1; with ``n_chips``, what the chips leave: n_chips·ranks_per_chip / (tp·cp·pp)], ``pp``, ``ep`` [1], ``virtual_stages`` [1], ``ranks_per_chip`` [1; 2 runs a rank
    on each die of an Ascend 910C, as CANN exposes them: half the chip's compute, HBM and capacity
    each], ``sequence_parallel`` [True],
    ``layout`` ("even", "lighter_ends", or a list of layers per stage such as ``[17, 20, 22, 21]``,
    Megatron's ``--num-layer-list``; needs ``virtual_stages`` 1), ``global_batch`` [512 sequences], ``micro_batch`` [1],
    ``seq_len`` [2048], ``precision`` ("bf16", "fp16", "fp8"), ``recompute`` ("none",
    ["selective"], "full"), ``sharding`` ("none"/"zero0", ["zero1"]/"optimizer", "zero2"/"gradients", "zero3"/"fsdp"/"parameters";
    ZeRO-1 accumulates a full gradient buffer and reduce-scatters it once per step, ZeRO-2/3 keep only
    their shard and reduce-scatter every micro-batch's gradients, added into the shard),
    ``overlap_dp`` [True], ``overlap_tp`` [False], ``overlap_pp`` [True], ``flash_attention``
    [True], ``dropout`` [False], ``loss_fusion`` [True; False: Megatron's unfused fp32 cross-entropy],
    ``grad_reduce_bytes`` [4], ``bf16_layers`` [0: fp8 plans, Transformer layers
    at each end kept in bf16], ``fp8_params`` [False: fp8 plans, weights held and gathered in 8 bits],
    ``expert_imbalance`` [1: the busiest expert rank's load over what random routing gives it], ``moe_dispatcher``
    ["deepep": one copy per token and rank, one per node across nodes; "alltoall": one per token and expert],
    ``train_tokens`` (for time and chip-hours to train), ``check_memory`` [True]."""
    _args.refuse_unknown(options, _PLAN_KEYS, "training")
    m = get_model(model)
    cat = using(catalog)
    system = _args.text("system", system)
    plan = {k: v for k, v in options.items() if v is not None}
    # An option that would change nothing, for one plan (a search may fix cp_comm over several cp).
    if "cp_comm" in plan and plan.get("cp", 1) == 1:
        raise _core.InvalidArgument("cp_comm: sets how context-parallel ranks share K/V; cp is 1, so leave it out")
    if isinstance(plan.get("train_tokens"), str):  # "15.6T", as the CLI takes it
        plan["train_tokens"] = _args.count("train_tokens", plan["train_tokens"])
    if isinstance(plan.get("layout"), (tuple, list, np.ndarray)):  # numpy integers count as integers here
        plan["layout"] = [int(x) if isinstance(x, numbers.Integral) and not isinstance(x, bool) else x
                          for x in plan["layout"]]
    rpc = _args.integer("ranks_per_chip", plan.get("ranks_per_chip", 1), 1, _args.INT32_MAX)
    if "n_chips" in plan and "dp" not in plan:
        # dp is what the chip count leaves: n_chips x ranks_per_chip over tp x cp x pp.
        ranks = _args.integer("n_chips", plan["n_chips"], 1, _args.INT32_MAX) * rpc
        inner = 1
        for k in ("tp", "cp", "pp"):
            inner *= _args.integer(k, plan.get(k, 1), 1, _args.INT32_MAX)
        if ranks % inner:
            raise _core.InvalidArgument(f"dp: not given, and n_chips={plan['n_chips']} ({ranks} ranks) is not a multiple of "
                                        f"tp x cp x pp = {inner}; give dp or a chip count that divides")
        plan["dp"] = ranks // inner
    prepared = cat._prepared(("training", system, rpc), lambda: _core.TrainingSystem(cat._core, system, rpc))
    r = TrainingResult(_core.estimate_training_prepared(m._core, prepared, plan), plan)
    r.__dict__["_catalog"] = cat  # for rumour_inputs, read on demand (not on the hot path)
    return r
