"""What a batch runs: experiment files, sweeps, and the :class:`Plan` of :class:`RunSpec` they make.

An *experiment* file (``scenarios/experiments/*.yaml``) names scenarios, replications, a horizon, a
root seed and an optional sweep; :func:`plan_experiment` turns it into a plan.  Other modules build
their own plans (a sensitivity design, policy packages) from :class:`RunSpec` and
:func:`child_seeds`.  Run i's seed depends only on the root seed and i (with common random
numbers, on the root seed and i's replication), so results are the same whatever executes them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from simulation.config import Block, Scenario, load_scenario, read_validated
from simulation.config.keys import check_key, value_at
from simulation.core import capacity
from simulation.errors import ConfigError
from simulation.experiments.sampling import latin_hypercube, on_range

# Scenario keys the plan itself sets (seeds come from the root seed, the horizon from the
# experiment, the name labels results), so they cannot be swept.
PLAN_KEYS = ("name", "seed", "steps")


class Sweep(Block):
    method: Literal["grid", "list", "lhs"] = Field(
        description="grid: every combination; list: the i-th values together; lhs: Latin hypercube in [low, high]")
    parameters: dict[str, list[Any]] = Field(
        min_length=1, description="dotted scenario key: its values (grid, list) or [low, high] (lhs)")
    samples: int | None = Field(None, ge=1, le=1_000_000, description="number of Latin hypercube points (lhs only)")

    @model_validator(mode="after")
    def _shape_fits_method(self) -> "Sweep":
        if self.method == "lhs":
            if self.samples is None:
                raise ValueError("method lhs needs samples (the number of points)")
            for key, bounds in self.parameters.items():
                numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
                if len(bounds) != 2 or not numbers or not bounds[0] < bounds[1]:
                    raise ValueError(f"{key}: lhs needs [low, high] with low < high, got {bounds}")
            return self
        if self.samples is not None:
            raise ValueError(f"samples is used by method lhs only, not by {self.method}")
        empty = [key for key, values in self.parameters.items() if not values]
        if empty:
            raise ValueError(f"{empty[0]}: needs at least one value")
        lengths = {key: len(values) for key, values in self.parameters.items()}
        if self.method == "list" and len(set(lengths.values())) > 1:
            raise ValueError(f"method list needs lists of equal length, got {lengths}")
        return self

    def count(self) -> int:
        """How many points :meth:`points` makes, known without making them."""
        if self.method == "grid":
            return math.prod(len(values) for values in self.parameters.values())
        if self.method == "list":
            return len(next(iter(self.parameters.values())))
        return self.samples

    def points(self, seed: int) -> list[dict[str, Any]]:
        """The sweep's points, each a mapping of dotted key to value."""
        keys = list(self.parameters)
        if self.method == "grid":
            return [dict(zip(keys, combo)) for combo in itertools.product(*self.parameters.values())]
        if self.method == "list":
            return [dict(zip(keys, combo)) for combo in zip(*self.parameters.values())]
        return [{key: on_range(u, *self.parameters[key]) for key, u in zip(keys, row)}
                for row in latin_hypercube(len(keys), self.samples, seed)]


class Experiment(Block):
    name: str = Field(description="experiment name")
    description: str = Field("", description="what the experiment is for")
    scenarios: list[str] = Field(min_length=1,
                                 description="scenario files, relative to the experiment file or absolute")
    baseline: str | None = Field(None,
                                 description="name of the scenario effects are measured against (default: the first)")
    replications: int = Field(ge=1, le=1_000_000, description="runs per scenario and sweep point")
    steps: int | None = Field(None, ge=1, le=100_000,
                              description="horizon of every run in months (default: each scenario's own)")
    seed: int = Field(ge=0, le=2**63 - 1, description="root seed: run i gets child i of SeedSequence(seed)")
    common_random_numbers: bool = Field(False, description=(
        "replication r gets child r of SeedSequence(seed) in every scenario and sweep point, so that "
        "scenarios are compared run by run (paired effects); otherwise every run has its own seed"))
    sweep: Sweep | None = Field(None, description="optional parameter sweep over dotted scenario keys")


@dataclass(frozen=True)
class RunSpec:
    """One run: everything a worker needs, and the labels it carries into ``runs.parquet``."""

    run_id: int
    scenario: Scenario
    seed: int
    steps: int
    replication: int = 0
    point: int = 0
    values: Mapping[str, Any] = field(default_factory=dict)

    def labels(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "scenario": self.scenario.name, "point": self.point,
                "replication": self.replication, "seed": self.seed, "steps": self.steps,
                "config_hash": self.scenario.config_hash(), **self.values}


@dataclass
class Plan:
    """What :func:`simulation.experiments.execute.execute` runs: the runs, and how they were asked
    for (kept in the manifest)."""

    name: str
    given: dict[str, Any]
    resolved: dict[str, Any]
    runs: list[RunSpec]

    def digest(self) -> str:
        """Hash of every run's full configuration, seed, horizon and labels: any change alters it."""
        text = json.dumps([{**r.labels(), "config": r.scenario.model_dump(mode="json")} for r in self.runs],
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def child_seeds(root: int, n: int) -> list[int]:
    """Seeds of runs 0..n-1: run i gets child i of ``SeedSequence(root)``, so its seed depends only on
    the root seed and i.  Shifted to 63 bits to fit a scenario seed and an int64 column."""
    return [int(child.generate_state(1, dtype=np.uint64)[0]) >> 1 for child in np.random.SeedSequence(root).spawn(n)]


def load_experiment(path: str | Path) -> tuple[dict[str, Any], Experiment]:
    """The experiment file as written and validated; sweep keys must be scenario keys."""
    path = Path(path)
    data, experiment = read_validated(path, Experiment)
    for key in experiment.sweep.parameters if experiment.sweep else ():
        check_key(Scenario, key, f"{path}: sweep.parameters")
        if key in PLAN_KEYS:
            raise ConfigError(f"{path}: sweep.parameters: '{key}' cannot be swept:"
                              " the experiment sets it for every run")
    return data, experiment


def plan_experiment(path: str | Path, workers: int | None = None, scheduler: str | None = None) -> Plan:
    """Every run of the experiment, in order scenario, sweep point, replication; every swept
    scenario is validated here, before any run starts, and must fit in memory as many times as
    runs run at once on ``workers`` (:func:`capacity.runs_at_once`)."""
    path = Path(path)
    given, experiment = load_experiment(path)
    files = [_scenario_file(path, name) for name in experiment.scenarios]
    # Sizes first: a 10^8-point grid or a million replications is refused before it is built.
    point_count = experiment.sweep.count() if experiment.sweep else 1
    total = len(files) * point_count * experiment.replications
    capacity.check_plan_fits(len(files) * point_count, total, str(path))
    at_once = capacity.runs_at_once(total, workers, scheduler)
    points = experiment.sweep.points(experiment.seed) if experiment.sweep else [{}]
    bases = [load_scenario(file) for file in files]
    for file, base in zip(files, bases):
        capacity.check_scenario(base, str(file), experiment.steps, at_once)
    cells = [(k, _swept_scenario(path, file, k, point)) for file in files for k, point in enumerate(points)]
    for k, scenario in cells:
        if scenario.network.kind != "file":  # a swept size must fit too (files were read above)
            capacity.check_scenario(scenario, f"{path}: sweep point {k}", experiment.steps, at_once)
    names = [base.name for base in bases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: scenarios: two files share the scenario name {duplicates[0]!r};"
                          " names label results")
    baseline = experiment.baseline or names[0]
    if baseline not in names:
        raise ConfigError(f"{path}: baseline: {baseline!r} is not one of the scenarios ({', '.join(names)})")
    seeds = _run_seeds(experiment, len(cells))
    runs = []
    for (k, scenario), replication in itertools.product(cells, range(experiment.replications)):
        # The validated values, so that a swept column has one type.
        values = {key: value_at(scenario, key) for key in points[k]}
        steps = experiment.steps or scenario.steps
        runs.append(RunSpec(len(runs), scenario, seeds[len(runs)], steps, replication, k, values))
    resolved = {**experiment.model_dump(mode="json"), "scenarios": [str(f) for f in files], "baseline": baseline,
                "points": [{key: value_at(cells[k][1], key) for key in p} for k, p in enumerate(points)],
                "configs": {base.name: base.model_dump(mode="json") for base in bases}}
    return Plan(experiment.name, given, resolved, runs)


def _run_seeds(experiment: Experiment, cells: int) -> list[int]:
    """Seeds in run order (cell, then replication): child i of the root seed for run i, or, with
    common random numbers, child r for every run of replication r."""
    if experiment.common_random_numbers:
        return child_seeds(experiment.seed, experiment.replications) * cells
    return child_seeds(experiment.seed, cells * experiment.replications)


def _scenario_file(experiment_path: Path, name: str) -> Path:
    file = (experiment_path.resolve().parent / name).resolve()
    if not file.is_file():
        raise ConfigError(f"{experiment_path}: scenarios: file not found: {file}")
    return file


def _swept_scenario(experiment_path: Path, file: Path, k: int, point: dict[str, Any]) -> Scenario:
    try:
        return load_scenario(file, point, overrides_source="sweep")
    except ConfigError as exc:
        if not point:
            raise
        raise ConfigError(f"{experiment_path}: sweep point {k} {point}: {exc}") from None
