"""The ``perfmodel`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from . import Error, __version__, units


def _cmd_units(args: argparse.Namespace) -> int:
    for text in args.text:
        q = units.parse(text)
        print(f"{text} = {q} = {q.value:.6g} {q.dimension} ({q.dimension_name})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfmodel",
        description="Analytic performance, power and cost models of AI hardware.",
    )
    parser.add_argument("--version", action="version", version=f"perfmodel {__version__}")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("units", help="parse quantities and show them in SI base units")
    p.add_argument("text", nargs="+", help='quantities such as "3.35 TB/s" or "400 Gb/s"')
    p.set_defaults(func=_cmd_units)
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
