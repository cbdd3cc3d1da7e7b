"""Physical quantities with units: parse datasheet strings, format values with prefixes.

Values are stored in SI base units: FLOP, B (byte), s, J, W (J/s), Hz (1/s), USD.
Decimal prefixes (k, M, G, T, P, E) are powers of 1000; binary ones (Ki ... Ei) powers of
1024 and only apply to bytes and bits. ``b`` is a bit, ``B`` a byte.

>>> from perfmodel import units
>>> q = units.parse("400 Gb/s")
>>> q.value, q.dimension, str(q)
(50000000000.0, 'B/s', '50 GB/s')
"""

from __future__ import annotations

import math
import numbers

from . import _args, _core
from ._core import Quantity

__all__ = ["Quantity", "format", "parse", "parse_unit"]


def parse(text: str, dimension: str | None = None, *, allow_negative: bool = False) -> Quantity:
    """Parse ``"3.35 TB/s"`` into a :class:`Quantity`.

    ``dimension`` (a unit such as ``"B/s"``) checks the result's dimension and raises
    :class:`perfmodel.UnitMismatch` naming the text and the expected dimension. Bad text raises
    :class:`perfmodel.InvalidArgument` (also a ``ValueError``) that quotes the text.
    """
    if not isinstance(text, str):
        raise _core.InvalidArgument(f"text: expected a string such as '3.35 TB/s', got {text!r}")
    if text:
        _args.text("text", text)  # a lone surrogate (undecodable bytes) is named, not a TypeError
    q = _core.parse_quantity(text, _args.flag("allow_negative", allow_negative))
    if dimension is not None:
        _, expected = _core.parse_unit(_args.text("dimension", dimension))
        if q.dimension != expected:
            raise _core.UnitMismatch(
                f'"{text}" has dimension {q.dimension} ({q.dimension_name}), expected {expected}'
            )
    return q


def parse_unit(unit: str) -> tuple[float, str]:
    """Return (scale to SI base units, dimension symbol) of a unit: ``"GB/s"`` -> ``(1e9, "B/s")``."""
    return _core.parse_unit(_args.text("unit", unit))


def format(
    value: float,
    dimension: str,
    *,
    significant: int = 3,
    prefixes: str = "auto",
    bits: bool = False,
) -> str:
    """Format ``value`` (in units of ``dimension``, normally an SI symbol such as ``"B/s"``).

    ``prefixes`` is ``"auto"`` (SI; byte sizes that are exact binary multiples print as GiB),
    ``"si"`` or ``"iec"``; ``bits=True`` prints bytes as bits (``400 Gb/s``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):  # NaN and inf print as such
        raise _core.InvalidArgument(f"value: expected a number, got {type(value).__name__} {value!r}")
    try:
        x = float(value)
    except OverflowError:  # an int past a double (10**400)
        raise _core.InvalidArgument(f"value: an integer of {len(str(abs(int(value))))} digits is beyond a double") from None
    out = _core.format_quantity(x, _args.text("dimension", dimension),
                                _args.integer("significant", significant, 1, 15), _args.text("prefixes", prefixes),
                                _args.flag("bits", bits))
    # A finite value must print as one that reads back: near the top of a double, bits (x 8) or a
    # rounded figure times its prefix overflow ('inf Eb' for 1e308 bytes).
    if math.isfinite(x) and abs(x) >= 1e290:
        try:
            ok = math.isfinite(_core.parse_quantity(out, True).value)
        except _core.Error:
            ok = False
        if not ok:
            raise _core.InvalidArgument(f"value: {x:.3g} prints as {out!r}, which does not read back as a finite "
                                        "quantity; too large to format")
    return out
