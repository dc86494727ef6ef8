"""Run one scenario with one seed and return its timeseries and summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simulation.config import Scenario, field_bounds
from simulation.config.schema import range_text
from simulation.core.metrics import COUNTS, METRICS, summarise
from simulation.core.model import DataSharingModel
from simulation.core.provenance import code_version, package_versions
from simulation.errors import ArgumentError


@dataclass
class RunResult:
    timeseries: pd.DataFrame
    summary: dict[str, Any]
    model: DataSharingModel


def run(scenario: Scenario, seed: int | None = None, steps: int | None = None) -> RunResult:
    """Run ``scenario`` for ``steps`` months (default: the scenario's) with ``seed`` (default: the scenario's)."""
    seed = scenario.seed if seed is None else checked("seed", seed)
    steps = scenario.steps if steps is None else checked("steps", steps)
    model = DataSharingModel(scenario, seed=seed)
    for _ in range(steps):
        model.step()
    timeseries = timeseries_of(model)
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "steps": steps,
        **summarise(timeseries, scenario.parameters.integration_persistence, scenario.parameters.integration_threshold),
        "config_hash": scenario.config_hash(),
        "code_version": code_version(),
        "packages": package_versions(),
    }
    return RunResult(timeseries, summary, model)


def checked(field: str, value: int, label: str | None = None) -> int:
    """A seed or horizon given apart from the scenario, held to the scenario field's declared range
    (one source of truth: simulation/config/schema.py); ``label`` names it in the message (default:
    the field)."""
    declared = Scenario.model_fields[field]
    low, high = field_bounds(declared)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ArgumentError(label or field, f"{value!r} is not allowed: int in {range_text(low, high)}"
                                            f" ({declared.description})")
    return int(value)


def timeseries_of(model: DataSharingModel) -> pd.DataFrame:
    frame = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    frame = frame[list(METRICS)]
    return frame.astype({name: "int64" for name in COUNTS})
