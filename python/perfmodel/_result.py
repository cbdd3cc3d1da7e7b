"""Shared base of result objects that wrap a dict from the compiled core."""

from __future__ import annotations

from typing import Any


class DictResult:
    """Fields of the wrapped dict read as attributes; ``plan`` keeps the options asked."""

    def __init__(self, d: dict[str, Any], plan: dict[str, Any]):
        self._d = d
        self.plan = dict(plan)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__.get("_d")
        if d is not None and name in d:
            return d[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def to_dict(self) -> dict[str, Any]:
        return dict(self._d)


def fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
