"""What a sensitivity analysis and a policy frontier share: a spec naming a scenario and the
``[low, high]`` ranges of some of its keys, and the plan that runs design points (settings of those
keys) through the batch runner, each point's outputs averaged over its replications.

Every point runs with the same replication seeds (common random numbers): the difference between
two points is then the parameters' effect, not a different draw of the network and the agents.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import pandas as pd
from pydantic import Field

from simulation.config import Block, Scenario, load_scenario, read_validated
from simulation.config.keys import check_key, field_at
from simulation.config.loader import apply_overrides, validate_data
from simulation.config.schema import field_bounds, range_text
from simulation.errors import ConfigError
from simulation.experiments.outcomes import horizon_filled
from simulation.experiments.plan import Plan, RunSpec, child_seeds
from simulation.experiments.results import RUNS, SUMMARY_COLUMNS

OUTPUTS = SUMMARY_COLUMNS


class RangesSpec(Block):
    """The fields every spec of ranges has: a scenario, ranges, runs per point, a seed."""

    name: str = Field(description="study name: labels the runs and the default output folder")
    description: str = Field("", description="what the study is for")
    scenario: str = Field(description="scenario file, relative to the spec file or absolute")
    steps: int | None = Field(None, ge=1, le=100_000,
                              description="horizon of every run in months (default: the scenario's)")
    replications: int = Field(1, ge=1, le=10_000,
                              description="runs per design point, averaged (sensitivity) or counted (frontier)")
    seed: int = Field(ge=0, le=2**63 - 1, description="seeds the design and the runs")
    parameters: dict[str, list[float]] = Field(min_length=1, description="dotted scenario key: [low, high]")


SpecT = TypeVar("SpecT", bound=Block)


@dataclass(frozen=True)
class SpecFile(Generic[SpecT]):
    """A study's spec file: where it is, what it says, and that validated."""

    path: Path
    given: dict[str, Any]
    spec: SpecT


def validate_spec(model: type[RangesSpec], path: Path) -> tuple[dict[str, Any], Any]:
    """The spec as written and validated: known keys, ranges inside the declared ones, known outputs."""
    data, spec = read_validated(path, model)
    for key, bounds in spec.parameters.items():
        check_range(key, bounds, f"{path}: parameters")
    for output in getattr(spec, "outputs", ()):
        if output not in OUTPUTS:
            close = difflib.get_close_matches(output, OUTPUTS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(OUTPUTS)}"
            raise ConfigError(f"{path}: outputs: unknown output '{output}'{hint}")
    scenario_file(path, spec)
    return data, spec


def check_range(key: str, bounds: list[float], source: str) -> None:
    """A numeric scenario key, with low < high inside the range its field declares."""
    check_key(Scenario, key, source)
    field = field_at(Scenario, key)
    if field.annotation not in (int, float):
        raise ConfigError(f"{source}.{key}: not a numeric parameter"
                          f" (it is {getattr(field.annotation, '__name__', field.annotation)})")
    if len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise ConfigError(f"{source}.{key}: {bounds} is not allowed: needs [low, high] with low < high")
    low, high = field_bounds(field)
    if bounds[0] < (-math.inf if low is None else low) or bounds[1] > (math.inf if high is None else high):
        raise ConfigError(f"{source}.{key}: {bounds} is not allowed: outside the declared range "
                          f"{range_text(low, high)} ({field.description})")


def scenario_file(spec_path: Path, spec: RangesSpec) -> Path:
    file = Path(spec.scenario)
    file = file if file.is_absolute() else (spec_path.resolve().parent / file).resolve()
    if not file.is_file():
        raise ConfigError(f"{spec_path}: scenario: file not found: {file}")
    return file


def typed(key: str, value: float) -> int | float:
    """A sampled value as the scenario takes it: integer fields (start steps, counts) rounded."""
    annotation = field_at(Scenario, key).annotation
    if annotation is int:
        return int(round(value))
    return float(value) if annotation is float else value


def short(key: str) -> str:
    """``countermeasures.ecosystem.link_rate`` -> ``ecosystem.link_rate``, for labels."""
    return ".".join(key.split(".")[-2:])


# ---------------------------------------------------------------------------------------------
# Runs of design points through the batch runner


def plan_points(spec_path: Path, spec: RangesSpec, given: dict[str, Any], points: list[dict[str, Any]]) -> Plan:
    """Every point (integer keys rounded) ``replications`` times, in order point, replication, with
    common seeds; every point's scenario is validated here, before any run starts."""
    points = [{key: typed(key, value) for key, value in point.items()} for point in points]
    file = scenario_file(spec_path, spec)
    base = load_scenario(file)
    data = base.model_dump(mode="json")
    steps = spec.steps or base.steps
    seeds = child_seeds(spec.seed, spec.replications)
    runs = []
    for k, point in enumerate(points):
        source = f"{spec_path}: point {k} {point}"
        scenario = validate_data(apply_overrides(data, point, source), source)
        runs.extend(RunSpec(len(runs), scenario, seeds[r], steps, r, k, point) for r in range(spec.replications))
    resolved = {**spec.model_dump(mode="json"), "scenario": str(file), "steps": steps}
    return Plan(spec.name, given, resolved, runs)


def point_means(out: Path, outputs: list[str]) -> pd.DataFrame:
    """Each point's outputs averaged over its replications (never reached = the horizon)."""
    runs = pd.read_parquet(out / RUNS)
    return horizon_filled(runs, outputs).groupby(runs["point"]).mean().sort_index().reset_index(drop=True)
