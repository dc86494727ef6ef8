"""Policy frontier: which countermeasure packages buy the most integration and sharing for their cost.

A frontier spec (``scenarios/sensitivity/frontier.yaml``) names a scenario, the countermeasures whose
``enabled`` switch is drawn (each on in half of the packages), ``[low, high]`` ranges of levers and
start steps, the number of packages and the replications.  Packages are a Latin hypercube over the
ranges and the switches, drawn from the spec's seed; each runs ``replications`` times with common
seeds through the batch runner.  Per package, over its replications:

- ``cost``: mean cost over the horizon (:func:`simulation.experiments.costs.run_cost`: budgets,
  brokered links, subsidies, rewards; the cost the equal-cost study and the report use);
- ``persistence``: mean time to lasting integration (the first month from which the largest component
  holds >= 90% of holders for ``integration_persistence`` months in a row), a run that never
  integrates lastingly counting as the horizon;
- ``volume``: mean cumulative sharing volume.

The frontier is the set of packages no other package beats on all three (cost and persistence
lower, volume higher) and strictly on one.  ``--target-integration N`` finds the cheapest package,
on the frontier or not, whose runs reach lasting integration by month N in at least 90% of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from simulation.analyses.protocol import Execution, Input, PlanSize
from simulation.analyses.study import RangesSpec, SpecFile, plan_points, point_means, short, typed, validate_spec
from simulation.config import Scenario
from simulation.config.schema import field_bounds, range_text
from simulation.errors import ArgumentError
from simulation.experiments.costs import COST, mean_cost
from simulation.experiments.figures import paper_style, save
from simulation.experiments.folder import named_folder
from simulation.experiments.outcomes import INTEGRATION_TIME, integrated
from simulation.experiments.plan import Plan
from simulation.experiments.results import RUNS, record_derived
from simulation.experiments.sampling import latin_hypercube, on_range
from simulation.experiments.store import atomic_path

BLOCKS = ("ecosystem", "mechanism", "cognition", "security")
OBJECTIVES = {"cost": "min", "persistence": "min", "volume": "max"}
TARGET_SHARE = 0.9
MEASURES = [COST, INTEGRATION_TIME, "cumulative_volume"]  # cost, persistence, volume
PACKAGES, FRONTIER = "packages.csv", "frontier.csv"


class FrontierSpec(RangesSpec):
    packages: int = Field(ge=1, le=1_000_000, description="countermeasure packages drawn")
    switches: list[Literal["ecosystem", "mechanism", "cognition", "security"]] = Field(
        default_factory=list,
        description="countermeasures switched on in half of the packages; the others keep the scenario's setting")


def switch_key(block: str) -> str:
    return f"countermeasures.{block}.enabled"


def packages(spec: FrontierSpec) -> list[dict[str, Any]]:
    """The spec's packages: a Latin hypercube over the ranges and, for each switch, on or off."""
    keys = list(spec.parameters)
    switches = list(dict.fromkeys(spec.switches))
    rows = []
    for u in latin_hypercube(len(keys) + len(switches), spec.packages, spec.seed):
        levers = {k: typed(k, on_range(x, *spec.parameters[k])) for k, x in zip(keys, u)}
        rows.append({**{switch_key(b): bool(x < 0.5) for b, x in zip(switches, u[len(keys):])}, **levers})
    return rows


def non_dominated(objectives: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``objectives`` (all to minimise) that no other row dominates; of rows
    with equal objectives (e.g. packages with every countermeasure off) only the first is kept."""
    mask = np.ones(len(objectives), dtype=bool)
    for i, row in enumerate(objectives):
        better_or_equal = np.all(objectives <= row, axis=1)
        strictly_better = np.any(objectives < row, axis=1)
        earlier_twin = np.all(objectives[:i] == row, axis=1)
        mask[i] = not (np.any(better_or_equal & strictly_better) or np.any(earlier_twin))
    return mask


def package_table(means: pd.DataFrame, runs: pd.DataFrame, points: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per package: the three objectives, the share of its runs that integrate at all,
    whether it is on the frontier, and its settings (levers of a switched-off countermeasure blank)."""
    settings = pd.DataFrame(points)
    for block in BLOCKS:
        key = switch_key(block)
        if key in settings:
            levers = [c for c in settings if c.startswith(f"countermeasures.{block}.") and c != key]
            settings[levers] = settings[levers].astype(object).where(settings[key], None)
    integrated_share = integrated(runs).groupby(runs["point"]).mean().sort_index()
    table = pd.DataFrame({"package": np.arange(len(points)), "cost": mean_cost(runs, "point").to_numpy(),
                          "persistence": means[INTEGRATION_TIME], "volume": means["cumulative_volume"],
                          "integrated_share": integrated_share.to_numpy()})
    signs = np.array([1.0 if sense == "min" else -1.0 for sense in OBJECTIVES.values()])
    table["on_frontier"] = non_dominated(table[list(OBJECTIVES)].to_numpy(dtype=float) * signs)
    return pd.concat([table, settings], axis=1)


def settings_of(table: pd.DataFrame) -> list[str]:
    """The package's settings: the dotted scenario keys among the columns."""
    return [c for c in table.columns if "." in c]


def cheapest_within(runs: pd.DataFrame, table: pd.DataFrame, months: int) -> pd.Series | None:
    """The cheapest package whose runs reach lasting integration by month ``months`` in at least 90%
    of cases (the month from which integration lasts, not the month it has lasted until)."""
    within = (runs[INTEGRATION_TIME].astype("Float64") <= months).fillna(False)
    share = within.groupby(runs["point"]).mean().sort_index().to_numpy()
    hits = table.assign(share_within=share)[share >= TARGET_SHARE]
    return None if hits.empty else hits.sort_values(["cost", "package"]).iloc[0]


# ---------------------------------------------------------------------------------------------
# The study


@dataclass
class FrontierResult:
    out: Path
    spec: FrontierSpec
    table: pd.DataFrame
    target: int | None
    answer: pd.Series | None
    written: list[Path]

    def describe(self) -> str:
        """The frontier table, the answer to the target question and what was written."""
        table = self.table
        front = table[table["on_frontier"]].sort_values(["cost", "package"])
        lines = [f"{self.spec.name}: {len(table)} packages x {self.spec.replications} replications; "
                 f"{len(front)} on the frontier (cost min, persistence min, volume max)"]
        lines += ["  " + line for line in front[["package", *OBJECTIVES, "integrated_share"]]
                  .to_string(index=False, float_format=lambda x: f"{x:.4g}").splitlines()]
        if self.target is not None:
            lines.append(target_text(self))
        lines.append(f"wrote {', '.join(str(p) for p in self.written)}; runs in {self.out}/runs.parquet")
        return "\n".join(lines)


@dataclass(frozen=True)
class FrontierInput(SpecFile[FrontierSpec]):
    target: int | None = None  # the month by which the cheapest package is to integrate the holders


class Frontier:
    """The Pareto frontier of countermeasure packages (a planned study: the packages are drawn up front)."""

    name = "frontier"
    help = "Pareto frontier of countermeasure packages: cost, island persistence, volume"
    inputs = (Input("spec", "frontier spec (scenarios/sensitivity/frontier.yaml)", positional=True),
              Input("target_integration", "report the cheapest package integrating the holders within N months"
                    f" in {TARGET_SHARE:.0%} of runs", type=int, metavar="N"))
    spec_key = "packages"
    block = doc_example = None
    doc_replaces_output = False
    keeps_runs = True

    def load(self, spec: str | Path, target_integration: int | None = None) -> FrontierInput:
        if target_integration is not None:
            low, high = field_bounds(Scenario.model_fields["steps"])
            if not low <= target_integration <= high:
                raise ArgumentError("target_integration", f"{target_integration} is not allowed: int in"
                                    f" {range_text(low, high)} (a month within the longest horizon of a run)")
        path = Path(spec)
        return FrontierInput(path, *validate_spec(FrontierSpec, path), target_integration)

    def folder(self, loaded: FrontierInput) -> Path:
        return named_folder("results", loaded.spec.name)

    def size(self, loaded: FrontierInput) -> PlanSize:
        return PlanSize(loaded.spec.packages, loaded.spec.packages * loaded.spec.replications, str(loaded.path))

    def plan(self, loaded: FrontierInput) -> Plan:
        return plan_points(loaded.path, loaded.spec, loaded.given, packages(loaded.spec))

    def analyse(self, out: Path, loaded: FrontierInput, execution: Execution) -> FrontierResult:
        """The package table and the frontier of the finished runs in ``out``, written with the figure."""
        points = packages(loaded.spec)
        means = point_means(out, MEASURES)
        runs = pd.read_parquet(out / RUNS)
        table = package_table(means, runs, points)
        answer = None if loaded.target is None else cheapest_within(runs, table, loaded.target)
        front = table[table["on_frontier"]].sort_values(["cost", "package"])
        written = [out / PACKAGES, out / FRONTIER]
        for frame, file in ((table, written[0]), (front, written[1])):
            with atomic_path(file) as tmp:
                frame.to_csv(tmp, index=False)
        written += figure(table, answer, out)
        record_derived(out, written)  # so that a restart removes them with the runs they came from
        return FrontierResult(out, loaded.spec, table, loaded.target, answer, written)


STUDY = Frontier()


def figure(table: pd.DataFrame, answer: pd.Series | None, out: Path) -> list[Path]:
    from matplotlib.figure import Figure

    with paper_style():
        fig = Figure(figsize=(10, 4.2), layout="constrained")
        axes = fig.subplots(1, 2)
        front = table[table["on_frontier"]].sort_values("cost")
        for ax, (column, label) in zip(axes, (("persistence", "island persistence (months; never = horizon)"),
                                               ("volume", "cumulative sharing volume"))):
            ax.scatter(table["cost"], table[column], s=14, facecolors="none", edgecolors="0.6", linewidths=0.7,
                       label="package")
            ax.scatter(front["cost"], front[column], s=18, color="black", marker="s", label="on the frontier")
            if answer is not None:
                ax.scatter([answer["cost"]], [answer[column]], s=160, marker="*", facecolors="none",
                           edgecolors="black", linewidths=1.0, label="cheapest meeting the target", zorder=3)
            ax.set_xlabel("total countermeasure cost over the horizon")
            ax.set_ylabel(label)
        axes[0].legend(loc="best")
        fig.suptitle("Countermeasure packages: mean over replications; frontier = non-dominated in cost, "
                     "persistence and volume")
        return save(fig, out / "frontier")


def target_text(result: FrontierResult) -> str:
    goal = f"integrates the holders lastingly by month {result.target} in at least {TARGET_SHARE:.0%} of runs"
    if result.answer is None:
        return f"TARGET: no package {goal} (of {len(result.table)} drawn)"
    a = result.answer
    settings = [f"{short(k)}={_value(a[k])}" for k in settings_of(result.table) if _value(a[k]) is not None]
    where = "on the frontier" if a["on_frontier"] else "not on the frontier"
    return (f"TARGET: the cheapest package that {goal} is package {int(a['package'])} ({where}): "
            f"cost {a['cost']:.4g}, persistence {a['persistence']:.3g} months, volume {a['volume']:.4g}, "
            f"lastingly integrated by month {result.target} in {a['share_within']:.0%} of runs\n  settings: "
            + ", ".join(settings))


def _value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return f"{value:.3g}" if isinstance(value, float) else value
