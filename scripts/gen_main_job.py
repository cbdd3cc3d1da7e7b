"""Rewrite the main job's output where the docs show it: the three blocks of
docs/explanation/main-job.md and the sample rows in README.md, from the CLI's output.

Usage: python scripts/gen_main_job.py [--check]. tests/python/test_docs.py checks they are current.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "explanation" / "main-job.md"
README = ROOT / "README.md"
SAMPLE_ROWS = ["BF16 dense (PFLOP/s)", "HBM bandwidth (TB/s)", "System power (kW)", "Decode tokens/s per chip",
               "Decode tokens/s per system", "Decode tokens/s per rack", "Prefill tokens/s per system",
               "Decode output tokens per joule"]
ARGS = ["compare", "huawei-cloudmatrix-384", "nvidia-gb200-nvl72", "--serving", "deepseek-r1",
        "--training", "llama-3.1-405b"]


def main_job_output() -> tuple[str, str, str]:
    """The hardware table, the serving table and the training table the main job prints."""
    import contextlib
    import io

    from perfmodel.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(list(ARGS)) == 0
    out = buf.getvalue().rstrip("\n").split("\n")
    cut = next(i for i, line in enumerate(out) if line.startswith("serving "))
    cut2 = next(i for i, line in enumerate(out) if line.startswith("training "))

    def block(lines: list[str]) -> str:
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)

    return block(out[:cut]), block(out[cut:cut2]), block(out[cut2:])


def _fenced(text: str) -> tuple[list[str], list[int]]:
    lines = text.split("\n")
    return lines, [i for i, line in enumerate(lines) if line.startswith("```")]


def _row(table: str, name: str) -> list[str]:
    """The cells of one metric row of a printed comparison table."""
    line = next(ln for ln in table.split("\n") if ln.startswith(name + "  "))
    return [c.strip() for c in line[len(name):].split("  ") if c.strip()]


# The page's prose quotes the energy per output token; it is rewritten with the table.
JOULES = re.compile(r"serves about [\d.]+x the joules per output token of GB200 NVL72 \([\d.,]+ vs [\d.,]+ J\)")


def rendered_page(text: str, hw: str, serving: str, training: str) -> str:
    lines, fences = _fenced(text)
    (a0, a1), (b0, b1), (c0, c1) = (fences[0], fences[1]), (fences[2], fences[3]), (fences[4], fences[5])
    page = "\n".join(lines[: a0 + 1] + hw.split("\n") + lines[a1 : b0 + 1] + serving.split("\n")
                      + lines[b1 : c0 + 1] + training.split("\n") + lines[c1:])
    cm, nv, ratio = _row(serving, "Decode joules per output token")
    assert JOULES.search(page), "main-job.md no longer quotes the joules per output token"
    return JOULES.sub(f"serves about {float(ratio.rstrip('x')):.1f}x the joules per output token of GB200 NVL72 "
                      f"({cm} vs {nv} J)", page)


def rendered_readme(text: str, hw: str, serving: str, training: str = "") -> str:
    """The README's sample: SAMPLE_ROWS from both tables, ratio column renamed."""
    cells = {}
    for line in (hw + "\n" + serving).split("\n"):
        parts = [c for c in line.split("  ") if c.strip()]
        if len(parts) == 4:
            cells[parts[0].strip()] = [c.strip() for c in parts[1:]]
    rows = [f"{'metric':36s}  {'huawei-cloudmatrix-384':>22s}  {'nvidia-gb200-nvl72':>18s}  ratio",
            f"{'-' * 36}  {'-' * 22}  {'-' * 18}  -----"]
    rows += [f"{name:36s}  {cells[name][0]:>22s}  {cells[name][1]:>18s}  {cells[name][2]}" for name in SAMPLE_ROWS]
    lines, fences = _fenced(text)
    start = lines.index("## A sample of the output")
    a0, a1 = [i for i in fences if i > start][:2]
    return "\n".join(lines[: a0 + 1] + rows + lines[a1:])


if __name__ == "__main__":
    hw, serving, training = main_job_output()
    stale = []
    for path, render in ((PAGE, rendered_page), (README, rendered_readme)):
        current = path.read_text()
        new = render(current, hw, serving, training)
        if new != current:
            stale.append(str(path))
            if "--check" not in sys.argv[1:]:
                path.write_text(new)
    if stale and "--check" in sys.argv[1:]:
        sys.exit(f"stale: {', '.join(stale)}: run python scripts/gen_main_job.py")
