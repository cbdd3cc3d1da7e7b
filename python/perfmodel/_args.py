"""Strict conversion of user arguments before they reach the C++ core.

Python's ``int()`` and ``float()`` would truncate 1.5 to 1, turn "8" into 8 and let NaN through;
pybind11 would raise a bare TypeError for None. These helpers raise :class:`perfmodel.InvalidArgument`
naming the argument and what was expected instead.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np

from . import _core

# C++ int fields (nodes, ranks per chip, switch ports) and std::int64_t ones (sizes, token counts).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**62  # headroom below 2**63 for products the core forms


class UnknownOption(_core.InvalidArgument, TypeError):
    """An option name a function does not take. A perfmodel error, and also the TypeError Python
    raises for an unexpected keyword, so a sweep stops on a misspelt option instead of recording
    the same error on every row."""


UnknownOption.__module__ = "perfmodel"


def refuse_unknown(given: Any, known: Any, kind: str, listed: Any = None) -> None:
    """Raise :class:`UnknownOption` for the first name in ``given`` not in ``known``, listing
    ``listed`` (default: ``known``, sorted) as what was expected."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        shown = sorted(known) if listed is None else list(listed)
        raise UnknownOption(f"{unknown[0]}: unknown {kind} option; expected one of {', '.join(shown)}")


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def integer(name: str, value: Any, minimum: int | None = 1, maximum: int = INT64_MAX) -> int:
    """``value`` as an int: Python or numpy integers, not bools or floats (as the plan dicts take them)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _core.InvalidArgument(f"{name}: expected an integer, got {_describe(value)}")
    out = int(value)
    if minimum is not None and out < minimum:
        want = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
        raise _core.InvalidArgument(f"{name}: expected {want}, got {out}")
    if out > maximum:
        raise _core.InvalidArgument(f"{name}: expected an integer <= {maximum}, got {out}")
    return out


def number(name: str, value: Any, minimum: float | None = None, maximum: float | None = None) -> float:
    """``value`` as a finite float (ints and floats, not bools or strings)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _core.InvalidArgument(f"{name}: expected a number, got {_describe(value)}")
    out = float(value)
    if not math.isfinite(out):
        raise _core.InvalidArgument(f"{name}: expected a finite number, got {value!r}")
    if minimum is not None and out < minimum:
        raise _core.InvalidArgument(f"{name}: expected a number >= {minimum:g}, got {out:g}")
    if maximum is not None and out > maximum:
        raise _core.InvalidArgument(f"{name}: expected a number <= {maximum:g}, got {out:g}")
    return out


_SI_COUNT = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12, "P": 1e15}


def count(name: str, value: Any) -> float:
    """A positive count given as a number or as text with an SI multiplier ("15.6T" = 15.6e12,
    "B" for billions), as the CLI takes it."""
    if isinstance(value, str):
        t = value.strip()
        scale = _SI_COUNT.get(t[-1:], 1.0) if t else 1.0
        try:
            value = float(t[:-1] if scale != 1.0 else t) * scale
        except ValueError:
            raise _core.InvalidArgument(f"{name}: expected a count such as 15.6e12 or '15.6T', got {value!r}") from None
    return number(name, value, minimum=0.0)


def flag(name: str, value: Any) -> bool:
    """``value`` as a bool: True or False (numpy's too), never a number or string."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise _core.InvalidArgument(f"{name}: expected True or False, got {_describe(value)}")


def path(name: str, value: Any) -> str:
    """``value`` as a file-system path (a str or os.PathLike) the C++ side can open: UTF-8, no NUL."""
    out = os.fsdecode(os.fspath(value)) if isinstance(value, os.PathLike) else value
    if not isinstance(out, str) or not out:
        raise _core.InvalidArgument(f"{name}: expected a file or directory path, got {_describe(value)}")
    if "\0" in out:
        raise _core.InvalidArgument(f"{name}: {out!r} contains a NUL character; no file has such a name")
    if not out.isascii():
        try:
            out.encode("utf-8")
        except UnicodeEncodeError:  # undecodable bytes in a file name arrive as lone surrogates
            raise _core.InvalidArgument(f"{name}: {out!r} is not valid UTF-8; perfmodel opens files by UTF-8 "
                                        "names (rename the file or a directory on its path)") from None
    return out


def ids(where: str, value: Any, expected: str) -> list[str]:
    """One id or a list/tuple of ids, non-empty (a string is one id, not its characters; a set or
    dict has no order for the rows it makes); ``where: expected ..., got ...`` otherwise."""
    items = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple)) else None
    if not items or not all(isinstance(v, str) and v for v in items):
        raise _core.InvalidArgument(f"{where}: expected {expected}, got {value!r}")
    return items


def text(name: str, value: Any) -> str:
    """``value`` as a non-empty string the C++ side can take (UTF-8: a lone surrogate from
    undecodable bytes was a pybind TypeError)."""
    if not isinstance(value, str) or not value:
        raise _core.InvalidArgument(f"{name}: expected a non-empty string, got {_describe(value)}")
    if "\0" in value:  # C++ messages end at a NUL: 'llama-3.1-8b\0x' was named as 'llama-3.1-8b'
        raise _core.InvalidArgument(f"{name}: {value!r} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _core.InvalidArgument(f"{name}: {value!r} is not valid UTF-8 text") from None
    return value
