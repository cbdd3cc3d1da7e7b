"""The example notebooks run top to bottom (nbclient, a fresh kernel), save their figures, and
their key numbers hold. The last cell of each notebook prints its key numbers as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import nbclient  # dev requirements (requirements-dev.txt): a missing one fails the run, not skips it
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"


def run(name: str, figures: Path, monkeypatch) -> dict:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    monkeypatch.setenv("PERFMODEL_FIGURES", str(figures))
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    return json.loads(text.strip().splitlines()[-1])


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"


def test_export_controls_notebook(tmp_path, monkeypatch):
    key = run("export_controls.ipynb", tmp_path, monkeypatch)
    assert (tmp_path / "export_controls_tpp_pd.png").stat().st_size > 10_000
    assert key["chips"] >= 20
    # H20: TPP 2,368 (148 dense BF16 TFLOP/s x 16) and PD 2.91 on 814 mm2: just under both 3A090.b bands.
    assert key["h20_tpp"] == pytest.approx(2368)
    assert key["h20_pd"] == pytest.approx(2368 / 814)
    assert key["h20_class"] == "below 3A090"
    assert key["h100_class"] == "3A090.a"
    # Compute is cut ~6.7x, but a bandwidth-bound decode step is within ~15 % of the H100.
    assert 5.5 < key["gemm_ratio_h100_over_h20"] < 8
    assert 0.9 < key["decode_ratio_h100_over_h20"] < 1.4
