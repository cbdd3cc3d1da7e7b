"""Operator estimates on one chip: GEMM, attention, elementwise, embedding, LM head.

Each scalar call returns an :class:`OpResult` (time, FLOPs, bytes, intensity, achieved rate and
bandwidth, and which ceiling bound it). Passing numpy arrays for the shape arguments runs the
whole batch in C++ with the GIL released and returns a :class:`pandas.DataFrame`.

>>> import perfmodel
>>> r = perfmodel.gemm("h100", 8192, 8192, 8192, dtype="fp8")
>>> r.bound
'compute'
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from . import _args, _core
from .catalog import Catalog, using

__all__ = [
    "OpResult",
    "attention",
    "device",
    "efficiency_policy",
    "elementwise",
    "embedding",
    "gemm",
    "lm_head",
    "roofline_data",
]

_BOUNDS = np.array(["compute", "memory", "latency"])


@dataclass(frozen=True)
class OpResult:
    """One operator estimate. Times in seconds, rates in FLOP/s and B/s, sizes in bytes."""

    op: str
    chip: str
    time_s: float
    compute_time_s: float
    memory_time_s: float
    overhead_s: float
    flops: float
    hbm_bytes: float
    onchip_bytes: float
    intensity: float
    achieved_flops: float
    achieved_bandwidth: float
    peak_flops: float
    fraction_of_peak: float
    wave_efficiency: float
    bound: str
    tile: tuple[int, int] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "params"}
        d.update(self.params)
        return d

    def __repr__(self) -> str:
        return (
            f"<OpResult {self.op} on {self.chip}: {self.time_s * 1e6:.3g} us, "
            f"{self.achieved_flops / 1e12:.4g} TFLOP/s ({self.fraction_of_peak:.1%} of peak), "
            f"{self.achieved_bandwidth / 1e9:.4g} GB/s, {self.bound}-bound>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>" for k, v in self.to_dict().items()
        )
        return f"<table><thead><tr><th>field</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


_FRACTIONS = ("matrix", "matrix_microbenchmark", "attention", "attention_prefill", "vector", "memory")


def device(chip: str, catalog: Catalog | None = None, efficiency: Mapping[str, Any] | None = None) -> Any:
    """The prepared chip (catalog figures + its family's efficiency policy, with overrides).

    ``efficiency`` overrides policy fields: ``matrix``, ``matrix_microbenchmark``, ``attention``,
    ``attention_prefill`` (prefill and training-forward attention; default ``attention``),
    ``attention_backward`` (training's flash-attention backward rate over the forward's),
    ``vector``, ``memory``, ``mla_decode_memory`` (fractions in (0, 1.2]), ``launch_overhead`` (seconds or "4 us"; also
    accepted as ``launch_overhead_s``, the key :func:`efficiency_policy` reports),
    ``epilogue_overlap`` (bool), ``mla_decode_rows`` (int: query rows per MLA decode tile),
    ``swap_ab_rows`` (int: row step of a GEMM below the smallest tile) and
    ``tile_shapes`` (list of ``(m, n)``).
    """
    cat = using(catalog)
    if efficiency:
        if not isinstance(efficiency, Mapping):
            raise _core.InvalidArgument(f"efficiency: expected a dict of overrides, got {type(efficiency).__name__}")
        for key, v in efficiency.items():
            if key in _FRACTIONS and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise _core.InvalidArgument(f"efficiency override {key!r}: expected a number (a fraction in (0, 1.2]), "
                                            f"got {v!r}")
        eff = dict(efficiency)
        if "launch_overhead_s" in eff:  # the key efficiency_policy() reports, in seconds
            if "launch_overhead" in eff:
                raise _core.InvalidArgument("efficiency: give launch_overhead or launch_overhead_s, not both")
            eff["launch_overhead"] = eff.pop("launch_overhead_s")
        return _core.Device(cat._core, chip, eff)
    return cat._prepared(("device", cat.resolve(chip)), lambda: _core.Device(cat._core, chip))


def efficiency_policy(chip: str, catalog: Catalog | None = None) -> dict[str, Any]:
    """The efficiency policy used for ``chip``: fractions, launch overhead, tiles and sources."""
    return dict(device(chip, catalog).policy())


def _result(op: str, dev: Any, d: dict[str, Any], params: dict[str, Any]) -> OpResult:
    return OpResult(op=op, chip=dev.chip, params=params, **d)


def _is_array(*xs: Any) -> bool:
    return any(isinstance(x, (np.ndarray, list, tuple, pd.Series)) for x in xs)


def _int_columns(**xs: Any) -> dict[str, np.ndarray]:
    arrays = {}
    for name, x in xs.items():
        a = np.asarray(x)
        if a.size == 0:
            raise _core.InvalidArgument(f"{name}: expected at least one value, got an empty array")
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or np.any(a != np.floor(a)):
                raise _core.InvalidArgument(f"{name}: expected integers, got non-integral or non-finite values")
        elif a.dtype.kind not in "iu":
            raise _core.InvalidArgument(f"{name}: expected integers, got dtype {a.dtype}")
        arrays[name] = a
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise _core.InvalidArgument(f"array arguments do not broadcast together: {shapes}") from None
    return {k: np.ascontiguousarray(v, dtype=np.int64).ravel() for k, v in zip(arrays, shaped)}


def _frame(cols: dict[str, np.ndarray], out: tuple, peak: float) -> pd.DataFrame:
    time, flops, nbytes, bound = out
    df = pd.DataFrame(cols)
    df["time_s"] = time
    df["flops"] = flops
    df["hbm_bytes"] = nbytes
    df["intensity"] = np.divide(flops, nbytes, out=np.zeros_like(flops), where=nbytes > 0)
    df["achieved_flops"] = flops / time
    df["achieved_bandwidth"] = nbytes / time
    df["fraction_of_peak"] = df["achieved_flops"] / peak if peak > 0 else 0.0
    df["bound"] = pd.Categorical.from_codes(bound, categories=list(_BOUNDS))
    return df


def gemm(chip: str, m: Any, n: Any, k: Any, dtype: str = "bf16", out_dtype: str | None = None, batch: Any = 1,
         microbenchmark: bool = False, catalog: Catalog | None = None,
         efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """C = A·B with A m×k, B k×n (``batch`` of them) in ``dtype`` on ``chip``.

    Scalars give an :class:`OpResult`; arrays (broadcast together) give a DataFrame with one row
    per shape. ``microbenchmark=True`` models a vendor peak loop whose operands stay on chip.
    """
    dev = device(chip, catalog, efficiency)
    if _is_array(m, n, k, batch):
        if microbenchmark:
            raise _core.InvalidArgument("gemm: microbenchmark=True takes scalar shapes only")
        cols = _int_columns(m=m, n=n, k=k, batch=batch)
        out = dev.gemm_columns(cols["m"], cols["n"], cols["k"], cols["batch"], _args.text("dtype", dtype),
                               None if out_dtype is None else _args.text("out_dtype", out_dtype))
        return _frame(cols, out, dev.peak(dtype))
    # Types here; signs and sizes in the core, whose messages name the operator.
    m, n, k, batch = (_args.integer(name, v, None) for name, v in (("m", m), ("n", n), ("k", k), ("batch", batch)))
    d = dev.gemm(m, n, k, batch, _args.text("dtype", dtype), None if out_dtype is None else _args.text("out_dtype", out_dtype),
                 _args.flag("microbenchmark", microbenchmark))
    return _result("gemm", dev, d, {"m": m, "n": n, "k": k, "batch": batch, "dtype": dtype})


def attention(chip: str, phase: str = "prefill", variant: str = "gqa", batch: int = 1, q_len: int | None = None,
              kv_len: int = 4096, heads: int = 32, kv_heads: int | None = None, head_dim: int = 128,
              head_dim_v: int | None = None, causal: bool = True, dtype: str = "bf16", kv_dtype: str | None = None,
              kv_lora_rank: int = 512, rope_dim: int = 64, catalog: Catalog | None = None,
              efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """Fused (flash-style) attention. ``variant`` is ``"mha"``, ``"gqa"``, ``"mqa"`` or ``"mla"``.

    ``q_len`` defaults to ``kv_len`` for prefill and 1 for decode. For MLA, ``head_dim`` is the
    no-RoPE head dim (128 for DeepSeek-V3); decode uses the absorbed latent of
    ``kv_lora_rank + rope_dim`` per token shared by all heads. ``batch``, ``q_len`` and
    ``kv_len`` may be arrays (a DataFrame is returned).
    """
    dev = device(chip, catalog, efficiency)
    if q_len is None:
        q_len = kv_len if phase == "prefill" else 1
    if variant == "gqa" and kv_heads is None:
        variant = "mha"
    def opt(name: str, v: Any) -> int | None:
        return None if v is None else _args.integer(name, v, None)
    args = dict(phase=_args.text("phase", phase), variant=_args.text("variant", variant),
                heads=_args.integer("heads", heads, None), kv_heads=opt("kv_heads", kv_heads),
                head_dim=_args.integer("head_dim", head_dim, None), head_dim_v=opt("head_dim_v", head_dim_v),
                causal=_args.flag("causal", causal), dtype=_args.text("dtype", dtype),
                kv_dtype=None if kv_dtype is None else _args.text("kv_dtype", kv_dtype),
                kv_lora_rank=_args.integer("kv_lora_rank", kv_lora_rank, None),
                rope_dim=_args.integer("rope_dim", rope_dim, None))
    if _is_array(batch, q_len, kv_len):
        cols = _int_columns(batch=batch, q_len=q_len, kv_len=kv_len)
        rows = [dev.attention(batch=int(b), q_len=int(q), kv_len=int(kv), **args)
                for b, q, kv in zip(cols["batch"], cols["q_len"], cols["kv_len"])]
        df = pd.DataFrame(cols)
        return pd.concat([df, pd.DataFrame(rows)], axis=1)
    batch, q_len, kv_len = (_args.integer(k, v, None) for k, v in (("batch", batch), ("q_len", q_len), ("kv_len", kv_len)))
    d = dev.attention(batch=batch, q_len=q_len, kv_len=kv_len, **args)
    return _result(f"attention[{variant},{phase}]", dev, d,
                   {"batch": batch, "q_len": q_len, "kv_len": kv_len, "heads": heads, "dtype": dtype})


def elementwise(chip: str, kind: str, elements: Any, dtype: str = "bf16", catalog: Catalog | None = None,
                efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """A memory-streaming op: ``kind`` is one of copy, scale, add, triad, exp, activation, gated,
    softmax, rmsnorm, layernorm, rope, cast_transpose (a 16-bit tensor cast to ``dtype`` and written
    row- and column-major, as FP8 training does for each GEMM operand). ``elements`` may be an array
    (DataFrame returned)."""
    dev = device(chip, catalog, efficiency)
    if _is_array(elements):
        cols = _int_columns(elements=elements)
        out = dev.elementwise_columns(_args.text("kind", kind), cols["elements"], _args.text("dtype", dtype))
        return _frame(cols, out, dev.vector_peak)
    elements = _args.integer("elements", elements, None)
    d = dev.elementwise(_args.text("kind", kind), elements, _args.text("dtype", dtype))
    return _result(f"elementwise[{kind}]", dev, d, {"elements": elements, "dtype": dtype})


def embedding(chip: str, tokens: int, hidden: int, dtype: str = "bf16", catalog: Catalog | None = None,
              efficiency: Mapping[str, Any] | None = None) -> OpResult:
    """Token-embedding gather of ``tokens`` rows of ``hidden`` values."""
    tokens, hidden = _args.integer("tokens", tokens), _args.integer("hidden", hidden)
    r = elementwise(chip, "copy", tokens * hidden, dtype, catalog, efficiency)
    assert isinstance(r, OpResult)
    return OpResult(**{**r.__dict__, "op": "embedding", "params": {"tokens": tokens, "hidden": hidden, "dtype": dtype}})


def lm_head(chip: str, tokens: Any, hidden: int, vocab: int, dtype: str = "bf16", catalog: Catalog | None = None,
            efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """Logits for ``tokens`` positions: a GEMM of tokens × vocab × hidden."""
    return gemm(chip, tokens, vocab, hidden, dtype=dtype, catalog=catalog, efficiency=efficiency)


def roofline_data(chip: str, precision: str = "bf16", catalog: Catalog | None = None,
                  efficiency: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Ceilings of the hierarchical roofline: compute (matrix/vector, peak and achievable) and
    memory tiers with their ridge points (FLOP/byte)."""
    return dict(device(chip, catalog, efficiency).roofline(_args.text("precision", precision)))
