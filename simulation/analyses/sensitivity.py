"""Global sensitivity analysis of scenario parameters: Morris screening and Sobol indices (SALib).

A spec file (``scenarios/sensitivity/*.yaml``) names a scenario, a method, the parameters with their
``[low, high]`` ranges, the outputs and the size of the design.  SALib draws the design from the
spec's seed; every design point becomes a scenario (integer parameters rounded), run ``replications``
times through the batch runner (:func:`simulation.batch.execute`), so the runs are parallel,
resumable and cluster-ready and land in the batch layout of ``DIR``.  Each point's outputs are
averaged over its replications before the indices are computed.

Every point uses the same replication seeds (common random numbers): the difference between two
points is then the parameters' effect, not a different draw of the network and the agents.

Outputs are run-level figures: the final value of a metric, or ``time_to_integration`` /
``time_to_half_adoption``, where a run that never gets there counts as the horizon.

Sobol indices are first-order and total (``S1``, ``ST``): the design is Saltelli's without the
second-order columns, N·(D+2) points instead of N·(2D+2).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simulation.experiments.batch import RUNS, SUMMARY_COLUMNS, BatchOutcome, Plan, RunSpec, child_seeds, execute
from simulation.config import (Block, ConfigError, Scenario, apply_overrides, check_dotted_key, field_bounds,
                               field_of, load_scenario, read_validated, validate_data)
from simulation.experiments.store import atomic_path

OUTPUTS = SUMMARY_COLUMNS
CENSORED = ("time_to_integration", "time_to_half_adoption")  # never reached: counted as the horizon
INDEX_COLUMNS = {"morris": ("mu_star", "mu_star_conf", "sigma"), "sobol": ("S1", "S1_conf", "ST", "ST_conf")}
INDICES = "indices.csv"
CONF_LEVEL = 0.95
RESAMPLES = 1000

Evaluator = Callable[[list[dict[str, Any]]], pd.DataFrame]


# ---------------------------------------------------------------------------------------------
# Spec files


class Study(Block):
    """What a sensitivity spec and a frontier spec share: a scenario, ranges, runs per point, a seed."""

    name: str = Field(description="study name: labels the runs and the default output folder")
    description: str = Field("", description="what the study is for")
    scenario: str = Field(description="scenario file, relative to the spec file or absolute")
    steps: int | None = Field(None, ge=1, le=100_000, description="horizon of every run in months (default: the scenario's)")
    replications: int = Field(1, ge=1, le=10_000, description="runs per design point, averaged (sensitivity) or counted (frontier)")
    seed: int = Field(ge=0, le=2**63 - 1, description="seeds the design and the runs")
    parameters: dict[str, list[float]] = Field(min_length=1, description="dotted scenario key: [low, high]")


class SensitivitySpec(Study):
    method: Literal["morris", "sobol"] = Field(description="morris: elementary effects; sobol: variance-based indices")
    samples: int = Field(ge=2, le=1_000_000, description="Morris: trajectories; Sobol: base samples N (a power of 2)")
    levels: int = Field(4, ge=2, le=1000, description="Morris: levels of the grid (even)")
    outputs: list[str] = Field(min_length=1, description="run-level outputs: final metric values or time_to_integration")

    @model_validator(mode="after")
    def _design_fits_method(self) -> "SensitivitySpec":
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol needs samples N a power of 2 (Sobol' sequence balance), got {self.samples}")
        if self.method == "morris" and self.levels % 2:
            raise ValueError(f"morris needs an even number of levels, got {self.levels}")
        return self


def validate_spec(model: type[Study], path: Path) -> tuple[dict[str, Any], Any]:
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


def load_sensitivity(path: str | Path) -> tuple[dict[str, Any], SensitivitySpec]:
    return validate_spec(SensitivitySpec, Path(path))



def check_range(key: str, bounds: list[float], source: str) -> None:
    """A numeric scenario key, with low < high inside the range its field declares."""
    check_dotted_key(Scenario, key, source)
    field = field_of(key)
    if field.annotation not in (int, float):
        raise ConfigError(f"{source}.{key}: not a numeric parameter (it is {getattr(field.annotation, '__name__', field.annotation)})")
    if len(bounds) != 2 or not bounds[0] < bounds[1]:
        raise ConfigError(f"{source}.{key}: {bounds} is not allowed: needs [low, high] with low < high")
    low, high = field_bounds(field)
    low, high = -math.inf if low is None else low, math.inf if high is None else high
    if bounds[0] < low or bounds[1] > high:
        raise ConfigError(f"{source}.{key}: {bounds} is not allowed: outside the declared range "
                          f"[{low:g}, {high:g}] ({field.description})")


def scenario_file(spec_path: Path, spec: Study) -> Path:
    file = Path(spec.scenario)
    file = file if file.is_absolute() else (spec_path.resolve().parent / file).resolve()
    if not file.is_file():
        raise ConfigError(f"{spec_path}: scenario: file not found: {file}")
    return file


def typed(key: str, value: float) -> int | float:
    """A sampled value as the scenario takes it: integer fields (start steps, counts) rounded."""
    annotation = field_of(key).annotation
    if annotation is int:
        return int(round(value))
    return float(value) if annotation is float else value


# ---------------------------------------------------------------------------------------------
# Runs of design points through the batch runner


def plan_points(spec_path: Path, spec: Study, given: dict[str, Any], points: list[dict[str, Any]]) -> Plan:
    """Every point ``replications`` times, in order point, replication, with common seeds; every
    point's scenario is validated here, before any run starts."""
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
    values = horizon_filled(runs, outputs)
    return values.groupby(runs["point"]).mean().sort_index().reset_index(drop=True)


def horizon_filled(runs: pd.DataFrame, outputs: list[str]) -> pd.DataFrame:
    values = runs[list(outputs)].astype("Float64")
    for column in set(outputs) & set(CENSORED):
        values[column] = values[column].fillna(runs["steps"].astype("Float64"))
    return values.astype(float)


class RunsFailed(RuntimeError):
    """Some runs failed: there are no indices until a re-run of the same command retries them."""

    def __init__(self, outcome: BatchOutcome):
        super().__init__(f"{outcome.failed} of {outcome.total} runs failed; see the error column of "
                         f"{outcome.out}/{RUNS}; re-running the same command retries them")
        self.outcome = outcome


def model_evaluator(spec_path: Path, spec: Study, given: dict[str, Any], out: Path, outputs: list[str],
                    **options: Any) -> Evaluator:
    """Points -> their replication-averaged outputs, by the batch runner into ``out``."""
    def evaluate(points: list[dict[str, Any]]) -> pd.DataFrame:
        points = [{key: typed(key, value) for key, value in point.items()} for point in points]
        plan = plan_points(spec_path, spec, given, points)
        outcome = execute(plan, out, **options)
        if outcome.failed:
            raise RunsFailed(outcome)
        return point_means(out, outputs)
    return evaluate


# ---------------------------------------------------------------------------------------------
# Designs and indices (shared by the model and by analytic test functions)


def problem_of(parameters: dict[str, list[float]]) -> dict[str, Any]:
    return {"num_vars": len(parameters), "names": list(parameters), "bounds": [list(b) for b in parameters.values()]}


def design(method: str, problem: dict[str, Any], samples: int, levels: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris
        return morris.sample(problem, samples, num_levels=levels, seed=seed)
    from SALib.sample import sobol
    return sobol.sample(problem, samples, calc_second_order=False, seed=seed)


def analyse(method: str, problem: dict[str, Any], x: np.ndarray, y: pd.DataFrame, levels: int, seed: int) -> pd.DataFrame:
    """One row per output and parameter, with the method's index columns (NaN for a constant output)."""
    from SALib.analyze import morris, sobol

    frames = []
    for output in y.columns:
        values = y[output].to_numpy(dtype=float)
        if np.ptp(values) == 0:  # no variance to apportion: every index is undefined
            result = {c: np.full(problem["num_vars"], np.nan) for c in INDEX_COLUMNS[method]}
        elif method == "morris":
            result = morris.analyze(problem, x, values, num_resamples=RESAMPLES, conf_level=CONF_LEVEL,
                                    num_levels=levels, seed=seed)
        else:
            result = sobol.analyze(problem, values, calc_second_order=False, num_resamples=RESAMPLES,
                                   conf_level=CONF_LEVEL, seed=seed)
        frame = pd.DataFrame({c: np.asarray(result[c], dtype=float) for c in INDEX_COLUMNS[method]})
        frames.append(frame.assign(output=output, parameter=problem["names"]))
    return pd.concat(frames, ignore_index=True)[["output", "parameter", *INDEX_COLUMNS[method]]]


def indices(method: str, parameters: dict[str, list[float]], samples: int, levels: int, seed: int,
            evaluate: Evaluator) -> pd.DataFrame:
    """Draw the design, evaluate every point (a mapping of parameter to value), analyse."""
    problem = problem_of(parameters)
    x = design(method, problem, samples, levels, seed)
    points = [dict(zip(problem["names"], map(float, row))) for row in x]
    return analyse(method, problem, x, evaluate(points), levels, seed)


def ranking(table: pd.DataFrame, method: str) -> pd.DataFrame:
    """Parameters ordered by their influence on each output (mu* for Morris, ST for Sobol)."""
    key = "mu_star" if method == "morris" else "ST"
    return table.sort_values(["output", key], ascending=[True, False], kind="stable", na_position="last")


# ---------------------------------------------------------------------------------------------
# The command


@dataclass
class SensitivityResult:
    out: Path
    spec: SensitivitySpec
    table: pd.DataFrame
    written: list[Path]
    runs: int


def run_sensitivity(path: str | Path, out: str | Path | None = None, **options: Any) -> SensitivityResult:
    """Run the spec's design through the batch runner into ``out`` and write indices and figures."""
    path = Path(path)
    given, spec = load_sensitivity(path)
    out = Path(out) if out else Path("results") / spec.name
    evaluate = model_evaluator(path, spec, given, out, spec.outputs, **options)
    table = ranking(indices(spec.method, spec.parameters, spec.samples, spec.levels, spec.seed, evaluate), spec.method)
    with atomic_path(out / INDICES) as tmp:
        table.to_csv(tmp, index=False)
    written = [out / INDICES, *figures(table, spec.method, out)]
    runs = len(pd.read_parquet(out / RUNS, columns=["run_id"]))
    return SensitivityResult(out, spec, table, written, runs)


def figures(table: pd.DataFrame, method: str, out: Path) -> list[Path]:
    import matplotlib

    from simulation.experiments.report import RC, _save

    with matplotlib.rc_context(RC):
        if method == "morris":
            return _save(morris_figure(table), out / "morris")
        return _save(sobol_figure(table), out / "sobol")


def short(key: str) -> str:
    """``countermeasures.ecosystem.link_rate`` -> ``ecosystem.link_rate``."""
    return ".".join(key.split(".")[-2:])


def _panels(outputs: list[str], width: float, height: float) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    columns = min(2, len(outputs))
    rows = math.ceil(len(outputs) / columns)
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, columns, squeeze=False)).ravel()
    for ax in axes[len(outputs):]:
        ax.set_visible(False)
    return figure, list(axes[:len(outputs)])


def morris_figure(table: pd.DataFrame) -> Any:
    """mu* against sigma per output: influential parameters lie right, interacting or non-linear ones high."""
    outputs = list(dict.fromkeys(table["output"]))
    figure, axes = _panels(outputs, 5.2, 4.2)
    for ax, output in zip(axes, outputs):
        rows = table[table["output"] == output].dropna(subset=["mu_star"])
        ax.errorbar(rows["mu_star"], rows["sigma"], xerr=rows["mu_star_conf"], fmt="o", color="black",
                    markerfacecolor="white", markersize=4, elinewidth=0.6, capsize=2)
        for _, row in rows.head(6).iterrows():  # label the most influential; the rest stay unlabelled
            ax.annotate(short(row["parameter"]), (row["mu_star"], row["sigma"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("mu* (mean absolute elementary effect)")
        ax.set_ylabel("sigma (sd of elementary effects)")
        ax.set_title(output)
    figure.suptitle(f"Morris screening: mu* with its {CONF_LEVEL:.0%} bootstrap interval")
    return figure


def sobol_figure(table: pd.DataFrame) -> Any:
    """Horizontal bars of S1 (light) and ST (dark, hatched) with their intervals, per output."""
    outputs = list(dict.fromkeys(table["output"]))
    parameters = list(dict.fromkeys(table["parameter"]))
    figure, axes = _panels(outputs, 5.2, 0.9 + 0.32 * len(parameters))
    y = np.arange(len(parameters))
    for ax, output in zip(axes, outputs):
        rows = table[table["output"] == output].set_index("parameter").reindex(parameters)
        ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], color="0.8", edgecolor="black",
                linewidth=0.5, error_kw={"elinewidth": 0.7, "capsize": 2}, label="first order S1")
        ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], color="0.35", edgecolor="black", hatch="///",
                linewidth=0.5, error_kw={"elinewidth": 0.7, "capsize": 2}, label="total ST")
        ax.set_yticks(y, [short(p) for p in parameters], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_title(output)
    axes[0].legend(loc="lower right", fontsize=7)
    figure.suptitle(f"Sobol indices with {CONF_LEVEL:.0%} bootstrap intervals")
    return figure


def describe(result: SensitivityResult) -> str:
    """The ranking per output, most influential first, for the terminal."""
    key = "mu_star" if result.spec.method == "morris" else "ST"
    lines = [f"{result.spec.name}: {result.spec.method}, {result.runs} runs; parameters ranked by {key}"]
    for output, rows in result.table.groupby("output", sort=False):
        lines.append(f"  {output}")
        lines += [f"    {i}. {short(r.parameter):<40} {getattr(r, key):.4g}" for i, r in enumerate(rows.itertuples(), 1)]
    return "\n".join(lines)
