"""Parameter sweeps: evaluate a function at every point of a space and collect a DataFrame.

>>> import perfmodel
>>> df = perfmodel.sweep(
...     [{"tp": tp, "dp": 8 // tp} for tp in (1, 2, 4, 8)],
...     evaluate=perfmodel.training,
...     fixed=dict(model="llama-3.1-8b", system="dgx-h100", n_chips=8, global_batch=64,
...                seq_len=4096),
...     progress=False)
>>> df[["tp", "dp"]].values.tolist()
[[1, 8], [2, 4], [4, 2], [8, 1]]
>>> bool(df["error"].iloc[0].startswith("memory:"))  # tp=1 does not fit in 80 GB
True
>>> bool(df["mfu"].iloc[1:].between(0, 1).all())
True

A space is either a mapping ``name -> list of values``, swept as the Cartesian product in
nested-loop order (the first key outermost, the last key varying fastest), or a list of dicts,
swept in list order. Point ``i`` of a product is decoded from ``i`` alone (mixed radix, see
:class:`Space`), so any index range can be evaluated on its own; that is how the work is split.

The result has one row per point, in point order: the point's keys, then the outputs of
``evaluate``, then ``error``. A point whose ``evaluate`` raises :class:`perfmodel.Error` keeps
its row, with the message in ``error`` and the outputs missing (``<NA>``); ``error`` is None on
rows that succeeded. Any other exception stops the sweep, and so does a misspelt option
(:class:`perfmodel.UnknownOption`, a ``TypeError`` as well as a perfmodel error): it would fail
every point the same way.

Running on a cluster
--------------------
Pass a ``dask.distributed.Client`` to spread the points over its workers
(``pip install 'dask[distributed]'``). On one machine ``Client(LocalCluster())`` uses every
core. For several machines, start ``dask scheduler`` on one host and
``dask worker tcp://scheduler:8786`` on the others, then::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")
    df = perfmodel.sweep(space, perfmodel.training, client=client, fixed=...)

Every worker needs the same perfmodel version installed, and any module ``evaluate`` comes
from: functions of an installed module are sent by name and imported there (functions defined in
a notebook or script are sent whole). ``fixed`` and the points are pickled to the workers, so
they must be picklable; a :class:`perfmodel.catalog.Catalog` is not, so to sweep a custom
catalog on a cluster, have ``evaluate`` load it on the worker. The DataFrame is the same as a
local run's.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ._core import Error, InvalidArgument
from ._progress import make_callback

__all__ = ["Space", "sweep"]

_ERROR = "error"


def _is_value_list(values: object) -> bool:
    return isinstance(values, Iterable) and not isinstance(values, (str, bytes, Mapping))


class Space:
    """The points of a sweep, addressable by index.

    ``Space({"a": [1, 2], "b": ["x", "y", "z"]})`` has 6 points, ``a`` outermost:
    (1, x), (1, y), (1, z), (2, x), ... . ``Space([{"a": 1}, {"a": 2, "b": 3}])`` has the given
    points in order; its names are all keys in first-seen order.
    """

    def __init__(self, space: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]]):
        self._axes: list[tuple[str, list[Any]]] | None = None
        self._points: list[dict[str, Any]] | None = None
        if isinstance(space, Mapping):
            if not space:
                raise InvalidArgument(
                    "space: expected at least one name -> list of values, got an empty mapping")
            axes = []
            for name, values in space.items():
                _check_name(name, "space")
                if not _is_value_list(values):
                    raise InvalidArgument(f"space[{name!r}]: expected a non-empty list of values, "
                                          f"got {type(values).__name__}")
                if isinstance(values, (set, frozenset)):  # its order changes between runs, and so would the rows
                    raise InvalidArgument(f"space[{name!r}]: a set has no fixed order; pass a list (e.g. sorted(...))")
                values = list(values)
                if not values:
                    raise InvalidArgument(f"space[{name!r}]: expected a non-empty list of values")
                axes.append((name, values))
            self._axes = axes
            self.names: list[str] = [name for name, _ in axes]
            self._len = math.prod(len(values) for _, values in axes)
        elif isinstance(space, Sequence) and not isinstance(space, (str, bytes)):
            if len(space) == 0:
                raise InvalidArgument("space: expected at least one point, got an empty list")
            points, names = [], {}
            for i, point in enumerate(space):
                if not isinstance(point, Mapping):
                    raise InvalidArgument(
                        f"space[{i}]: expected a dict of name -> value, got {type(point).__name__}")
                for name in point:
                    _check_name(name, f"space[{i}]")
                    names.setdefault(name, None)
                points.append(dict(point))
            self._points = points
            self.names = list(names)
            self._len = len(points)
        else:
            raise InvalidArgument(
                "space: expected a mapping name -> list of values or a list of dicts, "
                f"got {type(space).__name__}")

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        kind = "product" if self._axes is not None else "list"
        return f"<Space {kind} of {self._len} points over {', '.join(self.names)}>"

    def point(self, i: int) -> dict[str, Any]:
        """Point ``i`` (0 <= i < len) as a dict name -> value, keys in :attr:`names` order."""
        if not 0 <= i < self._len:
            raise IndexError(f"point {i} out of range for a space of {self._len} points")
        if self._points is not None:
            return dict(self._points[i])
        # Mixed radix, last axis least significant: the digits are the value indices.
        assert self._axes is not None
        digits = []
        for _, values in reversed(self._axes):
            i, digit = divmod(i, len(values))
            digits.append(digit)
        return {name: values[d] for (name, values), d in zip(self._axes, reversed(digits))}

    def points(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Points ``start`` to ``stop - 1`` (``stop`` defaults to the end)."""
        stop = self._len if stop is None else min(stop, self._len)
        return [self.point(i) for i in range(max(start, 0), stop)]

    def _part(self, start: int, stop: int) -> tuple[Space, int, int]:
        """``(space, lo, hi)``: points ``lo`` to ``hi - 1`` of ``space`` are points ``start`` to
        ``stop - 1`` of this one. What a task is sent: a product whole (it is small), a list only
        its slice."""
        if self._points is None:
            return self, start, stop
        part = Space.__new__(Space)
        part._axes, part._points, part.names = None, self._points[start:stop], self.names
        part._len = len(part._points)
        return part, 0, part._len


def _check_name(name: object, where: str) -> None:
    if not isinstance(name, str):
        raise InvalidArgument(
            f"{where}: names are passed as keyword arguments, so must be strings; got {name!r}")
    if name == _ERROR:
        raise InvalidArgument(f"{where}: the name 'error' is reserved for the error column")


def _is_scalar(v: object) -> bool:
    return v is None or isinstance(v, (str, bool, numbers.Number))


def _outputs(result: Any) -> dict[str, Any]:
    """What one evaluation contributes to its row (numpy scalars as Python ones, so a column of
    np.bool_ with gaps is boolean, not object)."""
    if isinstance(result, (pd.DataFrame, pd.Series, np.ndarray)):  # its to_dict kept nothing: an empty success
        raise InvalidArgument(f"evaluate returned a {type(result).__name__}; a sweep keeps one row of scalar outputs "
                              "per point: return a dict, a result object or a number (estimate one shape per call)")
    if isinstance(result, Mapping):
        d = dict(result)
    elif callable(getattr(result, "to_dict", None)):
        summary = getattr(result, "summary", None)
        d = summary() if callable(summary) else result.to_dict()
        d = {k: v for k, v in d.items() if _is_scalar(v)}
    else:
        d = {"value": result}
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in d.items()}


Row = tuple[dict[str, Any], dict[str, Any], "str | None"]


def _evaluate_range(space: Space, evaluate: Callable[..., Any], fixed: Mapping[str, Any],
                    start: int, stop: int, report: Callable[[int], Any] | None = None,
                    ) -> list[Row]:
    """Rows (point, outputs, error) of points ``start`` to ``stop - 1``; the task run by Dask
    workers. ``report`` gets the count done so far; its returning False stops the range there."""
    rows: list[Row] = []
    for i in range(start, stop):
        point = space.point(i)
        try:
            rows.append((point, _outputs(evaluate(**fixed, **point)), None))
        except TypeError:  # a misspelt keyword (perfmodel's UnknownOption included): stop, not a row per point
            raise
        except Error as exc:
            rows.append((point, {}, str(exc)))
        if report is not None and report(i + 1 - start) is False:
            break
    return rows


def _column(values: list[Any]) -> pd.Series:
    """One column. Complete columns get the dtype pandas infers; a boolean, numeric or string
    column with gaps gets the nullable dtype (gaps are ``<NA>``, not NaN); others hold None."""
    present = [v for v in values if v is not None]
    if len(present) == len(values):
        return pd.Series(values)
    if not present:
        return pd.Series(values, dtype=object)
    if all(isinstance(v, bool) for v in present):
        return pd.Series(values, dtype="boolean")
    numbers_only = not any(isinstance(v, bool) for v in present)
    if numbers_only and all(isinstance(v, numbers.Integral) for v in present):
        return pd.Series(values, dtype="Int64")
    if numbers_only and all(isinstance(v, numbers.Real) for v in present):
        return pd.Series(values, dtype="Float64")
    if all(isinstance(v, str) for v in present):
        return pd.Series(values, dtype="string")
    return pd.Series(values, dtype=object)


def _frame(names: list[str], rows: list[Row]) -> pd.DataFrame:
    outputs: dict[str, None] = {}
    for _, out, _ in rows:
        outputs.update(dict.fromkeys(out))
    # An output named like a point key (or "error") must not overwrite it, nor its new name another output.
    taken = set(names) | set(outputs) | {_ERROR}
    rename = {}
    for k in outputs:
        label = k
        if k in names or k == _ERROR:
            label = f"{k}_out"
            while label in taken:
                label += "_out"
            taken.add(label)
        rename[k] = label
    columns: dict[str, pd.Series] = {}
    for name in names:
        columns[name] = _column([point.get(name) for point, _, _ in rows])
    for key, label in rename.items():
        columns[label] = _column([out.get(key) for _, out, _ in rows])
    columns[_ERROR] = pd.Series([err for _, _, err in rows], dtype=object)
    return pd.DataFrame(columns)


def _dask_client_type() -> type:
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise InvalidArgument(f"client: running a sweep on a cluster needs Dask ({exc}); "
                              "pip install 'dask[distributed]'") from exc
    return Client


def sweep(space: Mapping[str, Iterable[Any]] | Sequence[Mapping[str, Any]],
          evaluate: Callable[..., Any], *, client: Any = None,
          fixed: Mapping[str, Any] | None = None, chunks: int | None = None,
          progress: bool | Callable[[int, int], Any] | None = None) -> pd.DataFrame:
    """Evaluate ``evaluate(**fixed, **point)`` at every point of ``space``; one row per point.

    ``space``: a mapping name -> non-empty list of values (the Cartesian product, last key
    varying fastest) or a list of dicts (explicit points). ``evaluate`` returns a mapping (every
    value becomes a column, an object column where it is not a number or a string), an object
    with ``to_dict()`` (its ``summary()`` is used if it has one, and only its numbers, strings,
    bools and Nones are kept; perfmodel results work directly) or a single value (column ``value``);
    a DataFrame, Series or array is not one row, and its point gets an ``error`` saying so. ``fixed``:
    arguments common to every point. ``client``: a ``dask.distributed.Client`` to run on, split
    into ``chunks`` contiguous ranges of points [4 per worker]. ``progress``: None (a bar in a
    terminal or notebook), True, False or a callable ``f(done, total)``, called after every point
    (on a cluster, every finished range); its returning Python's ``False`` (only that) cancels the
    sweep: the frame holds the points evaluated so far, in point order, and
    ``df.attrs["cancelled"]`` is True (False otherwise).

    Columns: the point's keys, the outputs (renamed ``<name>_out`` if they clash with a point
    key), then ``error``: the :class:`perfmodel.Error` message for a point that failed, else None.
    """
    points = Space(space)
    if not callable(evaluate):
        raise InvalidArgument(f"evaluate: expected a callable, got {type(evaluate).__name__}")
    if fixed is None:
        fixed = {}
    elif not isinstance(fixed, Mapping):
        raise InvalidArgument(
            f"fixed: expected a dict of keyword arguments, got {type(fixed).__name__}")
    else:
        fixed = dict(fixed)
        for name in fixed:
            if not isinstance(name, str):
                raise InvalidArgument(f"fixed: keyword names must be strings, got {name!r}")
    both = [name for name in points.names if name in fixed]
    if both:
        raise InvalidArgument(f"fixed and space both set {', '.join(map(repr, both))}; "
                              "give each argument in one of them")
    whole = isinstance(chunks, numbers.Integral) and not isinstance(chunks, bool)
    if chunks is not None and not (whole and chunks >= 1):
        raise InvalidArgument(f"chunks: expected a whole number >= 1, got {chunks!r}")
    if client is not None:
        client_type = _dask_client_type()
        if not isinstance(client, client_type):
            raise InvalidArgument(
                f"client: expected a dask.distributed.Client, got {type(client).__name__}")
    report, close = make_callback(progress, desc="sweep")
    n = len(points)
    cancelled = False

    def tell(done: int) -> bool:  # False once the caller's progress callable has returned False
        nonlocal cancelled
        cancelled = cancelled or report(done, n) is False
        return not cancelled

    try:
        if tell(0):
            if client is None:
                rows = _evaluate_range(points, evaluate, fixed, 0, n, tell)
            else:
                rows = _run_on_dask(client, points, evaluate, fixed, chunks, tell)
        else:
            rows = []
    finally:
        close()
    df = _frame(points.names, rows)
    df.attrs["cancelled"] = cancelled
    return df


def _run_on_dask(client: Any, points: Space, evaluate: Callable[..., Any], fixed: dict[str, Any],
                 chunks: int | None, report: Callable[[int], bool]) -> list[Row]:
    from dask.distributed import as_completed

    n = len(points)
    if chunks is None:
        chunks = 4 * len(client.nthreads())  # nthreads() lists every worker
    chunks = max(1, min(int(chunks), n))
    bounds = [n * j // chunks for j in range(chunks + 1)]
    futures = []
    for start, stop in zip(bounds, bounds[1:]):
        part, lo, hi = points._part(start, stop)
        futures.append(client.submit(_evaluate_range, part, evaluate, fixed, lo, hi, pure=False))
    index = {future.key: j for j, future in enumerate(futures)}
    results: list[list[Row] | None] = [None] * chunks
    done = 0
    try:
        for future in as_completed(futures):
            j = index[future.key]
            # Re-raises what evaluate raised if it was not a perfmodel.Error.
            results[j] = future.result()
            done += bounds[j + 1] - bounds[j]
            if not report(done):  # cancelled: keep the ranges finished so far
                break
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:  # an evaluate error or a cancel stopped the sweep: drop the work still queued
            client.cancel(pending)
    return [row for part in results if part is not None for row in part]
