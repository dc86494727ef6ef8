"""Countermeasures compared at equal cost (``python -m simulation equal-cost SPEC``).

At their designed strength the countermeasures cost very different amounts, so their effects are not
comparable as they stand.  The study scales each countermeasure scenario's countermeasures in force
by one factor, their ``scale`` (docs/ODD.md section 3, step 1: every lever, rate and brokering they
move and their running budgets), until its mean cost over common seeds matches one budget:

1. every countermeasure runs at scale 1 over the search seeds; the budget is a declared field of the
   spec: ``cheapest`` (the default: the cheapest countermeasure's mean cost at scale 1, so that every
   other one is scaled *down*, inside the range its levers were designed for, and no share saturates),
   ``median`` (of the four costs), or a number of × 10k yuan of net cost over the horizon;
2. a bracketed search (regula falsi with the Illinois step, which keeps the root bracketed like
   bisection and converges faster on the nearly linear cost curve) moves each countermeasure's scale
   until its mean cost is within ``tolerance`` of the budget.  Cost is an outcome of the runs
   (:func:`simulation.experiments.costs.run_cost`), so every step runs the model; the countermeasures
   still searching run together as one batch, through the batch runner, with the same seeds;
3. the baseline and every countermeasure at its scale run over ``replications`` seeds, the search's
   seeds first, every scenario on the same seeds (common random numbers), and the equal-cost table
   (:func:`simulation.experiments.costs.equal_cost_table`) compares them.

Cost at scale 0 is zero (every outlay is proportional to the scale), which brackets the search from
below without a run.  Output in ``OUT``: ``search/step-NN/`` and ``comparison/`` (batch folders,
resumable), ``search.csv`` (every step), ``report/equal_cost.csv`` and ``report/equal_cost.md``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
from pydantic import Field, model_validator

from simulation.analyses.protocol import Input, PlanSize, execute_all
from simulation.analyses.study import SpecFile
from simulation.config import Block, Scenario, load_scenario, read_validated
from simulation.config.keys import field_at
from simulation.config.schema import field_bounds
from simulation.errors import ConfigError, UserError
from simulation.experiments.costs import (COMPARISON, equal_cost_table, equal_cost_table_markdown, mean_cost,
                                         write_equal_cost)
from simulation.experiments.plan import Plan, RunSpec, child_seeds
from simulation.experiments.folder import BATCH, MANIFEST, claim, record, recorded, remove_written
from simulation.experiments.results import RUNS, read_manifest, written_files
from simulation.experiments.store import GeneratedBlock, atomic_path

SEARCH, SEARCH_TABLE = "search", "search.csv"
MAX_STEPS = 40
BLOCKS = ("ecosystem", "mechanism", "cognition", "security")
MAX_SCALE = field_bounds(field_at(Scenario, "countermeasures.ecosystem.scale"))[1]
EQUAL_COST_TABLE = GeneratedBlock("equal-cost-table")


class EqualCostSpec(Block):
    name: str = Field(description="study name: labels the runs and the default output folder")
    description: str = Field("", description="what the study is for")
    baseline: str = Field(description="baseline scenario file, relative to the spec file or absolute")
    countermeasures: list[str] = Field(min_length=1, description="countermeasure scenario files; each one's"
                                       " countermeasures in force are scaled by one factor")
    budget: Literal["cheapest", "median"] | Annotated[float, Field(gt=0)] = Field(
        "cheapest", description="total cost each countermeasure is scaled to: the cheapest's or the median cost"
                                " at scale 1, or × 10k yuan of net cost over the horizon")
    replications: int = Field(30, ge=2, le=10_000, description="seeds of the comparison, shared by every scenario")
    search_replications: int = Field(10, ge=1, le=10_000,
                                     description="seeds of the search (the comparison's first ones)")
    tolerance: float = Field(0.01, gt=0, le=0.5, description="relative distance of a searched mean cost from the budget"
                                                             " that ends the search")
    steps: int | None = Field(None, ge=1, le=100_000,
                              description="horizon of every run in months (default: the baseline's)")
    seed: int = Field(ge=0, le=2**63 - 1, description="root seed: seed i is child i of SeedSequence(seed)")

    @model_validator(mode="after")
    def _search_seeds_are_comparison_seeds(self) -> "EqualCostSpec":
        if self.search_replications > self.replications:
            raise ValueError(f"search_replications = {self.search_replications} exceeds"
                             f" replications = {self.replications}: the search's seeds are the comparison's first ones")
        return self


@dataclass
class Candidate:
    """One countermeasure scenario and its search: a bracket [low, high] of scales whose costs are
    below and above the budget, until a scale's cost is within the tolerance."""

    file: Path
    scenario: Scenario
    low: float = 0.0
    f_low: float = 0.0
    high: float = 1.0
    f_high: float = 0.0
    # which end the last step replaced (+1 high, -1 low): replaced twice, the other end's f is halved (Illinois)
    retained: int = 0
    scale: float | None = None  # the scale found
    cost: float | None = None
    path: list[tuple[float, float]] = field(default_factory=list)  # (scale, mean cost) of every step

    @property
    def name(self) -> str:
        return self.scenario.name

    def next_scale(self) -> float:
        if self.f_high < 0:  # the budget is above the cost of the largest scale tried: double it
            return min(MAX_SCALE, 2 * self.high)
        guess = self.high - self.f_high * (self.high - self.low) / (self.f_high - self.f_low)
        inside = self.low < guess < self.high
        return guess if inside else (self.low + self.high) / 2

    def begin(self, cost_at_one: float, target: float, tolerance: float) -> None:
        """The bracket [0, 1]: scale 0 costs nothing (every outlay is proportional to the scale)."""
        self.f_low, self.f_high = -target, cost_at_one - target
        self.path.append((1.0, cost_at_one))
        if abs(cost_at_one - target) <= tolerance * target:
            self.scale, self.cost = 1.0, cost_at_one

    def update(self, scale: float, cost: float, target: float, tolerance: float) -> None:
        self.path.append((scale, cost))
        f = cost - target
        if abs(f) <= tolerance * target:
            self.scale, self.cost = scale, cost
        elif self.f_high < 0:  # still doubling
            if f < 0 and scale >= MAX_SCALE:
                raise SearchFailed(f"{self.name}: mean cost {cost:,.1f} at the largest scale {MAX_SCALE:g} is below"
                                   f" the budget {target:,.1f}; choose a smaller budget")
            self.low, self.f_low = (self.high, self.f_high) if f >= 0 else (scale, f)
            self.high, self.f_high = scale, f
        elif f > 0:
            self.high, self.f_high = scale, f
            if self.retained == 1:
                self.f_low /= 2
            self.retained = 1
        else:
            self.low, self.f_low = scale, f
            if self.retained == -1:
                self.f_high /= 2
            self.retained = -1


class SearchFailed(UserError):
    """The budget cannot be met, or the search did not meet it within its steps."""

    exit_status = 1


@dataclass
class EqualCostResult:
    out: Path
    spec: EqualCostSpec
    target: float
    candidates: list[Candidate]
    table: pd.DataFrame
    written: list[Path]
    seconds: dict[str, float]

    def describe(self) -> str:
        """The scales found and the equal-cost table."""
        spec = self.spec
        lines = [f"{spec.name}: budget {spec.budget} = {self.target:,.1f} × 10k yuan of net cost over the horizon"
                 f" (search: {spec.search_replications} seeds, tolerance {spec.tolerance:.1%})"]
        for c in self.candidates:
            lines.append(f"  {c.name:<22} scale {c.scale:.4g}  search cost {c.cost:,.1f}  ({len(c.path)} evaluations)")
        shown = self.table[["scenario", "scale", "cost", "metric", "effect", "effect_low", "effect_high",
                            "effect_per_cost", "effect_per_cost_low", "effect_per_cost_high"]]
        lines += ["  " + line for line in shown.to_string(index=False, float_format=lambda x: f"{x:.4g}").splitlines()]
        lines.append(f"search {self.seconds['search']:.0f} s, comparison {self.seconds['comparison']:.0f} s;"
                     f" wrote {', '.join(str(p) for p in self.written)}")
        return "\n".join(lines)

    def block(self) -> str:
        """The equal-cost table as the documents show it: how it was made, then the table."""
        budget = self.spec.budget
        return (f"\n_Generated by `python -m simulation equal-cost` (as in `make run`:"
                f" `results/countermeasures/report/equal_cost.md`);"
                f" budget: {budget if isinstance(budget, str) else 'fixed'},"
                f" {self.target:,.1f} × 10k yuan of net cost._\n\n" + equal_cost_table_markdown(self.table) + "\n")


def load_equal_cost(path: str | Path) -> tuple[dict[str, Any], EqualCostSpec, Scenario, list[Candidate]]:
    """The spec, its baseline and a candidate per countermeasure scenario, all validated."""
    path = Path(path)
    given, spec = read_validated(path, EqualCostSpec)
    baseline = load_scenario(_file(path, spec.baseline, "baseline"))
    candidates = []
    for k, name in enumerate(spec.countermeasures):
        file = _file(path, name, f"countermeasures.{k}")
        scenario = load_scenario(file)
        if not _in_force(scenario):
            raise ConfigError(f"{path}: countermeasures.{k}: {file} has no countermeasure enabled: nothing to scale")
        candidates.append(Candidate(file, scenario))
    names = [baseline.name, *(c.name for c in candidates)]
    if len(set(names)) < len(names):
        raise ConfigError(f"{path}: two scenario files share a scenario name; names label results")
    return given, spec, baseline, candidates


def _file(spec_path: Path, name: str, field_name: str) -> Path:
    file = Path(name)
    file = file if file.is_absolute() else (spec_path.resolve().parent / file).resolve()
    if not file.is_file():
        raise ConfigError(f"{spec_path}: {field_name}: file not found: {file}")
    return file


def _in_force(scenario: Scenario) -> list[str]:
    return [block for block in BLOCKS if getattr(scenario.countermeasures, block).enabled]


def scaled(candidate: Candidate, scale: float) -> Scenario:
    """The candidate's scenario with every countermeasure in force at ``scale``."""
    overrides = {f"countermeasures.{block}.scale": scale for block in _in_force(candidate.scenario)}
    return load_scenario(candidate.file, overrides, overrides_source="equal-cost scale")


def budget_target(budget: str | float, costs: list[float]) -> float:
    """The budget in 10k yuan of net cost: the cheapest or the median of the costs at scale 1, or the number."""
    if budget == "cheapest":
        return float(min(costs))
    if budget == "median":
        return float(pd.Series(costs).median())
    return float(budget)


# ---------------------------------------------------------------------------------------------
# Runs


def _plan(name: str, spec: EqualCostSpec, given: dict, cells: list[tuple[Scenario, float | None]],
          replications: int, steps: int, resolved: dict[str, Any]) -> Plan:
    """Every cell (a scenario and its scale; None for the baseline) on the same ``replications`` seeds."""
    seeds = child_seeds(spec.seed, replications)
    runs = []
    for point, (scenario, scale) in enumerate(cells):
        values = {} if scale is None else {"scale": float(scale)}
        runs.extend(RunSpec(len(runs), scenario, seeds[r], steps, r, point, values) for r in range(replications))
    return Plan(name, given, {**spec.model_dump(mode="json"), "steps": steps, **resolved}, runs)


def _execute(plan: Plan, study_folder: Path, batch_folder: str, options: dict[str, Any]) -> pd.DataFrame:
    """The plan's runs (a folder of another plan or code is replaced: the spec determines it).  The
    study's manifest lists the batch folder before its first run, so that only folders of the study
    are ever removed (:func:`_remove_steps_after`)."""
    record(study_folder, [batch_folder], STUDY.name)
    out = study_folder / batch_folder
    execute_all(plan, out, replace_stale=True, **options)
    return pd.read_parquet(out / RUNS)


def search(spec: EqualCostSpec, given: dict, candidates: list[Candidate], steps: int, out: Path,
           options: dict[str, Any]) -> float:
    """Each candidate's scale at the budget; returns the budget in 10k yuan of net cost."""
    def evaluate(step: int, cells: list[tuple[Candidate, float]]) -> list[float]:
        plan = _plan(f"{spec.name}-search-{step:02d}", spec, given, [(scaled(c, s), s) for c, s in cells],
                     spec.search_replications, steps, {"search_step": step})
        return mean_cost(_execute(plan, out, f"{SEARCH}/step-{step:02d}", options), "point").tolist()

    at_one = evaluate(0, [(c, 1.0) for c in candidates])
    target = budget_target(spec.budget, at_one)
    for candidate, cost in zip(candidates, at_one):
        candidate.begin(cost, target, spec.tolerance)
    step = 0
    while pending := [c for c in candidates if c.scale is None]:
        step += 1
        if step > MAX_STEPS:
            raise SearchFailed(f"no scale within {spec.tolerance:.1%} of the budget {target:,.1f}"
                               f" after {MAX_STEPS} steps for "
                               + ", ".join(f"{c.name} (last {c.path[-1][0]:.4g} at cost {c.path[-1][1]:,.1f})"
                                           for c in pending))
        cells = [(c, c.next_scale()) for c in pending]
        for (candidate, scale), cost in zip(cells, evaluate(step, cells)):
            candidate.update(scale, cost, target, spec.tolerance)
    _remove_steps_after(out, step)
    return target


def _remove_steps_after(out: Path, last: int) -> None:
    """The files of step folders of an earlier, longer search of this study (they are not part of
    this one): only folders the study's manifest lists, only files their batch wrote."""
    for name in sorted(recorded(out, STUDY.name)):
        step = out / name
        if (name.startswith(f"{SEARCH}/step-") and name[len(SEARCH) + 6:].isdigit()
                and int(name[len(SEARCH) + 6:]) > last):
            manifest = read_manifest(step) if (step / MANIFEST).is_file() else None
            if manifest is not None:
                remove_written(step, written_files(step, manifest))


def claim_batch_folders(out: Path) -> None:
    """Refuse, before the first run, a search step or comparison folder the study could not write."""
    for folder in [*sorted((out / SEARCH).glob("step-*")), out / COMPARISON]:
        claim(folder, BATCH)


@dataclass(frozen=True)
class EqualCostInput(SpecFile[EqualCostSpec]):
    baseline: Scenario | None = None
    countermeasures: tuple[Candidate, ...] = ()  # each scenario before its search


class EqualCost:
    """The countermeasures scaled to one budget (an iterative study: each step of the search is a
    plan made from the costs the step before it measured)."""

    name = "equal-cost"
    help = "the countermeasures scaled to one budget: effects and effects per unit of cost"
    inputs = (Input("spec", "equal-cost spec (scenarios/experiments/equal_cost.yaml)", positional=True),)
    spec_key = "budget"
    block = EQUAL_COST_TABLE
    doc_example = "docs/countermeasures.md"
    doc_replaces_output = False
    keeps_runs = True

    def load(self, spec: str | Path) -> EqualCostInput:
        given, validated, baseline, candidates = load_equal_cost(spec)
        return EqualCostInput(Path(spec), given, validated, baseline, tuple(candidates))

    def folder(self, loaded: EqualCostInput) -> Path:
        return Path("results") / loaded.spec.name

    def size(self, loaded: EqualCostInput) -> PlanSize:
        """Its largest plan, the comparison: the baseline and every countermeasure over ``replications`` seeds."""
        cells = 1 + len(loaded.countermeasures)
        return PlanSize(cells, cells * loaded.spec.replications, str(loaded.path))

    def run(self, loaded: EqualCostInput, out: Path, **options: Any) -> EqualCostResult:
        """Search each countermeasure's scale at the budget, run the comparison, write the tables."""
        spec, given, baseline = loaded.spec, loaded.given, loaded.baseline
        candidates = [Candidate(c.file, c.scenario) for c in loaded.countermeasures]
        steps = spec.steps or baseline.steps
        claim_batch_folders(out)
        started = time.perf_counter()
        target = search(spec, given, candidates, steps, out, options)
        searched = time.perf_counter()
        info = {"budget": spec.budget, "target": target, "baseline_name": baseline.name,
                "scales": {c.name: c.scale for c in candidates}, "search_costs": {c.name: c.cost for c in candidates}}
        cells = [(baseline, None), *((scaled(c, c.scale), c.scale) for c in candidates)]
        plan = _plan(f"{spec.name}-comparison", spec, given, cells, spec.replications, steps, info)
        runs = _execute(plan, out, COMPARISON, options)
        table = equal_cost_table(runs, baseline.name)
        written = [write_search_table(candidates, target, out / SEARCH_TABLE)]
        written += write_equal_cost(table, {**spec.model_dump(mode="json"), **info}, out / "report")
        seconds = {"search": searched - started, "comparison": time.perf_counter() - searched}
        return EqualCostResult(out, spec, target, candidates, table, written, seconds)


def write_search_table(candidates: list[Candidate], target: float, file: Path) -> Path:
    rows = [{"scenario": c.name, "step": k, "scale": scale, "mean_cost": cost, "budget": target,
             "relative_gap": cost / target - 1}
            for c in candidates for k, (scale, cost) in enumerate(c.path)]
    with atomic_path(file) as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return file


STUDY = EqualCost()
