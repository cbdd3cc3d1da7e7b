"""Transformer model definitions: the built-in set (``data/models``), perfmodel JSON files and
local Hugging Face ``config.json`` files (read offline).

>>> from perfmodel import models
>>> m = models.get("deepseek-r1")
>>> round(m.parameters / 1e9), round(m.active_parameters / 1e9)
(671, 37)
"""

from __future__ import annotations

import copy
import html
import json
import numbers
import os
from typing import Any

import pandas as pd

from . import _args, _core
from ._result import detached

__all__ = ["Model", "names", "get", "load", "define", "from_hf_config", "table"]


class Model:
    """A decoder-only transformer. Attributes mirror ``data/models/FORMAT.md``. Weights, norms
    ignored: ``parameters`` counts the model as model cards do (embedding and LM head included,
    MTP modules not); ``active_parameters`` the weights one token multiplies (the LM head, not
    the input embedding, a lookup: vocab x hidden below published "activated" counts, DeepSeek-V3
    36.5B against its 37B); ``mtp_parameters`` one multi-token-prediction module (its own layer
    and projection; embedding and head shared). A Model pickles (a built-in one by id), so it can
    go to Dask workers in a :func:`perfmodel.sweep`."""

    def __init__(self, core: Any):
        self._core = core
        self._d = core.to_dict()

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__.get("_d")
        if d is not None and name in d:
            return detached(d[name])
        raise AttributeError(f"Model has no attribute {name!r}")

    @property
    def parameters(self) -> float:
        return self._core.parameters()

    @property
    def active_parameters(self) -> float:
        return self._core.active_parameters()

    @property
    def mtp_parameters(self) -> float:
        return self._core.mtp_parameters()

    @property
    def source_file(self) -> str:
        return self._core.source_file

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # The core object does not pickle; a built-in model is its id, any other its fields.
        if self._d["id"] in names() and get(self._d["id"]).to_dict() == self._d:
            return get, (self._d["id"],)
        return _rebuild, (self.to_dict(),)

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the fields (editing it, e.g. to define a variant, leaves this model as it is)."""
        return copy.deepcopy(self._d)

    def __repr__(self) -> str:
        kind = "MoE" if self._d["moe"] else "dense"
        attn = "MLA" if self._d["mla"] else ("MHA" if self._d["kv_heads"] == self._d["heads"] else "GQA")
        return (f"<Model {self._d['id']}: {self.parameters / 1e9:.4g}B params ({self.active_parameters / 1e9:.3g}B active), "
                f"{self._d['layers']} layers, {attn}, {kind}>")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in self._d.items())
        return f"<table><caption>{html.escape(self._d['name'])}</caption>{rows}</table>"


def names() -> list[str]:
    """Ids of the built-in models."""
    return list(_core.model_names())


_CACHE: dict[str, Model] = {}


def get(name: str | Model) -> Model:
    """A built-in model by id or alias (``perfmodel.NotFound`` names the close matches and every
    built-in id)."""
    if isinstance(name, Model):
        return name
    if not isinstance(name, str):
        raise _core.InvalidArgument(f"model: expected a model id (a string) or a perfmodel Model, "
                                    f"got {type(name).__name__} {name!r}")
    m = _CACHE.get(_args.text("model", name))
    if m is None:
        try:
            m = _CACHE[name] = Model(_core.get_model(name))
        except _core.NotFound as exc:  # the core names its C++ loaders; point at the Python ones
            text = str(exc).replace("load_model / model_from_hf_config",
                                    "perfmodel.models.load(path) / perfmodel.models.from_hf_config(path)")
            raise _core.NotFound(text) from None
    return m


def load(path: str | os.PathLike[str]) -> Model:
    """A model from a perfmodel model JSON file (``perfmodel.ConfigError`` names file and field;
    ``perfmodel.NotFound`` when the file cannot be opened or is a directory)."""
    path = _args.path("path", path)
    return _distinct(Model(_core.load_model(path)), os.fspath(path))


def _distinct(m: Model, origin: str) -> Model:
    """``m``, unless it reuses a built-in's id with other fields (a table or sweep could not tell
    the two apart)."""
    if m._d["id"] in names():
        builtin = {k: v for k, v in get(m._d["id"]).to_dict().items() if k != "source"}
        if {k: v for k, v in m._d.items() if k != "source"} != builtin:
            raise _core.ConfigError(f"{origin}: id: '{m._d['id']}' is a built-in model with other fields; "
                                    "give the variant an id of its own")
    return m


def define(spec: dict[str, Any] | None = None, /, **fields: Any) -> Model:
    """A model from the fields of ``data/models/FORMAT.md`` given in Python, checked as a model file is.

    >>> m = define(id="gpt-39b", layers=48, hidden=8192, heads=64, ffn=32768, vocab=51200,
    ...            activation="gelu", tied_embeddings=True)
    >>> round(m.parameters / 1e9, 1)
    39.1

    ``spec`` (a dict, e.g. a model file's content or ``Model.to_dict()``, whose None entries mean
    "not set") and keyword fields are merged, keywords winning; a keyword set to None is refused
    (leave it out for its default). ``source`` defaults to "defined in Python
    (perfmodel.models.define)"; ``id`` is required. A wrong or unknown field raises
    ``perfmodel.ConfigError`` naming it."""
    if spec is not None and not isinstance(spec, dict):
        raise _core.ConfigError(f"models.define: spec: expected a dict of model fields, got {type(spec).__name__} {spec!r}")
    d: dict[str, Any] = {"source": "defined in Python (perfmodel.models.define)",
                         **{k: v for k, v in (spec or {}).items() if v is not None}, **fields}

    origin = f"models.define({d.get('id', '?')})"
    for k, v in fields.items():
        if v is None:  # activation=None read as the default swiglu, moe=None as no change
            raise _core.ConfigError(f"{origin}: {k}: None is not a value; leave the field out for its default")

    def plain(v: Any, where: str) -> Any:  # numpy scalars and the like into JSON values
        if isinstance(v, dict):
            return {str(k): plain(x, f"{where}.{k}" if where else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x, f"{where}[{i}]") for i, x in enumerate(v)]
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, numbers.Integral):
            return int(v)
        if isinstance(v, numbers.Real):  # every model field is a count or a size: 32.0 is not silently 32
            raise _core.ConfigError(f"{origin}: {where}: expected an integer, got {v!r}")
        raise _core.ConfigError(f"{origin}: {where}: expected an integer, string, bool, list or dict, got {v!r}")

    return _distinct(Model(_core.model_from_json(json.dumps(plain(d, "")), origin)), origin)


def _rebuild(fields: dict[str, Any]) -> Model:
    """A model from ``Model.to_dict()`` (what a pickled Model holds; its ``source`` travels, the
    file path it was read from does not)."""
    return define(fields)


def from_hf_config(path: str | os.PathLike[str]) -> Model:
    """A model from a local Hugging Face ``config.json`` (or a directory holding one).

    Supported: Llama, Mistral, Mixtral, Qwen2/Qwen3, Qwen2-MoE/Qwen3-MoE, DeepSeek-V2/V3, GPT-2.
    Any other architecture, or ``architectures`` and ``model_type`` naming different ones, raises
    ``perfmodel.ConfigError`` naming them; nothing is guessed. The model's id is the config's
    ``_name_or_path`` where it has one, else its ``model_type``."""
    path = _args.path("path", path)
    return _distinct(Model(_core.model_from_hf_config(path)), os.fspath(path))


def table() -> pd.DataFrame:
    """One row per built-in model: size, attention kind, experts, source."""
    rows = []
    for n in names():
        m = get(n)
        d = m.to_dict()
        rows.append({
            "model": n, "parameters_B": m.parameters / 1e9, "active_B": m.active_parameters / 1e9,
            "layers": d["layers"], "hidden": d["hidden"], "heads": d["heads"], "kv_heads": d["kv_heads"],
            "attention": "MLA" if d["mla"] else ("MHA" if d["kv_heads"] == d["heads"] else "GQA"),
            "experts": d["moe"]["routed_experts"] if d["moe"] else 0,
            "top_k": d["moe"]["top_k"] if d["moe"] else 0, "source": d["source"],
        })
    return pd.DataFrame(rows).set_index("model")
