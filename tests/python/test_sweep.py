"""perfmodel.sweep and its progress bar: point order, rows, errors, Dask equals local, bad input."""

import io
import itertools
import re
import sys
import types

import numpy as np
import pandas as pd
import pytest

import perfmodel
from perfmodel import _progress
from perfmodel._progress import Progress, make_callback
from perfmodel.sweep import Space


TRAINING = {"model": "llama-3.1-8b", "system": "dgx-h100", "n_chips": 8, "global_batch": 64,
            "seq_len": 4096}
# 32 points; only tp x dp = 8 matches n_chips, and tp=1 does not fit in 80 GB: a mix of rows.
TRAINING_SPACE = {"tp": [1, 2, 4, 8], "dp": [1, 2, 4, 8], "micro_batch": [1, 2]}


def area(width, height, scale):
    if width == 0:
        raise perfmodel.InvalidArgument("width: must be positive")
    return {"area": width * height * scale, "label": f"{width}x{height}"}


class Recorder:
    """A progress callable that keeps its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, done, total):
        self.calls.append((done, total))


def expected_area_frame():
    points = [(w, h) for w in (0, 2, 3) for h in (1.5, 2.5)]
    return pd.DataFrame({
        "width": [w for w, _ in points],
        "height": [h for _, h in points],
        "area": pd.array([w * h * 10 if w else None for w, h in points], dtype="Float64"),
        "label": pd.array([f"{w}x{h}" if w else None for w, h in points], dtype="string"),
        "error": pd.Series([None if w else "width: must be positive" for w, _ in points],
                           dtype=object),
    })


# --- Space -------------------------------------------------------------------------------------


def test_product_space_is_nested_loops_in_key_order():
    space = Space({"a": [1, 2], "b": ["x", "y", "z"], "c": [True, False]})
    assert len(space) == 12
    assert space.names == ["a", "b", "c"]
    loops = [{"a": a, "b": b, "c": c} for a in (1, 2) for b in "xyz" for c in (True, False)]
    assert space.points() == loops
    assert [space.point(i) for i in range(12)] == loops
    for start, stop in itertools.combinations(range(13), 2):
        assert space.points(start, stop) == loops[start:stop]
    with pytest.raises(IndexError):
        space.point(12)


def test_list_space_keeps_order_and_collects_names():
    space = Space([{"b": 1}, {"a": 2, "b": 3}, {}])
    assert len(space) == 3
    assert space.names == ["b", "a"]
    assert space.points(1, 3) == [{"a": 2, "b": 3}, {}]


# --- local sweeps ------------------------------------------------------------------------------


def test_sweep_of_a_function_gives_one_row_per_point_in_order():
    df = perfmodel.sweep({"width": [0, 2, 3], "height": [1.5, 2.5]}, area, fixed={"scale": 10},
                         progress=False)
    pd.testing.assert_frame_equal(df, expected_area_frame())


def test_sweep_of_explicit_points_and_return_kinds():
    class Summarised:
        def to_dict(self):
            return {"x": 1, "nested": {"no": 1}}

        def summary(self):
            return {"s": 2.0, "items": [1, 2], "name": "n"}

    class Plain:
        def to_dict(self):
            return {"x": 1, "nested": {"no": 1}}

    df = perfmodel.sweep([{"k": 1}, {"k": 2}], lambda k: k * 0.5, progress=False)
    assert df.columns.tolist() == ["k", "value", "error"]
    assert df["value"].tolist() == [0.5, 1.0]
    df = perfmodel.sweep([{"k": 1}], lambda k: Summarised(), progress=False)
    assert df.columns.tolist() == ["k", "s", "name", "error"]  # only scalars of summary()
    df = perfmodel.sweep([{"k": 1}], lambda k: Plain(), progress=False)
    assert df.columns.tolist() == ["k", "x", "error"]
    # A collective's fields become columns (it gave one opaque 'value' column).
    df = perfmodel.sweep({"size": ["1M", "1G"]}, perfmodel.collective,
                         fixed={"system": "dgx-h100", "kind": "all_reduce"}, progress=False)
    assert {"time_s", "busbw", "algorithm"} <= set(df.columns)
    assert df["time_s"].iloc[1] > df["time_s"].iloc[0]
    # Missing keys of a point are missing values; an output named like a point key is renamed.
    df = perfmodel.sweep([{"k": 1}, {"j": 2}], lambda k=0, j=0: {"k": k + j, "error": "mine"},
                         progress=False)
    assert df.columns.tolist() == ["k", "j", "k_out", "error_out", "error"]
    assert df["k"].dtype == "Int64" and df["k"].isna().tolist() == [False, True]
    assert df["k_out"].tolist() == [1, 2]
    # The renamed output does not overwrite an output already called k_out.
    df = perfmodel.sweep([{"k": 1}], lambda k: {"k": 3, "k_out": 5}, progress=False)
    assert df.columns.tolist() == ["k", "k_out_out", "k_out", "error"]
    assert (df["k_out_out"].tolist(), df["k_out"].tolist()) == ([3], [5])


def test_sweep_of_training_reports_errors_per_row():
    df = perfmodel.sweep(TRAINING_SPACE, perfmodel.training, fixed=TRAINING, progress=False)
    assert len(df) == 32
    assert df.columns[:3].tolist() == ["tp", "dp", "micro_batch"]
    assert df.columns[-1] == "error"
    ok = df["error"].isna()
    assert set(zip(df.loc[ok, "tp"], df.loc[ok, "dp"])) == {(2, 4), (4, 2), (8, 1)}
    assert df.loc[ok, "mfu"].between(0, 1, inclusive="neither").all()
    assert df.loc[~ok, "mfu"].isna().all()
    wrong_chips = df["tp"] * df["dp"] != 8
    assert df.loc[wrong_chips, "error"].str.startswith("chips:").all()
    assert df.loc[~wrong_chips & ~ok, "error"].str.startswith("memory:").all()
    # A row matches a direct call.
    direct = perfmodel.training(tp=4, dp=2, micro_batch=2, **TRAINING)
    row = df[(df["tp"] == 4) & (df["dp"] == 2) & (df["micro_batch"] == 2)].iloc[0]
    assert row["step_time_s"] == direct.step_time_s


def test_other_exceptions_stop_the_sweep():
    with pytest.raises(ZeroDivisionError):
        perfmodel.sweep({"x": [1, 0]}, lambda x: 1 / x, progress=False)
    # A misspelt option of inference/training fails every point alike: it stops the sweep as the
    # TypeError Python raises for an unexpected keyword (it is a perfmodel error too).
    calls = Recorder()
    with pytest.raises(perfmodel.UnknownOption, match="tpp: unknown serving option") as info:
        perfmodel.sweep({"batch": [1, 2, 3]}, perfmodel.inference, progress=calls,
                        fixed=dict(model="llama-3.1-8b", system="dgx-h100", tpp=2))
    assert isinstance(info.value, TypeError) and isinstance(info.value, perfmodel.InvalidArgument)
    assert calls.calls == [(0, 3)]  # stopped at the first point
    with pytest.raises(TypeError, match="tp_size: unknown training option"):
        perfmodel.sweep({"dp": [8]}, perfmodel.training, fixed=dict(TRAINING, tp_size=1), progress=False)


def test_progress_callable_sees_every_point():
    seen = Recorder()
    df = perfmodel.sweep({"x": [1, 2, 3]}, lambda x: x, progress=seen)
    assert seen.calls == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert df.attrs["cancelled"] is False


def test_progress_callable_returning_false_cancels_the_sweep():
    # As in the plan searches: Python's False (only that) stops the sweep; the points done so far stay.
    evaluated = []

    def f(x):
        evaluated.append(x)
        return x * 2

    df = perfmodel.sweep({"x": list(range(10))}, f, progress=lambda done, total: done < 3)
    assert evaluated == [0, 1, 2] and df["x"].tolist() == [0, 1, 2] and df["value"].tolist() == [0, 2, 4]
    assert df.attrs["cancelled"] is True
    df = perfmodel.sweep({"x": [1, 2]}, f, progress=lambda done, total: False)  # before the first point
    assert len(df) == 0 and df.attrs["cancelled"] is True
    df = perfmodel.sweep({"x": [1, 2]}, f, progress=lambda done, total: 0)  # falsy is not False
    assert len(df) == 2 and df.attrs["cancelled"] is False


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("space, message", [
    ({}, "space: expected at least one name -> list of values"),
    ([], "space: expected at least one point"),
    ({"tp": []}, "space['tp']: expected a non-empty list of values"),
    ({"tp": 4}, "space['tp']: expected a non-empty list of values, got int"),
    ({"system": "dgx-h100"}, "space['system']: expected a non-empty list of values, got str"),
    ([{"tp": 1}, 2], "space[1]: expected a dict of name -> value, got int"),
    ("tp", "space: expected a mapping name -> list of values or a list of dicts, got str"),
    ({1: [1]}, "space: names are passed as keyword arguments, so must be strings; got 1"),
    ([{"tp": 1}, {2: 1}], "space[1]: names are passed as keyword arguments"),
    ({"error": [1]}, "space: the name 'error' is reserved"),
    ({"tp": {1, 2}}, "space['tp']: a set has no fixed order; pass a list"),  # rows would change order between runs
])
def test_bad_space(space, message):
    with pytest.raises(perfmodel.InvalidArgument, match=re.escape(message)):
        perfmodel.sweep(space, area, progress=False)


def test_bad_arguments():
    with pytest.raises(perfmodel.InvalidArgument, match="evaluate: expected a callable, got str"):
        perfmodel.sweep({"tp": [1]}, "training", progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="fixed and space both set 'tp'"):
        perfmodel.sweep({"tp": [1]}, perfmodel.training, fixed=dict(TRAINING, tp=2),
                        progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="fixed and space both set 'tp'"):
        perfmodel.sweep([{"dp": 1}, {"tp": 1}], perfmodel.training, fixed={"tp": 2},
                        progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="fixed: expected a dict"):
        perfmodel.sweep({"tp": [1]}, perfmodel.training, fixed=[("tp", 2)], progress=False)
    for chunks in (0, -1, 1.5, True):
        with pytest.raises(perfmodel.InvalidArgument, match="chunks: expected a whole number >= 1"):
            perfmodel.sweep({"tp": [1]}, perfmodel.training, chunks=chunks, progress=False)
    with pytest.raises(perfmodel.InvalidArgument, match="progress: expected None, True, False"):
        perfmodel.sweep({"tp": [1]}, area, progress="yes")


def test_bad_client():
    with pytest.raises(perfmodel.InvalidArgument,
                       match="client: expected a dask.distributed.Client, got object"):
        perfmodel.sweep({"tp": [1]}, perfmodel.training, client=object(), progress=False)


def test_client_without_dask_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # makes the import fail
    with pytest.raises(perfmodel.InvalidArgument,
                       match=re.escape("pip install 'dask[distributed]'")):
        perfmodel.sweep({"tp": [1]}, perfmodel.training, client=object(), progress=False)


# --- Dask --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client():
    # dask[distributed] is a dev requirement (requirements-dev.txt): missing, this fails, not skips.
    import dask.distributed as distributed

    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c


def test_dask_sweep_of_training_equals_local(client):
    local = perfmodel.sweep(TRAINING_SPACE, perfmodel.training, fixed=TRAINING, progress=False)
    for chunks in (None, 1, 5, 32, 1000):  # 1000 > points: one point per task
        seen = Recorder()
        remote = perfmodel.sweep(TRAINING_SPACE, perfmodel.training, fixed=TRAINING,
                                 client=client, chunks=chunks, progress=seen)
        pd.testing.assert_frame_equal(remote, local)
        assert seen.calls[0] == (0, 32) and seen.calls[-1] == (32, 32)
        assert [done for done, _ in seen.calls] == sorted(done for done, _ in seen.calls)


def test_dask_sweep_cancelled_by_its_progress_callable_keeps_the_finished_ranges(client):
    local = perfmodel.sweep(TRAINING_SPACE, perfmodel.training, fixed=TRAINING, progress=False)
    remote = perfmodel.sweep(TRAINING_SPACE, perfmodel.training, fixed=TRAINING, client=client, chunks=8,
                             progress=lambda done, total: done == 0)  # stop at the first finished range
    assert remote.attrs["cancelled"] is True and 0 < len(remote) < len(local)
    # Each kept row is the local row of its point (the first range's points may all have failed).
    keyed = local.set_index(["tp", "dp", "micro_batch"])
    for _, row in remote.iterrows():
        want = keyed.loc[(row["tp"], row["dp"], row["micro_batch"])]
        assert row["error"] == want["error"]
        if row["error"] is None:
            assert row["step_time_s"] == want["step_time_s"]


def test_dask_sweep_of_a_function_equals_local(client):
    space = [{"width": w, "height": h} for w in (0, 2, 3) for h in (1.5, 2.5)]
    remote = perfmodel.sweep(space, area, client=client, fixed={"scale": 10}, chunks=4,
                             progress=False)
    pd.testing.assert_frame_equal(remote, expected_area_frame())


def best_plan(system, n_chips):
    """A whole plan search per point: the best MFU plan of Llama 3.1 70B (what the docs show)."""
    df = perfmodel.search_training("llama-3.1-70b", system, n_chips=n_chips, tp=[1, 2, 4, 8], pp=[1, 2, 4, 8],
                                   micro_batch=[1, 2], recompute=["selective", "full"], global_batch=4 * n_chips,
                                   seq_len=4096, objective="mfu", threads=1, progress=False)
    if df.empty:
        return {"plan": None, "mfu": None, "rejected": "; ".join(df.attrs["reasons"])}
    best = df.iloc[0]
    return {"plan": f"tp{best['tp']} pp{best['pp']} dp{best['dp']} mb{best['micro_batch']} {best['recompute']}",
            "mfu": float(best["mfu"]), "rejected": None}


def test_dask_plan_searches_per_system_equal_local(client):
    space = {"system": ["dgx-h100", "dgx-a100", "hgx-h20"], "n_chips": [16, 64]}
    local = perfmodel.sweep(space, best_plan, progress=False)
    remote = perfmodel.sweep(space, best_plan, client=client, progress=False)
    pd.testing.assert_frame_equal(remote, local)
    assert local["error"].isna().all()
    found = local["mfu"].notna()
    assert found.sum() >= 2  # 64 H100 or A100 hold 70B; 16 do not, and H20 nodes have no known scale-out
    assert local.loc[~found, "rejected"].str.len().gt(0).all()


def test_dask_sweep_of_a_model_defined_in_python_equals_local(client):
    # A Model travels to the workers (it pickled neither built in nor defined: a TypeError).
    small = perfmodel.models.define(id="small-gpt", layers=8, hidden=1024, heads=16, ffn=4096, vocab=32000,
                                    activation="gelu")
    space = {"tp": [1, 2], "batch": [8, 64]}
    fixed = {"model": small, "system": "dgx-h100", "mode": "decode", "kv_len": 2048}
    local = perfmodel.sweep(space, perfmodel.inference, fixed=fixed, progress=False)
    remote = perfmodel.sweep(space, perfmodel.inference, fixed=fixed, client=client, chunks=2, progress=False)
    pd.testing.assert_frame_equal(remote, local)
    assert local["error"].isna().all() and (local["model"] == "small-gpt").all()


def test_dask_sweep_raises_other_exceptions(client):
    with pytest.raises(ZeroDivisionError):
        perfmodel.sweep({"x": [1, 2, 0, 4]}, lambda x: 1 / x, client=client, chunks=4,
                        progress=False)


# --- progress bar ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(_progress, "_clock", fake)
    return fake


def test_progress_bar_shows_percent_counts_and_rate(clock):
    out = io.StringIO()
    with Progress(12_000, desc="sweep", enabled=True, file=out) as bar:
        bar.update(0)
        clock.t += 2.0
        bar.update(3_000)
        assert out.getvalue().split("\r")[-1] == (
            "sweep: [#######.......................]  25% 3,000/12,000 [1,500.0 it/s, 2.0 s]")
        clock.t += 2.0
        bar.update(12_000)
    lines = out.getvalue().split("\r")
    assert lines[-1] == (
        "sweep: [##############################] 100% 12,000/12,000 [3,000.0 it/s, 4.0 s]\n")


def test_progress_bar_redraws_at_most_ten_times_a_second(clock):
    out = io.StringIO()
    with Progress(1000, enabled=True, file=out) as bar:
        for i in range(1000):
            bar.update(i)
            clock.t += 0.001  # 1 s in all
        bar.update(1000)
    assert 10 <= out.getvalue().count("\r") <= 12  # first, one per 0.1 s, final


def test_progress_bar_off_writes_nothing():
    out = io.StringIO()
    with Progress(10, enabled=False, file=out) as bar:
        bar.update(10)
    assert out.getvalue() == ""
    auto = Progress(10, file=io.StringIO())  # not a terminal, not a notebook
    assert not auto.enabled


def test_progress_bar_on_by_default_in_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    assert Progress(10, file=Terminal()).enabled


def test_progress_bar_in_a_notebook_updates_one_display(monkeypatch):
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", obj.data))

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(("display", obj.data))
        return Handle()

    class ZMQInteractiveShell:
        pass

    class HTML:
        def __init__(self, data):
            self.data = data

    ipython = types.ModuleType("IPython")
    ipython.get_ipython = ZMQInteractiveShell
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.HTML, ipython_display.display = HTML, display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)
    with Progress(2_000, desc="sweep") as bar:
        assert bar.enabled
        bar.update(1_000)
        bar.update(2_000)
    assert [kind for kind, _ in shown] == ["display", "update"]
    assert "<progress value='2000' max='2000'" in shown[-1][1]
    assert "100% 2,000/2,000" in shown[-1][1]


def test_make_callback():
    report, close = make_callback(False)
    report(1, 2)
    close()
    user = Recorder()
    report, close = make_callback(user)
    assert report is user
    report(1, 2)
    close()
    assert user.calls == [(1, 2)]
    out = io.StringIO()
    report, close = make_callback(True, desc="d", file=out)
    report(0, 4)
    report(4, 4)
    close()
    text = out.getvalue()
    assert "d: [" in text and "100% 4/4" in text and text.endswith("\n")
    report, close = make_callback(None, file=io.StringIO())
    report(4, 4)
    close()
    with pytest.raises(perfmodel.InvalidArgument, match="progress: expected None, True, False"):
        make_callback(1)


def test_an_evaluate_returning_a_table_says_so_and_numpy_scalars_keep_their_dtype():
    # A DataFrame's to_dict holds no scalars: every row looked like a success with no outputs.
    df = perfmodel.sweep({"system": ["dgx-h100", "nvl72"]}, perfmodel.power)
    assert df["error"].str.contains("evaluate returned a DataFrame; a sweep keeps one row of scalar outputs").all()
    # np.bool_ outputs with a gap are a nullable boolean column (they were object).
    def flag(x):
        if x == 2:
            raise perfmodel.InvalidArgument("x: two")
        return {"big": np.bool_(x > 1), "half": np.float64(x / 2)}
    out = perfmodel.sweep({"x": [1, 2, 3]}, flag)
    assert str(out["big"].dtype) == "boolean" and str(out["half"].dtype) == "Float64"
    assert out["big"].tolist()[::2] == [False, True]
