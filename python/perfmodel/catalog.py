"""The hardware catalog: chips and the systems built from them, every figure with its source.

>>> from perfmodel import catalog
>>> "nvidia-h100-sxm" in catalog.names()
True
>>> catalog.get("h100")["memory"]["main"]["bandwidth"]["value"]
'3.35 TB/s'
"""

from __future__ import annotations

import html
import json
import os
from typing import Any, Callable, Iterable, Iterator

from . import _args, _core

__all__ = ["Catalog", "Part", "builtin", "data_dir", "get", "load", "names", "rumour_inputs", "using"]


class Part:
    """One catalog part (chip or system) as written in its JSON file, after ``extends``."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    @property
    def id(self) -> str:
        return str(self._data["id"])

    @property
    def kind(self) -> str:
        return str(self._data["kind"])

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def vendor(self) -> str:
        return str(self._data["vendor"])

    @property
    def aliases(self) -> list[str]:
        return list(self._data.get("aliases", []))

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the part's data: values keep their units, figures their sources."""
        return json.loads(json.dumps(self._data))

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()

    def figures(self) -> list[dict[str, str]]:
        """Every figure as a flat record: field, value, confidence, source, derived_from (how a
        ``derived`` figure was computed; empty otherwise), note."""
        out: list[dict[str, str]] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, dict):
                if "value" in node or node.get("unknown") is True:
                    unknown = node.get("unknown") is True
                    out.append(
                        {
                            "field": path,
                            "value": "unknown" if unknown else _text(node["value"]),
                            "confidence": "" if unknown else str(node.get("confidence", "")),
                            "source": str(node.get("source", "")),
                            "derived_from": str(node.get("derived_from", "")),
                            "note": str(node.get("note", "")),
                        }
                    )
                    return
                for k, v in node.items():
                    walk(v, f"{path}.{k}" if path else k)
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, f"{path}[{i}]")

        walk(self._data, "")
        return out

    def __repr__(self) -> str:
        return f"<perfmodel {self.kind} {self.id!r}: {self.vendor} {self.name}>"

    def _repr_html_(self) -> str:
        rows = []
        for f in self.figures():
            title = html.escape("; ".join(t for t in (f["derived_from"], f["note"]) if t), quote=True)
            src = html.escape(f["source"])
            rows.append(
                f"<tr><td><code>{html.escape(f['field'])}</code></td>"
                f"<td title=\"{title}\">{html.escape(f['value'])}</td>"
                f"<td>{html.escape(f['confidence'])}</td><td>{src}</td></tr>"
            )
        head = (
            f"<p><b>{html.escape(self.vendor)} {html.escape(self.name)}</b> "
            f"(<code>{html.escape(self.id)}</code>, {html.escape(self.kind)})</p>"
        )
        return (
            head + "<table><thead><tr><th>field</th><th>value</th><th>confidence</th>"
            "<th>source</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        )


class Catalog:
    """A set of parts: the built-in catalog, optionally extended by user files."""

    def __init__(self, core: _core.Catalog):
        self._core = core
        # Prepared devices, networks and systems built from this catalog; they live and die with it
        # (a cache keyed by id(catalog) could hand a new catalog a freed one's parts).
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _prepared(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        obj = self._memo.get(key)
        if obj is None:
            obj = self._memo[key] = make()
        return obj

    def names(self, kind: str | None = None) -> list[str]:
        """Canonical ids, sorted; ``kind`` is ``"chip"``, ``"system"``, ``"efficiency"`` (the
        efficiency parts, one per chip family) or None for chips and systems."""
        return list(self._core.names(None if kind is None else _args.text("kind", kind)))

    def get(self, name: str) -> Part:
        """The part with this id or alias; raises :class:`perfmodel.NotFound` with suggestions."""
        return Part(json.loads(self._core.json(self._name(name))))

    @staticmethod
    def _name(name: Any) -> str:
        if not isinstance(name, str):
            raise _core.InvalidArgument(f"expected a chip or system id (a string), got {type(name).__name__} {name!r}")
        return name

    def resolve(self, name: str) -> str:
        return self._core.resolve(self._name(name))

    def kind(self, name: str) -> str:
        return self._core.kind(self._name(name))

    def load(self, path: str | os.PathLike[str]) -> "Catalog":
        """This catalog plus the part file(s) at ``path``; all-or-nothing."""
        return Catalog(self._core.load(_args.path("path", path)))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._core.contains(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"<perfmodel.catalog.Catalog: {len(self.names('chip'))} chips, {len(self.names('system'))} systems>"


_BUILTIN = Catalog(_core.Catalog.builtin())


def builtin() -> Catalog:
    """The catalog shipped with perfmodel (``data/catalog``)."""
    return _BUILTIN


def using(catalog: Catalog | None) -> Catalog:
    """``catalog``, or the built-in one for None; anything else is an error naming the argument."""
    if catalog is None:
        return _BUILTIN
    if not isinstance(catalog, Catalog):
        raise _core.InvalidArgument(f"catalog: expected a perfmodel Catalog (perfmodel.catalog.load(path)) or None, "
                                    f"got {type(catalog).__name__} {catalog!r}")
    return catalog


_PRECISIONS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "fp4", "int8", "int4")


def _figures(d: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(JSON path, figure) for every figure in a part dict; power-model components by name."""
    if isinstance(d, dict):
        if "confidence" in d:
            yield path, d
            return
        for k, v in d.items():
            yield from _figures(v, f"{path}.{k}" if path else str(k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            name = v.get("name") if isinstance(v, dict) else None
            yield from _figures(v, f"{path}[{name!r}]" if name else f"{path}[{i}]")


def rumour_inputs(system: str, precisions: Iterable[str] = ("bf16",), *, energy: bool = False, cost: bool = False,
                  catalog: Catalog | None = None) -> list[str]:
    """The catalog figures of ``rumour`` confidence that a workload estimate on ``system`` rests
    on, as ``"<part>: <field>"``: the chip's compute at ``precisions`` (bf16 always: attention and
    norms), its compute units, memory, scale-up and scale-out figures, and the system's chip count,
    nodes and fabrics; with ``energy``, also the chip's TDP and the system's power-model
    components and published power; with ``cost``, the system's price. Empty when every such
    figure is better sourced."""
    cat = using(catalog)
    if cat.kind(system) != "system":
        raise _core.InvalidArgument(f"rumour_inputs: {system!r} is a {cat.kind(system)}; expected a system id")
    sysd = cat.get(system).to_dict()
    chip = cat.get(sysd["chip"]).to_dict()
    if isinstance(precisions, str):
        precisions = [precisions]
    if not isinstance(precisions, Iterable):  # None or a number: not a list of formats
        raise _core.InvalidArgument(f"precisions: expected a format such as 'fp8' or a list of them, got {precisions!r}")
    precs = {_args.text("precisions", p).lower() for p in precisions} | {"bf16"}
    if precs - set(_PRECISIONS):
        raise _core.InvalidArgument(f"precisions: unknown {sorted(precs - set(_PRECISIONS))[0]!r}; expected "
                                    f"{', '.join(_PRECISIONS)}")
    chip_fields = ["compute_units.", "memory.main.", "scale_up.", "scale_out.", *(f"compute.{p}." for p in precs)]
    sys_fields = ["chips", "nodes.", "scale_up.", "scale_out.", "racks"]
    if energy:
        chip_fields.append("tdp")
        sys_fields += ["power_model.", "power", "cpus."]
    if cost:
        sys_fields.append("price")
    out = []
    for part, fields in ((chip, chip_fields), (sysd, sys_fields)):
        for path, fig in _figures(part):
            if fig.get("confidence") == "rumour" and any(path == f or path.startswith(f) for f in fields):
                out.append(f"{part['id']}: {path}")
    return out


def names(kind: str | None = None) -> list[str]:
    """Ids of the built-in parts; ``kind`` is ``"chip"``, ``"system"``, ``"efficiency"`` or None
    (chips and systems)."""
    return _BUILTIN.names(kind)


def get(name: str) -> Part:
    """A built-in part by id or alias (``"h100"``, ``"cm384"``, ``"nvl72"``)."""
    return _BUILTIN.get(name)


def load(path: str | os.PathLike[str]) -> Catalog:
    """The built-in catalog plus the user part file(s) at ``path`` (a file or a directory).

    A user part may ``"extends": "<id>"`` another part and override fields (a what-if chip).
    Any problem raises :class:`perfmodel.ConfigError` naming file, JSON path, value and what was
    expected, and nothing is loaded.
    """
    return _BUILTIN.load(path)


def data_dir() -> str:
    """Directory holding the installed catalog JSON files and schema."""
    return os.path.join(os.path.dirname(__file__), "data", "catalog")


def _text(value: Any) -> str:
    """A figure's value as written in the JSON file (true/false, not Python's True/False)."""
    return json.dumps(value) if isinstance(value, bool) else str(value)
