"""The ``perfmodel`` command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Sequence

from . import Error, __version__, units
from . import catalog as _catalog


def _num(v: Any, ratio: bool = False) -> str:
    """Readable number: 3 significant digits, thousands separators, 'unknown' for missing."""
    if v is None or (isinstance(v, float) and math.isnan(v)) or str(v) == "<NA>":
        return "unknown"
    v = float(v)
    if ratio:
        return f"{v:.2f}x"
    if abs(v) >= 1000:
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


def _cat(args: argparse.Namespace) -> _catalog.Catalog:
    return _catalog.load(args.catalog) if args.catalog else _catalog.builtin()


def _cmd_units(args: argparse.Namespace) -> int:
    for text in args.text:
        q = units.parse(text)
        print(f"{text} = {q} = {q.value:.6g} {q.dimension} ({q.dimension_name})")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
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
    df = compare(args.ids, cat)
    if args.csv:
        sys.stdout.write(df.to_csv())
        return 0
    if args.json:
        out = {col: {k: (None if str(v) == "<NA>" else float(v)) for k, v in df[col].items()} for col in df.columns}
        print(json.dumps({"columns": out, "chips": df.attrs["chips"], "missing": df.attrs["missing"]}, indent=2))
        return 0
    ids = [cat.resolve(s) for s in args.ids]
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
    print("sources and confidence of every figure: perfmodel show <id>")
    return 0


def _cmd_export_control(args: argparse.Namespace) -> int:
    from .compare import export_control

    cat = _cat(args)
    ids = args.ids or cat.names("chip")
    rows = []
    for cid in ids:
        ec = export_control(cid, cat)
        rows.append([ec["chip"], _num(ec["tpp"]), ec["tpp_precision"] or "-",
                     _num(ec["die_area_mm2"]), "unknown" if ec["performance_density"] is None else f"{ec['performance_density']:.2f}",
                     ec["classification"]])
    print(_table(["chip", "TPP", "at", "die mm2", "PD", "3A090"], rows, {1, 3, 4}))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfmodel",
        description="Analytic performance, power and cost models of AI hardware.",
    )
    parser.add_argument("--version", action="version", version=f"perfmodel {__version__}")
    parser.add_argument("--catalog", metavar="PATH", help="extra catalog part file or directory")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("units", help="parse quantities and show them in SI base units")
    p.add_argument("text", nargs="+", help='quantities such as "3.35 TB/s" or "400 Gb/s"')
    p.set_defaults(func=_cmd_units)

    p = sub.add_parser("list", help="list catalog parts")
    p.add_argument("--kind", choices=["chip", "system"])
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("show", help="show one part with the source and confidence of every figure")
    p.add_argument("id", help="id or alias, e.g. h100, cm384, nvl72")
    p.add_argument("--json", action="store_true", help="print the part as JSON")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("compare", help="compare systems side by side, with ratios")
    p.add_argument("ids", nargs="+", help="system ids or aliases")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--csv", action="store_true", help="CSV output")
    g.add_argument("--json", action="store_true", help="JSON output")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("export-control", help="TPP, performance density and ECCN 3A090 class per chip")
    p.add_argument("ids", nargs="*", help="chip ids (default: all chips)")
    p.set_defaults(func=_cmd_export_control)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except Error as exc:
        print(f"perfmodel: error: {exc}", file=sys.stderr)
        return 2
