"""Predictions next to published measurements (``calibration.csv``), with signed errors.

Each case says how a published row was measured (operator, shape, precision, metric) and
predicts the same metric with the built-in catalog and efficiency policies. No case carries a
tuning knob: the efficiency fractions are per chip family (``data/catalog/efficiency``).

>>> from perfmodel import validation
>>> df = validation.operator_accuracy("../shared/data/calibration.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from . import _core
from .operators import OpResult, attention, elementwise, gemm

__all__ = ["COLLECTIVE_CASES", "Case", "INFERENCEMAX_TPOT", "OPERATOR_CASES", "OUT_OF_SAMPLE_COLLECTIVE_CASES", "OUT_OF_SAMPLE_OPERATOR_CASES",
           "OUT_OF_SAMPLE_SERVING_CASES", "OUT_OF_SAMPLE_TRAINING_CASES",
           "collective_accuracy", "inferencemax_tpot", "operator_accuracy", "read_calibration", "report", "serving_accuracy",
           "training_accuracy"]

TERA = 1e12


@dataclass(frozen=True)
class Case:
    row: str                          # calibration id (or a label for out-of-sample notes)
    setup: str                        # how the published number was measured, as modelled
    predict: Callable[[], float]      # the predicted metric, in the row's unit
    measured: float | None = None     # only for out-of-sample cases (in-sample come from the CSV)


def _tflops(r: OpResult) -> float:
    return r.achieved_flops / TERA


def _pct_peak(r: OpResult) -> float:
    return 100.0 * r.fraction_of_peak


def _gemm_tflops(chip: str, m: int, n: int, k: int, dtype: str, **kw: object) -> Callable[[], float]:
    return lambda: _tflops(gemm(chip, m, n, k, dtype=dtype, **kw))  # type: ignore[arg-type]


def _stream(chip: str, kind: str, scale: float, dtype: str = "fp64", counted: float = 1.0) -> Callable[[], float]:
    # STREAM-style kernels on 2^30 elements; `counted` is the share of the moved bytes the
    # benchmark counts (1 for STREAM, 1/2 for "tensor bytes / time" of an out-of-place op).
    return lambda: elementwise(chip, kind, 2**30, dtype).achieved_bandwidth * counted / scale  # type: ignore[union-attr]


# DeepSeek-V3 INT8 GEMM shapes at M = 4096 tokens: MoE gate/up and down, MLA q/kv down, q up,
# attention output, shared expert (hidden 7168, moe_inter 2048, q_lora 1536, heads 128).
_DEEPSEEK_SHAPES = [(4096, 4096, 7168), (4096, 7168, 2048), (4096, 2112, 7168), (4096, 24576, 1536),
                    (4096, 7168, 16384), (4096, 7168, 4096)]


def _deepseek_int8_min_util() -> float:
    return min(_pct_peak(gemm("huawei-ascend-910c", m, n, k, dtype="int8")) for m, n, k in _DEEPSEEK_SHAPES)  # type: ignore[arg-type]


OPERATOR_CASES: list[Case] = [
    Case("AZ-H100-01", "cuBLASLt FP8 GEMM 32768^3 on H100 SXM", _gemm_tflops("nvidia-h100-sxm", 32768, 32768, 32768, "fp8")),
    Case("AZ-H200-01", "cuBLASLt FP8 GEMM 16384^3 on H200", _gemm_tflops("nvidia-h200-sxm", 16384, 16384, 16384, "fp8")),
    Case("AZ-A100-01", "cuBLASLt FP16 GEMM 16384^3 on A100", _gemm_tflops("nvidia-a100-sxm-80gb", 16384, 16384, 16384, "fp16")),
    Case("FP-A100-01", "FlagPerf computation-BF16 peak loop, 8192^3 on zeroed memory (A100 40GB: same compute as the 80GB part)",
         _gemm_tflops("nvidia-a100-sxm-80gb", 8192, 8192, 8192, "bf16", microbenchmark=True)),
    Case("AZ-GB200-01", "cuBLASLt FP8 GEMM 16384^3 on GB200", _gemm_tflops("nvidia-gb200", 16384, 16384, 16384, "fp8")),
    Case("DEEPGEMM-01", "DeepGEMM FP8 4096x7168x16384 on H800", _gemm_tflops("nvidia-h800-sxm", 4096, 7168, 16384, "fp8")),
    Case("DEEPGEMM-02", "DeepGEMM FP8 64x2112x7168 on H800 (memory bound)", _gemm_tflops("nvidia-h800-sxm", 64, 2112, 7168, "fp8")),
    Case("A2-GEMM-01", "ascend-dmi FP16 peak loop on 910B", _gemm_tflops("huawei-ascend-910b", 16384, 16384, 16384, "fp16", microbenchmark=True)),
    Case("A2-GEMM-02", "ascend-dmi BF16 peak loop on 910B", _gemm_tflops("huawei-ascend-910b", 16384, 16384, 16384, "bf16", microbenchmark=True)),
    Case("A2-GEMM-03", "ascend-dmi INT8 peak loop on 910B", _gemm_tflops("huawei-ascend-910b", 16384, 16384, 16384, "int8", microbenchmark=True)),
    Case("A2-GEMM-04", "ascend-dmi FP32 (cube) peak loop on 910B", _gemm_tflops("huawei-ascend-910b", 16384, 16384, 16384, "fp32", microbenchmark=True)),
    Case("FP-BI150-01", "FlagPerf BF16 GEMM on Iluvatar BI150", _gemm_tflops("iluvatar-bi150", 8192, 8192, 8192, "bf16")),
    Case("CM384-OP-01", "MLA decode, absorbed, 128 heads, batch 96, 2 query tokens (MTP), KV 4096 on 910C: % of BF16 peak",
         lambda: _pct_peak(attention("huawei-ascend-910c", "decode", "mla", batch=96, q_len=2, kv_len=4096, heads=128))),  # type: ignore[arg-type]
    Case("CM384-OP-02", "MLA decode, absorbed, 32 heads, batch 96, KV 4096 on 910C: % of HBM bandwidth",
         lambda: 100.0 * attention("huawei-ascend-910c", "decode", "mla", batch=96, q_len=1, kv_len=4096, heads=32).achieved_bandwidth / 3.2e12),  # type: ignore[union-attr]
    Case("CM384-OP-03", "INT8 GEMM on 910C, DeepSeek-V3 shapes at M=4096: lowest % of INT8 peak", _deepseek_int8_min_util),
    Case("AZ-H100-02", "STREAM triad (fp64) on H100", _stream("nvidia-h100-sxm", "triad", TERA)),
    Case("AZ-H200-02", "STREAM triad (fp64) on H200", _stream("nvidia-h200-sxm", "triad", TERA)),
    Case("AZ-A100-02", "STREAM triad (fp64) on A100", _stream("nvidia-a100-sxm-80gb", "triad", TERA)),
    Case("AZ-GB200-03", "HBM bandwidth microbenchmark (copy) on GB200", _stream("nvidia-gb200", "copy", TERA)),
    Case("FP-C550-01", "FlagPerf main-memory bandwidth (copy) on MetaX C550", _stream("metax-c550", "copy", 1e9)),
    Case("910B-LIM-03", "torch.exp fp32 on 910B; the benchmark counts one tensor's bytes per call",
         _stream("huawei-ascend-910b", "exp", 1e9, dtype="fp32", counted=0.5)),
]

# The rest of the early-2025 DeepGEMM README table (H800, FP8 in, BF16 out; TFLOP/s) that
# DEEPGEMM-01/02 come from, as transcribed in secondary copies of that README: the shapes of
# DeepSeek-V3's dense layers at M = 64, 128 and 4096.
_DEEPGEMM_TABLE = [(64, 24576, 1536, 289), (64, 32768, 512, 219), (64, 4096, 7168, 287), (64, 7168, 2048, 295),
                   (128, 2112, 7168, 352), (128, 24576, 1536, 535), (128, 32768, 512, 358), (128, 7168, 16384, 645),
                   (128, 4096, 7168, 533), (128, 7168, 2048, 510), (4096, 2112, 7168, 1058), (4096, 24576, 1536, 990),
                   (4096, 32768, 512, 590), (4096, 4096, 7168, 1304), (4096, 7168, 2048, 1025)]

# FlashAttention-3 forward on Hopper, BF16, head dim 128, 16 heads, batch x sequence = 16K
# tokens (pytorch/benchmark commit ff65cb67, PR #2391 test plan; the FA3 paper's sizing). The
# commit names neither GPU nor masking: an H100 SXM and no causal mask (the harness default) assumed.
_FA3_FORWARD = [(32, 512, 430.32), (16, 1024, 517.099), (8, 2048, 565.544), (4, 4096, 590.233), (2, 8192, 614.234),
                (1, 16384, 620.73)]


def _fa3_tflops(batch: int, seq: int) -> Callable[[], float]:
    return lambda: _tflops(attention("nvidia-h100-sxm", "prefill", "gqa", batch=batch, q_len=seq, kv_len=seq,  # type: ignore[arg-type]
                                     heads=16, kv_heads=16, head_dim=128, causal=False))


# SGLang's CUTLASS MLA decode benchmark (sgl-project/sglang PR #6929, bench_cutlass_mla.py; BF16,
# 128 heads, batch 256; GPU not named, B200 assumed), GB/s as the bench counts them: latent KV plus
# queries plus outputs. Blackwell's decode attention fraction comes from the KV 8192 row; the
# shorter ones check it.
_CUTLASS_MLA = [(2048, 4047.3), (4096, 4015.4)]


def _cutlass_mla_gbs(kv: int) -> Callable[[], float]:
    def gbs() -> float:
        r = attention("nvidia-b200", "decode", "mla", batch=256, q_len=1, kv_len=kv, heads=128)
        return 256 * (kv * 576 + 128 * 576 + 128 * 512) * 2 / r.time_s / 1e9  # type: ignore[union-attr]
    return gbs


# Figures quoted in the notes of calibration rows (and the tables above): printed beside the
# table, not fitted.
OUT_OF_SAMPLE_OPERATOR_CASES: list[Case] = [
    Case("AZ-H100-01 note", "cuBLASLt FP8 8192^3 on H100", _gemm_tflops("nvidia-h100-sxm", 8192, 8192, 8192, "fp8"), 1290.1),
    Case("AZ-H100-01 note", "cuBLASLt FP8 4096^3 on H100", _gemm_tflops("nvidia-h100-sxm", 4096, 4096, 4096, "fp8"), 1216.9),
    Case("AZ-H100-01 note", "cuBLASLt FP8 1024^3 on H100", _gemm_tflops("nvidia-h100-sxm", 1024, 1024, 1024, "fp8"), 274.1),
    Case("AZ-GB200-01 note", "cuBLASLt FP8 8192^3 on GB200", _gemm_tflops("nvidia-gb200", 8192, 8192, 8192, "fp8"), 2876.6),
    Case("AZ-GB200-01 note", "cuBLASLt FP8 4096^3 on GB200", _gemm_tflops("nvidia-gb200", 4096, 4096, 4096, "fp8"), 2834.6),
    Case("DEEPGEMM-02 note", "DeepGEMM FP8 64x7168x16384 on H800", _gemm_tflops("nvidia-h800-sxm", 64, 7168, 16384, "fp8"), 336.0),
    *[Case("DeepGEMM table", f"DeepGEMM FP8 {m}x{n}x{k} on H800", _gemm_tflops("nvidia-h800-sxm", m, n, k, "fp8"), float(tf))
      for m, n, k, tf in _DEEPGEMM_TABLE],
    *[Case("FA3 forward", f"FlashAttention-3 forward, BF16, batch {b} x {seq}, 16 heads of 128 on H100", _fa3_tflops(b, seq), tf)
      for b, seq, tf in _FA3_FORWARD],
    *[Case("CUTLASS MLA decode", f"SGLang CUTLASS MLA decode, BF16, 128 heads, batch 256, KV {kv} on B200 (GB/s)",
           _cutlass_mla_gbs(kv), gbs) for kv, gbs in _CUTLASS_MLA],
    Case("AZ-H100-02 note", "STREAM copy on H100 (TB/s)", _stream("nvidia-h100-sxm", "copy", TERA), 2.90),
    Case("AZ-H200-02 note", "STREAM copy on H200 (TB/s)", _stream("nvidia-h200-sxm", "copy", TERA), 4.01),
    Case("CM384-OP-02 note", "FlashMLA memory-bound decode on H800 (% of HBM)",
         lambda: 100.0 * attention("nvidia-h800-sxm", "decode", "mla", batch=128, q_len=1, kv_len=4096, heads=32).achieved_bandwidth / 3.35e12, 89.6),  # type: ignore[union-attr]
    Case("910B-LIM-03 note", "torch.exp fp32 on A800 (GB/s, one tensor counted)",
         _stream("nvidia-a100-sxm-80gb", "exp", 1e9, dtype="fp32", counted=0.5), 884.0),
]


def read_calibration(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Rows of calibration.csv by id (each with its line number under ``"_line"``); any problem is
    a :class:`perfmodel.ConfigError` naming the file, the line and the column."""
    where = os.fspath(path)
    rows: dict[str, dict[str, str]] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: a spreadsheet's byte-order mark
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            missing = [c for c in ("id", "value", "unit") if c not in header]
            if missing:
                raise _core.ConfigError(f"{where}: line 1: the header has no {', '.join(repr(m) for m in missing)} "
                                        f"column (it has {', '.join(header) or 'nothing'})")
            for r in reader:
                line = reader.line_num
                if None in r or any(v is None for v in r.values()):
                    got = len(header) + len(r.get(None) or []) - sum(v is None for k, v in r.items() if k is not None)
                    raise _core.ConfigError(f"{where}: line {line}: expected {len(header)} fields as in the header, got {got}")
                cid = r["id"].strip()
                if not cid:
                    raise _core.ConfigError(f"{where}: line {line}, column id: empty")
                if cid in rows:
                    raise _core.ConfigError(f"{where}: line {line}, column id: '{cid}' repeats line {rows[cid]['_line']}")
                rows[cid] = {**r, "_line": str(line)}
    except OSError as exc:
        raise _core.ConfigError(f"{where}: cannot read calibration file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise _core.ConfigError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except csv.Error as exc:
        raise _core.ConfigError(f"{where}: not valid CSV ({exc})") from exc
    return rows


# The unit each in-sample prediction is expressed in, as calibration.csv states it. A row in other
# units of the same kind (GB/s for TB/s) is converted; any other unit is an error, never compared.
_ROW_UNITS: dict[str, str] = {
    **dict.fromkeys(["AZ-H100-01", "AZ-H200-01", "AZ-A100-01", "FP-A100-01", "AZ-GB200-01", "DEEPGEMM-01",
                     "DEEPGEMM-02", "A2-GEMM-01", "A2-GEMM-02", "A2-GEMM-04", "FP-BI150-01"], "TFLOPS"),
    "A2-GEMM-03": "TOPS", "CM384-OP-01": "% of peak", "CM384-OP-02": "% of peak HBM BW",
    "CM384-OP-03": "% of INT8 peak",
    **dict.fromkeys(["AZ-H100-02", "AZ-H200-02", "AZ-A100-02", "AZ-GB200-03"], "TB/s"),
    **dict.fromkeys(["FP-C550-01", "910B-LIM-03", "AZ-H100-03", "AZ-A100-03", "AZ-GB200-04", "910B-LIM-02",
                     "DEEPEP-H800-01", "DEEPEP-H800-02", "ASC-EP-01"], "GB/s"),
    **dict.fromkeys(["DEEPEP-H800-03", "CM384-OP-04", "CM384-OP-05", "CM384-OP-06", "ASC-EP-03"], "us"),
    "CM384-PF-01": "tokens/s/NPU", "CM384-DC-01": "tokens/s/NPU", "SGL-H100-DC-01": "tokens/s/node",
    "SGL-GB200-DC-01": "tokens/s/GPU", "MLPI-H100-01": "tokens/s",
    **dict.fromkeys(["MEG-A100-01", "MEG-A100-03", "MEG-H100-02"], "TFLOPS/GPU"), "LLAMA3-01": "TFLOPs/GPU",
}


def _row_value(rows: dict[str, dict[str, str]], cid: str, where: str) -> tuple[float, str]:
    """Row ``cid``'s published value in the unit the model predicts it in, and that unit."""
    from .units import parse

    if cid not in rows:
        raise _core.ConfigError(f"{where}: no row with id '{cid}' (the model predicts it; restore the row)")
    if cid not in _ROW_UNITS:  # a new case must say its unit, or a row in other units would compare as is
        raise _core.ConfigError(f"{where}: no unit recorded for {cid} in perfmodel.validation._ROW_UNITS")
    r, want = rows[cid], _ROW_UNITS[cid]
    raw, unit, line = (r.get("value") or "").strip(), (r.get("unit") or "").strip(), r["_line"]
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise _core.ConfigError(f"{where}: line {line}, column value: expected a positive number for {cid}, got {raw!r}")

    def bounded(v: float) -> float:
        # In the model's unit every row is a rate, time or share of order 1e-3 to 1e9; 1e-6 to
        # 1e12 bounds a typo (5e-324 gave an error of +inf %) without judging the figure.
        if not 1e-6 <= v <= 1e12:
            raise _core.ConfigError(f"{where}: line {line}, column value: {raw} {unit} for {cid} is {v:.3g} {want}; "
                                    "expected 1e-6 to 1e12 in that unit (a typo?)")
        return v

    if " ".join(unit.split()).lower() == want.lower():
        return bounded(value), unit
    try:  # the same kind in other units: GB/s for TB/s, ms for us
        have_q, want_q = parse(f"1 {unit}"), parse(f"1 {want}")
        same = have_q.dimension == want_q.dimension
    except _core.Error:
        same = False
    if same:
        return bounded(value * have_q.value / want_q.value), want
    raise _core.ConfigError(f"{where}: line {line}, column unit: {cid} is given in {unit!r}; the model predicts it "
                            f"in {want!r}")


def _evaluate(cases: list[Case], measured: Callable[[Case], tuple[float, str]]) -> pd.DataFrame:
    out = []
    for c in cases:
        value, unit = measured(c)
        try:
            pred: float | None = float(c.predict())
            status = "ok"
        except _core.Error as exc:
            pred, status = None, f"not modelled: {exc}"
        err = (pred / value - 1.0) if pred is not None else None
        out.append({"row": c.row, "setup": c.setup, "unit": unit, "measured": value, "predicted": pred,
                    "error": err, "status": status})
    return pd.DataFrame(out)


def operator_accuracy(calibration_csv: str | os.PathLike[str], out_of_sample: bool = False) -> pd.DataFrame:
    """Signed errors of the operator model: one row per case, ``error = predicted/measured - 1``.

    Cases whose chip lacks a needed figure report ``status = "not modelled: <reason>"`` and no
    prediction. With ``out_of_sample=True`` the figures quoted in the rows' notes are evaluated.
    """
    if out_of_sample:
        return _evaluate(OUT_OF_SAMPLE_OPERATOR_CASES, lambda c: (float(c.measured or 0.0), ""))
    rows = read_calibration(calibration_csv)

    return _evaluate(OPERATOR_CASES, lambda c: _row_value(rows, c.row, os.fspath(calibration_csv)))


# --- collectives ---------------------------------------------------------------------------------

def _busbw(system: str, ranks: int, algorithm: str | None = None, size: str = "8G") -> Callable[[], float]:
    from .collectives import collective

    return lambda: collective(system, "all_reduce", size, ranks, algorithm).busbw / 1e9  # type: ignore[union-attr]


def _moe(metric: str, scale: float, system: str, phase: str, ranks: int, tokens: int, **kw: object) -> Callable[[], float]:
    from .collectives import moe_exchange

    return lambda: float(moe_exchange(system, phase, ranks, tokens, **kw)[metric]) * scale  # type: ignore[arg-type]


_US = 1e6
_PER_GB = 1e-9
COLLECTIVE_CASES: list[Case] = [
    Case("AZ-H100-03", "nccl-tests all_reduce 8 GB, 8x H100, NVLS (in-network)", _busbw("nvidia-dgx-h100", 8, "in_network")),
    Case("AZ-A100-03", "nccl-tests all_reduce 8 GB, 8x A100 (best algorithm)", _busbw("nvidia-dgx-a100", 8)),
    Case("AZ-GB200-04", "nccl-tests all_reduce 8 GB, 4 GPUs of an NVL72, ring", _busbw("nvidia-gb200-nvl72", 4, "ring")),
    Case("910B-LIM-02", "torch all_reduce 1 GB, 8x 910B HCCS mesh; the harness reports algbw",
         lambda: __import__("perfmodel").collective("huawei-atlas-800t-a2", "all_reduce", "1G", 8).algbw / 1e9),
    Case("DEEPEP-H800-01", "DeepEP normal dispatch EP8, 4096 tokens, FP8, top-8 of 256: NVLink bytes / time",
         _moe("remote_bandwidth", _PER_GB, "nvidia-hgx-h800", "dispatch", 8, 4096)),
    Case("DEEPEP-H800-02", "DeepEP normal dispatch EP32 over 4 nodes: one copy per (token, node) / time",
         _moe("node_bandwidth", _PER_GB, "nvidia-hgx-h800", "dispatch", 32, 4096, nodes=4)),
    Case("DEEPEP-H800-03", "DeepEP low-latency dispatch EP8, 128 tokens: time",
         _moe("time_s", _US, "nvidia-hgx-h800", "dispatch", 8, 128, mode="low_latency")),
    Case("CM384-OP-04", "FusedDispatch EP8 (dies), 128 tokens, INT8: time",
         _moe("time_s", _US, "huawei-cloudmatrix-384", "dispatch", 8, 128, mode="low_latency", dtype="int8", ranks_per_chip=2)),
    Case("CM384-OP-05", "FusedDispatch EP256 (dies), 128 tokens, INT8: time",
         _moe("time_s", _US, "huawei-cloudmatrix-384", "dispatch", 256, 128, mode="low_latency", dtype="int8", ranks_per_chip=2)),
    Case("CM384-OP-06", "FusedCombine EP8 (dies), 128 tokens, BF16: time",
         _moe("time_s", _US, "huawei-cloudmatrix-384", "combine", 8, 128, mode="low_latency", ranks_per_chip=2)),
    Case("ASC-EP-01", "DeepEP-Ascend normal dispatch EP8 (dies), 4096 tokens, INT8: UB bytes / time",
         _moe("remote_bandwidth", _PER_GB, "huawei-cloudmatrix-384", "dispatch", 8, 4096, dtype="int8", ranks_per_chip=2)),
    Case("ASC-EP-03", "DeepEP-Ascend low-latency dispatch EP8 (dies), 128 tokens: time",
         _moe("time_s", _US, "huawei-cloudmatrix-384", "dispatch", 8, 128, mode="low_latency", dtype="int8", ranks_per_chip=2)),
]

OUT_OF_SAMPLE_COLLECTIVE_CASES: list[Case] = [
    Case("AZ-H100-03 note", "NVLS all_reduce 1 GB busbw", _busbw("nvidia-dgx-h100", 8, "in_network", "1G"), 466.4),
    Case("AZ-H100-03 note", "NVLS all_reduce 64 MB busbw", _busbw("nvidia-dgx-h100", 8, "in_network", "64M"), 361.8),
    Case("AZ-H100-03 note", "NVLS all_reduce 1 MB busbw", _busbw("nvidia-dgx-h100", 8, "in_network", "1M"), 43.7),
    Case("AZ-GB200-04 note", "ring all_reduce 1 GB busbw", _busbw("nvidia-gb200-nvl72", 4, "ring", "1G"), 646.9),
    Case("AZ-GB200-04 note", "ring all_reduce 64 MB busbw", _busbw("nvidia-gb200-nvl72", 4, "ring", "64M"), 550.7),
    Case("AZ-GB200-04 note", "ring all_reduce 1 MB busbw", _busbw("nvidia-gb200-nvl72", 4, "ring", "1M"), 80.5),
    Case("910B-LIM-02 note", "2-card 910B all_reduce algbw",
         lambda: __import__("perfmodel").collective("huawei-atlas-800t-a2", "all_reduce", "1G", 2).algbw / 1e9, 18.0),
    Case("DEEPEP-H800-01 note", "normal combine EP8 NVLink bandwidth",
         _moe("remote_bandwidth", _PER_GB, "nvidia-hgx-h800", "combine", 8, 4096), 158.0),
    Case("DEEPEP-H800-02 note", "normal dispatch EP16 (2 nodes)",
         _moe("node_bandwidth", _PER_GB, "nvidia-hgx-h800", "dispatch", 16, 4096, nodes=2), 43.0),
    Case("DEEPEP-H800-02 note", "normal dispatch EP64 (8 nodes)",
         _moe("node_bandwidth", _PER_GB, "nvidia-hgx-h800", "dispatch", 64, 4096, nodes=8), 51.0),
    Case("DEEPEP-H800-03 note", "low-latency combine EP8 time",
         _moe("time_s", _US, "nvidia-hgx-h800", "combine", 8, 128, mode="low_latency"), 114.0),
    Case("ASC-EP-01 note", "DeepEP-Ascend normal combine EP8 UB bandwidth",
         _moe("remote_bandwidth", _PER_GB, "huawei-cloudmatrix-384", "combine", 8, 4096, ranks_per_chip=2), 125.0),
    # DeepEP README (V1 low-latency table, H800 + CX7 400G IB), beyond the EP8 row in calibration.csv.
    *[Case("DEEPEP-H800-03 note", f"low-latency {ph} EP{ep} ({ep // 8} nodes) time",
           _moe("time_s", _US, "nvidia-hgx-h800", ph, ep, 128, mode="low_latency", nodes=ep // 8), us)
      for ph, table in (("dispatch", ((16, 118), (32, 155), (64, 173), (128, 192), (256, 194))),
                        ("combine", ((16, 195), (32, 273), (64, 314), (128, 369), (256, 360))))
      for ep, us in table],
    # sgl-kernel-npu README (DeepEP-Ascend on the A3 384 SuperPoD, ranks are dies), beyond EP8.
    *[Case("ASC-EP-03 note", f"DeepEP-Ascend low-latency {ph} EP{ep} time",
           _moe("time_s", _US, "huawei-cloudmatrix-384", ph, ep, 128, mode="low_latency", ranks_per_chip=2,
                dtype="int8" if ph == "dispatch" else None), us)
      for ph, table in (("dispatch", ((16, 139), (32, 153))), ("combine", ((16, 135), (32, 151))))
      for ep, us in table],
    *[Case("ASC-EP-01 note", f"DeepEP-Ascend normal {ph} EP{ep} UB bandwidth",
           _moe("remote_bandwidth", _PER_GB, "huawei-cloudmatrix-384", ph, ep, 4096, ranks_per_chip=2,
                dtype="int8" if ph == "dispatch" else None), gbs)
      for ph, table in (("dispatch", ((16, 107), (32, 102), (64, 81), (128, 57))),
                        ("combine", ((16, 103), (32, 95), (64, 91), (128, 81))))
      for ep, gbs in table],
    # TensorRT-LLM tech blog 18 (NVIDIA/TensorRT-LLM docs/source/blogs/tech_blog/blog18_Optimizing_MoE_
    # Communication_with_One_Sided_AlltoAll_Over_NVLink.md): its one-sided NVLink all-to-all on a GB200
    # NVL72, DeepSeek-V3 shapes, BF16 both ways, perfect router, kernel time per call. It sends each
    # token once per target rank; with a perfect router at EP >= 8 that is top-k = 8 copies, the bytes
    # of the model's low-latency exchange (one copy per routed expert), which is what these rows run.
    *[Case("TRT-LLM blog 18", f"NVLinkOneSided {ph} EP{ep}, {tokens} tokens per rank, BF16, GB200 NVL72 time",
           _moe("time_s", _US, "nvidia-gb200-nvl72", ph, ep, tokens, mode="low_latency", dtype="bf16"), us)
      for ph, ep, tokens, us in (
          ("dispatch", 8, 128, 31.7), ("dispatch", 8, 1024, 166.3), ("combine", 8, 128, 38.1),
          ("combine", 8, 1024, 175.6), ("dispatch", 32, 128, 37.8), ("dispatch", 32, 1024, 197.5),
          ("combine", 32, 128, 41.1), ("combine", 32, 1024, 197.5), ("dispatch", 64, 128, 41.6),
          ("dispatch", 64, 1024, 209.4), ("combine", 64, 128, 44.5), ("combine", 64, 1024, 199.2))],
    # deepseek-ai/DeepEP PR #385 (2025-08-30): DeepEP low-latency combine at SGL-GB200-DC-01's shape,
    # 768 tokens on 48 ranks over NVLink only (an NVL72), BF16; send plus receive halves, 131-137 and
    # 20-22 us across ranks, midpoint 155; 288 expert slots as SGLang runs it. (Its dispatch rows are
    # NVFP4, which the exchange model does not take, and are not used.)
    Case("DeepEP PR #385", "DeepEP low-latency combine EP48, 768 tokens per rank, BF16, NVLink only (GB200) time",
         _moe("time_s", _US, "nvidia-gb200-nvl72", "combine", 48, 768, mode="low_latency", experts=288), 155.0),
]


def collective_accuracy(calibration_csv: str | os.PathLike[str], out_of_sample: bool = False) -> pd.DataFrame:
    """Signed errors of the collective and MoE-exchange model, like :func:`operator_accuracy`."""
    if out_of_sample:
        return _evaluate(OUT_OF_SAMPLE_COLLECTIVE_CASES, lambda c: (float(c.measured or 0.0), ""))
    rows = read_calibration(calibration_csv)
    return _evaluate(COLLECTIVE_CASES, lambda c: _row_value(rows, c.row, os.fspath(calibration_csv)))


# --- serving (issue 6) ---------------------------------------------------------------------------
# Each case: the calibration row, the system, the model, and the deployment as published. The
# statistic compared is the row's metric; `per` converts per-chip tokens/s to the row's unit.
SERVING_CASES: dict[str, dict[str, Any]] = {
    "CM384-PF-01": dict(model="deepseek-r1", system="huawei-cloudmatrix-384", metric="input", per=1.0,
                        plan=dict(mode="prefill", precision="int8", input_len=4096, batch=64, dp_attention=32,
                                  ranks_per_chip=2, overlap=True),
                        setup="16-NPU (32-die) prefill instance, 16K prompt tokens per NPU (4 x 4096 per NPU), "
                              "DP attention over the dies + EP32, INT8 GEMMs, micro-batch overlap, perfect balance"),
    "CM384-DC-01": dict(model="deepseek-r1", system="huawei-cloudmatrix-384", metric="output", per=1.0,
                        plan=dict(mode="decode", precision="int8", kv_len=4096, batch=96 * 160, dp_attention=320,
                                  ranks_per_chip=2, redundant_experts=64, mtp_tokens=1, mtp_acceptance=0.7,
                                  overlap=True),
                        setup="160-NPU (320-die) decode instance, batch 96 per NPU, KV 4K, EP320 (256 routed + 64 "
                              "extra replicas, one expert per die), DP attention, INT8, 1 MTP draft at 70 %"),
    "SGL-H100-DC-01": dict(model="deepseek-v3", system="nvidia-dgx-h100", metric="output", per=8.0,
                           plan=dict(mode="decode", precision="fp8", kv_len=2000, batch=256 * 72, dp_attention=72,
                                     redundant_experts=32, systems=9, overlap=True),
                           setup="9 x 8 H100, DP attention + EP72 (288 expert slots), batch 256 per GPU, KV 2000, "
                                 "FP8 GEMMs, BF16 attention, two-batch overlap, DeepEP low-latency over 400G IB"),
    "SGL-GB200-DC-01": dict(model="deepseek-v3", system="nvidia-gb200-nvl72", metric="output", per=1.0,
                            plan=dict(mode="decode", precision="fp8", kv_len=2050, batch=768 * 48, dp_attention=48,
                                      redundant_experts=32, overlap=False),
                            setup="48 GPUs of one NVL72, DP attention + EP48 (288 expert slots), batch 768 per GPU "
                                  "(cuda-graph-bs of the published launch command), KV ~2050, FP8, no overlap"),
    # NVIDIA's v4.1 code (closed/NVIDIA/configs/llama2-70b/Offline: H100_SXM_80GB_TP2x4) runs four TP2
    # engines with gpu_batch_size 896. That is the scheduler's cap: TensorRT-LLM admits fewer
    # sequences when the KV cache is full, so the batch is the published one or the largest that
    # fits at full length, whichever is smaller ("fit_batch").
    "MLPI-H100-01": dict(model="llama-2-70b", system="nvidia-dgx-h100", metric="output", per=8.0, fit_batch=True,
                         plan=dict(mode="serve", precision={"weights": "fp8", "kv_cache": "fp8"}, input_len=300,
                                   output_len=290, batch=896, tp=2),
                         setup="8 x H100 as four TP2 instances, FP8 weights and KV cache, ~300 input / 290 output "
                               "tokens (output from 24,525 tok/s / 84.5 samples/s; input assumed), batch: NVIDIA's "
                               "gpu_batch_size 896 (all fit in 81,559 MiB; the largest that fits is 904), chunked prefill"),
}


def serving_accuracy(calibration_csv: str | os.PathLike[str]) -> pd.DataFrame:
    """Model vs calibration.csv for SERVING_CASES: published, modelled, signed error [%], setup."""
    from .inference import inference

    cal = read_calibration(calibration_csv)
    rows = []
    for cid, case in SERVING_CASES.items():
        published, unit = _row_value(cal, cid, os.fspath(calibration_csv))
        r = _run_serving(case)
        modelled = _serving_metric(case, r)
        rows.append({"id": cid, "system": case["system"], "model": case["model"], "metric": cal[cid].get("metric", ""),
                     "unit": unit, "published": published, "modelled": modelled,
                     "error_pct": (modelled / published - 1.0) * 100.0,
                     "tpot_ms": r.tpot_ms if r.decode is not None else float("nan"),
                     "bottleneck": r.bottleneck, "setup": case["setup"]})
    return pd.DataFrame(rows)


def _run_serving(case: dict[str, Any], system: str | None = None, **changes: Any) -> Any:
    """The case's estimate; with ``fit_batch`` the published batch is a cap, lowered to the largest
    batch whose KV cache fits at full length (as an in-flight batching scheduler admits)."""
    from .inference import inference

    sysid, plan = system or case["system"], {**case["plan"], **changes}
    if plan.get("mode", "serve") != "decode":
        plan.pop("kv_len", None)  # a prefill variant of a decode case: its cache length is the prompt
    if case.get("fit_batch"):
        probe = inference(case["model"], sysid, **{**plan, "check_memory": False})
        plan["batch"] = min(int(plan["batch"]), int(probe.max_batch))
    return inference(case["model"], sysid, **plan)


def _serving_metric(case: dict[str, Any], r: Any, metric: str | None = None) -> float:
    """Output (or input) tokens/s per chip in the case's unit (`per` chips)."""
    per_chip = r.output_tokens_per_s_per_chip if (metric or case["metric"]) == "output" else r.input_tokens_per_s_per_chip
    return float(per_chip * case["per"])


def _serving_variant(cid: str, **changes: Any) -> Callable[[], float]:
    """A published figure from the same source as SERVING_CASES[cid], with the plan (and, given
    `system`, the system; given `per`, the number of chips the figure counts) changed."""
    system = changes.pop("system", None)
    per = changes.pop("per", None)

    def predict() -> float:
        case = SERVING_CASES[cid]
        r = _run_serving(case, system, **changes)
        return _serving_metric({**case, "per": per or case["per"]}, r, "output" if r.decode is not None else "input")
    return predict


def _serving_total(model: str, system: str, per: float, **plan: Any) -> Callable[[], float]:
    """Input plus output tokens/s over `per` chips of a serve-mode plan whose batch is a cap
    (fit_batch), for throughput benchmarks that count every token processed."""
    def predict() -> float:
        r = _run_serving(dict(model=model, system=system, plan=dict(mode="serve", **plan), fit_batch=True))
        # Every request brings input_len prompt tokens with its output_len generated ones.
        return float(r.output_tokens_per_s_per_chip * per * (plan["input_len"] + plan["output_len"]) / plan["output_len"])
    return predict


def _serving_output(model: str, system: str, **plan: Any) -> Callable[[], float]:
    """Output tokens/s per chip of a serve-mode plan (online-serving benchmarks at a concurrency)."""
    return lambda: float(_run_serving(dict(model=model, system=system, plan=dict(mode="serve", **plan)))
                         .output_tokens_per_s_per_chip)


# InferenceMAX's single-node systems and precisions: FP8 weights, FP8 KV cache where the launch
# script sets it (TensorRT-LLM's FP8 recipes, SGLang's B200 script), BF16 KV on the MI300X.
_IMAX_NODES: dict[str, tuple[str, dict[str, str]]] = {
    "H200": ("nvidia-hgx-h200", {"weights": "fp8", "kv_cache": "fp8"}),
    "B200": ("nvidia-dgx-b200", {"weights": "fp8", "kv_cache": "fp8"}),
    "MI300X": ("amd-mi300x-platform", {"weights": "fp8"}),
}
# Its layouts on one node: TP8 attention and MoE; TP8 attention with the experts spread whole over
# the 8 GPUs (EP8); or data-parallel attention (one eighth of the sequences per GPU) with EP8.
_IMAX_LAYOUTS: dict[str, dict[str, int]] = {"TP8": dict(tp=8), "TP8 EP8": dict(tp=8, ep=8),
                                            "DP8 attention EP8": dict(dp_attention=8)}

# Figures from the sources of the serving rows that nothing was fitted to (tokens/s in the row's unit).
# Ant Group's H20 deployment (rows below): FP8 weights, FlashMLA-FP8 attention and FP8 KV cache.
_ANT_H20_FP8 = {"weights": "fp8", "kv_cache": "fp8", "attention": "fp8"}

OUT_OF_SAMPLE_SERVING_CASES: list[Case] = [
    Case("SGL-H100-DC-01 source", "SGLang prefill, 4 x 8 H100, DP attention + EP32, 16,384 tokens per GPU at 4K "
         "input, simulated perfect EPLB, two-batch overlap (input tokens/s per node)",
         _serving_variant("SGL-H100-DC-01", mode="prefill", input_len=4096, batch=4 * 32, dp_attention=32, systems=4,
                          redundant_experts=0), 59337.0),
    Case("SGL-H100-DC-01 source", "SGLang decode as SGL-H100-DC-01 without two-batch overlap (tokens/s/node; the "
         "blog gives TBO's speedup, 25.5 % to 22,310, so 22,310 / 1.255)",
         _serving_variant("SGL-H100-DC-01", overlap=False), 22310 / 1.255),
    # DeepSeek's own prefill profile (deepseek-ai/profile-data README: EP32, TP1, 4K prompts, 16K
    # tokens per GPU, two micro-batches, balanced routing) on H800, as the LMSYS large-scale-EP blog
    # converts it: 62,713 tokens/s per node.
    Case("SGL-H100-DC-01 source", "DeepSeek's prefill profile, 4 x 8 H800, EP32, 16,384 tokens per GPU at 4K input, "
         "balanced routing, two micro-batches (input tokens/s per node, as the LMSYS blog derives it)",
         _serving_variant("SGL-H100-DC-01", system="nvidia-hgx-h800", mode="prefill", input_len=4096, batch=4 * 32,
                          dp_attention=32, systems=4, redundant_experts=0), 62713.0),
    # SGLang's GB200 Part II blog (lm-sys/lm-sys.github.io blog/2025-09-25-gb200-part-2.md): the same
    # 48-rank decode three months on. The batch keeps the KV cache "roughly full": 1408 per GPU at 2K
    # input in FP8 KV, about half that (768, as Part I) in BF16 KV. The combine is overlapped with the
    # down GEMM and shared experts; the model overlaps nothing here (overlap=False).
    Case("SGL-GB200-DC-01 source", "SGLang decode on GB200, Sep 2025 (Part II): 48 GPUs, BF16 attention and KV, "
         "FP8 GEMMs, batch 768 per GPU (assumed: the KV-full batch of Part I), input 2000",
         _serving_variant("SGL-GB200-DC-01"), 9087.0),
    Case("SGL-GB200-DC-01 source", "SGLang decode on GB200, Sep 2025 (Part II): 48 GPUs, FP8 attention and KV, "
         "NVFP4 weights (the blog: MoE and output projection; the model: all weights), batch 1408 per GPU, input 2000",
         _serving_variant("SGL-GB200-DC-01", batch=1408 * 48,
                          precision={"weights": "fp4", "kv_cache": "fp8", "attention": "fp8"}), 13386.0),
    # Huawei's CANN recipe for DeepSeek-R1 prefill on Atlas A3 (hicann/cann-recipes-infer
    # docs/models/deepseek-r1/deepseek_r1_prefill_optimization.md): CM384-PF-01's layout measured
    # by another team, 2 nodes / 16 NPUs, 64 x 4K prompts, MoE load assumed balanced, MLA-DP32 +
    # MoE-EP32, with and without the two-micro-batch pipeline (3,128 and 2,512 ms per batch).
    Case("CM384-PF-01 source", "CANN recipe, Atlas A3 16 NPUs (32 dies), DeepSeek-R1 INT8 prefill, 64 x 4K prompts, "
         "balanced experts, MLA-DP32 + MoE-EP32, no micro-batch (input tokens/s per NPU)",
         _serving_variant("CM384-PF-01", overlap=False), 5237.0),
    Case("CM384-PF-01 source", "CANN recipe as above with two micro-batches (communication on SDMA, 'fully hidden' "
         "per the recipe) (input tokens/s per NPU)", _serving_variant("CM384-PF-01"), 6522.0),
    # The same recipe's decode benchmark (docs/models/deepseek-r1/deepseek_r1_decode_optimization.md):
    # W8A8C8 (INT8 weights, activations and KV cache), global batch 6144 on 64 NPUs (96 per NPU, as
    # CM384-DC-01), sequence 4096, MTP1 accepting 0.7 drafts, perfect EPLB; TPOT 44.9 ms. The
    # recipe lists no decode micro-batch pipeline, so no overlap; EP over the 128 dies, two experts each.
    Case("CM384-DC-01 source", "CANN recipe decode, Atlas A3 64 NPUs (128 dies), DeepSeek-R1 W8A8C8, batch 96 per "
         "NPU, KV 4096, EP128 (2 experts per die, perfect EPLB), DP attention, MTP1 at 0.7, no overlap "
         "(output tokens/s per NPU)",
         _serving_variant("CM384-DC-01", batch=6144, dp_attention=128, redundant_experts=0, overlap=False,
                          precision={"weights": "int8", "kv_cache": "int8"}), 2138.0),
    # Huawei Cloud's xDeepServe (arXiv:2508.02520 v6, section 7.1 and Figure 20): colocated decode on
    # 18 CloudMatrix servers, 288 dies, DP288 + EP288 (256 dies with a routed and a redundant expert,
    # 32 with a shared and a redundant one; modelled as one expert slot per die), batch 60 per die,
    # fixed 2K + 2K (the breakdown is at ~3K context), INT8, MTP1 accepting 90 %. Its breakdown lists
    # dispatch and combine as 36 % of the 93 ms iteration, so they are not hidden: no overlap.
    Case("CM384-DC-01 source", "xDeepServe decode, 144 CloudMatrix NPUs (288 dies), DeepSeek INT8, batch 60 per die, "
         "KV ~3K, DP288 + EP288, MTP1 at 0.9, no overlap (output tokens/s per NPU)",
         _serving_variant("CM384-DC-01", batch=60 * 288, dp_attention=288, redundant_experts=32, kv_len=3072,
                          mtp_acceptance=0.9, overlap=False), 2400.0),
    # MLPerf Inference v4.1 Llama 2 70B Offline, the round of MLPI-H100-01 (mlcommons/inference_results_v4.1
    # closed/*/results/*/llama2-70b-99/Offline/performance/run_1/mlperf_log_summary.txt), same
    # dataset and lengths. Batches are each submitter's cap, lowered to what fits (fit_batch).
    *[Case("MLPI-H100-01 source", f"MLPerf v4.1 Llama 2 70B Offline, {setup}",
           _serving_variant("MLPI-H100-01", **changes), published) for setup, changes, published in (
        ("8 x H200 (700 W), TensorRT-LLM, eight TP1 engines, FP8 weights and KV cache, gpu_batch_size 806 "
         "(NVIDIA's config) capped at what fits", dict(system="nvidia-hgx-h200", tp=1, batch=806), 31302.7),
        ("1 x B200 (preview), TensorRT-LLM, TP1, FP4 weights, FP8 KV cache; batch 2048 (NVIDIA's v5.0 config; "
         "v4.1's is not published) capped at what fits",
         dict(system="nvidia-dgx-b200", tp=1, batch=2048, per=1.0, precision={"weights": "fp4", "kv_cache": "fp8"}),
         11264.4),
        ("8 x MI300X (AMD, vLLM), eight TP1 engines, FP8 weights and KV cache; batch: the largest that fits (AMD's "
         "run script is not in the results repository)", dict(system="amd-mi300x-platform", tp=1, batch=4096),
         23514.8))],
    # AMD's ROCm AI performance-results page (amd.com/en/developer/resources/rocm-hub/dev-ai/
    # performance-results.html), vLLM 0.8.3 docker of 2025-04-13 on 8 x MI300X (750 W): offline
    # throughput benchmark, one TP8 engine, prompts = max_num_seqs. "Throughput (tokens/s)" is read
    # as input plus output tokens (vLLM benchmark_throughput's "tokens/s"); as output tokens only the
    # model would read 6 % higher.
    Case("AMD ROCm performance results", "vLLM 0.8.3 (Apr 2025), Llama 3.1 70B FP8 (weights and KV), 8 x MI300X as "
         "one TP8 engine, 128 input / 2048 output, 3200 prompts at max_num_seqs 3200 (capped at what fits)",
         _serving_total("llama-3.1-70b", "amd-mi300x-platform", 8.0, precision={"weights": "fp8", "kv_cache": "fp8"},
                        input_len=128, output_len=2048, tp=8, batch=3200), 16364.9),
    Case("AMD ROCm performance results", "vLLM 0.8.3 (Apr 2025), Llama 3.1 405B FP8 (weights and KV), 8 x MI300X as "
         "one TP8 engine, 128 input / 2048 output, 1500 prompts at max_num_seqs 1500 (capped at what fits)",
         _serving_total("llama-3.1-405b", "amd-mi300x-platform", 8.0, precision={"weights": "fp8", "kv_cache": "fp8"},
                        input_len=128, output_len=2048, tp=8, batch=1500), 4331.6),
    # Ant Group on H20-96G (LMSYS blog 2025-09-26, SGLang v0.5.2): decode on 2 nodes (attention DP16 +
    # DeepEP low-latency EP16; EP32 on 4 nodes for comparison), FP8 weights, FlashMLA-FP8 attention
    # and KV, 4096-token prompts with 1536 outputs (mean context 4,864), tokens/s per GPU at a fixed
    # batch per GPU. One MTP step accepting 1.8-1.9 tokens (0.85); two steps accepting 2.4-2.7
    # (0.842: 1 + a + a^2 = 2.55). Its single-batch overlap (+8-10 % at batch 20-56) hides the combine
    # behind the down GEMM without splitting the batch, which the model's overlap (two micro-batches)
    # does not describe: modelled without overlap. Experts assumed balanced (EPLB, no replicas stated).
    *[Case("Ant Group H20 blog", f"SGLang decode on {ep} x H20-96G ({ep // 8} nodes), DeepSeek-R1 FP8 with FP8 attention "
           f"and KV, DP{ep} attention + EP{ep}, batch {bs} per GPU, 4096 in / 1536 out, MTP {steps} step(s), no overlap "
           "(tokens/s per GPU)",
           _serving_variant("SGL-H100-DC-01", system="nvidia-hgx-h20", per=1.0, batch=bs * ep, dp_attention=ep,
                            systems=ep // 8, redundant_experts=0, kv_len=4864, mtp_tokens=steps, mtp_acceptance=acc,
                            overlap=False, precision=_ANT_H20_FP8), tps)
      for bs, ep, steps, acc, tps in ((48, 16, 1, 0.85, 714.0), (32, 16, 1, 0.85, 675.0), (32, 32, 1, 0.85, 585.0),
                                       (12, 16, 2, 0.842, 423.0))],
    # The same blog's prefill: one node as a TP8 instance, 4096-token prompts, chunked prefill of
    # 16,384 tokens (four prompts per forward), FP8 GEMMs and FA3-FP8 attention: 16.5k input tokens/s
    # per node. Its TP optimization (reduce-scatter, RMSNorm and the q/kv down-projection on a
    # rank's share of the tokens, then all-gather) is the model's sequence_parallel.
    Case("Ant Group H20 blog", "SGLang prefill on 8 x H20-96G as one TP8 instance with sequence parallelism, "
         "DeepSeek-R1 FP8 with FP8 attention, 4096-token prompts, 16,384 tokens per forward (input tokens/s per node)",
         _serving_variant("SGL-H100-DC-01", system="nvidia-hgx-h20", mode="prefill", input_len=4096, batch=4, tp=8,
                          dp_attention=1, systems=1, redundant_experts=0, overlap=False, sequence_parallel=True,
                          precision=_ANT_H20_FP8), 16500.0),
    # SemiAnalysis InferenceMAX/InferenceX: online serving of DeepSeek-R1 FP8 on one 8-GPU node as a
    # TP8 instance (no EP, no MTP), random prompts at a fixed concurrency, output tokens/s per GPU
    # (the API's total counts input too). Figures from its API as copied into SemiAnalysisAI/
    # InferenceX-app packages/app/cypress/fixtures/api/benchmarks.json (commit 3a600f1), each with its
    # GitHub Actions run; they match the site's blog where both print one. Modelled as a serve batch
    # of `concurrency` sequences at the nominal lengths (the benchmark draws them at random below
    # those: assumed not to matter); FP8 KV cache where the launch script sets it.
    *[Case("InferenceMAX", f"DeepSeek-R1 {w.upper()}, 8 x {gpu} {layout}, {engine}, {i // 1024}k/{o // 1024}k, "
           f"concurrency {c} (run {run}; output tokens/s per GPU)",
           _serving_output("deepseek-r1", _IMAX_NODES[gpu][0], batch=c, input_len=i, output_len=o,
                           precision={**_IMAX_NODES[gpu][1], "weights": w}, **_IMAX_LAYOUTS[layout]), out)
      for gpu, layout, engine, w, i, o, c, run, out in (
          ("H200", "TP8", "TensorRT-LLM", "fp8", 1024, 1024, 4, 19019407598, 34.4),
          ("H200", "TP8", "TensorRT-LLM", "fp8", 1024, 1024, 64, 19019407598, 224.6),
          ("H200", "TP8", "TensorRT-LLM", "fp8", 8192, 1024, 64, 19019430552, 145.5),
          ("B200", "TP8", "SGLang v0.5.9", "fp8", 1024, 1024, 4, 23552373331, 54.2),
          ("B200", "TP8", "SGLang v0.5.9", "fp8", 1024, 1024, 64, 23552373331, 332.8),
          ("B200", "TP8", "SGLang v0.5.6", "fp8", 8192, 1024, 64, 20621824084, 179.2),
          ("MI300X", "TP8", "SGLang v0.5.9", "fp8", 1024, 1024, 64, 22469096331, 149.3),
          ("H200", "TP8 EP8", "TensorRT-LLM 1.1.0rc2", "fp8", 1024, 1024, 64, 20216641521, 228.3),
          ("H200", "DP8 attention EP8", "TensorRT-LLM 1.1.0rc2", "fp8", 8192, 1024, 64, 20216709902, 147.8),
          ("B200", "DP8 attention EP8", "TensorRT-LLM 1.1.0rc2", "fp8", 1024, 1024, 64, 20216641521, 257.8),
          ("B200", "DP8 attention EP8", "TensorRT-LLM 1.2.0rc6", "fp8", 1024, 8192, 256, 21484110885, 911.7),
          ("B200", "DP8 attention EP8", "TensorRT-LLM 1.2.0rc6", "fp4", 1024, 1024, 256, 21640806486, 1241.1),
          ("B200", "DP8 attention EP8", "TensorRT-LLM 1.2.0rc6", "fp4", 8192, 1024, 256, 21640806486, 771.4))],
]


# InferenceMAX's mean TPOT (ms) at each concurrency of three TP8, 1k/1k series (same fixture and
# runs as above; mean output ~0.9 x 1024 tokens, drawn at random): where the online rows' gap sits.
# (gpu, engine, {concurrency: mean TPOT ms})
INFERENCEMAX_TPOT: list[tuple[str, str, dict[int, float]]] = [
    ("H200", "TensorRT-LLM", {4: 13.805, 8: 16.390, 16: 20.394, 32: 26.122, 64: 33.959}),
    ("B200", "SGLang v0.5.9", {4: 8.760, 8: 10.807, 16: 13.180, 32: 16.909, 64: 22.529}),
    ("MI300X", "SGLang v0.5.9", {4: 24.648, 8: 26.336, 16: 30.944, 32: 41.242, 64: 51.251}),
]


def inferencemax_tpot() -> pd.DataFrame:
    """InferenceMAX's TP8 1k/1k mean TPOT against the model's decode step (KV at the mean
    position, 1024 + 512), one row per GPU and concurrency: the published TPOT includes the
    engine's per-step costs outside the kernels (scheduling, sampling, prefill chunks in the
    step), which the model does not price."""
    from .inference import inference

    rows = []
    for gpu, engine, series in INFERENCEMAX_TPOT:
        system, precision = _IMAX_NODES[gpu]
        for c, published in series.items():
            r = inference("deepseek-r1", system, mode="decode", batch=c, kv_len=1024 + 512, tp=8,
                          precision={**precision, "weights": "fp8"})
            modelled = float(r.tpot_ms)
            rows.append(dict(gpu=gpu, engine=engine, concurrency=c, published_ms=published, model_ms=modelled,
                             gap_ms=published - modelled))
    return pd.DataFrame(rows)


def _training_variant(cid: str, **changes: Any) -> Callable[[], float]:
    """A published figure from the same source as TRAINING_CASES[cid], with the plan changed."""
    def predict() -> float:
        from .training import training

        case = TRAINING_CASES[cid]
        return _training_metric(case, training(case["model"], case["system"], **{**case["plan"], **changes}))
    return predict


def _training_metric(case: dict[str, Any], r: Any) -> float:
    """TFLOP/s per chip in the count the source reports (hardware or model FLOPs)."""
    return float((r.hardware_flops_per_chip if case["flops"] == "hardware" else r.model_flops_per_chip) / TERA)


# Training rows of calibration.csv: setups as published (sources in README, "Training").
# "flops" says which count the source reports: "hardware" includes the recomputed forward
# (Narayanan et al. eq. 3), "model" does not (MFU numerators of Megatron-Core and Llama 3).
TRAINING_CASES: dict[str, dict[str, Any]] = {
    "MEG-A100-01": dict(model="megatron-gpt-1t", system="nvidia-dgx-a100", flops="hardware",
                        plan=dict(tp=8, pp=64, dp=6, global_batch=3072, micro_batch=1, seq_len=2048, precision="fp16",
                                  sequence_parallel=False, recompute="full", sharding="none", overlap_dp=False,
                                  overlap_pp=False, flash_attention=False, dropout=True, loss_fusion=False),
                        # fp16 gradients (the script's CONFIG.sh); 512 micro-batches accumulate, which the
                        # fp32 buffer width prices as 2021's fp16 add does (see _megatron_2021).
                        setup="3,072 A100 (384 DGX, 8x HDR 200G each), TP8 PP64 DP6, micro-batch 1 (512 per pipeline), "
                              "1F1B without interleaving (the published run_table_1.sh; the paper says interleaved), "
                              "full recompute, FP16, unfused attention with dropout and unfused fp32 loss (2021 Megatron), no overlap"),
    "MEG-A100-03": dict(model="megatron-gpt-1.7b", system="nvidia-dgx-a100", flops="hardware",
                        plan=dict(dp=32, global_batch=512, micro_batch=16, seq_len=2048, precision="fp16",
                                  sequence_parallel=False, recompute="full", sharding="none", overlap_dp=True,
                                  flash_attention=False, dropout=True, loss_fusion=False, grad_reduce_bytes=2),
                        setup="32 A100 (4 DGX), DP32 with PyTorch DDP (overlapped), micro-batch 16, full recompute, "
                              "FP16 with fp16 gradients, unfused attention with dropout and unfused fp32 loss (2021 Megatron)"),
    "MEG-H100-02": dict(model="megatron-gpt-177b", system="nvidia-dgx-h100", flops="model",
                        # The README overlaps pipeline communication, which Megatron-Core does only in the
                        # interleaved schedule (the 1F1B one rejects overlap_p2p_comm): two virtual stages of
                        # 8 layers, the least interleaving that implies (V = 2..16 give -1.3 % to +3.7 %).
                        plan=dict(tp=8, pp=6, dp=48, virtual_stages=2, global_batch=1152, micro_batch=1, seq_len=4096,
                                  precision="bf16", recompute="selective", sharding="zero1", overlap_dp=True,
                                  overlap_tp=True, overlap_pp=True, loss_fusion=False),
                        setup="2,304 H100, TP8 (sequence parallel) PP6 DP48, batch 1152 x 4096, distributed optimizer, "
                              "DP/TP/PP overlap (README flags); PP overlap implies the interleaved schedule, two "
                              "virtual stages assumed; micro-batch 1 and selective recompute assumed (not published); unfused fp32 "
                              "loss (Megatron-LM's default)"),
    "LLAMA3-01": dict(model="llama-3.1-405b", system="nvidia-dgx-h100", flops="model",
                      plan=dict(tp=8, pp=16, dp=64, virtual_stages=8, layout="lighter_ends", global_batch=2048,
                                micro_batch=1, seq_len=8192, precision="bf16", recompute="none", sharding="zero1",
                                overlap_dp=True, overlap_pp=True, check_memory=False),
                      setup="8,192 H100, TP8 PP16 DP64, 32 sequences of 8K per DP rank, no recompute, FSDP with "
                            "gradients accumulated in FP32 over the micro-batches and reduce-scattered once in FP32 (the "
                            "model's ZeRO-1), one layer fewer on the end stages; micro-batch 1 and V=8 one-layer chunks "
                            "inferred; memory check off (see README)"),
}


def _megatron_2021(size: str, heads: int, hidden: int, layers: int, tp: int, pp: int, gpus: int, batch: int,
                   micro_batch: int, ddp: str, layers_per_chunk: int | None, measured: float) -> Case:
    """A row of Narayanan et al. SC21 Table 1 run as its published script (run_table_1.sh) sets it up:
    FP16, full recompute, sequence 2048, vocabulary 51,200, unfused attention with dropout as
    MEG-A100-01/03; torch DDP (overlapped) up to 18B, Megatron's local DDP (after the backward) above.
    Gradients are fp16 (CONFIG.sh has no --accumulate-allreduce-grads-in-fp32). With one micro-batch
    per step that is grad_reduce_bytes=2; with several, the model's fp32 accumulation (8 bytes per
    weight and micro-batch) stands in for 2021's fp16 gradient plus add into the fp16 buffer (also
    8 bytes), at the price of an fp32-sized all-reduce (about 0.3 % of MEG-A100-01's step)."""
    def predict() -> float:
        from .models import define
        from .training import training

        model = define(id=f"megatron-gpt-{size.lower()}", name=f"Megatron GPT {size}", family="gpt", layers=layers,
                       hidden=hidden, heads=heads, ffn=4 * hidden, vocab=51200, tied_embeddings=True,
                       activation="gelu", source="Narayanan et al. SC21, arXiv:2104.04473, Table 1")
        v = (layers // pp) // layers_per_chunk if layers_per_chunk else 1
        dp = gpus // (tp * pp)
        r = training(model, "nvidia-dgx-a100", tp=tp, pp=pp, dp=dp, virtual_stages=v,
                     global_batch=batch, micro_batch=micro_batch, seq_len=2048, precision="fp16",
                     sequence_parallel=False, recompute="full", sharding="none", overlap_dp=ddp == "torch",
                     overlap_pp=False, flash_attention=False, dropout=True, loss_fusion=False,
                     grad_reduce_bytes=2 if batch == dp * micro_batch else 4)
        return float(r.hardware_flops_per_chip / TERA)
    chunks = f", {layers_per_chunk}-layer virtual stages" if layers_per_chunk else ""
    return Case("MEG-A100-01 source", f"GPT {size} (h={hidden}, {layers} layers), {gpus:,} A100, TP{tp} PP{pp} "
                f"DP{gpus // (tp * pp)}{chunks}, batch {batch:,}, micro-batch {micro_batch}, {ddp} DDP "
                "(TFLOP/s per GPU incl. recompute)", predict, measured)


# Narayanan et al. SC21 (arXiv:2104.04473) Table 1: the eight sizes between MEG-A100-03 (1.7B)
# and MEG-A100-01 (1T); configurations from the published examples/sc21/run_table_1.sh.
_MEGATRON_TABLE_1: list[Case] = [
    _megatron_2021("3.6B", 32, 3072, 30, 2, 1, 64, 512, 16, "torch", None, 138.0),
    _megatron_2021("7.5B", 32, 4096, 36, 4, 1, 128, 512, 16, "torch", None, 142.0),
    _megatron_2021("18.4B", 48, 6144, 40, 8, 1, 256, 1024, 8, "torch", None, 135.0),
    _megatron_2021("39.1B", 64, 8192, 48, 8, 2, 512, 1536, 4, "local", None, 138.0),
    _megatron_2021("76.1B", 80, 10240, 60, 8, 4, 1024, 1792, 2, "local", 5, 140.0),
    _megatron_2021("145.6B", 96, 12288, 80, 8, 8, 1536, 2304, 2, "local", 5, 148.0),
    _megatron_2021("310.1B", 128, 16384, 96, 8, 16, 1920, 2160, 1, "local", 3, 155.0),
    _megatron_2021("529.6B", 128, 20480, 105, 8, 35, 2520, 2520, 1, "local", 1, 163.0),
]


# Llama 3 Table 4 (arXiv:2407.21783; also glennklockwood.com/garden/llama-3.1): the other two
# 405B configurations, 16M tokens per batch as LLAMA3-01.
_LLAMA3_TABLE_4: list[Case] = [
    Case("LLAMA3-01 source", "Llama 3 405B, 16,384 H100, TP8 PP16 DP128, 16 sequences of 8K per DP rank "
         "(otherwise as LLAMA3-01) (TFLOP/s per GPU)", _training_variant("LLAMA3-01", dp=128), 400.0),
    Case("LLAMA3-01 source", "Llama 3 405B, 16,384 H100, TP8 CP16 PP16 DP8, 16 sequences of 131,072 per DP rank, "
         "CP all-gathers K/V before attention, exposed, as Meta describes it (TFLOP/s per GPU)",
         _training_variant("LLAMA3-01", cp=16, dp=8, seq_len=131072, global_batch=128, cp_comm="allgather"), 380.0),
]


def _bridge_2511(system: str, model: str, gpus: int, gbs: int, mbs: int, seq: int, tp: int, pp: int, cp: int, vp: int,
                 ep: int, fsdp: bool, precision: str, measured: float, dispatcher: str = "deepep") -> Case:
    """A row of the NeMo 25.11 container table of Megatron-Bridge's performance summary, as the
    table sets it up; what it leaves out is assumed: no activation recompute, distributed optimizer
    (ZeRO-1) unless FSDP, every overlap on, sequence parallel with TP, memory check off (one of the
    seven dense plans does not fit; `predict(check_memory=True)` checks). FP8 rows take the FP8
    current-scaling recipe's bf16 end layers and FP8 parameters. MoE rows
    take the token dispatcher of the published recipe (scripts/performance/configs)."""
    # Megatron-Bridge's FP8 current-scaling recipe (bf16_with_fp8_current_scaling_mixed) keeps the
    # first and last Transformer layer in bf16 and gathers parameters in FP8 (fp8_param_gather).
    fp8_recipe: dict[str, Any] = dict(bf16_layers=1, fp8_params=True) if precision == "fp8" else {}

    def predict(check_memory: bool = False) -> float:
        from .models import get
        from .training import training

        layers = get(model).layers
        layout = "even" if layers % pp == 0 and (layers // pp) % vp == 0 else "lighter_ends"
        r = training(model, system, tp=tp, pp=pp, cp=cp, dp=gpus // (tp * pp * cp), ep=ep, virtual_stages=vp,
                     layout=layout, global_batch=gbs, micro_batch=mbs, seq_len=seq, precision=precision,
                     recompute="none", sharding="zero3" if fsdp else "zero1", overlap_dp=True, overlap_tp=True,
                     overlap_pp=True, sequence_parallel=tp > 1, moe_dispatcher=dispatcher, check_memory=check_memory,
                     **fp8_recipe)
        return float(r.tokens_per_s / gpus)
    par = f"TP{tp} PP{pp}" + (f" CP{cp}" if cp > 1 else "") + (f" VP{vp}" if vp > 1 else "") + \
        (f" EP{ep} ({'NCCL all-to-all' if dispatcher == 'alltoall' else 'DeepEP-style'})" if ep > 1 else "") + \
        (" FSDP" if fsdp else "")
    return Case("Megatron-Bridge 25.11", f"{model}, {gpus} x {system.removeprefix('nvidia-')}, "
                f"{'FP8 current scaling' if precision == 'fp8' else precision.upper()}, {par}, batch {gbs} x {seq}, "
                f"micro-batch {mbs} (tokens/s per GPU)", predict, measured)


# Megatron-Bridge performance summary, NeMo 25.11 container (docs/performance-summary-archive.md
# of NVIDIA-NeMo/Megatron-Bridge; docs.nvidia.com/nemo/megatron-bridge/latest/performance-summary-archive.html):
# the dense rows and two MoE rows. Left out: GB200 Llama 3 70B with FSDP at micro-batch 2 (its
# memory saving is not stated) and the rows of models perfmodel does not ship.
BRIDGE_2511_DENSE: list[Case] = [
    _bridge_2511("nvidia-dgx-h100", "llama-3.1-8b", 8, 128, 1, 8192, 1, 1, 1, 1, 1, True, "fp8", 14451.0),
    _bridge_2511("nvidia-dgx-h100", "llama-3.1-70b", 64, 128, 1, 8192, 4, 8, 1, 5, 1, False, "fp8", 1602.0),
    _bridge_2511("nvidia-dgx-h100", "llama-3.1-405b", 1024, 512, 1, 8192, 8, 8, 2, 8, 1, False, "fp8", 292.0),
    _bridge_2511("nvidia-dgx-b200", "llama-3.1-8b", 8, 128, 2, 8192, 1, 1, 1, 1, 1, False, "fp8", 30624.0),
    _bridge_2511("nvidia-dgx-b200", "llama-3.1-405b", 128, 64, 1, 8192, 4, 8, 2, 8, 1, False, "fp8", 661.0),
    _bridge_2511("nvidia-gb200-nvl72", "llama-3.1-8b", 8, 128, 2, 8192, 1, 1, 1, 1, 1, False, "fp8", 31508.0),
    _bridge_2511("nvidia-gb200-nvl72", "llama-3.1-405b", 256, 1536, 1, 8192, 4, 16, 1, 4, 1, False, "fp8", 813.0),
    _bridge_2511("nvidia-gb300-nvl72", "llama-3.1-8b", 8, 128, 2, 8192, 1, 1, 1, 1, 1, False, "fp8", 37556.0),
    _bridge_2511("nvidia-gb300-nvl72", "llama-3.1-405b", 256, 1536, 1, 8192, 2, 8, 2, 4, 1, False, "fp8", 999.0),
]
_BRIDGE_2511_MOE: list[Case] = [
    _bridge_2511("nvidia-dgx-h100", "qwen3-235b-a22b", 256, 2048, 1, 4096, 2, 8, 1, 4, 32, False, "fp8", 1575.0,
                 dispatcher="alltoall"),
    _bridge_2511("nvidia-gb200-nvl72", "qwen3-235b-a22b", 256, 8192, 1, 4096, 1, 8, 1, 3, 32, False, "bf16", 4916.0),
    _bridge_2511("nvidia-gb300-nvl72", "qwen3-235b-a22b", 256, 8192, 2, 4096, 1, 4, 1, 12, 16, False, "bf16", 6131.0),
]

def _ascend_tokens(model: str, n_chips: int, **plan: Any) -> Callable[[], float]:
    """Tokens/s per NPU of a MindSpeed-LLM pretraining script on Atlas 800T A2-class 910B nodes."""
    def predict() -> float:
        from .training import training

        # Megatron defaults the scripts keep: unfused fp32 loss, BF16, no recompute flags.
        r = training(model, "huawei-atlas-800t-a2", n_chips=n_chips, precision="bf16", recompute="none",
                     loss_fusion=False, check_memory=False, **plan)
        return float(r.tokens_per_s_per_chip)
    return predict


# MindSpeed-LLM (ModelLink) README performance table, "Atlas 900 A2 PODc", pretraining with mc2
# (matmul fused with the TP collectives) on: tokens/s per NPU. Setups from the repository's
# examples/mcore scripts for the same model and cluster size (read in the zzhx1/Hetaceso-ModelLink
# mirror); the README does not name the 910B bin, the catalog's is the 313T one.
_MINDSPEED_2024: list[Case] = [
    Case("MindSpeed-LLM README", f"{setup} (tokens/s per NPU)", _ascend_tokens(model, chips, **plan), published)
    for setup, model, chips, plan, published in (
        ("Llama 2 70B, 4 x 8 910B, TP8 (sequence parallel, mc2) PP4, 5 layers per virtual stage, micro-batch 1, "
         "batch 1024 x 4K", "llama-2-70b", 32,
         dict(tp=8, pp=4, dp=1, virtual_stages=4, global_batch=1024, micro_batch=1, seq_len=4096, sharding="zero1",
              overlap_tp=True), 439.0),
        ("Llama 2 7B, 1 x 8 910B, TP1 PP2 DP4, distributed optimizer, overlapped gradient reduce, micro-batch 1, "
         "batch 256 x 4K", "llama-2-7b", 8,
         dict(tp=1, pp=2, dp=4, global_batch=256, micro_batch=1, seq_len=4096, sharding="zero1", overlap_dp=True),
         4672.0),
        ("Llama 3 8B, 1 x 8 910B, TP8 (sequence parallel, mc2), micro-batch 2, batch 64 x 8K", "llama-3.1-8b", 8,
         dict(tp=8, pp=1, dp=1, global_batch=64, micro_batch=2, seq_len=8192, sharding="zero1", overlap_tp=True),
         2400.0),
        ("Llama 3.1 8B, 1 x 8 910B, TP8 (sequence parallel, no mc2 in its script), micro-batch 2, batch 64 x 8K",
         "llama-3.1-8b", 8,
         dict(tp=8, pp=1, dp=1, global_batch=64, micro_batch=2, seq_len=8192, sharding="zero1", overlap_tp=False),
         2280.0),
        ("Llama 3.1 70B, 4 x 8 910B, TP8 (sequence parallel, mc2) PP4 with its script's 17/20/22/21 layers per "
         "stage, micro-batch 1, batch 512 x 8K", "llama-3.1-70b", 32,
         dict(tp=8, pp=4, dp=1, layout=[17, 20, 22, 21], global_batch=512, micro_batch=1, seq_len=8192,
              sharding="zero1", overlap_tp=True), 399.0))
]


def _torchtitan_npu_die_tokens() -> float:
    """Tokens/s per die (per rank) of torchtitan-npu's DeepSeek-V3 671B run on 64 Ascend 910C."""
    from .training import training

    # deepseek_v3_671b_61layers_4k_128die.toml: FSDP (shard degree 128 / TP4 = 32, resharded after
    # forward) x TP4 (sequence-parallel norms, async TP off), EP128 with all-to-all token exchange,
    # full activation checkpointing, local batch 1 (32 micro-batches per step), 1024 x 4096, BF16.
    # Its optimizer state sits in host memory (virtual_optimizer), which the model does not price.
    r = training("deepseek-v3", "huawei-cloudmatrix-384", ranks_per_chip=2, tp=4, dp=32, ep=128, global_batch=1024,
                 micro_batch=1, seq_len=4096, precision="bf16", recompute="full", sharding="fsdp",
                 moe_dispatcher="alltoall", check_memory=False)
    return float(r.tokens_per_s_per_chip) / 2.0


# torchtitan-npu README performance table (2026.04, "System: Atlas 800T A3": SuperPoD servers of the
# Atlas 900 A3 SuperPoD fabric that CloudMatrix 384 is built from). Its "tokens/p/s" is per process:
# one process per die (CANN exposes each 910C die as a device; torchtitan logs tokens/s per rank).
_TORCHTITAN_NPU: list[Case] = [
    Case("torchtitan-npu README", "DeepSeek-V3 671B, 64 Atlas A3 NPUs as 128 die ranks, FSDP32 x TP4, EP128 "
         "(all-to-all), full recompute, batch 1024 x 4K, BF16, balanced experts (tokens/s per die)",
         _torchtitan_npu_die_tokens, 546.0),
]


# MosaicML LLM Foundry's MPT training benchmarks (mosaicml/llm-foundry scripts/train/benchmarking/
# README.md; PyTorch FSDP FULL_SHARD, amp_bf16, triton flash attention, one 8-GPU node): MPT sizes
# from scripts/train/yamls/pretrain/mpt-*.yaml (GELU FFN of 4 x d_model, vocabulary 50,368, tied
# embeddings; the learned position embedding's few million weights are left out). Published MFU
# (6N + attention, non-causal, as the model counts) read as model TFLOP/s at the catalog's BF16 peak.
_MPT_SHAPES = {"1b": (24, 2048, 16), "3b": (32, 2560, 20), "7b": (32, 4096, 32), "13b": (40, 5120, 40),
               "30b": (48, 7168, 64)}


def _mpt_tflops(size: str, system: str, seq: int, micro_batch: int, accum: int, checkpointing: bool) -> Callable[[], float]:
    def predict() -> float:
        from .models import define
        from .training import training

        layers, d, heads = _MPT_SHAPES[size]
        m = define(id=f"mpt-{size}", source="mosaicml/llm-foundry scripts/train/yamls/pretrain", layers=layers,
                   hidden=d, heads=heads, ffn=4 * d, vocab=50368, activation="gelu", tied_embeddings=True)
        r = training(m, system, n_chips=8, dp=8, global_batch=8 * micro_batch * accum, micro_batch=micro_batch,
                     seq_len=seq, precision="bf16", sharding="fsdp", recompute="full" if checkpointing else "none",
                     loss_fusion=False, check_memory=False)
        return float(r.model_flops_per_chip / TERA)
    return predict


def _mpt_case(gpu: str, size: str, seq: int, mfu_pct: float, micro_batch: int, accum: int, ckpt: bool) -> Case:
    from .catalog import builtin
    from .units import parse

    system = {"A100": "nvidia-dgx-a100", "H100": "nvidia-dgx-h100"}[gpu]
    chip = builtin().get(builtin().get(system).to_dict()["chip"]).to_dict()
    peak = float(parse(chip["compute"]["bf16"]["matrix"]["value"]).value)
    return Case("LLM Foundry benchmarks",
                f"MPT-{size.upper()} on 8 x {gpu} 80GB, FSDP full shard, seq {seq}, micro-batch {micro_batch} x "
                f"{accum} accumulated, activation checkpointing {'on' if ckpt else 'off'}, BF16; published MFU "
                f"{mfu_pct} % (model TFLOP/s per GPU)",
                _mpt_tflops(size, system, seq, micro_batch, accum, ckpt), mfu_pct / 100.0 * peak / TERA)


_LLM_FOUNDRY: list[Case] = [
    _mpt_case(gpu, size, seq, mfu, mb, acc, ck) for gpu, size, seq, mfu, mb, acc, ck in (
        ("A100", "1b", 2048, 59.86, 14, 4, False), ("A100", "3b", 2048, 62.11, 10, 2, False),
        ("A100", "7b", 2048, 64.23, 6, 2, False), ("A100", "7b", 8192, 54.47, 8, 2, True),
        ("A100", "13b", 2048, 59.57, 2, 3, False), ("A100", "30b", 2048, 55.3, 3, 21, True),
        ("H100", "1b", 2048, 41.82, 14, 1, False), ("H100", "3b", 2048, 43.73, 10, 3, False),
        ("H100", "7b", 2048, 46.44, 6, 1, False), ("H100", "7b", 8192, 37.14, 8, 2, True),
        ("H100", "13b", 2048, 39.79, 2, 1, False), ("H100", "30b", 2048, 38.11, 3, 21, True))
]


OUT_OF_SAMPLE_TRAINING_CASES: list[Case] = (_MEGATRON_TABLE_1 + _LLAMA3_TABLE_4 + BRIDGE_2511_DENSE + _BRIDGE_2511_MOE
                                            + _MINDSPEED_2024 + _TORCHTITAN_NPU + _LLM_FOUNDRY)


def training_accuracy(calibration_csv: str | os.PathLike[str]) -> pd.DataFrame:
    """Model vs calibration.csv for TRAINING_CASES: published, modelled TFLOP/s per chip, signed error [%]."""
    from .training import training

    cal = read_calibration(calibration_csv)
    rows = []
    for cid, case in TRAINING_CASES.items():
        published, _ = _row_value(cal, cid, os.fspath(calibration_csv))
        r = training(case["model"], case["system"], **case["plan"])
        modelled = _training_metric(case, r)
        rows.append({"id": cid, "system": case["system"], "model": case["model"], "published": published,
                     "modelled": modelled, "error_pct": (modelled / published - 1.0) * 100.0, "mfu": r.mfu,
                     "bubble": r.bubble_fraction, "bottleneck": r.bottleneck, "setup": case["setup"]})
    return pd.DataFrame(rows)


# --- the validation report --------------------------------------------------------------------

def _md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _pct(e: float | None) -> str:
    return "not modelled" if e is None or pd.isna(e) else f"{e * 100:+.1f} %"


def _summary(errors: list[float], bar: float) -> str:
    if not errors:
        return "no row modelled."
    a = sorted(abs(e) for e in errors)
    median = a[len(a) // 2] if len(a) % 2 else (a[len(a) // 2 - 1] + a[len(a) // 2]) / 2
    within = sum(1 for e in a if e <= bar)
    return (f"{len(a)} rows modelled, {within} within {bar * 100:.0f} %, median |error| {median * 100:.1f} %, "
            f"worst {max(errors, key=abs) * 100:+.1f} %.")


def report(calibration_csv: str | os.PathLike[str]) -> str:
    """The validation report in Markdown: every calibration row the model predicts (operators,
    collectives, serving, training) and the out-of-sample figures, with signed errors
    (``predicted / measured - 1``) and a summary line per section. ``perfmodel validate CSV``
    prints it; docs/explanation/accuracy.md is this output for ../shared/data/calibration.csv."""
    parts = [f"<!-- generated by `perfmodel validate` from {os.path.basename(os.fspath(calibration_csv))}; "
             "tests/python/test_docs.py checks docs/explanation/accuracy.md is current -->",
             "# Measured accuracy",
             "Every published measurement in the calibration file that the model can predict, with the setup as "
             "modelled and the signed error (model / published - 1). One set of efficiency fractions per chip family "
             "(`data/catalog/efficiency/`) serves every row; no row has a knob of its own. Out-of-sample rows are "
             "figures quoted in the rows' notes that nothing was fitted to. How each estimator works and why the "
             "misses miss: the explanation pages next to this one."]

    def section(title: str, df: pd.DataFrame, bar: float, note: str) -> None:
        def why(r: Any) -> str:  # a row the model cannot predict says why
            status = str(getattr(r, "status", "") or "")
            return status.replace("|", "/") if status.startswith("not modelled") else _pct(r.error)
        rows = [[r.row, r.setup, f"{_num(r.measured)} {r.unit}".strip(),
                 "-" if r.predicted is None or pd.isna(r.predicted) else _num(r.predicted), why(r)]
                for r in df.itertuples()]
        errs = [float(e) for e in df["error"] if e is not None and not pd.isna(e)]
        parts.extend([f"## {title}", note, _md_table(["row", "setup", "published", "model", "error"], rows),
                      _summary(errs, bar)])

    bar_note = "Bar: each within {:.0f} %."
    section("Operators", operator_accuracy(calibration_csv), 0.10, bar_note.format(10))
    section("Operators, out of sample (figures quoted in the rows' notes; nothing was fitted to them)",
            operator_accuracy(calibration_csv, out_of_sample=True), 0.10, "")
    section("Collectives and MoE all-to-all", collective_accuracy(calibration_csv), 0.10, bar_note.format(10))
    section("Collectives, out of sample", collective_accuracy(calibration_csv, out_of_sample=True), 0.10, "")
    for title, df, bar, median in (("Serving", serving_accuracy(calibration_csv), 0.15, 0.10),
                                   ("Training (TFLOP/s per chip)", training_accuracy(calibration_csv), 0.10, 0.05)):
        section(title, pd.DataFrame({"row": df["id"], "setup": df["setup"], "unit": df["unit"] if "unit" in df else "TFLOP/s",
                                     "measured": df["published"], "predicted": df["modelled"],
                                     "error": df["error_pct"] / 100.0}),
                bar, bar_note.format(bar * 100) + f" Median |error| within {median * 100:.0f} %.")
        oos = OUT_OF_SAMPLE_SERVING_CASES if title == "Serving" else OUT_OF_SAMPLE_TRAINING_CASES
        section(f"{title}, out of sample", _evaluate(oos, lambda c: (float(c.measured or 0.0), "")), bar, "")
    predicted = {c.row for c in OPERATOR_CASES + COLLECTIVE_CASES} | set(SERVING_CASES) | set(TRAINING_CASES)
    unmodelled = sorted(set(read_calibration(calibration_csv)) - predicted)
    if unmodelled:
        parts.append("Rows of the calibration file no model case predicts (not in the tables above): " +
                     ", ".join(unmodelled) + ".")
    return "\n\n".join(p for p in parts if p) + "\n"
