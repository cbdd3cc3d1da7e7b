"""Plots: multi-chip rooflines, operator-efficiency curves, collective bandwidths and efficiency frontiers.

matplotlib is imported inside the functions only, so ``import perfmodel`` never pulls it in.
The figures are plain :class:`matplotlib.figure.Figure` objects built without pyplot, so no GUI
backend is needed (saving uses Agg for PNG and the SVG backend for SVG).

>>> import perfmodel, perfmodel.plot
>>> fig = perfmodel.plot.roofline(["h100", "910b"], ops=[perfmodel.gemm("h100", 4096, 4096, 4096)])
>>> fig = perfmodel.plot.efficiency(["h100", "910b"], "gemm", path="gemm.svg")
"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any, Iterable, Sequence, Union

import numpy as np

from . import _args, _core
from .catalog import Catalog
from .operators import OpResult, attention, device, elementwise, gemm, roofline_data

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["EFFICIENCY_FAMILIES", "SAVE_FORMATS", "busbw", "efficiency", "efficiency_frontier", "roofline", "roofline_ceilings"]

#: File extensions ``path`` may have.
SAVE_FORMATS = ("png", "svg")

#: op_family -> (x axis label, y axis label) for :func:`efficiency`.
EFFICIENCY_FAMILIES: dict[str, tuple[str, str]] = {
    "gemm": ("M = N = K", "fraction of peak FLOP/s"),
    "gemm-skinny": ("M (N = K = 8192)", "fraction of peak FLOP/s"),
    "attention": ("sequence length (prefill, q = kv, 32 heads × 128)", "fraction of peak FLOP/s"),
    "elementwise": ("elements (add)", "fraction of memory bandwidth"),
}

_TERA = 1e12
_MARKERS = "osD^vPX*"
_BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 0.5}
OpLike = Union[OpResult, "tuple[str, OpResult]"]
PathLike = Union[str, "os.PathLike[str]"]


def _save_format(path: PathLike | None) -> str | None:
    """The format for ``path`` from its extension; InvalidArgument if it is not PNG or SVG."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise _core.InvalidArgument(f"path: expected a file path ending in .png or .svg, got {path!r}")
    ext = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
    if ext not in SAVE_FORMATS:
        allowed = ", ".join("." + f for f in SAVE_FORMATS)
        raise _core.InvalidArgument(
            f"cannot save a plot to {os.fspath(path)!r}: the extension must be one of {allowed}")
    return ext


def _axes(ax: Axes | None) -> tuple[Figure, Axes]:
    """``ax`` and its root figure, or a new pyplot-free figure with one axes."""
    if ax is not None:
        from matplotlib.axes import Axes as _Axes

        if not isinstance(ax, _Axes):
            raise _core.InvalidArgument(f"ax: expected a matplotlib Axes (or None for a new figure), got {ax!r}")
        return ax.figure.figure, ax  # SubFigure.figure and Figure.figure are the root figure
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 5.5), layout="constrained")
    return fig, fig.add_subplot()


def _finish(fig: Figure, path: PathLike | None, fmt: str | None) -> Figure:
    if path is not None:
        try:
            fig.savefig(path, format=fmt)
        except OSError as exc:  # a missing directory, no permission: the path, not a FileNotFoundError
            raise _core.InvalidArgument(f"path: cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
    return fig


def roofline_ceilings(data: dict[str, Any], achievable: bool) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """Compute ceilings (highest first) and the bounding off-chip memory tier of one roofline.

    ``data`` is a :func:`perfmodel.roofline_data` dict; ``achievable`` selects the peak or the
    achievable ceilings. The bounding tier is the slowest off-chip tier (the slowest tier if all
    are on chip). ``None`` if the data has no ceilings of that kind.
    """
    compute = sorted((c for c in data["compute"] if bool(c["achievable"]) == achievable),
                     key=lambda c: -c["flops"])
    memory = [m for m in data["memory"] if bool(m["achievable"]) == achievable]
    if not compute or not memory:
        return None
    offchip = [m for m in memory if not m["onchip"]] or memory
    return compute, min(offchip, key=lambda m: m["bandwidth"])


def _op_label(op: OpResult) -> str:
    p = op.params
    if op.op == "gemm" and {"m", "n", "k"} <= set(p):
        return f"gemm {p['m']}×{p['n']}×{p['k']} {p.get('dtype', '')}".rstrip()
    if "q_len" in p:
        return f"{op.op} q={p['q_len']} kv={p['kv_len']}"
    if "elements" in p:
        return f"{op.op} n={p['elements']}"
    return op.op


def _ops(ops: Iterable[OpLike] | None, chips: Sequence[str], precision: str | None = None) -> list[tuple[str, OpResult]]:
    """``ops`` as (label, OpResult) pairs, checked to be plottable against ``chips`` (and, when
    given, estimated at the rooflines' ``precision``: an FP8 GEMM above a BF16 roof misleads)."""
    if ops is None:
        return []
    if isinstance(ops, OpResult) or not isinstance(ops, (list, tuple)):  # a DataFrame, one op, a generator
        raise _core.InvalidArgument(f"ops: expected a list of OpResult or (label, OpResult), got {type(ops).__name__} "
                                    "(a gemm over an array of sizes returns a DataFrame: estimate single shapes)")
    out = []
    for item in ops:
        label, op = (_op_label(item), item) if isinstance(item, OpResult) else (None, None)
        if op is None and isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], OpResult):
            label, op = str(item[0]), item[1]
        if op is None:
            raise _core.InvalidArgument(f"roofline: ops entries must be OpResult or (label, OpResult), got {item!r}")
        if op.chip not in chips:
            raise _core.InvalidArgument(
                f"roofline: op {label!r} was estimated on {op.chip}, which is not among the plotted chips "
                f"({', '.join(chips)})")
        dtype = str(op.params.get("dtype", "")).lower()
        if precision is not None and dtype and dtype != precision.lower():
            raise _core.InvalidArgument(
                f"roofline: op {label!r} was estimated in {dtype} but the rooflines are drawn at {precision}; "
                f"draw them at precision={dtype!r} (or estimate the op in {precision})")
        if not (op.intensity > 0 and op.achieved_flops > 0):
            raise _core.InvalidArgument(
                f"roofline: op {label!r} has intensity {op.intensity:g} FLOP/byte and {op.achieved_flops:g} "
                "FLOP/s; a log-log roofline needs both positive")
        out.append((label, op))
    return out


def roofline(chips: str | Sequence[str], ops: Iterable[OpLike] | None = None, precision: str = "bf16",
             ax: Axes | None = None, path: PathLike | None = None, achievable: bool = True,
             catalog: Catalog | None = None) -> Figure:
    """Log-log rooflines of ``chips`` at ``precision`` on one axes, in TFLOP/s vs FLOP/byte.

    Per chip (one colour each): the peak roofline (solid) and, if ``achievable``, the achievable
    one (dashed), each bounded by the top compute ceiling and the slowest off-chip memory tier.
    Lower compute ceilings (e.g. vector) and on-chip tiers are drawn thin in the same style. Every
    compute ceiling is labelled with its TFLOP/s and every ridge point with its intensity.

    ``ops`` are :class:`~perfmodel.OpResult` objects (or ``(label, OpResult)`` tuples), drawn as
    points at (intensity, achieved FLOP/s) in the colour of their chip, which must be plotted;
    each must be estimated at ``precision`` (an FP8 GEMM above a BF16 roof would mislead).
    Draws on ``ax`` if given, else on a new figure; saves to ``path`` (``.png`` or ``.svg``) if
    given. Returns the figure. A chip without ``precision`` raises :class:`perfmodel.Error`.
    """
    fmt = _save_format(path)
    names = _names("roofline", "chips", chips)
    achievable = _args.flag("achievable", achievable)  # "no" drew the achievable lines
    datas = [roofline_data(c, precision, catalog) for c in names]
    ids = [d["chip"] for d in datas]
    dupes = sorted({c for c in ids if ids.count(c) > 1})
    if dupes:
        raise _core.InvalidArgument(f"roofline: chip listed more than once: {', '.join(dupes)}")
    points = _ops(ops, ids, precision)

    lines = []  # (chip index, achievable?, compute ceilings, bounding tier)
    for i, d in enumerate(datas):
        for kind in [False, True] if achievable else [False]:
            ceilings = roofline_ceilings(d, kind)
            if ceilings is None and not kind:
                raise _core.InvalidArgument(f"roofline: {d['chip']} has no {precision} compute or memory ceiling")
            if ceilings is not None:
                lines.append((i, kind, *ceilings))
    ridges = [c["flops"] / m["bandwidth"] for d in datas for c in d["compute"] for m in d["memory"]]
    for d in datas:  # a log axis spans the ridges: extreme catalog figures overflowed it (inf, log of 0)
        for c in d["compute"]:
            for m in d["memory"]:
                x = c["flops"] / m["bandwidth"]
                if not 1e-6 <= x <= 1e9:
                    raise _core.InvalidArgument(
                        f"roofline: {d['chip']}: ridge point {x:.3g} FLOP/B ({c['flops']:.3g} FLOP/s over "
                        f"{m['bandwidth']:.3g} B/s) is outside what the plot draws (1e-6 to 1e9 FLOP/B); check the "
                        "part's compute and bandwidth figures")
    op_x = [op.intensity for _, op in points]
    lo = 10.0 ** math.floor(math.log10(min([min(ridges) / 30, *(x / 3 for x in op_x)])))
    hi = 10.0 ** math.ceil(math.log10(max(ridges + op_x) * 100))
    ymin = min([tier["bandwidth"] * lo for *_, tier in lines] + [op.achieved_flops for _, op in points]) / 2 / _TERA
    ymax = max(c["flops"] for d in datas for c in d["compute"]) * 5 / _TERA

    fig, ax = _axes(ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(ymin, ymax)
    labels = []  # (y in TFLOP/s, text, colour): compute ceilings, placed without overlaps below
    ops_unit = "TOP/s" if precision.lower().startswith("int") else "TFLOP/s"  # integer formats count operations
    per_byte = "OP/byte" if ops_unit == "TOP/s" else "FLOP/byte"
    for n, (i, kind, compute, tier) in enumerate(lines):
        d, color, style = datas[i], f"C{i % 10}", "--" if kind else "-"
        what = "achievable" if kind else "peak"
        top, bw = compute[0]["flops"] / _TERA, tier["bandwidth"] / _TERA
        ridge = top / bw
        ax.plot([lo, ridge, hi], [bw * lo, top, top], style, color=color, lw=2,
                label=f"{d['chip']} {what}: {top:,.4g} {ops_unit}, "
                      f"{tier['name'].replace(' (achievable)', '')} {bw * 1e3:,.0f} GB/s")
        ax.plot([ridge], [top], "o", color=color, ms=4)
        ax.annotate(f"{d['chip']} {what}: ridge {ridge:.3g} {per_byte}", (ridge, top), xycoords="data",
                    xytext=(0.02, 0.98 - 0.04 * n), textcoords="axes fraction", ha="left", va="top",
                    color=color, fontsize=7,
                    arrowprops=dict(arrowstyle="->", color=color, lw=0.5, alpha=0.5, shrinkA=2, shrinkB=3))
        for c in compute[1:]:
            ax.plot([c["flops"] / _TERA / bw, hi], [c["flops"] / _TERA] * 2, style, color=color, lw=0.8)
        for m in d["memory"]:
            if bool(m["achievable"]) == kind and m is not tier:
                mbw = m["bandwidth"] / _TERA
                ax.plot([lo, top / mbw], [mbw * lo, top], style, color=color, lw=0.8, alpha=0.7,
                        label=f"_{d['chip']} {m['name']}")
        labels += [(c["flops"] / _TERA, f"{c['name'].removeprefix(precision + ' ')} {c['flops'] / _TERA:,.4g} {ops_unit}",
                    color) for c in compute]
    # Compute-ceiling labels at the right edge, just above their lines, spread apart where they
    # would overlap. Where that moves any label more than two label heights off its line, or out
    # of the axes (many chips with close ceilings), none is drawn: the legend gives every value.
    height_pt = ax.get_position().height * fig.get_size_inches()[1] * 72
    gap = 11.5 / height_pt * math.log10(ymax / ymin)  # a 7-pt label in its box is ~11 pt tall
    labels.sort()
    targets = [math.log10(y) + 0.1 * gap for y, _, _ in labels]
    placed = _spread(targets, gap)
    if all(abs(p - t) <= 2 * gap for p, t in zip(placed, targets)) and \
            all(math.log10(ymin) <= p and p + gap <= math.log10(ymax) for p in placed):
        for (y, text, color), pos in zip(labels, placed):
            ax.text(hi / 1.15, 10.0 ** pos, text, ha="right", va="bottom", color=color, fontsize=7, bbox=_BOX)

    for i, d in enumerate(datas):
        mine = [p for p in points if p[1].chip == d["chip"]]
        for j, (label, op) in enumerate(mine):
            x, y = op.intensity, op.achieved_flops / _TERA
            ax.plot([x], [y], _MARKERS[j % len(_MARKERS)], color=f"C{i % 10}", ms=7, mec="black", mew=0.6,
                    label=f"{label} ({d['chip']})")
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(7, -3), fontsize=7, color=f"C{i % 10}",
                        bbox=_BOX)

    ax.set_xlabel(f"arithmetic intensity ({per_byte})")
    ax.set_ylabel(ops_unit)
    ax.set_title(f"Roofline ({precision}; solid = peak, dashed = achievable)" if achievable
                 else f"Roofline ({precision})")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return _finish(fig, path, fmt)


def _spread(targets: list[float], gap: float) -> list[float]:
    """Positions for labels wanted at ``targets`` (sorted, log units) at least ``gap`` apart, each
    run of crowded labels centred on its targets (clusters merge until none overlap)."""
    clusters = [[t] for t in targets]  # each: its members' targets; placed from a start position
    starts = list(targets)
    merged = True
    while merged:
        merged = False
        for k in range(len(clusters) - 1):
            if starts[k] + len(clusters[k]) * gap > starts[k + 1] + 1e-12:
                members = clusters[k] + clusters[k + 1]
                start = sum(t - j * gap for j, t in enumerate(members)) / len(members)
                clusters[k:k + 2], starts[k:k + 2] = [members], [start]
                merged = True
                break
    return [start + j * gap for members, start in zip(clusters, starts) for j in range(len(members))]


def _unique(where: str, name: str, ids: list[str], canonical: Any) -> list[str]:
    """``ids`` with none naming the same part twice (two identical curves, one legend entry)."""
    seen: dict[str, str] = {}
    for i in ids:
        c = canonical(i)
        if c in seen:
            raise _core.InvalidArgument(f"{where}: {name}: {i!r} and {seen[c]!r} name the same part ({c})")
        seen[c] = i
    return ids


def _names(where: str, name: str, value: Any) -> list[str]:
    return _args.ids(f"{where}: {name}", value, "an id or a non-empty list of ids")


def _sizes(sizes: Any, family: str) -> np.ndarray:
    if sizes is None:
        return 2 ** np.arange(10, 31, 2) if family == "elementwise" else 2 ** np.arange(6, 16)
    a = np.asarray(sizes)
    # Whole sizes whose FLOP counts fit 64 bits: a GEMM or attention size cubed or squared, an
    # elementwise length as is (2^40 overflowed a GEMM; 100.5 was reported as 'm').
    top = 40 if family == "elementwise" else 20
    if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iuf" or not np.all(np.isfinite(a)) \
            or not np.all(a > 0) or not np.all(a == np.floor(a)) or not np.all(a <= 2 ** top):
        raise _core.InvalidArgument(f"efficiency: sizes must be a non-empty list of positive integers up to 2^{top}, "
                                    f"got {sizes!r}")
    return a


def _efficiency_values(chip: str, family: str, sizes: np.ndarray, precision: str,
                       catalog: Catalog | None) -> np.ndarray:
    if family == "gemm":
        df = gemm(chip, sizes, sizes, sizes, dtype=precision, catalog=catalog)
    elif family == "gemm-skinny":
        df = gemm(chip, sizes, 8192, 8192, dtype=precision, catalog=catalog)
    elif family == "attention":
        df = attention(chip, "prefill", q_len=sizes, kv_len=sizes, heads=32, head_dim=128, dtype=precision,
                       catalog=catalog)
    else:
        df = elementwise(chip, "add", sizes, dtype=precision, catalog=catalog)
        return np.asarray(df["achieved_bandwidth"], dtype=float) / device(chip, catalog).memory_bandwidth
    return np.asarray(df["fraction_of_peak"], dtype=float)


def efficiency(chip: str | Sequence[str], op_family: str = "gemm", sizes: Sequence[int] | np.ndarray | None = None,
               precision: str = "bf16", ax: Axes | None = None, path: PathLike | None = None,
               catalog: Catalog | None = None) -> Figure:
    """Achieved fraction of peak vs problem size (log x), one line per chip.

    ``op_family`` is one of :data:`EFFICIENCY_FAMILIES`: ``"gemm"`` (square M = N = K),
    ``"gemm-skinny"`` (M = size, N = K = 8192), ``"attention"`` (prefill, q = kv = size, 32 heads
    of 128) — all as fraction of peak FLOP/s at ``precision`` — or ``"elementwise"`` (add of
    ``size`` elements, as fraction of the memory bandwidth). ``sizes`` defaults to the powers of
    two 64..32768 (2**10..2**30 in steps of 4x for elementwise). Draws on ``ax`` or a new figure,
    saves to ``path`` (``.png``/``.svg``) if given, and returns the figure.
    """
    if not isinstance(op_family, str) or op_family not in EFFICIENCY_FAMILIES:
        raise _core.InvalidArgument(
            f"efficiency: op_family: unknown {op_family!r}; valid: {', '.join(EFFICIENCY_FAMILIES)}")
    fmt = _save_format(path)
    names = _unique("efficiency", "chip", _names("efficiency", "chip", chip), lambda c: device(c, catalog).chip)
    x = _sizes(sizes, op_family)
    curves = [(device(c, catalog).chip, _efficiency_values(c, op_family, x, precision, catalog)) for c in names]

    fig, ax = _axes(ax)
    for i, (cid, y) in enumerate(curves):
        ax.plot(x, y, "o-", color=f"C{i % 10}", ms=4, label=cid)
    ax.axhline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ymax = max(float(np.nanmax(y)) for _, y in curves)
    ax.set_ylim(0, max(1.05, ymax * 1.05))
    xlabel, ylabel = EFFICIENCY_FAMILIES[op_family]
    if str(precision).lower().startswith("int"):  # integer formats count operations, not FLOPs
        ylabel = ylabel.replace("FLOP/s", "OP/s")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{op_family} efficiency ({precision})")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _finish(fig, path, fmt)


def busbw(systems: str | Sequence[str], kind: str = "all_reduce", sizes: str = "1K:8G", ranks: int | None = None,
          ax: Axes | None = None, path: PathLike | None = None) -> Figure:
    """Bus bandwidth vs message size (log x) for several systems, like nccl-tests curves."""
    from .collectives import busbw_table

    from .catalog import using

    fmt = _save_format(path)
    names = _unique("busbw", "systems", _names("busbw", "systems", systems), using(None).resolve)
    df = busbw_table(names, kind, sizes, ranks)
    fig, axes = _axes(ax)
    for system, g in df.groupby("system", sort=False):
        axes.plot(g["size"], g["busbw"] / 1e9, marker="o", markersize=3, label=f"{system} ({int(g['ranks'].iloc[0])} ranks)")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("message size (bytes)")
    axes.set_ylabel("bus bandwidth (GB/s)")
    axes.set_title(f"{kind} bus bandwidth (nccl-tests definition)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    return _finish(fig, path, fmt)


def efficiency_frontier(results: Sequence[Any], x: str = "power", *, labels: Sequence[str] | None = None,
                        ax: Axes | None = None, path: PathLike | None = None, **cost_options: Any) -> Figure:
    """Throughput per chip against power per chip (``x="power"``, all-in watts) or against cost
    (``x="cost"``, USD per million tokens from :func:`perfmodel.cost` with ``cost_options``; give
    ``capex`` as ``{system: USD}`` when the systems' prices differ) for serving or training
    results. Points of the same system (and kind: prefill, decode/serve, training) are joined in
    the order given, so a batch sweep draws that system's curve; ``labels`` (one string per
    result) name the series instead, and points with equal labels form one curve. The upper-left
    envelope is the efficiency frontier."""
    from .inference import InferenceResult
    from .power import cost, mixed_basis_warning
    from .training import TrainingResult

    fmt = _save_format(path)
    if x not in ("power", "cost"):
        raise _core.InvalidArgument(f"efficiency_frontier: x must be 'power' or 'cost', got {x!r}")
    if x == "power" and cost_options:  # they price the x axis of x="cost" only: ignored here
        raise _core.InvalidArgument(f"efficiency_frontier: {', '.join(sorted(cost_options))}: cost options apply to "
                                    "x='cost'; the power axis takes none")
    if isinstance(results, (InferenceResult, TrainingResult)) or not isinstance(results, (list, tuple)):
        raise _core.InvalidArgument(f"efficiency_frontier: results: expected a list of InferenceResult or "
                                    f"TrainingResult, got {type(results).__name__}")
    items = list(results)
    if not items:
        raise _core.InvalidArgument("efficiency_frontier: results must hold at least one estimate")
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, (list, tuple))
                               or not all(isinstance(v, str) for v in labels)):
        raise _core.InvalidArgument(f"efficiency_frontier: labels: expected a list of strings, one per result, got {labels!r}")
    if labels is not None and len(labels) != len(items):
        raise _core.InvalidArgument(f"efficiency_frontier: {len(labels)} labels for {len(items)} results")
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    all_in: list[str] = []
    chips_only: list[str] = []
    for i, r in enumerate(items):
        if not isinstance(r, (InferenceResult, TrainingResult)):
            raise _core.InvalidArgument(f"efficiency_frontier: results[{i}] is a {type(r).__name__}, "
                                        "expected an InferenceResult or TrainingResult")
        d = r.to_dict()
        if d["energy"] is None:
            raise _core.InvalidArgument(f"efficiency_frontier: results[{i}] ({d['system']}) has no energy estimate: "
                                        f"{d['energy_missing']}")
        if isinstance(r, InferenceResult):
            kind = str(r.plan.get("mode", "serve"))
            y = d["input_tokens_per_s_per_chip"] if kind == "prefill" else d["output_tokens_per_s_per_chip"]
        else:
            kind = "training"
            y = d["tokens_per_s_per_chip"]
        if x == "power":
            xv = d["energy"]["watts_per_chip"]
            group = all_in if d["energy"]["basis"] == "system" else chips_only
            if d["system"] not in group:
                group.append(d["system"])
        else:
            try:
                c = cost(r, **cost_options)
            except TypeError as exc:  # an option cost() does not take
                raise _core.InvalidArgument(f"efficiency_frontier: {exc} (cost options: see perfmodel.cost)") from None
            except _core.NotFound as exc:
                raise _core.NotFound(f"efficiency_frontier: results[{i}] ({d['system']}): {exc}; for systems of your "
                                     "own catalog pass catalog=... (it is passed on to perfmodel.cost)") from exc
            group = all_in if str(c.get("power_basis", "")).startswith("all-in") else chips_only
            if d["system"] not in group:
                group.append(d["system"])
            key = next((k for k in c if k.startswith("usd_per_million_")), None)
            if key is None:
                raise _core.InvalidArgument(f"efficiency_frontier: results[{i}] ({d['system']}) has no cost: "
                                            f"{c.get('unknown')}")
            xv = c[key]
        # A curve joins one system's points of one kind: prefill (input tokens/s), decode or serve
        # (output tokens/s) and training points are different quantities.
        series.setdefault((labels[i] if labels else d["system"], kind), []).append((xv, y))
    kinds = {k for _, k in series}
    fig, axes = _axes(ax)
    for k, ((name, kind), pts) in enumerate(series.items()):
        xs, ys = zip(*pts)
        axes.plot(xs, ys, marker=_MARKERS[k % len(_MARKERS)], label=name if len(kinds) == 1 else f"{name} ({kind})")
    if x == "power":
        xlabel = "all-in power per chip (W)"
        if chips_only and not all_in:
            xlabel = "chip power (W; no system power model)"
        elif chips_only:
            # Mixed bases: say so on the axis and warn (as compare() and search tables do).
            warnings.warn(mixed_basis_warning("efficiency_frontier", all_in, chips_only), stacklevel=2)
            xlabel = "power per chip (W; all-in, chips only for " + ", ".join(chips_only) + ")"
    else:
        xlabel = "USD per million tokens"
        if all_in and chips_only:  # electricity on different bases
            warnings.warn(mixed_basis_warning("efficiency_frontier", all_in, chips_only), stacklevel=2)
            xlabel += " (power all-in, chips only for " + ", ".join(chips_only) + ")"
    axes.set_xlabel(xlabel)
    ylabel = {"prefill": "input tokens/s per chip", "training": "trained tokens/s per chip"}
    axes.set_ylabel(ylabel.get(next(iter(kinds)), "output tokens/s per chip") if len(kinds) == 1 else
                    "tokens/s per chip (input for prefill, output for serving, trained for training)")
    axes.set_title("throughput vs " + ("power" if x == "power" else "cost"))
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    return _finish(fig, path, fmt)
