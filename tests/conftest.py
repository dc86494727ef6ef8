from pathlib import Path

import pytest

from simulation import load_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")
