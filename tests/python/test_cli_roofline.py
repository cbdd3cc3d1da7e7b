"""The `perfmodel roofline` and `perfmodel gemm` commands."""

import json
import subprocess
import sys

import perfmodel


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "perfmodel", *args], capture_output=True, text=True, cwd=cwd)


def test_cli_roofline_writes_plot_and_prints_ridges(tmp_path):
    out = tmp_path / "roof.png"
    r = _cli("roofline", "h100", "910b", "--out", str(out), "--gemm", "4096", "4096", "4096",
             "--gemm", "16", "8192", "8192")
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = r.stdout.splitlines()
    assert lines[0].startswith("nvidia-h100-sxm (bf16): peak 989 TFLOP/s, HBM3 3,350 GB/s, ridge 295 FLOP/byte")
    # The achievable roof is the Hopper family's matrix and memory fractions of the datasheet peaks.
    pol = perfmodel.efficiency_policy("h100")
    matrix, ridge = 989.4 * pol["matrix"], 989.4 * pol["matrix"] / (3.35 * pol["memory"])
    assert f"achievable {matrix:,.0f} TFLOP/s" in lines[0] and f"ridge {ridge:.0f} FLOP/byte" in lines[0]
    assert lines[1].startswith("huawei-ascend-910b (bf16): peak 295 TFLOP/s")
    assert sum("gemm 4096x4096x4096" in line for line in lines) == 2
    assert lines[-1] == f"wrote {out}"


def test_cli_roofline_default_out_and_svg(tmp_path):
    assert _cli("roofline", "h100", cwd=tmp_path).returncode == 0
    assert (tmp_path / "roofline.png").exists()
    assert _cli("roofline", "b200", "--precision", "fp8", "--out", "r.svg", cwd=tmp_path).returncode == 0
    assert "<svg" in (tmp_path / "r.svg").read_text()


def test_cli_roofline_errors_exit_2(tmp_path):
    r = _cli("roofline", "h100", "--out", str(tmp_path / "r.pdf"))
    assert r.returncode == 2 and r.stderr.startswith("perfmodel: error: ") and "r.pdf" in r.stderr
    r = _cli("roofline", "h100", "910b", "--precision", "fp8", "--out", str(tmp_path / "r.png"))
    assert r.returncode == 2 and "huawei-ascend-910b" in r.stderr and "fp8" in r.stderr
    r = _cli("roofline", "h100", "--out", str(tmp_path / "missing-dir" / "r.png"))
    assert r.returncode == 2 and "cannot write" in r.stderr
    # Figures the catalog accepts (within its bounds, 1 B/s to 1 EB/s and 1 FLOP/s to 1 ZFLOP/s) but
    # no log axis holds were an OverflowError / math domain traceback; past the bounds the loader
    # refuses them, naming the field.
    for bw, flops in (("1e-12 TB/s", "1e9 TFLOP/s"), ("1e6 TB/s", "1e-12 TFLOP/s"), ("1e-300 TB/s", "1e290 TFLOP/s")):
        (tmp_path / "odd.json").write_text(json.dumps({
            "id": "odd-chip", "kind": "chip", "extends": "nvidia-h100-sxm", "name": "odd",
            "memory": {"main": {"bandwidth": {"value": bw, "source": "test", "confidence": "derived",
                                              "derived_from": "test"}}},
            "compute": {"bf16": {"matrix": {"value": flops, "source": "test", "confidence": "derived",
                                            "derived_from": "test"}}}}))
        r = _cli("--catalog", str(tmp_path / "odd.json"), "roofline", "odd-chip", "--out", str(tmp_path / "r.png"))
        assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
        if bw.startswith("1e-300"):
            assert "odd.json: $.compute.bf16.matrix.value" in r.stderr and "between 1 FLOP/s and 1 ZFLOP/s" in r.stderr
        else:
            assert "odd-chip: ridge point" in r.stderr and "outside what the plot draws" in r.stderr


def test_cli_gemm_table_and_json():
    r = _cli("gemm", "h100", "8192", "8192", "8192", "--dtype", "fp8")
    assert r.returncode == 0, r.stderr
    est = perfmodel.gemm("h100", 8192, 8192, 8192, dtype="fp8")
    assert r.stdout.splitlines()[0] == "gemm 8192x8192x8192 fp8 on nvidia-h100-sxm"
    for text in (f"{est.time_s * 1e6:.4g} us", "TFLOP/s", f"{est.fraction_of_peak:.1%}", "GB/s",
                 f"bound             {est.bound}", "x".join(map(str, est.tile))):
        assert text in r.stdout
    js = json.loads(_cli("gemm", "h100", "4096", "4096", "4096", "--json").stdout)
    assert js["chip"] == "nvidia-h100-sxm" and js["m"] == 4096 and js["dtype"] == "bf16"
    assert js["time_s"] > 0 and js["bound"] in {"compute", "memory", "latency"}


def test_cli_gemm_takes_batch_output_format_and_microbenchmark():
    # The Python call's batch, out_dtype and microbenchmark are options of the command too.
    r = _cli("gemm", "h100", "64", "7168", "2048", "--dtype", "fp8", "--batch", "8", "--out-dtype", "bf16", "--json")
    assert r.returncode == 0, r.stderr
    est = perfmodel.gemm("h100", 64, 7168, 2048, dtype="fp8", out_dtype="bf16", batch=8)
    assert json.loads(r.stdout)["time_s"] == est.time_s and json.loads(r.stdout)["batch"] == 8
    r = _cli("gemm", "910b", "8192", "8192", "8192", "--dtype", "fp16", "--microbenchmark")
    assert r.stdout.splitlines()[0] == "gemm 8192x8192x8192 fp16 on huawei-ascend-910b (microbenchmark)"
    peak = perfmodel.gemm("910b", 8192, 8192, 8192, dtype="fp16", microbenchmark=True)
    assert f"{peak.time_s * 1e6:.4g} us" in r.stdout
    r = _cli("gemm", "a100", "8", "8", "8", "--out-dtype", "fp8")
    assert r.returncode == 2 and "no fp8 support" in r.stderr


def test_cli_gemm_fp8_on_910b_exits_2_naming_fp8():
    r = _cli("gemm", "huawei-ascend-910b", "4096", "4096", "4096", "--dtype", "fp8")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("perfmodel: error: ") and "fp8" in r.stderr


def test_integer_formats_print_operations(tmp_path):
    # INT8 counts operations, as the plot labels them (the text said TFLOP/s and FLOP/byte).
    for args in (["gemm", "h100", "4096", "4096", "4096", "--dtype", "int8"],
                 ["roofline", "h100", "--precision", "int8", "--out", str(tmp_path / "r.png")]):
        out = _cli(*args)
        assert out.returncode == 0, out.stderr
        assert "TOP/s" in out.stdout and "OP/byte" in out.stdout and "FLOP" not in out.stdout
