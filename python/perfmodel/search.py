"""Design-space search over training and serving plans, in C++ on every core.

Every combination of the listed values is a candidate (a Cartesian product). Candidates that
break a structural rule are pruned a sub-space at a time; the rest are estimated, checked
against memory and the constraints, and reduced to the best ``top_k`` (one objective) or the
Pareto front (two or three objectives). The GIL is released while searching.

>>> import perfmodel
>>> df = perfmodel.search_training("llama-3.1-8b", "dgx-h100", tp=[1, 2, 4, 8], pp=[1, 2],
...                                micro_batch=[1, 2], global_batch=64, seq_len=4096, progress=False)
>>> df.attrs["total"], df.attrs["evaluated"] > 0
(16, True)
>>> bool(df["mfu"].iloc[0] >= df["mfu"].max())
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import _args, _core
from ._progress import make_callback
from .catalog import Catalog, using
from .models import Model, get as get_model
from .power import mixed_basis_warning

__all__ = ["search_fields", "search_inference", "search_training"]

_TRAINING_DIMS = ("n_chips", "precision", "tp", "cp", "pp", "dp", "ep", "virtual_stages", "micro_batch",
                  "recompute", "sharding", "sequence_parallel", "overlap_dp", "overlap_tp", "overlap_pp")
_SERVING_DIMS = ("ranks_per_chip", "precision", "tp", "dp_attention", "pp", "ep", "prefill_parallel",
                 "mtp_tokens", "batch", "overlap")
_COST_KEYS = {"price_per_kwh", "pue", "years", "utilization", "capex"}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>|==)\s*([-+0-9.eE]+)\s*$")


def search_fields(kind: str = "training") -> pd.DataFrame:
    """The output fields a search can rank by or constrain (``kind``: "training" or "serving"),
    with their natural sense (min/max) and meaning."""
    if kind not in ("training", "serving"):
        raise _core.InvalidArgument(f"kind: expected 'training' or 'serving', got {kind!r}")
    return pd.DataFrame(_core.search_fields(kind), columns=["field", "sense", "description"])


def search_training(model: str | Model, systems: str | Sequence[str], *,
                    objective: str | Sequence[str] = "tokens_per_s_per_chip",
                    constraints: Mapping[str, Any] | Sequence[str] | None = None,
                    top_k: int = 10, keep_all: bool = False, threads: int = 0,
                    progress: bool | Callable[[int, int], Any] | None = None,
                    cost: Mapping[str, float] | None = None, catalog: Catalog | None = None,
                    n_chips: Any = None, precision: Any = None, tp: Any = None, cp: Any = None, pp: Any = None,
                    dp: Any = None, ep: Any = None, virtual_stages: Any = None, micro_batch: Any = None,
                    recompute: Any = None, sharding: Any = None, sequence_parallel: Any = None,
                    overlap_dp: Any = None, overlap_tp: Any = None, overlap_pp: Any = None,
                    **fixed: Any) -> pd.DataFrame:
    """Search training plans of ``model`` on one or several catalog ``systems``.

    Each plan dimension (``n_chips``, ``precision``, ``tp``, ``cp``, ``pp``, ``dp``, ``ep``,
    ``virtual_stages``, ``micro_batch``, ``recompute``, ``sharding``, ``sequence_parallel``,
    ``overlap_dp``, ``overlap_tp``, ``overlap_pp``) takes a value or a list of values; left out,
    it keeps :func:`perfmodel.training`'s default (``dp``: n_chips / (tp x cp x pp); ``n_chips``:
    the system's chips). Other keyword arguments (``global_batch``, ``seq_len``,
    ``train_tokens``, ...) are fixed for every candidate.

    ``objective``: an output field (see :func:`search_fields`), optionally prefixed ``"max:"`` or
    ``"min:"``; a list of 2 or 3 returns their Pareto front. ``constraints``: ``{field: (lo, hi)}``
    (None: open) or strings such as ``"memory_per_chip_GB <= 70"``. ``cost``: ``price_per_kwh``,
    ``pue``, ``years``, ``utilization``, ``capex`` (USD per system, or ``{system: USD}``) for the
    ``usd_*`` fields; :func:`perfmodel.cost`'s name for the per-token cost is taken for
    ``usd_per_million_tokens`` where it is the same figure (trained tokens here; output tokens in a
    serving search, input tokens in prefill mode), and refused where it is not. Systems come back
    by catalog id.

    Returns a DataFrame (the best ``top_k`` rows, the front, or with ``keep_all`` every feasible
    candidate, best first) with the plan columns, the output fields and the bottleneck. ``df.attrs`` holds
    the counts (``total``, ``pruned``, ``evaluated``, ``feasible``), ``reasons`` (why candidates
    were rejected), ``seconds``, ``candidates_per_second``, ``threads`` and a one-line ``summary``;
    with ``cost``, ``cost_unknown`` names each searched system without a price (catalog or capex).
    Energy fields are all-in for systems with a power model and chips-only otherwise: the
    ``energy_basis`` column says which, and ``attrs["warnings"]`` flags a search that mixes them.
    A space where nothing fits gives an empty frame with the reasons, not an exception.

    ``progress``: None draws a bar on a terminal or in a notebook, True always, False never; or a
    callable ``f(done, total)`` called with ``(0, total)`` before any work and then about every
    0.1 s; returning Python's ``False`` (only that) cancels the search (``attrs["cancelled"]``)."""
    dims = {"n_chips": n_chips, "precision": precision, "tp": tp, "cp": cp, "pp": pp, "dp": dp, "ep": ep,
            "virtual_stages": virtual_stages, "micro_batch": micro_batch, "recompute": recompute,
            "sharding": sharding, "sequence_parallel": sequence_parallel, "overlap_dp": overlap_dp,
            "overlap_tp": overlap_tp, "overlap_pp": overlap_pp}
    if "n_chips" in fixed or "chips" in fixed:
        raise _core.InvalidArgument("chips: pass n_chips (a value or a list)")
    return _run("training", model, systems, dims, fixed, objective, constraints, top_k, keep_all, threads,
                progress, cost, catalog)


def search_inference(model: str | Model, systems: str | Sequence[str], /, *,
                     objective: str | Sequence[str] | None = None,
                     constraints: Mapping[str, Any] | Sequence[str] | None = None,
                     tpot_ms: float | None = None, ttft_ms: float | None = None,
                     top_k: int = 10, keep_all: bool = False, threads: int = 0,
                     progress: bool | Callable[[int, int], Any] | None = None,
                     cost: Mapping[str, float] | None = None, catalog: Catalog | None = None,
                     ranks_per_chip: Any = None, precision: Any = None, tp: Any = None, dp_attention: Any = None,
                     pp: Any = None, ep: Any = None, prefill_parallel: Any = None, mtp_tokens: Any = None,
                     batch: Any = None, overlap: Any = None, **fixed: Any) -> pd.DataFrame:
    """Search serving plans of ``model`` on one or several catalog ``systems``.

    Dimensions (a value or a list): ``ranks_per_chip``, ``precision`` (weight precision or a dict
    with weights/kv_cache/attention), ``tp``, ``dp_attention``, ``pp``, ``ep`` (0: all ranks of
    a stage), ``prefill_parallel`` (None for prefill on the decode instance, or a dict such as
    ``{"tp": 8}`` for a disaggregated prefill instance), ``mtp_tokens`` (0 turns MTP off),
    ``batch`` and ``overlap``. Other keyword arguments (``mode``, ``input_len``, ``output_len``,
    ``kv_len``, ``mtp_acceptance``, ``expert_imbalance``, ...) are fixed. ``tpot_ms`` and
    ``ttft_ms`` are shortcuts for the latency constraints. ``objective`` defaults to output tokens/s
    per chip (input tokens/s per chip with ``mode="prefill"``). Rows carry the plan to pass back
    to :func:`perfmodel.inference` (``ep`` is 1 for dense models; ``prefill_*`` columns describe a
    disaggregated prefill instance). ``systems=N`` as a keyword is the plan's ``systems`` (copies of
    each catalog system joined over their scale-out network for an instance, e.g. 2 HGX nodes;
    default 1), fixed for the search and carried by the rows. Otherwise as :func:`search_training`."""
    if "systems" in fixed:  # the engine would reject every candidate as larger than the system
        fixed["systems"] = _args.integer("systems", fixed["systems"], 1, 1 << 22)
    if objective is None:
        objective = "input_tokens_per_s_per_chip" if fixed.get("mode") == "prefill" else "output_tokens_per_s_per_chip"
    dims = {"ranks_per_chip": ranks_per_chip, "precision": precision, "tp": tp, "dp_attention": dp_attention,
            "pp": pp, "ep": ep, "prefill_parallel": prefill_parallel, "mtp_tokens": mtp_tokens, "batch": batch,
            "overlap": overlap}
    cons = _constraints(constraints, "serving", str(fixed.get("mode", "serve")))
    for name, limit in (("tpot_ms", tpot_ms), ("ttft_ms", ttft_ms)):
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
                raise _core.InvalidArgument(f"{name}: expected a positive number of milliseconds, got {limit!r}")
            _check_fields("serving", str(fixed.get("mode", "serve")), [], [(name, None, None)], where=name)
            cons.append((name, None, float(limit)))
    return _run("serving", model, systems, dims, fixed, objective, cons, top_k, keep_all, threads, progress,
                cost, catalog)


def _run(kind: str, model: str | Model, systems: str | Sequence[str], dims: dict[str, Any], fixed: dict[str, Any],
         objective: str | Sequence[str], constraints: Any, top_k: int, keep_all: bool, threads: int,
         progress: Any, cost: Mapping[str, float] | None, catalog: Catalog | None) -> pd.DataFrame:
    # A misspelt fixed option is the caller's typo, raised as such (a TypeError too, so a sweep over
    # searches stops on it rather than recording it on every row).
    if kind == "training":
        from .training import _PLAN_KEYS as known
    else:
        from .inference import _PLAN_KEYS as plan_keys, _PRECISION_KEYS

        known = plan_keys | _PRECISION_KEYS
    _args.refuse_unknown(fixed, known | set(dims), kind, sorted(known - set(dims)))
    m = get_model(model)
    cat = using(catalog)
    sys_list = [systems] if isinstance(systems, str) else list(systems) if isinstance(systems, Iterable) else None
    if not sys_list or not all(isinstance(s, str) for s in sys_list):
        raise _core.InvalidArgument(f"systems: expected a catalog system id or a non-empty list of them, got {systems!r}")
    # Rows name systems by catalog id, as estimates do (an alias typed here came back as typed);
    # an unknown name is left for the search's own did-you-mean error.
    given, sys_list = sys_list, [cat.resolve(s) if s in cat else s for s in sys_list]
    if len(set(sys_list)) < len(sys_list):
        dup = next(s for i, s in enumerate(sys_list) if s in sys_list[:i])
        names = [g for g, s in zip(given, sys_list) if s == dup]
        raise _core.InvalidArgument(f"systems: {' and '.join(map(repr, names))} name the same system ({dup})")
    space = {k: _values(k, v) for k, v in dims.items() if v is not None}
    if kind == "serving" and "precision" in fixed:
        raise _core.InvalidArgument("precision: pass it as a dimension (a value or a list)")
    top_k = _args.integer("top_k", top_k, 1, _args.INT32_MAX)
    threads = _args.integer("threads", threads, 0, _args.INT32_MAX)  # 0: one per core
    mode = str(fixed.get("mode", "serve"))
    options = {"objectives": _objectives(objective, kind, mode), "top_k": top_k,
               "keep_all": _args.flag("keep_all", keep_all), "threads": threads,
               "constraints": _constraints(constraints, kind, mode), "cost": _cost(cost, sys_list, cat)}
    _check_fields(kind, mode, options["objectives"], options["constraints"])
    total = math.prod(len(v) for v in space.values()) * len(sys_list)
    report, close = make_callback(progress, desc=f"search {kind}")
    try:
        fn = _core.search_training if kind == "training" else _core.search_inference
        d = fn(m._core, cat._core, sys_list, dict(fixed), space, options, None if progress is False else report)
    finally:
        close()
    rows = d["all"] if keep_all else d["front"] if len(options["objectives"]) > 1 else d["best"]
    df = _frame(rows, d["fields"])
    if keep_all and len(df):  # every feasible candidate, best first by the first objective, then id
        field, sense = d["objectives"][0]
        df = df.sort_values([field, "id"], ascending=[sense == "min", True], kind="mergesort").reset_index(drop=True)
    if kind == "serving" and "ep" in df and not m.to_dict().get("moe"):
        df["ep"] = 1  # a dense model has no expert group (the engine reports tp x dp_attention)
    if kind == "serving" and "system" in df:  # rows pass back to inference(): the copies of the system it may use
        df.insert(df.columns.get_loc("system") + 1, "systems", int(fixed.get("systems", 1)))
    _label_energy_basis(df, cat, sys_list, f"search_{kind if kind == 'training' else 'inference'}")
    _label_unpriced(df, cat, sys_list, options["cost"])
    # Figures of 'rumour' confidence the searched systems rest on, at the precisions searched.
    from .catalog import rumour_inputs

    precs = {p for v in [*space.get("precision", []), fixed.get("precision")]
             for p in (v.values() if isinstance(v, Mapping) else [v]) if isinstance(p, str)}
    df.attrs["rumour"] = {s: rumour_inputs(cat.resolve(s), precs or ("bf16",), energy=True, catalog=cat) for s in sys_list}
    df.attrs.update({
        "kind": kind, "model": m.id, "systems": sys_list, "objectives": [f"{s}:{f}" for f, s in d["objectives"]],
        "total": int(d["total"]), "pruned": int(d["pruned"]), "evaluated": int(d["evaluated"]),
        "feasible": int(d["feasible"]), "reasons": {k: int(n) for k, n in d["reasons"]},
        "seconds": float(d["seconds"]), "threads": int(d["threads"]), "cancelled": bool(d["cancelled"]),
        "candidates_per_second": float(d["total"]) / d["seconds"] if d["seconds"] > 0 else float(total),
    })
    df.attrs["summary"] = _summary(df.attrs)
    # Every candidate refused for a fixed option's value (input_len=-5): an argument error, not an
    # empty result.
    prefix = "rejected by the estimator, e.g. "
    only = list(df.attrs["reasons"])
    if df.empty and len(only) == 1 and only[0].startswith(prefix) and \
            only[0][len(prefix):].split(":")[0] in fixed and df.attrs["reasons"][only[0]] == df.attrs["total"]:
        raise _core.InvalidArgument(only[0][len(prefix):])
    return df


def _values(name: str, v: Any) -> list[Any]:
    if isinstance(v, (str, Mapping)) or not isinstance(v, Iterable):
        return [v]
    out = list(v)
    if not out:
        raise _core.InvalidArgument(f"{name}: expected a value or a non-empty list of values, got an empty list")
    if len(out) > 65535:  # the engine numbers a dimension's values in 16 bits
        raise _core.InvalidArgument(f"{name}: {len(out):,} values; a dimension takes at most 65,535")
    seen: set[str] = set()
    unique = []
    for x in out:  # a value listed twice would give the same plan twice (and take two top_k slots)
        key = repr(sorted(x.items())) if isinstance(x, Mapping) else f"{type(x).__name__}:{x!r}"
        if key not in seen:
            seen.add(key)
            unique.append(x)
    return unique


# cost()'s names for the search's per-token cost field (output, prefill-mode input, trained).
_FIELD_ALIASES = {f"usd_per_million_{k}_tokens": "usd_per_million_tokens" for k in ("output", "input", "trained")}
# Fields a serving mode has no value for: the phase it lacks (a limit on them removed every row).
_NO_FIELD_IN_MODE = {
    "prefill": ("tpot_ms", "output_tokens_per_s_per_chip", "output_tokens_per_s_per_instance",
                "output_tokens_per_s_per_system", "joules_per_output_token", "output_tokens_per_joule"),
    "decode": ("ttft_ms", "input_tokens_per_s_per_chip", "joules_per_input_token"),
}


def _priced_tokens(kind: str, mode: str) -> str:
    """Which tokens usd_per_million_tokens counts in this search: cost()'s name for it is the alias."""
    return "trained" if kind == "training" else "input" if mode == "prefill" else "output"


def _alias(where: str, field: str, kind: str, mode: str) -> str:
    """``field`` with cost()'s name for the per-token cost mapped to the search's; a cost alias for
    tokens this search does not price is refused (it would rank or filter on another figure)."""
    if field not in _FIELD_ALIASES:
        return field
    tokens = _priced_tokens(kind, mode)
    if field != f"usd_per_million_{tokens}_tokens":
        what = "a training search" if kind == "training" else f"a {mode}-mode search"
        raise _core.InvalidArgument(f"{where}: {field}: {what} prices {tokens} tokens; use "
                                    f"usd_per_million_{tokens}_tokens (or usd_per_million_tokens)")
    return _FIELD_ALIASES[field]


def _check_fields(kind: str, mode: str, objectives: list[tuple[str, str]], constraints: list[tuple[str, Any, Any]],
                  where: str | None = None) -> None:
    """(Serving) refuse a field the mode has no value for, naming the argument (``where``, else
    objective or constraints): a limit on it removed every row, an objective on it ranked nothing."""
    for arg, names in (("objective", [f for f, _ in objectives]), ("constraints", [c[0] for c in constraints])):
        for f in names:
            if kind == "serving" and f in _NO_FIELD_IN_MODE.get(mode, ()):
                head = where if where else f"{arg}: {f}"
                raise _core.InvalidArgument(f"{head}: a {mode}-only plan (mode={mode!r}) has no "
                                            f"{'decode' if mode == 'prefill' else 'prefill'} phase to give it; "
                                            "use mode='serve', or drop it")


def _objectives(objective: str | Sequence[str], kind: str, mode: str) -> list[tuple[str, str]]:
    items = [objective] if isinstance(objective, str) else list(objective) if isinstance(objective, Iterable) else None
    if not items or not all(isinstance(o, str) for o in items):
        raise _core.InvalidArgument(f"objective: expected a field name or a list of 2-3, got {objective!r}")
    out = []
    for o in items:
        sense, _, field = o.rpartition(":")
        if sense not in ("", "min", "max"):
            raise _core.InvalidArgument(f"objective: {o!r}: the prefix must be 'min:' or 'max:'")
        out.append((_alias("objective", field.strip(), kind, mode), sense or "auto"))
    return out


def _constraints(constraints: Mapping[str, Any] | Sequence[str] | None, kind: str,
                 mode: str) -> list[tuple[str, float | None, float | None]]:
    if constraints is None:
        return []
    out: list[tuple[str, float | None, float | None]] = []
    if isinstance(constraints, Mapping):
        for field, bounds in constraints.items():
            if not (isinstance(bounds, Sequence) and not isinstance(bounds, str) and len(bounds) == 2):
                raise _core.InvalidArgument(f"constraints[{field!r}]: expected (min, max) with None for open, got {bounds!r}")
            lo, hi = (None if b is None else _number(f"constraints[{field!r}]", b) for b in bounds)
            out.append((_alias("constraints", str(field), kind, mode), lo, hi))
        return out
    if isinstance(constraints, str) or not isinstance(constraints, Iterable):
        raise _core.InvalidArgument(f"constraints: expected a dict or a list of strings, got {constraints!r}")
    for c in constraints:
        if isinstance(c, tuple) and len(c) == 3:  # already parsed (tpot_ms / ttft_ms shortcuts)
            out.append(c)
            continue
        match = _CONSTRAINT.match(c) if isinstance(c, str) else None
        if match is None:
            raise _core.InvalidArgument(f"constraints: {c!r}: expected 'field <= value' or 'field >= value'")
        field, op, value = match.group(1), match.group(2), _number("constraints", match.group(3))
        field = _alias("constraints", field, kind, mode)
        if op == "==":
            out.append((field, value, value))
        elif op in ("<=", "<"):  # a strict bound: the next double inside it
            out.append((field, None, value if op == "<=" else math.nextafter(value, -math.inf)))
        else:
            out.append((field, value if op == ">=" else math.nextafter(value, math.inf), None))
    return out


def _number(where: str, v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise _core.InvalidArgument(f"{where}: expected a number, got {v!r}") from None
    if math.isnan(x):
        raise _core.InvalidArgument(f"{where}: expected a number, got NaN")
    return x


def _cost(cost: Mapping[str, Any] | None, systems: list[str], cat: Catalog) -> dict[str, Any]:
    """Prices; ``capex`` is USD per system: a number (one system searched) or {system: USD}."""
    if cost is None:
        return {}
    if not isinstance(cost, Mapping):
        raise _core.InvalidArgument(f"cost: expected a dict with {', '.join(sorted(_COST_KEYS))}, got {cost!r}")
    unknown = sorted(set(cost) - _COST_KEYS)
    if unknown:
        raise _core.InvalidArgument(f"cost.{unknown[0]}: unknown key; expected {', '.join(sorted(_COST_KEYS))}")
    out: dict[str, Any] = {k: _number(f"cost.{k}", v) for k, v in cost.items() if v is not None and k != "capex"}
    capex = cost.get("capex")
    if isinstance(capex, Mapping):
        out["capex"] = {}
        for k, v in capex.items():
            if str(k) not in cat:
                raise _core.InvalidArgument(f"cost.capex[{k!r}]: no catalog system of that name")
            sid = cat.resolve(str(k))
            if sid in out["capex"]:  # an alias and the id: which price wins would depend on their order
                raise _core.InvalidArgument(f"cost.capex[{k!r}]: names {sid}, which another key already prices")
            out["capex"][sid] = _number(f"cost.capex[{k!r}]", v)
    elif capex is not None:
        if len(systems) != 1:
            raise _core.InvalidArgument("cost.capex: several systems are searched; give a dict {system: USD per system}")
        out["capex"] = {systems[0]: _number("cost.capex", capex)}
    return out


def _frame(rows: Mapping[str, Any], fields: list[str]) -> pd.DataFrame:
    """Plan columns, then output fields. A field unknown for every row is left out; one unknown
    for some rows (e.g. energy on a chip family without energy data) is a nullable column with
    <NA> there, never NaN."""
    cols: dict[str, Any] = {"id": np.asarray(rows["id"], dtype=np.uint64), "system": list(rows["system"])}
    cols.update({k: list(v) for k, v in rows["plan"].items()})
    values = np.asarray(rows["values"], dtype=float).reshape(len(cols["id"]), len(fields))
    for j, name in enumerate(fields):
        col = values[:, j]
        missing = np.isnan(col)
        if missing.all() and len(col) > 0:
            continue
        cols[name] = pd.array(col, dtype="Float64") if missing.any() else col
    cols["bottleneck"] = list(rows["bottleneck"])
    df = pd.DataFrame(cols)
    if "prefill_tp" in df and df["prefill_tp"].isna().any():
        # Rows without a prefill instance leave these empty: integers that may be missing (a float
        # prefill_pp of 1.0 could not be passed back to inference()).
        for c in ("prefill_tp", "prefill_dp_attention", "prefill_pp"):
            if c in df:
                df[c] = pd.array([None if pd.isna(v) else int(v) for v in df[c].tolist()], dtype="Int64")
    return df


_ENERGY_FIELDS = ("watts_per_chip", "joules_per_token", "tokens_per_joule", "gflops_per_watt", "energy_to_train_MWh",
                  "joules_per_output_token", "joules_per_input_token", "output_tokens_per_joule")


def _label_energy_basis(df: pd.DataFrame, cat: Catalog, searched: Sequence[str], where: str) -> None:
    """Energy fields are all-in (chips plus the system's CPUs, switches, optics, losses, cooling)
    only for systems with a power model; others report the chips alone. Say which, per row, and
    warn when the searched systems mix the two (the ranking compared them, whichever rows are
    shown), so chips-only joules are never ranked against all-in ones unawares."""
    present = [c for c in _ENERGY_FIELDS if c in df]
    if not present:
        return
    basis = {cat.resolve(s): "system" if "power_model" in cat.get(s).to_dict() else "chips only" for s in searched}
    if not df.empty:
        df.insert(df.columns.get_loc(present[0]), "energy_basis", df["system"].map(lambda s: basis[cat.resolve(s)]))
    msg = mixed_basis_warning(where, [s for s, b in basis.items() if b == "system"],
                              [s for s, b in basis.items() if b == "chips only"])
    if msg:
        df.attrs["warnings"] = [msg + " (the energy_basis column)"]


def _label_unpriced(df: pd.DataFrame, cat: Catalog, searched: Sequence[str], cost: Mapping[str, Any]) -> None:
    """With cost options, a system with neither a catalog price nor a cost['capex'] has no usd_*
    figures (<NA> in its rows; the columns are left out when no row has them): say why, as
    cost() does under "unknown"."""
    if not cost:
        return
    why: dict[str, str] = {}
    for s in searched:
        sid = cat.resolve(s)
        price = cat.get(sid).to_dict().get("price")
        if sid in cost.get("capex", {}) or (isinstance(price, Mapping) and "value" in price):
            continue
        note = price.get("note") if isinstance(price, Mapping) else None
        why[sid] = ("the catalog has no price" + (f" ({note})" if note else "") +
                    " and cost['capex'] gives none: its usd_* fields are unknown")
    if why:
        df.attrs["cost_unknown"] = why
        df.attrs["warnings"] = [*df.attrs.get("warnings", []),
                                "usd_* fields unknown for " + ", ".join(sorted(why)) + " (attrs['cost_unknown'])"]


def _summary(a: Mapping[str, Any]) -> str:
    reasons = "; ".join(f"{n:,} {k}" for k, n in list(a["reasons"].items())[:4])
    text = (f"{a['total']:,} candidates: {a['pruned']:,} pruned, {a['evaluated']:,} evaluated, "
            f"{a['feasible']:,} feasible in {a['seconds']:.3g} s on {a['threads']} threads")
    if a["cancelled"]:
        text += " (cancelled)"
    return text + (f" (rejected: {reasons})" if reasons else "")
