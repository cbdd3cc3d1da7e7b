"""The code in the docs is code CI runs.

- ```python blocks run top to bottom, one namespace per Markdown file, in a scratch directory
  (a block whose first line is ``# not run: <reason>`` is skipped; the reason is required); what a
  ``# -> text`` comment shows must be in what the block prints; a block
  written as an interactive session (``>>>``) runs as a doctest, so the output it shows must match;
- ```sh (or ```bash) blocks: every line starting with ``perfmodel `` is run with the installed CLI and must exit 0;
- a shown shell session (a ``$ perfmodel ...`` line in any block, then its output) is run after the page's
  Python blocks, in the same directory, and every output line shown must be a line it prints;
- ```cpp blocks must be verbatim excerpts of a program under examples/cpp (which CTest builds and runs).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)


def blocks(path: Path, lang: str) -> list[str]:
    tags = {"sh": ("sh", "bash")}.get(lang, (lang,))
    return [body for tag, body in FENCE.findall(path.read_text()) if tag in tags]


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _cli_exe() -> str:
    exe = shutil.which("perfmodel", path=str(Path(sys.executable).parent)) or shutil.which("perfmodel")
    assert exe, "the perfmodel CLI is not installed next to this Python"
    return exe


def shown_output(code: str) -> list[re.Pattern[str]]:
    """The output a block's ``# -> text`` comments say it prints: each (whitespace-normalized, with
    ``...`` matching anything) must occur in what the block printed."""
    pats = []
    for text in re.findall(r"#\s*->\s*(.+)$", code, flags=re.M):
        parts = [re.escape(" ".join(p.split())) for p in text.strip().split("...")]
        pats.append(re.compile(".*?".join(parts)))
    return pats


@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p, "python") or "$ perfmodel " in p.read_text()], ids=_id)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__docs__"}
    for i, code in enumerate(blocks(path, "python")):
        first = code.splitlines()[0] if code.strip() else ""
        if first.startswith("# not run"):
            assert re.match(r"# not run: \S", first), f"{_id(path)} block {i}: say why it is not run"
            continue
        if code.lstrip().startswith(">>>"):  # an interactive session: its shown output must match
            test = doctest.DocTestParser().get_doctest(code, ns, f"{_id(path)}[block {i}]", str(path), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            report: list[str] = []
            runner.run(test, out=report.append, clear_globs=False)
            assert runner.failures == 0, f"{_id(path)}, python block {i}:\n" + "".join(report)
            continue
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{_id(path)}[block {i}]", "exec"), ns)
        except Exception as exc:  # name the file and block, keep the original traceback
            raise AssertionError(f"{_id(path)}, python block {i} failed: {exc!r}\n{code}") from exc
        printed = " ".join(out.getvalue().split())
        for shown in shown_output(code):
            assert shown.search(printed), \
                f"{_id(path)}, python block {i}: the comment `# -> {shown.pattern}` is not what it prints:\n{out.getvalue()[:1500]}"
    check_transcripts(path, tmp_path)  # `$ perfmodel ...` sessions shown on the page, after its Python ran


ANY_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


def transcripts(path: Path) -> list[tuple[str, list[str]]]:
    """Shell sessions shown in the page: each ``$ perfmodel ...`` line and the output lines under it
    (to the next ``$`` line or the end of the block; ``...`` marks an elision)."""
    found: list[tuple[str, list[str]]] = []
    for body in ANY_FENCE.findall(path.read_text()):
        for line in body.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and found[-1][0] and line.strip() and line.strip() != "...":
                found[-1][1].append(" ".join(line.split()))
        found.append(("", []))  # a block's end closes its last session
    return [(cmd, shown) for cmd, shown in found if cmd.startswith("perfmodel ")]


def check_transcripts(path: Path, cwd: Path) -> None:
    exe = _cli_exe()
    for cmd, shown in transcripts(path):
        out = subprocess.run(shlex.quote(exe) + cmd[len("perfmodel"):], shell=True, cwd=cwd, capture_output=True,
                             text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})
        assert out.returncode == 0, f"{_id(path)}: `$ {cmd}` exited {out.returncode}: {out.stderr[-800:]}"
        printed = {" ".join(line.split()) for line in out.stdout.splitlines()}
        missing = [line for line in shown if line not in printed]
        assert not missing, f"{_id(path)}: `$ {cmd}` no longer prints {missing[:3]}; it prints:\n{out.stdout[:1500]}"


@pytest.mark.parametrize("path", [p for p in DOCS if any("perfmodel " in b for b in blocks(p, "sh"))], ids=_id)
def test_cli_lines_run(path, tmp_path):
    exe = _cli_exe()
    lines = [ln for b in blocks(path, "sh") for ln in b.replace("\\\n", " ").splitlines()
             if ln.strip().startswith("perfmodel ")]
    for ln in lines:
        cmd = shlex.split(ln.split(" #")[0])
        out = subprocess.run([exe, *cmd[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "MPLBACKEND": "Agg"})
        assert out.returncode == 0, f"{_id(path)}: `{ln}` exited {out.returncode}: {out.stderr[-800:]}"


CPP_SOURCES = {p: p.read_text() for p in (ROOT / "examples" / "cpp").glob("*.cpp")}


def _squash(s: str) -> str:
    return "\n".join(ln.rstrip() for ln in s.strip().splitlines())


@pytest.mark.parametrize("path", [p for p in DOCS if blocks(p, "cpp")], ids=_id)
def test_cpp_blocks_are_excerpts_of_built_examples(path):
    sources = [_squash(s) for s in CPP_SOURCES.values()]
    for i, code in enumerate(blocks(path, "cpp")):
        # Each run of lines between "// ..." elisions must appear verbatim in one example program.
        chunks = [c.strip("\n") for c in re.split(r"^\s*// \.\.\.\s*$", _squash(code), flags=re.M)]
        assert any(chunks), f"{_id(path)} cpp block {i} is empty"
        for text in filter(None, chunks):
            assert any(text in s for s in sources), \
                f"{_id(path)} cpp block {i} is not an excerpt of examples/cpp/*.cpp:\n{text[:400]}"


def test_docs_link_to_files_that_exist():
    link = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
    for path in DOCS:
        for target in link.findall(path.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (path.parent / target).exists(), f"{_id(path)} links to {target}, which does not exist"


def test_accuracy_page_is_the_current_validation_report():
    from perfmodel.validation import report

    calibration = ROOT.parent / "shared" / "data" / "calibration.csv"
    page = ROOT / "docs" / "explanation" / "accuracy.md"
    assert page.read_text() == report(calibration), \
        "docs/explanation/accuracy.md is stale: run `perfmodel validate ../shared/data/calibration.csv --out docs/explanation/accuracy.md`"


def test_main_job_output_in_docs_is_current():
    # docs/explanation/main-job.md and the README sample show the main job's output.
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_main_job.py"), "--check"], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_cli_validate_bad_path(tmp_path):
    out = subprocess.run([_cli_exe(), "validate", str(tmp_path / "missing.csv")], capture_output=True, text=True)
    assert out.returncode == 2 and "calibration_csv" in out.stderr and "no such file" in out.stderr


@pytest.mark.parametrize("page,args", [("python.md", []), ("cli.md", ["cli"])])
def test_generated_references_are_current(page, args):
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_python_reference.py"), *args], capture_output=True,
                         text=True, check=True).stdout
    assert (ROOT / "docs" / "reference" / page).read_text() == out, \
        f"docs/reference/{page} is stale: run `.venv/bin/python scripts/gen_python_reference.py {' '.join(args)} > docs/reference/{page}`"


def _cells(line: str) -> list[str]:
    return [c.strip().strip("*").strip() for c in line.strip().strip("|").split("|")]


def _number(cell: str) -> tuple[float, float]:
    """A shown figure ('8,085', '+20.9 %', '−8.1 %') and half a unit of its last digit."""
    text = cell.replace(",", "").replace("−", "-").replace("%", "").replace("+", "").split()[0]
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), 0.5 * 10.0 ** -decimals


def test_accuracy_tables_elsewhere_agree_with_the_report():
    # The explanation pages repeat the report's rows (id | setup | published | model | error):
    # their model and error cells must be the report's, to the digits they show.
    report = {}
    for line in (ROOT / "docs" / "explanation" / "accuracy.md").read_text().splitlines():
        c = _cells(line)
        if len(c) == 5 and re.fullmatch(r"[A-Z0-9]+(-[A-Z0-9]+)+", c[0]):
            report[c[0]] = (c[3], c[4])
    checked = 0
    for path in DOCS:
        if path.name == "accuracy.md":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            c = _cells(line)
            if len(c) >= 4 and c[0] in report:
                for shown, current in zip(c[-2:], report[c[0]]):
                    (a, tol_a), (b, tol_b) = _number(shown), _number(current)
                    assert abs(a - b) <= tol_a + tol_b + 1e-9, \
                        f"{_id(path)}:{n} shows {shown} for {c[0]}; the report says {current}"
                checked += 1
    assert checked >= 9  # the serving and training pages' tables


MODULES = sorted(m.name for m in __import__("pkgutil").walk_packages(
    [str(Path(__import__("perfmodel").__file__).parent)], "perfmodel.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    # The docstrings' examples are in the Python reference (docs/reference/python.md): they must run
    # and show what they print (in a scratch directory: some write figures).
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples fail"
