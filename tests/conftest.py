from pathlib import Path

import pytest
import yaml

from simulation import load_scenario
from helpers import TINY_POPULATION

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def baseline():
    return load_scenario(ROOT / "scenarios" / "baseline.yaml")


@pytest.fixture(scope="session")
def tiny() -> dict:
    """``load_scenario`` overrides for the tiny population (helpers.TINY_POPULATION).  A test that
    needs other sizes says so: ``{**tiny, "population.enterprise": 24}``."""
    return {f"population.{role}": size for role, size in TINY_POPULATION.items()}


@pytest.fixture(scope="session")
def write_scenario():
    """``write_scenario(folder, name="tiny", extends="baseline", **blocks)``: a scenario file
    ``folder/NAME.yaml`` extending a shipped scenario at the tiny population, with ``blocks`` as
    written (``population={...}`` replaces the sizes)."""
    from simulation.experiments.folder import safe_name

    def write(folder, name="tiny", extends="baseline", **blocks) -> Path:
        data = {"extends": str(ROOT / "scenarios" / f"{extends}.yaml"), "name": name,
                "population": dict(TINY_POPULATION), **blocks}
        path = Path(folder) / f"{safe_name(name)}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def write_experiment(write_scenario):
    """``write_experiment(folder, scenarios=None, **fields)``: ``folder/experiment.yaml``, by default
    one 2-month run of the tiny scenario (written beside it); ``fields`` replace the file's."""

    def write(folder, scenarios=None, **fields) -> Path:
        folder = Path(folder)
        data = {"name": "tiny", "seed": 1, "replications": 1, "steps": 2,
                "scenarios": scenarios or [str(write_scenario(folder))], **fields}
        path = folder / "experiment.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write
