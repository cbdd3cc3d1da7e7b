"""perfmodel.plot: rooflines and efficiency curves (matplotlib imported lazily)."""

import subprocess
import sys

import numpy as np
import pytest

import perfmodel
import perfmodel.plot as plot

CHIPS = ["nvidia-h100-sxm", "huawei-ascend-910b"]


def _labelled_lines(fig):
    return {line.get_label(): line for line in fig.axes[0].lines if not line.get_label().startswith("_")}


def test_import_perfmodel_does_not_import_matplotlib():
    code = "import sys, perfmodel, perfmodel.plot; print(any(m.split('.')[0] == 'matplotlib' for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_roofline_has_peak_and_achievable_line_per_chip_on_log_log_axes():
    fig = plot.roofline(["h100", "910b"])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_xlabel() == "arithmetic intensity (FLOP/byte)"
    assert ax.get_ylabel() == "TFLOP/s"
    lines = _labelled_lines(fig)
    for chip in CHIPS:
        peak = next(line for label, line in lines.items() if label.startswith(f"{chip} peak"))
        ach = next(line for label, line in lines.items() if label.startswith(f"{chip} achievable"))
        assert peak.get_linestyle() == "-" and ach.get_linestyle() == "--"
        assert peak.get_color() == ach.get_color()
        data = perfmodel.roofline_data(chip)
        top = max(c["flops"] for c in data["compute"] if not c["achievable"])
        assert max(peak.get_ydata()) == pytest.approx(top / 1e12)
    assert len({line.get_color() for label, line in lines.items()}) == 2


def test_roofline_annotates_ridges_and_compute_ceilings():
    fig = plot.roofline("h100")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "nvidia-h100-sxm peak: ridge 295 FLOP/byte" in texts
    pol = perfmodel.efficiency_policy("h100")
    assert f"nvidia-h100-sxm achievable: ridge {989.4 * pol['matrix'] / (3.35 * pol['memory']):.0f} FLOP/byte" in texts
    assert "matrix 989.4 TFLOP/s" in texts
    assert any(t.startswith("vector ") and t.endswith(" TFLOP/s") for t in texts)


def test_roofline_without_achievable_draws_peak_only():
    labels = list(_labelled_lines(plot.roofline("h100", achievable=False)))
    assert [label for label in labels if "achievable" in label] == []
    assert any(label.startswith("nvidia-h100-sxm peak") for label in labels)


def test_roofline_ops_are_points_in_their_chip_colour():
    g = perfmodel.gemm("h100", 4096, 4096, 4096)
    a = perfmodel.attention("910b", q_len=2048, kv_len=2048)
    fig = plot.roofline(["h100", "910b"], ops=[g, ("my attention", a)])
    lines = _labelled_lines(fig)
    point = lines["gemm 4096×4096×4096 bf16 (nvidia-h100-sxm)"]
    assert point.get_xdata()[0] == pytest.approx(g.intensity)
    assert point.get_ydata()[0] == pytest.approx(g.achieved_flops / 1e12)
    assert point.get_color() == next(line.get_color() for label, line in lines.items()
                                     if label.startswith("nvidia-h100-sxm peak"))
    assert lines["my attention (huawei-ascend-910b)"].get_ydata()[0] == pytest.approx(a.achieved_flops / 1e12)
    assert "my attention" in [t.get_text() for t in fig.axes[0].texts]


def test_roofline_rejects_ops_of_unplotted_chips_and_bad_entries():
    with pytest.raises(perfmodel.InvalidArgument, match="nvidia-b200"):
        plot.roofline("h100", ops=[perfmodel.gemm("b200", 1024, 1024, 1024)])
    with pytest.raises(perfmodel.InvalidArgument, match="OpResult"):
        plot.roofline("h100", ops=[("label", 3.0)])


def test_roofline_draws_on_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert plot.roofline("h100", ax=ax2) is fig
    assert not ax1.lines and ax2.lines


def test_roofline_saves_png_and_svg(tmp_path):
    png, svg = tmp_path / "r.png", tmp_path / "r.SVG"
    plot.roofline(["h100", "910b"], path=png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot.roofline("h100", path=str(svg))
    assert "<svg" in svg.read_text()


def test_roofline_bad_extension_names_path_and_allowed(tmp_path):
    bad = tmp_path / "roofline.pdf"
    with pytest.raises(perfmodel.InvalidArgument, match=r"roofline\.pdf.*\.png, \.svg"):
        plot.roofline("h100", path=bad)
    assert not bad.exists()


def test_roofline_missing_precision_and_no_chips():
    with pytest.raises(perfmodel.Error, match="huawei-ascend-910b.*fp8"):
        plot.roofline(["h100", "huawei-ascend-910b"], precision="fp8")
    with pytest.raises(perfmodel.InvalidArgument, match="chips: expected an id or a non-empty list of ids, got \\[\\]"):
        plot.roofline([])
    with pytest.raises(perfmodel.InvalidArgument, match="more than once"):
        plot.roofline(["h100", "nvidia-h100-sxm"])


def test_efficiency_square_gemm():
    fig = plot.efficiency("nvidia-h100-sxm")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    (line,) = _labelled_lines(fig).values()
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert list(x) == [2 ** i for i in range(6, 16)]
    assert np.all((y > 0) & (y <= 1.2))
    df = perfmodel.gemm("h100", np.array([128, 16384]), np.array([128, 16384]), np.array([128, 16384]))
    assert list(y[x == 128]) + list(y[x == 16384]) == pytest.approx(list(df["fraction_of_peak"]))
    assert y[x == 16384][0] > y[x == 128][0]


@pytest.mark.parametrize("family", ["gemm-skinny", "attention", "elementwise"])
def test_efficiency_families_one_line_per_chip(family, tmp_path):
    fig = plot.efficiency(["h100", "910b"], family, path=tmp_path / f"{family}.png")
    lines = _labelled_lines(fig)
    assert list(lines) == CHIPS
    for line in lines.values():
        y = np.asarray(line.get_ydata())
        assert np.all((y > 0) & (y <= 1.2))
        assert y[-1] > y[0]
    assert (tmp_path / f"{family}.png").read_bytes()[:4] == b"\x89PNG"


def test_efficiency_elementwise_is_fraction_of_memory_bandwidth():
    sizes = [1 << 20, 1 << 28]
    (line,) = _labelled_lines(plot.efficiency("h100", "elementwise", sizes=sizes)).values()
    df = perfmodel.elementwise("h100", "add", np.array(sizes))
    bw = perfmodel.operators.device("h100").memory_bandwidth
    assert list(line.get_ydata()) == pytest.approx(list(df["achieved_bandwidth"] / bw))


def test_efficiency_bad_inputs(tmp_path):
    with pytest.raises(perfmodel.InvalidArgument, match="gemm, gemm-skinny, attention, elementwise"):
        plot.efficiency("h100", "conv")
    with pytest.raises(perfmodel.InvalidArgument, match="sizes"):
        plot.efficiency("h100", sizes=[0, 64])
    with pytest.raises(perfmodel.InvalidArgument, match=r"e\.jpg"):
        plot.efficiency("h100", path=tmp_path / "e.jpg")
    with pytest.raises(perfmodel.Error, match="fp8"):
        plot.efficiency("910b", precision="fp8")


def test_roofline_refuses_an_op_of_another_precision():
    # An FP8 GEMM drawn under BF16 roofs sits above the "peak"; the op's precision must match.
    op = perfmodel.gemm("h100", 4096, 4096, 4096, dtype="fp8")
    with pytest.raises(perfmodel.InvalidArgument, match=r"estimated in fp8 but the rooflines are drawn at bf16"):
        plot.roofline(["h100"], ops=[op])
    fig = plot.roofline(["h100"], ops=[op], precision="fp8")
    # The op is a one-point line at its intensity and achieved TFLOP/s.
    points = [tuple(map(tuple, ln.get_xydata())) for ln in fig.axes[0].lines if len(ln.get_xydata()) == 1]
    assert ((op.intensity, op.achieved_flops / 1e12),) in points


def test_ceiling_labels_sit_by_their_lines_or_are_left_to_the_legend():
    # Labels were only ever pushed up: with six chips five sat above the axes (one at 34x its
    # value); with three, "matrix 989.4" sat at 2,286 TFLOP/s. Now each drawn label is within two
    # label heights of its line and inside the axes, else none is drawn and the legend has them.
    for chips in (["h100", "910b", "910c"], ["h100", "h200", "b200", "910b", "910c", "mi300x"]):
        fig = plot.roofline(chips)
        ax = fig.axes[0]
        lo, hi = ax.get_ylim()
        texts = [t for t in ax.texts if "TFLOP/s" in t.get_text()]
        for t in texts:
            y = t.get_position()[1]
            value = float(t.get_text().split()[-2].replace(",", ""))
            assert lo <= y <= hi and value / 10 ** 0.5 <= y <= value * 10 ** 0.5, (t.get_text(), y)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert all("TFLOP/s" in entry for entry in legend if " peak: " in entry or " achievable: " in entry)
    assert texts == []  # six chips' ceilings crowd 0.5 decades: the legend carries them
    # Integer formats count operations.
    ax = plot.roofline("h100", precision="int8").axes[0]
    assert ax.get_ylabel() == "TOP/s" and "OP/byte" in ax.get_xlabel()


def test_plot_arguments_are_checked_by_name():
    r = perfmodel.inference("llama-3.1-8b", "dgx-h100", mode="decode", batch=8, kv_len=1024, tp=1)
    cases = [
        (lambda: plot.roofline("h100", ops=perfmodel.gemm("h100", [1024, 2048], 1024, 1024)), "ops: expected a list"),
        (lambda: plot.roofline("h100", ops=perfmodel.gemm("h100", 1024, 1024, 1024)), "ops: expected a list"),
        (lambda: plot.roofline(None), "chips: expected an id"),
        (lambda: plot.roofline("h100", achievable="no"), "achievable: expected True or False"),
        (lambda: plot.roofline("h100", ax="x"), "ax: expected a matplotlib Axes"),
        (lambda: plot.roofline("h100", path=5), "path: expected a file path"),
        (lambda: plot.roofline("h100", path="/nonexistent-dir/a.png"), "path: cannot write /nonexistent-dir/a.png"),
        (lambda: plot.efficiency("h100", ["gemm"]), "op_family: unknown"),
        (lambda: plot.efficiency(["h100", "nvidia-h100-sxm"]), "'nvidia-h100-sxm' and 'h100' name the same part"),
        (lambda: plot.efficiency("h100", sizes=[100.5]), "sizes must be a non-empty list of positive integers"),
        (lambda: plot.efficiency("h100", sizes=[2 ** 40]), "sizes must be a non-empty list of positive integers up to 2\\^20"),
        (lambda: plot.busbw(["dgx-h100", "nvidia-dgx-h100"]), "name the same part"),
        (lambda: plot.efficiency_frontier(r), "results: expected a list"),
        (lambda: plot.efficiency_frontier([r], labels=5), "labels: expected a list of strings"),
        (lambda: plot.efficiency_frontier([r], x="power", price_per_kwh=0.1), "cost options apply to x='cost'"),
        (lambda: plot.efficiency_frontier([r], x="cost", price=0.1), "unexpected keyword argument 'price'"),
        (lambda: perfmodel.cost(r, capex={"nope": 1}), "capex: key 'nope': no catalog part"),
        (lambda: perfmodel.catalog.rumour_inputs("cm384", None), "precisions: expected a format"),
        (lambda: perfmodel.compare({"dgx-h100", "dgx-a100"}), "compare\\(\\) needs a list or tuple"),
        (lambda: perfmodel.serving_comparison({"nvl72"}), "serving_comparison\\(\\) needs a list or tuple"),
        (lambda: perfmodel.training_comparison({"nvl72"}), "training_comparison\\(\\) needs a list or tuple"),
    ]
    for call, words in cases:
        with pytest.raises(perfmodel.Error, match=words):
            call()
    assert str(perfmodel.power("dgx-h100")["count"].dtype) == "int64"
