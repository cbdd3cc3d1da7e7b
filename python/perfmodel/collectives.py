"""Collective communication and MoE token exchange on catalog systems.

>>> import perfmodel
>>> r = perfmodel.collective("dgx-h100", "all_reduce", 8 * 2**30, ranks=8)
>>> r.algorithm, round(r.busbw / 1e9)
('in_network', 478)
"""

from __future__ import annotations

import re
import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import _args, _core
from .catalog import Catalog, using

__all__ = ["CollectiveResult", "collective", "moe_exchange", "network", "parse_sizes", "topology"]



@dataclass(frozen=True)
class CollectiveResult:
    """One collective: time [s], algorithm and bus bandwidth [B/s] (nccl-tests definitions).

    ``as_all_reduce``: the automatic choice ran a reduce-scatter, all-gather or broadcast as an
    all-reduce of the same buffer (``algorithm`` names that all-reduce's), faster than any of the
    collective's own algorithms."""

    system: str
    kind: str
    size: float
    ranks: int
    time_s: float
    algbw: float
    busbw: float
    algorithm: str
    as_all_reduce: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict (a sweep's row takes them as columns)."""
        return dataclasses.asdict(self)

    def __repr__(self) -> str:
        return (f"<CollectiveResult {self.kind} {self.size:.4g} B x{self.ranks} on {self.system}: "
                f"{self.time_s * 1e6:.4g} us, algbw {self.algbw / 1e9:.4g} GB/s, busbw {self.busbw / 1e9:.4g} GB/s, "
                f"{self.algorithm}{' (as all_reduce)' if self.as_all_reduce else ''}>")


def network(system: str, nodes: int = 1, ranks_per_chip: int = 1, catalog: Catalog | None = None,
            torus_shape: Sequence[int] | None = None, oversubscription: float | None = None,
            switch_radix: int | None = None) -> Any:
    """The fabrics of ``nodes`` copies of ``system`` (ranks are dies when ``ranks_per_chip`` > 1).

    ``torus_shape`` (a torus scale-up fabric; default: the most balanced exact shape),
    ``oversubscription`` (scale-out taper above the leaf switches; default: the catalog's, else 1)
    and ``switch_radix`` (scale-out switch ports; default: the catalog's, else 64) override the
    catalog for what-ifs.
    """
    cat = using(catalog)
    nodes = _args.integer("nodes", nodes, 1, _args.INT32_MAX)
    ranks_per_chip = _args.integer("ranks_per_chip", ranks_per_chip, 1, _args.INT32_MAX)
    if torus_shape is not None and (isinstance(torus_shape, (str, bytes)) or not isinstance(torus_shape, Sequence)):
        raise _core.InvalidArgument(f"torus_shape: expected a list of integers, got {torus_shape!r}")
    shape = tuple(_args.integer("torus_shape", k, 1, _args.INT32_MAX) for k in torus_shape or ())
    over = 0.0 if oversubscription is None else _args.number("oversubscription", oversubscription, 1.0)
    radix = 0 if switch_radix is None else _args.integer("switch_radix", switch_radix, 4, _args.INT32_MAX)
    key = ("network", cat.resolve(system), nodes, ranks_per_chip, shape, over, radix)
    return cat._prepared(key, lambda: _core.Network(cat._core, system, nodes, ranks_per_chip, list(shape),
                                                    over, radix))


_OVERRIDES = ("torus_shape", "oversubscription", "switch_radix")


def _network(system: str, nodes: int, ranks_per_chip: int, catalog: Catalog | None, overrides: dict[str, Any]) -> Any:
    """:func:`network` for the functions that take its what-ifs as keyword arguments."""
    unknown = sorted(set(overrides) - set(_OVERRIDES))
    if unknown:
        raise _args.UnknownOption(f"unknown option(s) {', '.join(unknown)}; expected {', '.join(_OVERRIDES)}")
    return network(system, nodes, ranks_per_chip, catalog, **overrides)


def topology(system: str, nodes: int = 1, ranks_per_chip: int = 1, check: bool = False,
             catalog: Catalog | None = None, **overrides: Any) -> pd.DataFrame:
    """Derived figures of each fabric level: one row per level (scale-up, then scale-out when
    ``nodes`` > 1 or the system spans several domains).

    Columns: ``endpoints`` (ranks in one instance of the level; scale-out: domains on one rail's
    tree), ``instances`` (scale-out: rails), ``injection_bandwidth`` and ``bisection_bandwidth``
    [B/s per direction], ``diameter`` and ``mean_hops`` (links between two ranks),
    ``switch_tiers``, ``oversubscription``, ``shape`` (torus). Closed forms; ``check=True``
    also builds each level as a graph (Boost.Graph, up to 4,096 endpoints) and adds the searched
    ``graph_*`` figures, which must agree. ``overrides``: ``torus_shape``, ``oversubscription``,
    ``switch_radix`` as in :func:`perfmodel.collectives.network`.

    >>> import perfmodel
    >>> t = perfmodel.topology("cloudmatrix-384")
    >>> row = t.loc[0]
    >>> row["topology"], int(row["endpoints"]), int(row["diameter"]), float(round(row["mean_hops"], 2))
    ('two-tier-clos', 384, 4, 3.96)
    """
    net = _network(system, nodes, ranks_per_chip, catalog, overrides)
    df = pd.DataFrame(net.describe())
    df.insert(0, "system", net.system)
    if _args.flag("check", check):
        measured = [net.measure_graph(level) for level in df["level"]]
        for key in ("connected", "diameter", "mean_hops"):
            df["graph_" + key] = [m[key] for m in measured]
        # The graph is one instance of the level (one rail's tree for scale-out).
        df["graph_bisection_bandwidth"] = [m["bisection_bandwidth"] * k for m, k in zip(measured, df["instances"])]
    return df


_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)\s*$", re.IGNORECASE)


_MAX_SIZE = 2 ** 62  # bytes: a size times a handful of copies stays inside 64-bit counts


def _size(text: Any, name: str = "sizes") -> int:
    """A size in bytes: a positive integer, or a string such as '64M' naming a whole number of bytes
    (errors name the argument ``name``)."""
    if not isinstance(text, str):
        return _args.integer(name, text, 1, _MAX_SIZE)
    m = _SIZE.match(text)
    if not m:
        raise _core.InvalidArgument(f"{name}: cannot read '{text}'; expected e.g. 1K, 64M, 8G (powers of 1024)")
    unit = m.group(2).upper()
    value = float(m.group(1)) * (1024 ** ("KMGT".find(unit) + 1) if unit else 1)
    if value != int(value) or value <= 0:
        raise _core.InvalidArgument(f"{name}: '{text}' is not a positive whole number of bytes")
    if value > _MAX_SIZE:  # as for a number (2^62): the string form skipped the bound
        raise _core.InvalidArgument(f"{name}: '{text}' is {value:.3g} bytes; at most 2^62 are modelled")
    return int(value)


def parse_sizes(spec: str) -> list[int]:
    """``"1K:8G"`` -> powers of two from 1 KiB to 8 GiB (nccl-tests ``-b 1K -e 8G -f 2``);
    ``"1M,64M"`` -> the listed sizes."""
    if not isinstance(spec, str):
        raise _core.InvalidArgument(f"sizes: expected a string such as '1K:8G' or '1M,64M', got {spec!r}")
    if ":" in spec:
        lo, hi = (_size(p) for p in spec.split(":", 1))
        if lo <= 0 or hi < lo:
            raise _core.InvalidArgument(f"sizes: '{spec}' must go from a positive size up to a larger one")
        out = []
        s = lo
        while s <= hi:
            out.append(s)
            s *= 2
        return out
    return [_size(p) for p in spec.split(",")]


def collective(system: str, kind: str, size: Any, ranks: int | None = None, algorithm: str | None = None,
               nodes: int = 1, ranks_per_chip: int = 1,
               catalog: Catalog | None = None, **overrides: Any) -> CollectiveResult | pd.DataFrame:
    """Time and bandwidths of one collective on ``system``.

    ``kind``: all_reduce, reduce_scatter, all_gather, all_to_all, broadcast, send_recv. ``size``
    in bytes (an int, a string like ``"8G"``, or an array -> DataFrame). ``ranks`` defaults to
    the whole network. ``algorithm``: ring, tree, in_network, direct, hierarchical, or None (or "auto") for
    the fastest the topology supports (for reduce-scatter, all-gather and broadcast possibly an
    all-reduce of the same buffer: ``as_all_reduce``). ``overrides``: ``torus_shape``, ``oversubscription``,
    ``switch_radix`` as in :func:`perfmodel.collectives.network`.
    """
    net = _network(system, nodes, ranks_per_chip, catalog, overrides)
    n = _args.integer("ranks", ranks, 1, _args.INT32_MAX) if ranks is not None else net.ranks
    scalar = not isinstance(size, (list, tuple, np.ndarray, pd.Series))
    if scalar:
        sizes = [size]
    elif isinstance(size, (list, tuple)):  # each element as given: numpy would turn True into 1, 1.5 into floats
        sizes = list(size)
        if any(isinstance(s, (list, tuple, np.ndarray)) for s in sizes):
            raise _core.InvalidArgument("size: expected a flat list of sizes, got nested lists")
    else:
        sizes = list(np.asarray(size).ravel())
    if not sizes:
        raise _core.InvalidArgument("size: expected at least one size")
    values = np.array([_size(s, "size") for s in sizes], dtype=float)
    algo = "auto" if algorithm is None else _args.text("algorithm", algorithm)
    time, algbw, busbw, algs, via = net.collective(_args.text("kind", kind), values, n, algo)
    if scalar:
        return CollectiveResult(net.system, kind, float(values[0]), n, float(time[0]), float(algbw[0]),
                                float(busbw[0]), algs[0], bool(via[0]))
    return pd.DataFrame({"system": net.system, "kind": kind, "size": values, "ranks": n, "time_s": time,
                         "algbw": algbw, "busbw": busbw, "algorithm": algs, "as_all_reduce": via})


def moe_exchange(system: str, phase: str = "dispatch", ranks: int = 8, tokens: int = 4096, hidden: int = 7168,
                 topk: int = 8, experts: int = 256, dtype: str | None = None, mode: str = "normal",
                 imbalance: float = 1.0, nodes: int = 1, ranks_per_chip: int = 1,
                 catalog: Catalog | None = None, **overrides: Any) -> dict[str, Any]:
    """MoE dispatch or combine with expert parallelism over ``ranks``.

    ``dtype`` defaults to fp8 for dispatch (with one fp32 scale per 128 values, as DeepEP and
    DeepEP-Ascend send) and bf16 for combine. ``mode`` is ``"normal"`` (one copy per token and
    rank, forwarded inside a domain) or ``"low_latency"`` (one copy per token and expert).
    ``overrides`` as in :func:`perfmodel.collectives.network`.

    ``bytes_per_rank`` counts every copy a rank sends (to itself too); ``remote_bytes_per_rank``
    the bytes the mean rank puts on links, a copy once per link it crosses: a normal-mode copy to
    another domain crosses RDMA and is then forwarded over scale-up, so across domains the link
    bytes can exceed the copies sent.
    """
    if dtype is None:
        dtype = "fp8" if phase == "dispatch" else "bf16"
    width = {"fp8": 1.0, "int8": 1.0, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0}.get(dtype) if isinstance(dtype, str) else None
    if width is None:
        raise _core.InvalidArgument(f"dtype: got {dtype!r}, expected fp8, int8, bf16, fp16 or fp32")
    ranks, tokens, hidden, topk, experts = (_args.integer(k, v, 1, _args.INT32_MAX) for k, v in (
        ("ranks", ranks), ("tokens", tokens), ("hidden", hidden), ("topk", topk), ("experts", experts)))
    imbalance = _args.number("imbalance", imbalance, 1.0)
    scales = hidden / 128 * 4 if width == 1.0 else 0.0
    net = _network(system, nodes, ranks_per_chip, catalog, overrides)
    d = dict(net.moe(_args.text("phase", phase), _args.text("mode", mode), tokens, hidden, topk, experts, width, scales,
                     imbalance, ranks))
    d.update(system=net.system, phase=phase, mode=mode, ranks=ranks, tokens=tokens)
    return d


def busbw_table(systems: Sequence[str], kind: str = "all_reduce", sizes: str = "1M:8G",
                ranks: int | None = None) -> pd.DataFrame:
    """Bus bandwidth vs size for several systems (a system id or a list of them; long format), as
    plotted by ``plot.busbw``."""
    # A string was iterated by character; an empty list left pandas nothing to concatenate.
    names = _args.ids("systems", systems, "a system id or a non-empty list of them")
    return pd.concat([collective(s, kind, parse_sizes(sizes), ranks) for s in names], ignore_index=True)  # type: ignore[misc]
