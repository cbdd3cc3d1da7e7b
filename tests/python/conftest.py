"""Shared pytest configuration: the tests run against the installed perfmodel package."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def calibration_csv() -> pathlib.Path:
    path = pathlib.Path(os.environ.get("PERFMODEL_CALIBRATION_CSV", ROOT.parent / "shared/data/calibration.csv"))
    if not path.exists():
        pytest.fail(f"calibration data not found at {path}; set PERFMODEL_CALIBRATION_CSV")
    return path
