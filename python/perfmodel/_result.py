"""Shared base of result objects that wrap a dict from the compiled core."""

from __future__ import annotations

import copy
from typing import Any


def detached(v: Any) -> Any:
    """A nested dict or list handed out as a copy: editing it must not change the result."""
    return copy.deepcopy(v) if isinstance(v, (dict, list)) else v


class DictResult:
    """Fields of the wrapped result read as attributes; ``plan`` keeps the options asked.

    The core hands over either a dict or a raw result object whose headline scalars are
    attributes and whose full dict (``to_dict()``) is built on first use only."""

    def __init__(self, d: Any, plan: dict[str, Any]):
        if isinstance(d, dict):
            self.__dict__["_full"] = d
        else:
            self.__dict__["_raw"] = d
        self.plan = dict(plan)

    @property
    def _d(self) -> dict[str, Any]:
        full = self.__dict__.get("_full")
        if full is None:
            full = self.__dict__["_full"] = self.__dict__["_raw"].to_dict()
        return full

    def _get(self, name: str) -> Any:
        full = self.__dict__.get("_full")
        if full is None:
            raw = self.__dict__.get("_raw")
            if raw is not None and hasattr(type(raw), name):
                return getattr(raw, name)
            full = self._d
        return full[name]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return detached(self._get(name))
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the fields (editing it leaves the result as it is)."""
        return copy.deepcopy(self._d)

    @property
    def rumour_inputs(self) -> list[str] | None:
        """Catalog figures of ``rumour`` confidence this estimate rests on (``"<part>: <field>"``,
        see :func:`perfmodel.catalog.rumour_inputs`); None for a result that lost its catalog
        (unpickled from another process)."""
        cat = self.__dict__.get("_catalog")
        if cat is None:
            return None
        from .catalog import rumour_inputs

        # Compute formats only: the KV cache's is storage (its bytes ride on memory.main.bandwidth).
        precisions = [v for k, v in self.plan.items() if k in ("weights", "attention", "precision") and isinstance(v, str)]
        return rumour_inputs(self._get("system"), precisions, energy=self._get("energy") is not None, catalog=cat)

    def __getstate__(self) -> dict[str, Any]:  # pickles (e.g. to Dask workers) as the plain dict
        return {"_full": self._d, "plan": self.plan}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # Copies keep the catalog (pickles do not: it stays in this process), so rumour_inputs works on them.
    def __copy__(self) -> "DictResult":
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.plan = dict(self.plan)
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> "DictResult":
        import copy

        new = type(self).__new__(type(self))
        new.__dict__["_full"] = copy.deepcopy(self._d, memo)
        new.plan = copy.deepcopy(self.plan, memo)
        if "_catalog" in self.__dict__:
            new.__dict__["_catalog"] = self.__dict__["_catalog"]
        return new


def fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
