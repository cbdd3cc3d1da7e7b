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


_FRACTIONS = ("matrix", "matrix_microbenchmark", "attention", "attention_prefill", "attention_backward", "vector",
              "memory", "mla_decode_memory")
_PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4")
_MAX_DIM = 2**20  # head sizes, ranks and tile sides: far past any model, inside the core's products


def _precision(name: str, value: Any) -> str:
    """A precision name, refused under the argument's own name (the core's message names none)."""
    text = _args.text(name, value)
    if text not in _PRECISIONS:
        raise _core.InvalidArgument(f"{name}: unknown precision {text!r}; expected one of {', '.join(_PRECISIONS)}")
    return text


def _overrides(efficiency: Any) -> dict[str, Any] | None:
    """Efficiency overrides in the types the core takes, each refused under its key."""
    if efficiency is None:
        return None
    if not isinstance(efficiency, Mapping):
        raise _core.InvalidArgument(f"efficiency: expected a dict of overrides, got {type(efficiency).__name__} {efficiency!r}")
    out: dict[str, Any] = {}
    for key, v in efficiency.items():
        if not isinstance(key, str):
            raise _core.InvalidArgument(f"efficiency: override names are strings, got {key!r}")
        where = f"efficiency override {key!r}"
        if key in _FRACTIONS:
            out[key] = _args.number(where, v)  # the range, (0, 1.2], is the core's
        elif key in ("launch_overhead", "launch_overhead_s"):
            out[key] = v if isinstance(v, str) else _args.number(where, v, 0.0)
        elif key == "epilogue_overlap":
            out[key] = _args.flag(where, v)
        elif key in ("mla_decode_rows", "swap_ab_rows"):  # the core's ranges: [1, 4096] and [0, 256]
            out[key] = _args.integer(where, v, 1, 4096) if key == "mla_decode_rows" else _args.integer(where, v, 0, 256)
        elif key == "tile_shapes":
            if not isinstance(v, (list, tuple)):
                raise _core.InvalidArgument(f"{where}: expected a list of (m, n) pairs, got {v!r}")
            tiles = []
            for t in v:
                if not isinstance(t, (list, tuple)) or len(t) != 2:
                    raise _core.InvalidArgument(f"{where}: expected (m, n) pairs, got {t!r}")
                tiles.append(tuple(_args.integer(where, x, 1, _MAX_DIM) for x in t))
            out[key] = tiles
        else:
            out[key] = v  # the core names unknown keys
    return out


def device(chip: str, catalog: Catalog | None = None, efficiency: Mapping[str, Any] | None = None) -> Any:
    """The prepared chip (catalog figures + its family's efficiency policy, with overrides).

    ``efficiency`` overrides policy fields: ``matrix``, ``matrix_microbenchmark``, ``attention``,
    ``attention_prefill`` (prefill and training-forward attention; default ``attention``),
    ``attention_backward`` (training's flash-attention backward rate over the forward's),
    ``vector``, ``memory``, ``mla_decode_memory`` (fractions in (0, 1.2]: above 1 a kernel beats
    the datasheet peak, as a conservative vendor figure allows, and ``fraction_of_peak`` passes 1),
    ``launch_overhead`` (seconds or "4 us"; also
    accepted as ``launch_overhead_s``, the key :func:`efficiency_policy` reports),
    ``epilogue_overlap`` (bool), ``mla_decode_rows`` (int: query rows per MLA decode tile),
    ``swap_ab_rows`` (int: row step of a GEMM below the smallest tile) and
    ``tile_shapes`` (list of ``(m, n)``).
    """
    cat = using(catalog)
    if not isinstance(chip, str):
        raise _core.InvalidArgument(f"chip: expected a chip or system id (a string), got {type(chip).__name__} {chip!r}")
    chip = _args.text("chip", chip)  # UTF-8, no NUL
    eff = _overrides(efficiency)
    if eff:
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
        try:
            a = np.asarray(x)
        except (ValueError, OverflowError):  # ragged nesting, or an integer past numpy's range
            raise _core.InvalidArgument(f"{name}: expected a flat list or array of integers, got {x!r}") from None
        if a.size == 0:
            raise _core.InvalidArgument(f"{name}: expected at least one value, got an empty array")
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or np.any(a != np.floor(a)):
                raise _core.InvalidArgument(f"{name}: expected integers, got non-integral or non-finite values")
        elif a.dtype.kind not in "iu":
            raise _core.InvalidArgument(f"{name}: expected integers, got dtype {a.dtype}")
        big = np.abs(a.astype(float)) > _args.INT64_MAX  # the int64 cast would wrap
        if a.dtype.kind != "b" and big.any():
            raise _core.InvalidArgument(f"{name}: expected integers <= {_args.INT64_MAX}, got {a.ravel()[big.ravel()][0]}")
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
    dtype = _precision("dtype", dtype)
    out_dtype = None if out_dtype is None else _precision("out_dtype", out_dtype)
    if _is_array(m, n, k, batch):
        if microbenchmark:
            raise _core.InvalidArgument("gemm: microbenchmark=True takes scalar shapes only")
        cols = _int_columns(m=m, n=n, k=k, batch=batch)
        out = dev.gemm_columns(cols["m"], cols["n"], cols["k"], cols["batch"], dtype, out_dtype)
        return _frame(cols, out, dev.peak(dtype))
    # Types here; signs and sizes in the core, whose messages name the operator.
    m, n, k, batch = (_args.integer(name, v, None) for name, v in (("m", m), ("n", n), ("k", k), ("batch", batch)))
    d = dev.gemm(m, n, k, batch, dtype, out_dtype, _args.flag("microbenchmark", microbenchmark))
    return _result("gemm", dev, d, {"m": m, "n": n, "k": k, "batch": batch, "dtype": dtype, "out_dtype": out_dtype})


def attention(chip: str, phase: str = "prefill", variant: str = "gqa", batch: int = 1, q_len: int | None = None,
              kv_len: int = 4096, heads: int = 32, kv_heads: int | None = None, head_dim: int = 128,
              head_dim_v: int | None = None, causal: bool = True, dtype: str = "bf16", kv_dtype: str | None = None,
              kv_lora_rank: int | None = None, rope_dim: int | None = None, catalog: Catalog | None = None,
              efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """Fused (flash-style) attention. ``variant`` is ``"mha"``, ``"gqa"``, ``"mqa"`` or ``"mla"``.

    ``q_len`` defaults to ``kv_len`` for prefill and 1 for decode. ``"gqa"`` without ``kv_heads``
    is MHA (kv_heads = heads); ``kv_heads`` that contradicts ``"mha"`` (heads) or ``"mqa"`` (1) is
    refused. For MLA, ``head_dim`` is the no-RoPE head dim (128 for DeepSeek-V3; prefill only);
    decode uses the absorbed latent of ``kv_lora_rank + rope_dim`` (default 512 + 64) per token
    shared by all heads, so ``kv_heads`` is refused there, and ``kv_lora_rank``/``rope_dim`` are
    refused for the other variants. ``batch``, ``q_len`` and ``kv_len`` may be arrays (a
    DataFrame is returned).
    """
    dev = device(chip, catalog, efficiency)
    phase, variant = _args.text("phase", phase), _args.text("variant", variant)
    if variant not in ("mha", "gqa", "mqa", "mla"):
        raise _core.InvalidArgument(f"variant: expected mha, gqa, mqa or mla, got {variant!r}")
    if q_len is None:
        q_len = kv_len if phase == "prefill" else 1
    heads = _args.integer("heads", heads, 1, _MAX_DIM)
    def opt(name: str, v: Any) -> int | None:
        return None if v is None else _args.integer(name, v, 1, _MAX_DIM)
    kv_heads, head_dim_v = opt("kv_heads", kv_heads), opt("head_dim_v", head_dim_v)
    if variant == "mla":
        if kv_heads is not None:
            raise _core.InvalidArgument("kv_heads: MLA's heads share one latent (kv_lora_rank + rope_dim); leave it out")
    elif kv_lora_rank is not None or rope_dim is not None:
        raise _core.InvalidArgument(f"kv_lora_rank, rope_dim: apply to variant='mla' only, got variant={variant!r}")
    elif kv_heads is not None and variant in ("mha", "mqa") and kv_heads != (heads if variant == "mha" else 1):
        raise _core.InvalidArgument(f"kv_heads: variant={variant!r} has {heads if variant == 'mha' else 1} KV heads, "
                                    f"got kv_heads={kv_heads} (use variant='gqa')")
    if variant == "gqa" and kv_heads is None:
        variant = "mha"
    args = dict(phase=phase, variant=variant, heads=heads, kv_heads=kv_heads,
                head_dim=_args.integer("head_dim", head_dim, 1, _MAX_DIM), head_dim_v=head_dim_v,
                causal=_args.flag("causal", causal), dtype=_precision("dtype", dtype),
                kv_dtype=None if kv_dtype is None else _precision("kv_dtype", kv_dtype),
                kv_lora_rank=opt("kv_lora_rank", 512 if kv_lora_rank is None else kv_lora_rank),
                rope_dim=opt("rope_dim", 64 if rope_dim is None else rope_dim))
    if _is_array(batch, q_len, kv_len):
        cols = _int_columns(batch=batch, q_len=q_len, kv_len=kv_len)
        rows = [dev.attention(batch=int(b), q_len=int(q), kv_len=int(kv), **args)
                for b, q, kv in zip(cols["batch"], cols["q_len"], cols["kv_len"])]
        df = pd.DataFrame(cols)
        return pd.concat([df, pd.DataFrame(rows)], axis=1)
    batch, q_len, kv_len = (_args.integer(k, v, None) for k, v in (("batch", batch), ("q_len", q_len), ("kv_len", kv_len)))
    d = dev.attention(batch=batch, q_len=q_len, kv_len=kv_len, **args)
    params = {"batch": batch, "q_len": q_len, "kv_len": kv_len, **{k: v for k, v in args.items() if k not in ("phase",)}}
    if variant != "mla":
        params.pop("kv_lora_rank"), params.pop("rope_dim")
    return _result(f"attention[{variant},{phase}]", dev, d, params)


def elementwise(chip: str, kind: str, elements: Any, dtype: str = "bf16", catalog: Catalog | None = None,
                efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """A memory-streaming op: ``kind`` is one of copy, scale, add, triad, exp, activation, gated,
    softmax, rmsnorm, layernorm, rope, cast_transpose (a 16-bit tensor cast to ``dtype`` and written
    row- and column-major, as FP8 training does for each GEMM operand). ``elements`` may be an array
    (DataFrame returned)."""
    dev = device(chip, catalog, efficiency)
    if _is_array(elements):
        cols = _int_columns(elements=elements)
        out = dev.elementwise_columns(_args.text("kind", kind), cols["elements"], _precision("dtype", dtype))
        return _frame(cols, out, dev.vector_peak)
    elements = _args.integer("elements", elements, None)
    d = dev.elementwise(_args.text("kind", kind), elements, _precision("dtype", dtype))
    return _result(f"elementwise[{kind}]", dev, d, {"elements": elements, "dtype": dtype})


def embedding(chip: str, tokens: int, hidden: int, dtype: str = "bf16", catalog: Catalog | None = None,
              efficiency: Mapping[str, Any] | None = None) -> OpResult:
    """Token-embedding gather of ``tokens`` rows of ``hidden`` values."""
    tokens, hidden = _args.integer("tokens", tokens), _args.integer("hidden", hidden)
    if tokens * hidden > 2**40:  # the elementwise bound, named here by this call's arguments
        raise _core.InvalidArgument(f"tokens x hidden: {tokens} x {hidden} = {tokens * hidden} values; at most 2^40")
    r = elementwise(chip, "copy", tokens * hidden, dtype, catalog, efficiency)
    assert isinstance(r, OpResult)
    return OpResult(**{**r.__dict__, "op": "embedding", "params": {"tokens": tokens, "hidden": hidden, "dtype": dtype}})


def lm_head(chip: str, tokens: Any, hidden: int, vocab: int, dtype: str = "bf16", catalog: Catalog | None = None,
            efficiency: Mapping[str, Any] | None = None) -> OpResult | pd.DataFrame:
    """Logits for ``tokens`` positions: a GEMM of tokens × vocab × hidden."""
    hidden, vocab = _args.integer("hidden", hidden), _args.integer("vocab", vocab)
    if not _is_array(tokens):
        tokens = _args.integer("tokens", tokens)
    try:
        return gemm(chip, tokens, vocab, hidden, dtype=dtype, catalog=catalog, efficiency=efficiency)
    except _core.InvalidArgument as exc:  # the GEMM's m, n, k are this call's tokens, vocab, hidden
        text = str(exc)
        text = text.replace("2·m·n·k·batch", "2·tokens·vocab·hidden").replace("gemm:", "lm_head:")
        for dim, name in (("m", "tokens"), ("n", "vocab"), ("k", "hidden")):
            text = text.replace(f"lm_head: {dim} ", f"lm_head: {name} ").replace(f"{dim}: expected", f"{name}: expected")
        raise _core.InvalidArgument(text) from None


def roofline_data(chip: str, precision: str = "bf16", catalog: Catalog | None = None,
                  efficiency: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Ceilings of the hierarchical roofline: compute (matrix/vector, peak and achievable) and
    memory tiers with their ridge points (FLOP/byte)."""
    return dict(device(chip, catalog, efficiency).roofline(_precision("precision", precision)))
