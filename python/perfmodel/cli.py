"""The ``perfmodel`` command line."""

from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import sys
from typing import Any, Sequence

from . import Error, InvalidArgument, __version__, _args, units
from . import catalog as _catalog


def _num(v: Any, ratio: bool = False) -> str:
    """Readable number: 3 significant digits, thousands separators, 'unknown' for missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "<NA>":
        return "unknown"
    v = float(v)
    if ratio:  # 3 significant digits below 1 (8 chips against 384 gave 0.00x and 0.01x for 0.0086 and 0.0139)
        return f"{v:.2f}x" if abs(v) >= 0.995 else f"{v:.3g}x"  # 0.9996 is 1.00x, as 1.0 is
    if abs(v) >= 1e15:  # a 300-digit integer helps nobody (what-if inputs reach these)
        return f"{v:.3g}"
    if abs(v) >= 999.5:  # .3g would round these to '1e+03'
        return f"{v:,.0f}"
    if v == int(v):
        return f"{int(v)}"
    return f"{v:.3g}"


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def _token_count(text: str) -> float:
    """--train-tokens: a number, optionally with an SI multiplier (15.6T = 15.6e12)."""
    try:
        return _args.count("train_tokens", text)
    except InvalidArgument:
        raise argparse.ArgumentTypeError(f"expected a token count such as 15.6e12 or 15.6T, got {text!r}") from None


def _stage_layout(text: str) -> str | list[int]:
    """--layout: a named layout, or layers per pipeline stage as a comma-separated list."""
    if text in ("even", "lighter_ends"):
        return text
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected even, lighter_ends or comma-separated layers per stage, got {text!r}") from None


def _cat(args: argparse.Namespace) -> _catalog.Catalog:
    cat = _catalog.builtin()
    for path in (getattr(args, "catalog", None) or []) + getattr(args, "catalog_after", []):
        cat = cat.load(path)
    return cat


def _cmd_units(args: argparse.Namespace) -> int:
    for text in args.text:
        q = units.parse(text)
        si = f"{q.value:.6g}" + ("" if q.dimension == "1" else f" {q.dimension}")  # a bare number has no SI unit
        print(f"{text} = {q} = {si} ({q.dimension_name})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    if args.kind == "model":
        from .models import table

        t = table()
        rows = [[mid, f"{r.parameters_B:,.1f}", f"{r.active_B:,.1f}", str(r.layers), str(r.hidden), r.attention,
                 f"{r.experts} / top-{r.top_k}" if r.experts else "dense"] for mid, r in t.iterrows()]
        print(_table(["id", "params (B)", "active (B)", "layers", "hidden", "attention", "experts"], rows, {1, 2, 3, 4}))
        print("a Hugging Face config.json works too: perfmodel infer path/to/config.json SYSTEM")
        return 0
    cat = _cat(args)
    rows = []
    for pid in cat.names(args.kind):
        p = cat.get(pid)
        status = p.to_dict().get("status", "")
        rows.append([pid, p.kind, p.vendor, p.name[:48], ", ".join(p.aliases), status])
    print(_table(["id", "kind", "vendor", "name", "aliases", "status"], rows, set()))
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    part = _cat(args).get(args.id)
    if args.json:
        print(json.dumps(part.to_dict(), indent=2))
        return 0
    print(f"{part.vendor} {part.name}  [{part.id}, {part.kind}]")
    if part.aliases:
        print("aliases: " + ", ".join(part.aliases))
    d = part.to_dict()
    for key in ("family", "level", "chip", "year", "status"):
        if key in d:
            print(f"{key}: {d[key]}")
    rows = [[f["field"], f["value"], f["confidence"] or "-", f["source"][:70]] for f in part.figures()]
    print(_table(["field", "value", "confidence", "source"], rows, set()))
    if d.get("notes"):
        print("\nnotes: " + d["notes"])
    if part.kind == "chip":
        from .compare import export_control

        ec = export_control(part.id, _cat(args))
        print(f"\nexport control: {ec['classification']} ({ec['reason']})")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare

    cat = _cat(args)
    for flag, v in (("--serving", args.serving), ("--training", args.training)):  # '' dropped the section silently
        if v is not None and not v.strip():
            raise InvalidArgument(f"{flag}: expected a model id (e.g. deepseek-r1), got an empty string")
    if args.tpot_ms is not None and not args.serving:
        raise InvalidArgument("--tpot-ms: sets the serving recipe's latency limit; give --serving MODEL with it")
    if args.tpot_ms is not None and not (args.tpot_ms > 0 and math.isfinite(args.tpot_ms)):  # before any table
        raise InvalidArgument(f"--tpot-ms: expected a positive, finite number of milliseconds, got {args.tpot_ms:g}")
    tpot_ms = 50.0 if args.tpot_ms is None else args.tpot_ms
    lens = {k: v for k, v in (("kv_len", args.kv_len), ("input_len", args.input_len)) if v is not None}
    if lens and not args.serving:
        raise InvalidArgument(f"--{next(iter(lens)).replace('_', '-')}: sets the serving recipe; give --serving MODEL with it")
    df = compare(args.ids, cat)
    if args.csv:
        if not (args.serving or args.training):
            sys.stdout.write(df.to_csv())
            return 0
        # One table: a `section` column tells the hardware rows from the serving and training ones.
        import pandas as pd

        from .compare import serving_comparison, training_comparison

        parts = [df.assign(section="hardware")]
        if args.serving:
            parts.append(serving_comparison(args.ids, args.serving, tpot_ms=tpot_ms, catalog=cat, **lens).assign(section="serving"))
        if args.training:
            parts.append(training_comparison(args.ids, args.training, catalog=cat).assign(section="training"))
        table = pd.concat([p.astype(object) for p in parts])
        sys.stdout.write(table[["section", *[c for c in table.columns if c != "section"]]].to_csv())
        return 0
    if args.json:
        out = {col: {k: (None if str(v) == "<NA>" else float(v)) for k, v in df[col].items()} for col in df.columns}
        doc = {"columns": out, "chips": df.attrs["chips"], "missing": df.attrs["missing"], "rumour": df.attrs["rumour"]}
        if args.serving:
            from .compare import serving_comparison

            sv = serving_comparison(args.ids, args.serving, tpot_ms=tpot_ms, catalog=cat, **lens)
            doc["serving"] = {"recipe": sv.attrs["recipe"], "columns": sv.to_dict()}
        if args.training:
            from .compare import training_comparison

            tr = training_comparison(args.ids, args.training, catalog=cat)
            doc["training"] = {"recipe": tr.attrs["recipe"], "columns": tr.to_dict()}
        print(json.dumps(doc, indent=2))
        return 0
    ids = [cat.resolve(s) for s in args.ids]
    # Every table is computed before the first is printed: an error (a bad model id) exits 2 with
    # nothing on stdout, not after a page of output.
    from .compare import serving_comparison, training_comparison

    sv = serving_comparison(ids, args.serving, tpot_ms=tpot_ms, catalog=cat, **lens) if args.serving else None
    tr = training_comparison(ids, args.training, catalog=cat) if args.training else None
    header = ["metric", *ids, *[c for c in df.columns if c not in ids]]
    rows = []
    for metric, row in df.iterrows():
        rows.append([str(metric), *(_num(row[c]) for c in ids), *(_num(row[c], ratio=True) for c in header[1 + len(ids):])])
    print(_table(header, rows, set(range(1, len(header)))))
    print("\nchips: " + ", ".join(f"{s} = {c}" for s, c in df.attrs["chips"].items()))
    if df.attrs["missing"]:
        print("unknown inputs (shown as 'unknown', never guessed):")
        for m in df.attrs["missing"]:
            print(f"  - {m[:160]}")
    rumours = [item for found in df.attrs["rumour"].values() for item in found]
    if rumours:
        print("figures of 'rumour' confidence behind these rows and the estimates below:")
        print("\n".join(_rumour_lines(rumours)))
    print("sources and confidence of every figure: perfmodel show <id>")
    if sv is not None:
        print(f"\nserving {args.serving} (model estimate, same recipe on every system):")
        _print_workload_table(sv, ids)
        print("recipe: " + sv.attrs["recipe"])
        print("accuracy against published measurements: docs/explanation/accuracy.md (known optimistic misses: "
              "GB200 decode, CloudMatrix prefill)")
    if tr is not None:
        print(f"\ntraining {args.training} (model estimate, same recipe on every system):")
        _print_workload_table(tr, ids)
        print("recipe: " + tr.attrs["recipe"])
        print("accuracy against published measurements: docs/explanation/accuracy.md (training rows)")
    return 0


def _real(v: Any) -> bool:
    """A finite number (numpy's included), not a bool or text."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _print_workload_table(df: Any, ids: list[str]) -> None:
    """A workload comparison (rows: metrics, columns: systems) with the first system's ratios to the
    others where both are numbers; text longer than a cell (why no plan fits) goes below the table."""
    ratios = [f"{ids[0]} / {o}" for o in ids[1:]]
    rows, notes = [], []
    for metric, row in df.iterrows():
        cells = []
        for sid, v in zip(ids, row):
            if isinstance(v, str) and len(v) > 64:
                notes.append(f"  [{len(notes) + 1}] {sid}, {metric}: {v}")
                v = f"{v[:36].rstrip(' :;,')}... [{len(notes)}]"
            cells.append(v if isinstance(v, str) else _num(v))
        first = row.iloc[0]
        cells += [_num(first / row[o], ratio=True) if _real(first) and _real(row[o]) and row[o] else
                  ("" if isinstance(first, str) else "unknown") for o in ids[1:]]
        rows.append([str(metric), *cells])
    print(_table(["metric", *ids, *ratios], rows, set(range(1, len(ids) + len(ratios) + 1))))
    for n in notes:
        print(n)
    for w in df.attrs.get("warnings", []):
        print("warning: " + w)


def _model_arg(text: str) -> Any:
    """MODEL of infer/train: a built-in id, or a Hugging Face config.json (a file or its directory)."""
    from . import models

    if not text:
        raise InvalidArgument(f"model: expected a built-in model id ({', '.join(models.names())}) or the path of a "
                              "config.json, got ''")
    if os.path.exists(text):
        return models.from_hf_config(text)
    if text.endswith(".json") or os.sep in text:
        raise InvalidArgument(f"model: no such file {text!r}; expected a built-in model id "
                              f"({', '.join(models.names())}) or the path of a config.json")
    return text


def _shown(v: float, decimals: int, thresholds: Sequence[float], thousands: bool = False, first: str | None = None) -> str:
    """``first`` (else ``v`` with the fewest decimals) as long as the text keeps ``v`` on its side of
    every threshold (PD 5.9195 as 5.92 sat beside a class that needs PD < 5.92)."""
    sep = "," if thousands else ""
    texts = ([first] if first else []) + [f"{v:{sep}.{d}f}" for d in range(decimals, decimals + 7)]
    for text in texts:
        if all((float(text.replace(",", "")) >= t) == (v >= t) for t in thresholds):
            return text
    return texts[-1]


def _op_unit(precision: str) -> str:
    """Integer formats count operations (TOP/s, OP/byte), as the plots label them."""
    return "OP" if precision.startswith("int") else "FLOP"


def _cmd_export_control(args: argparse.Namespace) -> int:
    from .compare import export_control

    cat = _cat(args)
    ids = args.ids or cat.names("chip")
    seen: dict[str, str] = {}
    for cid in ids:  # a chip named twice (an alias and its id too) printed its row twice
        canonical = cat.resolve(cid)
        if canonical in seen:
            raise InvalidArgument(f"export-control: {cid!r} names {canonical}, already given as {seen[canonical]!r}")
        seen[canonical] = cid
    rows, notes = [], []
    for cid in ids:
        ec = export_control(cid, cat)
        cls = ec["classification"]
        # Classes that are not plain say why underneath (unknown figures, lower bounds, a board of
        # several ICs, figures of rumour confidence).
        weak = ec["rumour_inputs"]
        if cls == "undetermined" or " or " in cls or weak or "per integrated circuit" in ec["reason"]:
            rumour = f" (rests on rumour-grade {', '.join(weak)})" if weak else ""
            notes.append(f"[{len(notes) + 1}] {ec['chip']}: {ec['reason']}{rumour}")
            cls += f" [{len(notes)}]"
        pd = ec["performance_density"]
        tpp = ec["tpp"]
        tpp_text = _num(tpp) if tpp is None else _shown(tpp, 0, (1600, 2400, 4800), thousands=True, first=_num(tpp))
        rows.append([ec["chip"], tpp_text, ec["tpp_precision"] or "-", _num(ec["die_area_mm2"]),
                     "unknown" if pd is None else _shown(pd, 2, (1.6, 3.2, 5.92)), cls])
    print(_table(["chip", "TPP", "at", "die mm2", "PD", "3A090"], rows, {1, 3, 4}))
    if notes:
        print("\n".join(["", *notes]))
    return 0


def _cmd_roofline(args: argparse.Namespace) -> int:
    from .operators import gemm, roofline_data
    from .plot import roofline, roofline_ceilings

    cat = _cat(args)
    ops = [gemm(chip, m, n, k, dtype=args.precision, catalog=cat) for chip in args.ids for m, n, k in args.gemm or ()]
    try:
        roofline(args.ids, ops=ops, precision=args.precision, path=args.out, catalog=cat)
    except OSError as exc:
        raise InvalidArgument(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    op_name = _op_unit(args.precision)
    for chip in args.ids:
        data = roofline_data(chip, args.precision, cat)
        parts = []
        for kind in (False, True):
            ceilings = roofline_ceilings(data, kind)
            if ceilings is not None:
                (top, *_), tier = ceilings
                parts.append(f"{'achievable' if kind else 'peak'} {_num(top['flops'] / 1e12)} T{op_name}/s, "
                             f"{tier['name'].replace(' (achievable)', '')} {_num(tier['bandwidth'] / 1e9)} GB/s, "
                             f"ridge {_num(top['flops'] / tier['bandwidth'])} {op_name}/byte")
        print(f"{data['chip']} ({args.precision}): " + "; ".join(parts))
    for op in ops:
        print(f"  {op.chip}: gemm {op.params['m']}x{op.params['n']}x{op.params['k']} at "
              f"{_num(op.intensity)} {op_name}/byte -> {_num(op.achieved_flops / 1e12)} T{op_name}/s "
              f"({op.fraction_of_peak:.1%} of peak, {op.bound}-bound)")
    print(f"wrote {args.out}")
    return 0


def _cmd_gemm(args: argparse.Namespace) -> int:
    from .operators import gemm

    r = gemm(args.chip, args.m, args.n, args.k, dtype=args.dtype, out_dtype=args.out_dtype, batch=args.batch,
             microbenchmark=args.microbenchmark, catalog=_cat(args))
    if args.json:
        print(json.dumps(r.to_dict(), indent=2))
        return 0
    op_name = _op_unit(r.params["dtype"])
    rows = [
        ["time", f"{r.time_s * 1e6:.4g} us"],
        ["throughput", f"{_num(r.achieved_flops / 1e12)} T{op_name}/s"],
        ["fraction of peak", f"{r.fraction_of_peak:.1%} (peak {_num(r.peak_flops / 1e12)} T{op_name}/s)"],
        ["bandwidth", f"{_num(r.achieved_bandwidth / 1e9)} GB/s"],
        ["intensity", f"{_num(r.intensity)} {op_name}/byte"],
        ["bound", r.bound],
        ["tile", "x".join(map(str, r.tile)) if r.tile else "-"],
        ["wave efficiency", f"{r.wave_efficiency:.1%}"],
    ]
    shape = f"{args.batch} x " if args.batch != 1 else ""
    out = f" -> {r.params['out_dtype']}" if args.out_dtype else ""
    kind = " (microbenchmark)" if args.microbenchmark else ""
    print(f"gemm {shape}{args.m}x{args.n}x{args.k} {args.dtype}{out} on {r.chip}{kind}")
    print(_table(["field", "value"], rows, set()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfmodel",
        description="Analytic performance, power and cost models of AI hardware.",
    )
    parser.add_argument("--version", action="version", version=f"perfmodel {__version__}")
    parser.add_argument("--catalog", metavar="PATH", action="append",
                        help="extra catalog part file or directory (repeat to layer several, later ones on top)")
    sub = parser.add_subparsers(dest="command")
    # --catalog is accepted after the command too (`perfmodel show ID --catalog DIR`); SUPPRESS keeps
    # a value given before the command when none is given after it.
    common = argparse.ArgumentParser(add_help=False)
    # A dest of its own: the subcommand's namespace would replace a list given before the command.
    common.add_argument("--catalog", metavar="PATH", action="append", dest="catalog_after", default=argparse.SUPPRESS,
                        help="extra catalog part file or directory (as before the command; layered after those)")

    def add(name: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kw)

    p = add("units", help="parse quantities and show them in SI base units")
    p.add_argument("text", nargs="+", help='quantities such as "3.35 TB/s" or "400 Gb/s"')
    p.set_defaults(func=_cmd_units)

    p = add("list", help="list catalog parts (chips and systems) or the built-in models")
    p.add_argument("--kind", choices=["chip", "system", "model"], help="only this kind (model: the built-in models)")
    p.set_defaults(func=_cmd_list)

    p = add("show", help="show one part with the source and confidence of every figure")
    p.add_argument("id", help="id or alias, e.g. h100, cm384, nvl72")
    p.add_argument("--json", action="store_true", help="print the part as JSON")
    p.set_defaults(func=_cmd_show)

    p = add("compare", help="compare systems side by side, with ratios")
    p.add_argument("ids", nargs="+", help="system ids or aliases")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--csv", action="store_true", help="CSV output")
    g.add_argument("--json", action="store_true", help="JSON output")
    p.add_argument("--serving", metavar="MODEL", help="also estimate serving MODEL (e.g. deepseek-r1) on each system")
    p.add_argument("--tpot-ms", type=float, default=None, help="TPOT limit of the serving decode recipe (default 50; with --serving)")
    p.add_argument("--kv-len", type=int, default=None, help="cached tokens per sequence in the serving decode recipe (default 4096)")
    p.add_argument("--input-len", type=int, default=None, help="prompt tokens in the serving prefill recipe (default 4096)")
    p.add_argument("--training", metavar="MODEL",
                   help="also estimate training MODEL (e.g. llama-3.1-405b) on each whole system, fastest plan that fits")
    p.set_defaults(func=_cmd_compare)

    p = add("export-control", help="TPP, performance density and ECCN 3A090 class per chip")
    p.add_argument("ids", nargs="*", help="chip ids (default: all chips)")
    p.set_defaults(func=_cmd_export_control)

    p = add("roofline", help="plot rooflines of chips (PNG or SVG) and print their ridge points")
    p.add_argument("ids", nargs="+", help="chip ids or aliases")
    p.add_argument("--precision", default="bf16", type=str.lower, help="compute precision (default: bf16)")
    p.add_argument("--out", default="roofline.png", metavar="PATH",
                   help="output .png or .svg (default: roofline.png)")
    p.add_argument("--gemm", nargs=3, type=int, action="append", metavar=("M", "N", "K"),
                   help="also plot this GEMM on every chip (repeatable)")
    p.set_defaults(func=_cmd_roofline)

    p = add("gemm", help="estimate one GEMM (M x K times K x N) on a chip")
    p.add_argument("chip", help="chip id or alias")
    p.add_argument("m", type=int, help="rows of A and C")
    p.add_argument("n", type=int, help="columns of B and C")
    p.add_argument("k", type=int, help="reduction dimension")
    p.add_argument("--dtype", default="bf16", type=str.lower, help="operand precision (default: bf16)")
    p.add_argument("--out-dtype", default=None, type=str.lower,
                   help="output precision (default: bf16 for 8- and 4-bit operands, else the operands')")
    p.add_argument("--batch", type=int, default=1, help="independent GEMMs of this shape in one launch (default: 1)")
    p.add_argument("--microbenchmark", action="store_true",
                   help="a vendor peak loop whose operands stay on chip (ascend-dmi style), not a library GEMM")
    p.add_argument("--json", action="store_true", help="print every field as JSON (SI units)")
    p.set_defaults(func=_cmd_gemm)

    p = add("collective", help="time and nccl-tests bandwidths of a collective on a system")
    p.add_argument("system", help="system id or alias")
    p.add_argument("kind", type=str.lower, help="all_reduce, reduce_scatter, all_gather, all_to_all, broadcast, send_recv")
    p.add_argument("--ranks", type=int, default=None, help="ranks taking part (default: all)")
    p.add_argument("--sizes", default="1M:8G", help="LO:HI (powers of two) or a comma list (default: 1M:8G)")
    p.add_argument("--algorithm", default=None, type=str.lower, help="ring, tree, in_network, direct, hierarchical, auto (default: auto, the fastest)")
    p.add_argument("--nodes", type=int, default=1, help="copies of the system joined by scale-out")
    p.add_argument("--ranks-per-chip", type=int, default=1, help="ranks per chip (2: each 910C die is a rank)")
    p.add_argument("--oversubscription", type=float, default=None,
                   help="scale-out taper above the leaf switches (default: catalog, else 1)")
    p.add_argument("--csv", action="store_true", help="print CSV")
    p.set_defaults(func=_cmd_collective)

    p = add("topology", help="injection and bisection bandwidth and hop counts of a system's fabric levels")
    p.add_argument("system", help="system id or alias")
    p.add_argument("--nodes", type=int, default=1, help="copies of the system joined by scale-out")
    p.add_argument("--ranks-per-chip", type=int, default=1, help="ranks per chip (2: each 910C die is a rank)")
    p.add_argument("--oversubscription", type=float, default=None,
                   help="scale-out taper above the leaf switches (default: catalog, else 1)")
    p.add_argument("--switch-radix", type=int, default=None, help="scale-out switch ports (default: catalog, else 64)")
    p.add_argument("--check", action="store_true", help="also search the explicit graph (up to 4,096 endpoints); exit 1 if it disagrees with the closed forms")
    p.add_argument("--json", action="store_true", help="print every field as JSON (SI units)")
    p.set_defaults(func=_cmd_topology)

    p = add("infer", help="serving estimate: TTFT, TPOT, tokens/s per chip and system, memory")
    p.add_argument("model", help="built-in model id (perfmodel.models.names()) or a path to a config.json")
    p.add_argument("system", help="system id or alias")
    p.add_argument("--mode", choices=["serve", "prefill", "decode"], default="serve")
    p.add_argument("--batch", type=int, default=None, help="sequences per instance (default: the fastest batch that fits and meets --tpot-ms: "
                        "best_inference, which may pick a tile-filling batch below the largest that fits)")
    p.add_argument("--input-len", type=int, default=None, help="prompt tokens (default 1024)")
    p.add_argument("--output-len", type=int, default=None, help="output tokens (default 128; serve and decode modes)")
    p.add_argument("--kv-len", type=int, default=None,
                   help="decode mode: cached tokens per sequence (default: input-len + output-len / 2)")
    p.add_argument("--precision", default="bf16", type=str.lower, help="weights/GEMM precision: bf16, fp8, int8, fp4")
    p.add_argument("--kv-cache", default=None, type=str.lower, choices=["bf16", "fp16", "fp8", "int8", "fp4", "int4"],
                   help="KV-cache precision (default bf16)")
    for opt in ("tp", "dp-attention", "pp", "ep", "ranks-per-chip", "redundant-experts", "mtp-tokens", "systems"):
        p.add_argument(f"--{opt}", type=int, default=None)
    p.add_argument("--mtp-acceptance", type=float, default=None)
    p.add_argument("--expert-imbalance", type=float, default=None)
    p.add_argument("--overlap", nargs="?", const="on", default=None, choices=["on", "off", "best"], type=str.lower,
                   help="two-micro-batch overlap of communication and compute: on (the flag alone), off (default), "
                        "or best (the batch search tries both and keeps the faster)")
    p.add_argument("--sequence-parallel", action="store_true",
                   help="pure TP: reduce-scatter + all-gather, token-wise work on 1/tp of the tokens")
    p.add_argument("--tpot-ms", type=float, default=None, help="search the best batch under this TPOT")
    p.add_argument("--ttft-ms", type=float, default=None, help="search the best batch under this TTFT (serve, prefill)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_infer)

    p = add("train", help="training estimate: step time breakdown, MFU, memory per chip, time to train")
    p.add_argument("model", help="built-in model id (perfmodel.models.names()) or a path to a config.json")
    p.add_argument("system", help="system id or alias (a node or rack; copies join over its scale-out network)")
    p.add_argument("--n-chips", type=int, default=None,
                   help="chips in the cluster (default tp x cp x dp x pp / ranks per chip; without --dp, dp is what it leaves)")
    for opt in ("tp", "cp", "dp", "pp", "ep", "virtual-stages", "global-batch", "micro-batch", "seq-len"):
        p.add_argument(f"--{opt}", type=int, default=None)
    p.add_argument("--ranks-per-chip", type=int, default=None,
                   help="ranks per chip (2: each Ascend 910C die is a rank, as CANN runs it)")
    p.add_argument("--precision", default=None, type=str.lower, help="GEMM precision: bf16 (default), fp16, fp8")
    p.add_argument("--bf16-layers", type=int, default=None,
                   help="fp8 plans: Transformer layers at each end kept in bf16 (Megatron-Bridge's FP8 recipes: 1)")
    p.add_argument("--fp8-params", action="store_true", help="fp8 plans: weights held and gathered in 8 bits")
    p.add_argument("--recompute", choices=["none", "selective", "full"], default=None,
                   help="activation recomputation (default selective)")
    p.add_argument("--sharding", default=None, help="none/zero0, zero1/optimizer (default), zero2/gradients, zero3/fsdp/parameters")
    p.add_argument("--layout", type=_stage_layout, default=None,
                   help="even, lighter_ends, or layers per stage as a comma-separated list (e.g. 17,20,22,21)")
    p.add_argument("--moe-dispatcher", choices=["deepep", "alltoall"], default=None,
                   help="MoE token exchange: deepep (default; one copy per rank, per node across nodes) or alltoall")
    p.add_argument("--cp-comm", choices=["ring", "allgather"], default=None,
                   help="cp > 1: K/V ring under attention (default) or all-gather before it, exposed (Llama 3)")
    p.add_argument("--no-sequence-parallel", action="store_true")
    p.add_argument("--no-overlap-dp", action="store_true")
    p.add_argument("--overlap-tp", action="store_true")
    p.add_argument("--no-overlap-pp", action="store_true")
    p.add_argument("--no-flash-attention", action="store_true", help="materialise attention scores (pre-2022 stacks)")
    p.add_argument("--dropout", action="store_true")
    p.add_argument("--no-loss-fusion", action="store_true", help="unfused fp32 cross-entropy (Megatron's default)")
    p.add_argument("--train-tokens", type=_token_count, default=None,
                   help="tokens to train, for days and chip-hours (15.6e12 or 15.6T; k, M, G/B, T, P)")
    p.add_argument("--no-memory-check", action="store_true", help="report memory instead of failing when over capacity")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_cmd_train)

    p = add("power", help="power breakdown of a system: chips, CPUs, switches, optics, losses, cooling")
    p.add_argument("system", help="system id or alias")
    p.add_argument("--utilization", type=float, default=1.0,
                   help="chips' share of their dynamic range: idle + u x (TDP - idle) (default 1)")
    p.add_argument("--pue", type=float, default=1.0, help="facility PUE (>= 1; default 1: IT power only)")
    p.add_argument("--override", action="append", default=[], metavar="NAME=VALUE",
                   help="replace a figure: a component's watts each, chip_max_watts, chip_idle_watts (watts, or "
                        "with a unit: '1.1 kW'), delivery_efficiency or cooling_overhead (a ratio or '93 %%'; repeatable)")
    p.add_argument("--json", action="store_true", help="print the breakdown as JSON")
    p.set_defaults(func=_cmd_power)

    p = add("validate", help="the model against published measurements: signed errors as Markdown")
    p.add_argument("calibration_csv", help="path to calibration.csv (id, value, unit, ... per published measurement)")
    p.add_argument("--out", default=None, help="write the report to this file instead of printing it")
    p.set_defaults(func=_cmd_validate)
    return parser


def _cmd_validate(args: argparse.Namespace) -> int:

    from .validation import report

    if not os.path.isfile(args.calibration_csv):
        what = ("is a directory, expected a CSV file" if os.path.isdir(args.calibration_csv)
                else "not a regular file, expected a CSV file" if os.path.exists(args.calibration_csv) else "no such file")
        raise InvalidArgument(f"calibration_csv: {args.calibration_csv}: {what}")
    if args.out is not None and not args.out.strip():
        raise InvalidArgument("--out: expected a file path, got an empty string (omit --out to print the report)")
    if args.out and os.path.exists(args.out) and os.path.samefile(args.out, args.calibration_csv):
        raise InvalidArgument(f"--out: {args.out} is the calibration file itself; the report would overwrite it")
    text = report(args.calibration_csv)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:  # a full or read-only device fails on write or close, without a file name
            raise OSError(exc.errno, exc.strerror or str(exc), args.out) from exc
    else:
        print(text, end="")
    return 0


def _cmd_power(args: argparse.Namespace) -> int:
    from .power import power

    from .power import override_value

    overrides: dict[str, float] = {}
    for item in args.override:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidArgument(f"--override: expected NAME=VALUE (a component of 'perfmodel power {args.system}' "
                                  f"and its watts, e.g. 'chip_max_watts=1000' or 'chip_max_watts=1.2 kW'), got {item!r}")
        name = name.strip()
        try:
            watts = override_value(name, value.strip())
        except InvalidArgument as exc:  # "overrides['x']: ..." as the flag says it
            raise InvalidArgument(f"--override {name}: {str(exc).split(': ', 1)[1]}") from None
        if name in overrides:
            raise InvalidArgument(f"--override: {name!r} is given twice ({overrides[name]:g} and {watts:g})")
        overrides[name] = watts
    df = power(args.system, args.utilization, pue=args.pue, overrides=overrides, catalog=_cat(args))
    a = df.attrs
    if args.json:
        print(json.dumps({"system": a["system"], "utilization": a["utilization"], "pue": a["pue"],
                          "chip_watts": a["chip_watts"], "it_watts": a["it_watts"], "facility_watts": a["facility_watts"],
                          "published_watts": a["published_watts"], "rows": df.to_dict(orient="records")}, indent=2))
        return 0
    rows = [[r.component, _num(r.count), _num(r.watts_each), _num(r.watts), f"{r.watts / a['facility_watts']:.1%}",
             r.confidence] for r in df.itertuples()]
    print(f"{a['system']}: power at chip utilization {a['utilization'] + 0.0:g}" + (f", PUE {a['pue']:g}" if a["pue"] > 1 else ""))
    print(_table(["component", "count", "W each", "W", "share", "confidence"], rows, {1, 2, 3, 4}))
    def kw(w: float) -> str:
        return f"{w / 1e3:,.1f}" if abs(w) < 1e15 else f"{w / 1e3:.3g}"

    print(f"\nsystem (IT) power: {kw(a['it_watts'])} kW" + (f"; facility: {kw(a['facility_watts'])} kW" if a["pue"] > 1 else ""))
    if a["published_watts"] is not None and a["utilization"] == 1.0:
        err = a["it_watts"] / a["published_watts"] - 1
        print(f"published system power: {a['published_watts'] / 1e3:,.1f} kW (model {err:+.1%}); "
              "see perfmodel show " + a["system"] + " for its source")
    print("sources and assumptions: perfmodel power " + a["system"] + " --json (field 'source')")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training import training

    model = _model_arg(args.model)
    opts: dict[str, Any] = {k: getattr(args, k) for k in (
        "n_chips", "tp", "cp", "dp", "pp", "ep", "virtual_stages", "ranks_per_chip", "global_batch", "micro_batch",
        "seq_len", "precision", "recompute", "sharding", "layout", "moe_dispatcher", "cp_comm", "train_tokens", "bf16_layers")}
    opts["fp8_params"] = True if args.fp8_params else None
    opts["sequence_parallel"] = False if args.no_sequence_parallel else None
    opts["overlap_dp"] = False if args.no_overlap_dp else None
    opts["overlap_tp"] = True if args.overlap_tp else None
    opts["overlap_pp"] = False if args.no_overlap_pp else None
    opts["flash_attention"] = False if args.no_flash_attention else None
    opts["dropout"] = True if args.dropout else None
    opts["loss_fusion"] = False if args.no_loss_fusion else None
    opts["check_memory"] = False if args.no_memory_check else None
    r = training(model, args.system, catalog=_cat(args), **{k: v for k, v in opts.items() if v is not None})
    if args.json:
        print(json.dumps({"summary": r.summary(), "plan": r.plan, "memory": r.memory,
                          "breakdown": r.breakdown().to_dict("records")}, indent=2, default=str))
        return 0
    s = r.summary()
    print(f"{s['model']} on {s['chips']} x {s['chip']} ({s['system']} building block)")
    rows = [[k, _num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)]
            for k, v in s.items() if k not in ("model", "system", "chip")]
    print(_table(["field", "value"], rows, set()))
    print()
    print(_table(["part", "time (s)", "exposed (s)", "share"],
                 [[x.part, f"{x.time_s:.4g}", f"{x.exposed_s:.4g}", f"{x.share:.1%}"] for x in r.breakdown().itertuples()],
                 {1, 2, 3}))
    mem = r.memory
    print("\nmemory per chip (GB): " + ", ".join(f"{k} {mem[k] / 1e9:.3g}" for k in
                                                 ("weights", "gradients", "optimizer", "activations", "buffers", "total",
                                                  "capacity")))
    _print_rumours(r.rumour_inputs)
    return 0


def _rumour_lines(found: list[str]) -> list[str]:
    """'<part>: <field>' items as one line per part."""
    by_part: dict[str, list[str]] = {}
    for item in found:
        part, _, field = item.partition(": ")
        by_part.setdefault(part, []).append(field)
    return [f"  - {part}: {', '.join(fields)}" for part, fields in by_part.items()]


def _print_rumours(found: list[str] | None) -> None:
    """The rumour-confidence catalog figures an estimate rests on, grouped by part."""
    if found:
        print("\nrests on figures of 'rumour' confidence (perfmodel show <id> for their sources):")
        print("\n".join(_rumour_lines(found)))


def _cmd_infer(args: argparse.Namespace) -> int:
    from .inference import best_inference, inference

    model = _model_arg(args.model)
    if args.kv_len is not None and args.kv_len < 1:
        raise InvalidArgument(f"--kv-len: expected cached tokens per sequence >= 1, got {args.kv_len} "
                              "(leave it out for the default, input-len + output-len / 2)")
    if args.kv_len is not None and args.mode != "decode":
        raise InvalidArgument(f"--kv-len: a decode step's cache length; add --mode decode (--mode {args.mode} "
                              "takes --input-len and --output-len)")
    if args.kv_len is not None and (args.input_len is not None or args.output_len is not None):
        flag = "--input-len" if args.input_len is not None else "--output-len"  # they only set the default cache length
        raise InvalidArgument(f"{flag}: a decode step given --kv-len takes its cache length from it; drop {flag} "
                              "(without --kv-len the cache holds input-len + output-len / 2 tokens)")
    if args.output_len is not None and args.mode == "prefill":
        raise InvalidArgument("--output-len: a prefill-only estimate has no outputs; use --mode serve (or drop it)")
    if args.mtp_acceptance is not None and not args.mtp_tokens:  # it would change nothing
        raise InvalidArgument("--mtp-acceptance: the acceptance rate of MTP drafts; give --mtp-tokens N (N >= 1) with it")
    given_kv = args.kv_len is not None  # a decode step then takes its cache from --kv-len alone
    opts: dict[str, Any] = {"mode": args.mode,
                            "input_len": None if given_kv else 1024 if args.input_len is None else args.input_len,
                            "output_len": None if given_kv else 128 if args.output_len is None else args.output_len,
                            "kv_len": args.kv_len, "overlap": {"on": True, "off": False, "best": [True, False]}.get(
                                args.overlap or "", None),
                            "sequence_parallel": args.sequence_parallel or None}
    for key in ("tp", "dp_attention", "pp", "ep", "ranks_per_chip", "redundant_experts", "mtp_tokens", "systems",
                "mtp_acceptance", "expert_imbalance"):
        opts[key] = getattr(args, key)
    opts = {k: v for k, v in opts.items() if v is not None}
    precision: dict[str, str] = {"weights": args.precision}
    if args.kv_cache:
        precision["kv_cache"] = args.kv_cache
    search = args.batch is None or args.tpot_ms is not None or args.ttft_ms is not None or args.overlap == "best"
    if search:
        if args.batch is not None:
            raise InvalidArgument("--batch: give --batch, or let --tpot-ms / --ttft-ms / --overlap best search it, not both")
        for flag, v in (("--tpot-ms", args.tpot_ms), ("--ttft-ms", args.ttft_ms)):
            if v is not None and not (v > 0 and math.isfinite(v)):
                raise InvalidArgument(f"{flag}: expected a positive, finite number of milliseconds, got {v:g}")
        try:
            r = best_inference(model, args.system, tpot_ms=args.tpot_ms, ttft_ms=args.ttft_ms, precision=precision,
                               catalog=_cat(args), **opts)
        except InvalidArgument as exc:  # best_inference's advice names its own arguments; say the flags
            raise InvalidArgument(str(exc).replace("or drop tpot_ms", "or drop --tpot-ms")
                                  .replace("or drop ttft_ms", "or drop --ttft-ms")
                                  .replace("use mode='serve'", "use --mode serve")) from None
    else:
        r = inference(model, args.system, batch=args.batch, precision=precision, catalog=_cat(args), **opts)
    if args.json:
        print(json.dumps({"summary": r.summary(), "plan": r.plan, "breakdown": r.breakdown().to_dict("records")},
                         indent=2, default=str))
        return 0
    s = r.summary()
    print(f"{s['model']} on {s['system']} ({s['chip']}), {s['mode']}, batch {r.plan.get('batch')}")
    serve = s["mode"] == "serve"
    notes = {"ttft_ms": "one prefill chunk through the pipeline (no queueing)" if serve else "the prefill forward through the pipeline",
             "joules_per_input_token": "prefill energy per prompt token",
             "joules_per_output_token": "decode energy per output token",
             "output_tokens_per_joule": "over all serving energy, prefill included" if serve else "",
             "watts_per_chip": "all-in: chip and its share of the system" if s.get("energy_basis") == "system"
             else "chip only (no system power model)",
             "max_batch": "largest batch that fits in memory",
             "instances_per_system": "whole instances in one system" if (s.get("instances_per_system") or 0) >= 1
             else "an instance spans several systems: the share of one it takes"}
    basis = str(s.get("energy_basis", s.get("energy", "")))
    if ":" in basis:  # "chips only: <reason>" / "unknown: <reason>": the reason goes to the note column
        head, why = basis.split(":", 1)
        s["energy_basis" if "energy_basis" in s else "energy"] = head
        notes["energy_basis" if "energy_basis" in s else "energy"] = why.strip()
    rows = [[k, _num(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v), notes.get(k, "")]
            for k, v in s.items() if k not in ("model", "system", "chip", "mode")]
    print(_table(["field", "value", "note"], rows, set()))
    b = r.breakdown()
    print()
    print(_table(["phase", "part", "time (ms)", "exposed (ms)", "share"],
                 [[x.phase, x.part, f"{x.time_s * 1e3:.3f}", f"{x.exposed_s * 1e3:.3f}", f"{x.share:.1%}"]
                  for x in b.itertuples()], {2, 3, 4}))
    _print_rumours(r.rumour_inputs)
    return 0


def _cmd_collective(args: argparse.Namespace) -> int:
    from .collectives import collective, parse_sizes

    df = collective(args.system, args.kind, parse_sizes(args.sizes), args.ranks, args.algorithm, nodes=args.nodes,
                    ranks_per_chip=args.ranks_per_chip, catalog=_cat(args), oversubscription=args.oversubscription)
    df["size"] = df["size"].astype("int64")  # whole bytes (they read 1024.0)
    if args.csv:
        print(df.to_csv(index=False), end="")
        return 0
    rows = [[_binary_size(int(r.size)), f"{r.time_s * 1e6:,.1f}", f"{r.algbw / 1e9:,.1f}", f"{r.busbw / 1e9:,.1f}",
             r.algorithm + (" (as all_reduce)" if r.as_all_reduce else "")] for r in df.itertuples()]
    print(f"{df['system'].iloc[0]}: {args.kind}, {int(df['ranks'].iloc[0])} ranks")
    print(_table(["size", "time (us)", "algbw (GB/s)", "busbw (GB/s)", "algorithm"], rows, {0, 1, 2, 3}))
    return 0


def _binary_size(n: int) -> str:
    """Bytes in the binary units the sizes are given in ('1.5M' is 1.5 MiB, not '1.57 MB')."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} B"


def _cmd_topology(args: argparse.Namespace) -> int:
    from .collectives import topology

    df = topology(args.system, nodes=args.nodes, ranks_per_chip=args.ranks_per_chip, check=args.check,
                  catalog=_cat(args), oversubscription=args.oversubscription, switch_radix=args.switch_radix)
    ok = not args.check or (
        all(df["graph_connected"]) and (df["graph_diameter"] == df["diameter"]).all()
        and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(df["graph_mean_hops"], df["mean_hops"]))
        and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(df["graph_bisection_bandwidth"], df["bisection_bandwidth"])))
    if args.json:
        print(json.dumps(df.to_dict(orient="records"), indent=2, default=str))
        return 0 if ok else 1  # a failed check is a failure, as any test's would be
    head = ["level", "topology", "endpoints", "x", "inject (GB/s)", "bisection (TB/s)", "diameter", "mean hops",
            "tiers", "oversub."]
    rows = [[r.level, r.topology + (" " + "x".join(map(str, r.shape)) if len(r.shape) else ""), f"{r.endpoints:,}",
             str(r.instances), f"{r.injection_bandwidth / 1e9:,.1f}", f"{r.bisection_bandwidth / 1e12:,.2f}",
             str(r.diameter), f"{r.mean_hops:.2f}", str(r.switch_tiers), f"{r.oversubscription:g}"]
            for r in df.itertuples()]
    print(f"{df['system'].iloc[0]}: fabric levels (bandwidths per direction; hops count links)")
    print(_table(head, rows, {2, 3, 4, 5, 6, 7, 8, 9}))
    if args.check:
        print("graph search: " + ", ".join(
            f"{r.level} diameter {r.graph_diameter}, mean hops {r.graph_mean_hops:.2f}, "
            f"bisection {r.graph_bisection_bandwidth / 1e12:,.2f} TB/s" for r in df.itertuples())
            + (" (agrees)" if ok else " (DISAGREES with the closed forms)"))
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    for i, arg in enumerate(given, 1):  # undecodable bytes arrive as lone surrogates, which C++ cannot take
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            print(f"perfmodel: error: argument {i} ({arg.encode('utf-8', 'backslashreplace').decode()}) is not valid "
                  "UTF-8 text", file=sys.stderr)
            return 2
    args = parser.parse_args(given)
    if getattr(args, "func", None) is None:  # no subcommand: usage on stderr, as for any missing argument
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Error as exc:
        # The library's hint names Python calls; on the command line a MODEL may be a config.json path.
        text = str(exc).replace("; or load a file with perfmodel.models.load(path) / perfmodel.models.from_hf_config(path)",
                                "; or give the path of a Hugging Face config.json (infer, train)")
        text = text.replace("; supply an override or a what-if part that sets it",  # the flags that do that here
                            "; give --catalog PATH with a what-if part that sets it (docs/howto/own-catalog.md)"
                            + (", or --override" if getattr(args, "override", None) is not None else ""))
        print(f"perfmodel: error: {text}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file named on the command line cannot be read or written
        print(f"perfmodel: error: {exc.filename or 'standard output'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"perfmodel: error: a file named on the command line is not UTF-8 text ({exc.reason} at byte "
              f"{exc.start})", file=sys.stderr)
        return 2
