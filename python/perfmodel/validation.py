"""Predictions next to published measurements (``calibration.csv``), with signed errors.

Each case says how a published row was measured (operator, shape, precision, metric) and
predicts the same metric with the built-in catalog and efficiency policies. No case carries a
tuning knob: the efficiency fractions are per chip family (``data/catalog/efficiency``).

>>> from perfmodel import validation
>>> df = validation.operator_accuracy("../shared/data/calibration.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from . import _core
from .operators import OpResult, attention, elementwise, gemm

__all__ = ["Case", "OPERATOR_CASES", "OUT_OF_SAMPLE_OPERATOR_CASES", "operator_accuracy", "read_calibration"]

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
    Case("FP-A100-01", "FlagPerf cuBLAS BF16 GEMM 8192^3 (A100 40GB: same compute as the 80GB part)",
         _gemm_tflops("nvidia-a100-sxm-80gb", 8192, 8192, 8192, "bf16")),
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

# Figures quoted in the notes of calibration rows: printed beside the table, not fitted.
OUT_OF_SAMPLE_OPERATOR_CASES: list[Case] = [
    Case("AZ-H100-01 note", "cuBLASLt FP8 8192^3 on H100", _gemm_tflops("nvidia-h100-sxm", 8192, 8192, 8192, "fp8"), 1290.1),
    Case("AZ-H100-01 note", "cuBLASLt FP8 4096^3 on H100", _gemm_tflops("nvidia-h100-sxm", 4096, 4096, 4096, "fp8"), 1216.9),
    Case("AZ-H100-01 note", "cuBLASLt FP8 1024^3 on H100", _gemm_tflops("nvidia-h100-sxm", 1024, 1024, 1024, "fp8"), 274.1),
    Case("AZ-GB200-01 note", "cuBLASLt FP8 8192^3 on GB200", _gemm_tflops("nvidia-gb200", 8192, 8192, 8192, "fp8"), 2876.6),
    Case("AZ-GB200-01 note", "cuBLASLt FP8 4096^3 on GB200", _gemm_tflops("nvidia-gb200", 4096, 4096, 4096, "fp8"), 2834.6),
    Case("DEEPGEMM-02 note", "DeepGEMM FP8 64x7168x16384 on H800", _gemm_tflops("nvidia-h800-sxm", 64, 7168, 16384, "fp8"), 336.0),
    Case("AZ-H100-02 note", "STREAM copy on H100 (TB/s)", _stream("nvidia-h100-sxm", "copy", TERA), 2.90),
    Case("AZ-H200-02 note", "STREAM copy on H200 (TB/s)", _stream("nvidia-h200-sxm", "copy", TERA), 4.01),
    Case("CM384-OP-02 note", "FlashMLA memory-bound decode on H800 (% of HBM)",
         lambda: 100.0 * attention("nvidia-h800-sxm", "decode", "mla", batch=128, q_len=1, kv_len=4096, heads=32).achieved_bandwidth / 3.35e12, 89.6),  # type: ignore[union-attr]
    Case("910B-LIM-03 note", "torch.exp fp32 on A800 (GB/s, one tensor counted)",
         _stream("nvidia-a100-sxm-80gb", "exp", 1e9, dtype="fp32", counted=0.5), 884.0),
]


def read_calibration(path: str | os.PathLike[str]) -> dict[str, dict[str, str]]:
    """Rows of calibration.csv by id; raises :class:`perfmodel.ConfigError` naming the file."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = {r["id"]: r for r in csv.DictReader(fh)}
    except OSError as exc:
        raise _core.ConfigError(f"{os.fspath(path)}: cannot read calibration file ({exc.strerror})") from exc
    except KeyError as exc:
        raise _core.ConfigError(f"{os.fspath(path)}: header has no 'id' column") from exc
    return rows


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

    def measured(c: Case) -> tuple[float, str]:
        if c.row not in rows:
            raise _core.ConfigError(f"{os.fspath(calibration_csv)}: no row with id '{c.row}'")
        return float(rows[c.row]["value"]), rows[c.row]["unit"]

    return _evaluate(OPERATOR_CASES, measured)
