"""_core.pyi must describe exactly what the compiled module exports."""

import ast
import inspect
import pathlib

import perfmodel
from perfmodel import _core


def _stub_tree():
    path = pathlib.Path(perfmodel.__file__).with_name("_core.pyi")
    return ast.parse(path.read_text())


def _public(names):
    return {n for n in names if not n.startswith("_") or n == "__version__"}


def test_stub_names_match_module():
    tree = _stub_tree()
    stubbed = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stubbed.add(node.target.id)
    exported = _public(n for n in dir(_core) if not inspect.ismodule(getattr(_core, n)))
    assert stubbed == exported


def test_stub_class_members_match():
    tree = _stub_tree()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(_core, node.name)
        if issubclass(cls, BaseException):
            continue
        stubbed = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        actual = {n for n in cls.__dict__ if not n.startswith("_")}
        assert actual <= stubbed, f"{node.name}: missing from stub: {actual - stubbed}"
        for name in stubbed:
            assert hasattr(cls, name), f"{node.name}.{name} is stubbed but does not exist"


def test_stub_function_parameters_match_docstring_signatures():
    tree = _stub_tree()
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        doc = getattr(_core, node.name).__doc__
        params = [a.arg for a in node.args.args]
        first_line = doc.splitlines()[0]
        for p in params:
            assert f"{p}:" in first_line, f"{node.name}: parameter {p} not in {first_line}"
