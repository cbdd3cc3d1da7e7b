"""Package surface: version, errors, CLI entry points, typing files."""

import pathlib
import re
import subprocess
import sys

import pytest

import perfmodel


def test_version_matches_the_header(repo_root):
    header = (repo_root / "libperfmodel/version.hpp").read_text()
    version = re.search(r'#define PERFMODEL_VERSION_STRING "([^"]+)"', header).group(1)
    assert perfmodel.__version__ == version


@pytest.mark.parametrize(
    ("name", "builtin"),
    [("InvalidArgument", ValueError), ("UnitMismatch", ValueError), ("NotFound", KeyError),
     ("ConfigError", ValueError)],
)
def test_error_classes_derive_from_error_and_builtin(name, builtin):
    cls = getattr(perfmodel, name)
    assert issubclass(cls, perfmodel.Error)
    assert issubclass(cls, builtin)
    assert issubclass(perfmodel.Error, Exception)


def test_not_found_message_is_not_quoted():
    err = perfmodel.NotFound("no part 'x'")
    assert str(err) == "no part 'x'"


def test_python_dash_m_version():
    out = subprocess.run([sys.executable, "-m", "perfmodel", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == f"perfmodel {perfmodel.__version__}"


def test_console_script_units():
    exe = pathlib.Path(sys.executable).with_name("perfmodel")
    out = subprocess.run([str(exe), "units", "400 Gb/s"], capture_output=True, text=True, check=True)
    assert "50 GB/s" in out.stdout


def test_cli_bad_unit_exits_2_with_message():
    out = subprocess.run([sys.executable, "-m", "perfmodel", "units", "3 XB"], capture_output=True,
                         text=True)
    assert out.returncode == 2
    assert '"3 XB"' in out.stderr


def test_py_typed_and_stub_are_installed():
    pkg = pathlib.Path(perfmodel.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_core.pyi").exists()


def test_submodules_the_docs_name_load_on_first_use():
    # The docs write perfmodel.validation.<name> and perfmodel.plot.<name> after a bare
    # `import perfmodel`; neither is imported until then (matplotlib, the validation cases).
    code = ("import sys, perfmodel; before = 'perfmodel.validation' in sys.modules; "
            "n = len(perfmodel.validation.OUT_OF_SAMPLE_SERVING_CASES); print(before, n > 0, callable(perfmodel.plot.roofline))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
    with pytest.raises(AttributeError, match="no attribute 'validations'"):
        perfmodel.validations  # noqa: B018
