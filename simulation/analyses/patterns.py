"""Pattern-oriented validation (``docs/validation.md``; ``python -m simulation patterns``).

The scenarios a pattern is observed in run over the same seeds on three network families through
the batch runner; per run, the indicators of ``docs/validation.md`` are read from the timeseries
and the summary; each check of a pattern then gives a value (a share of runs, a mean or a contrast,
with its 95% interval) and whether its criterion holds.  A failing check is reported as failing.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.analyses.protocol import Execution, Input, PlanSize, execute_all
from simulation.config import load_scenario
from simulation.errors import ArgumentError
from simulation.experiments.numbers import number
from simulation.experiments.outcomes import INTEGRATION_TIME, final_year
from simulation.experiments.plan import Plan, RunSpec
from simulation.experiments.results import read_results
from simulation.experiments.statistics import describe
from simulation.experiments.store import GeneratedBlock

FAMILIES = ("sectoral", "small_world", "scale_free")
SCENARIOS = ("baseline", "ecosystem", "security", "all_countermeasures")
FAMILY_KEY = "network.kind"
ALPHA = 0.01
HALF = 0.5  # the level of a channel's final-year volume whose first crossing dates it (H1)
TRAILING = 3  # months of the trailing mean that dates a channel (H1)
FINAL_MONTHS = 12

_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


# ---------------------------------------------------------------------------------------------
# Indicators per run


def _final_year_means(ts: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return ts.groupby("run_id", sort=False).tail(FINAL_MONTHS).groupby("run_id")[columns].mean()


def _weighted(ts: pd.DataFrame, value: str, weight: str) -> pd.Series:
    """Per run, the monthly ``value`` weighted by the month's ``weight`` (NaN when the weights sum to 0)."""
    frame = pd.DataFrame({"run_id": ts["run_id"], "product": ts[value] * ts[weight], "weight": ts[weight]})
    sums = frame.groupby("run_id")[["product", "weight"]].sum()
    return sums["product"] / sums["weight"].where(sums["weight"] > 0)


def _half_level_month(ts: pd.DataFrame, volume: pd.Series) -> pd.Series:
    """Per run, the first month whose trailing mean of ``volume`` reaches HALF of its final-year mean."""
    frame = pd.DataFrame({"run_id": ts["run_id"], "step": ts["step"], "volume": volume})
    frame = frame[frame["step"] > 0]
    frame["trailing"] = frame.groupby("run_id")["volume"].transform(lambda v: v.rolling(TRAILING, min_periods=1).mean())
    level = frame.groupby("run_id")["volume"].transform(lambda v: v.tail(FINAL_MONTHS).mean())
    reached = frame[frame["trailing"] >= HALF * level]
    return reached.groupby("run_id")["step"].min()


def run_indicators(runs: pd.DataFrame, timeseries: pd.DataFrame) -> pd.DataFrame:
    """One row per finished run: its scenario, family and seed, and every indicator of docs/validation.md."""
    ok = runs[runs["status"] == "ok"].set_index("run_id")
    ts = timeseries[timeseries["run_id"].isin(ok.index)].sort_values(["run_id", "step"], kind="stable")
    last = _final_year_means(ts, ["producer_integration", "adoption_enterprise", "adoption_holders",
                                  "largest_component_share", "islands", "islands_either_way", "volume_water_grid",
                                  "producer_integration_government", "producer_integration_enterprise"])
    requests = final_year(ts, by="run_id")
    totals = ts.groupby("run_id")[["volume_water_grid", "volume_telecom"]].sum()
    conditional_wait = _weighted(ts, "wait_conditional_days", "requests_conditional")
    unconditional_wait = _weighted(ts, "wait_unconditional_days", "requests_unconditional")
    t_gov = _half_level_month(ts, ts["volume_gov_gov"])
    t_cross = _half_level_month(ts, ts["volume_gov_ent"] + ts["volume_ent_gov"])
    frame = pd.DataFrame({
        "scenario": ok["scenario"].astype(str), "family": ok[FAMILY_KEY].astype(str), "seed": ok["seed"],
        "producer_integration": last["producer_integration"],
        "adoption_enterprise": last["adoption_enterprise"],
        "half_adoption_reached": ok["time_to_half_adoption"].notna().astype(float),
        "adoption_holders": last["adoption_holders"],
        "fulfilment_overall": ok["fulfilment_overall"].astype(float),
        "wait_mean_days": requests["final_year_wait_mean_days"],
        "beyond_window_share": requests["final_year_beyond_window_share"],
        "integrated": ok[INTEGRATION_TIME].notna().astype(float),
        "largest_component_share": last["largest_component_share"],
        "islands": last["islands"],
        "islands_either_way": last["islands_either_way"],
        "remediation_cost_share": ok["remediation_cost_share"].astype(float),
        "water_to_grid_total": totals["volume_water_grid"],
        "water_to_grid_final_year": last["volume_water_grid"],
        "telecom_total": totals["volume_telecom"],
        "wait_conditional_days": conditional_wait,
        "wait_unconditional_days": unconditional_wait,
        "conditional_minus_unconditional_wait": conditional_wait - unconditional_wait,
        "conditional_beyond_window_share": _weighted(ts, "conditional_beyond_window_share", "requests_conditional"),
        "gov_month_minus_cross_month": t_gov - t_cross,
        "government_minus_enterprise_integration": (last["producer_integration_government"]
                                                    - last["producer_integration_enterprise"]),
    })
    return frame.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Checks


@dataclass(frozen=True)
class Verdict:
    value: str
    holds: bool


def _mean_text(values: pd.Series) -> str:
    d = describe(values.dropna().to_numpy(dtype=float))
    return f"{number(d['mean'])} [{number(d['ci_low'])}, {number(d['ci_high'])}]"


@dataclass(frozen=True)
class Check(ABC):
    """One criterion of a pattern; ``evaluate`` reads the runs of one network family."""

    id: str
    pattern: str
    status: str
    scenarios: tuple[str, ...]

    @abstractmethod
    def evaluate(self, frame: pd.DataFrame) -> Verdict:
        """Whether the criterion holds in ``frame`` (the runs of one family), and what was measured."""

    @abstractmethod
    def criterion(self) -> str:
        """The criterion as the pattern table states it."""


@dataclass(frozen=True)
class RunShare(Check):
    """The share of runs whose indicator meets ``op threshold`` is at least ``at_least``, in every
    scenario named; a run whose indicator is undefined (no such requests) does not meet it."""

    indicator: str = ""
    op: str = "<"
    threshold: float = 0.0
    at_least: float = 0.9

    def criterion(self) -> str:
        share = "every run" if self.at_least >= 1 else f"≥ {self.at_least:.0%} of runs"
        return f"`{self.indicator}` {self.op} {number(self.threshold)} in {share}"

    def evaluate(self, frame: pd.DataFrame) -> Verdict:
        texts, holds = [], True
        for scenario in self.scenarios:
            values = frame.loc[frame["scenario"] == scenario, self.indicator].astype(float)
            met = _OPS[self.op](values, self.threshold).fillna(False).astype(float)
            d = describe(met.to_numpy(), binary=True)
            holds &= bool(len(met)) and d["mean"] >= self.at_least - 1e-12
            texts.append(f"{scenario}: {d['mean']:.0%} of {d['n']} [{d['ci_low']:.0%}, {d['ci_high']:.0%}]; "
                         f"mean {_mean_text(values)}")
        return Verdict("; ".join(texts), holds)


@dataclass(frozen=True)
class MeanRatio(Check):
    """The mean of ``indicator`` in the first scenario is at most ``at_most`` times its mean in the second."""

    indicator: str = ""
    at_most: float = 0.1

    def criterion(self) -> str:
        low, high = self.scenarios
        return f"mean `{self.indicator}` of {low} ≤ {self.at_most:g} × that of {high}"

    def evaluate(self, frame: pd.DataFrame) -> Verdict:
        low, high = (frame.loc[frame["scenario"] == s, self.indicator].astype(float) for s in self.scenarios)
        ratio = low.mean() / high.mean() if high.mean() > 0 else np.nan
        holds = bool(high.mean() > 0 and low.mean() <= self.at_most * high.mean())
        return Verdict(f"{self.scenarios[0]} {_mean_text(low)} / {self.scenarios[1]} {_mean_text(high)}"
                       f" = {number(ratio)}", holds)


@dataclass(frozen=True)
class Contrast(Check):
    """The first scenario's indicator is larger than the second's: one-sided Mann-Whitney p < ALPHA."""

    indicator: str = ""

    def criterion(self) -> str:
        return f"`{self.indicator}`: {self.scenarios[0]} > {self.scenarios[1]}, one-sided Mann-Whitney p < {ALPHA}"

    def evaluate(self, frame: pd.DataFrame) -> Verdict:
        high, low = (frame.loc[frame["scenario"] == s, self.indicator].astype(float) for s in self.scenarios)
        p = float(stats.mannwhitneyu(high, low, alternative="greater").pvalue) if len(high) and len(low) else np.nan
        return Verdict(f"{self.scenarios[0]} {_mean_text(high)} vs {self.scenarios[1]} {_mean_text(low)}, p = {p:.2g}",
                       bool(p < ALPHA))


HOLDERS_HALF = 60  # half of the default 120 holders (20 departments, 100 enterprises)
BASE = ("baseline",)
TIERED = ("security", "all_countermeasures")
GROWING = ("ecosystem", "all_countermeasures")
CAL, KNOWN, HELD = "calibration", "known", "held out"

CHECKS: tuple[Check, ...] = (
    RunShare("P1a", "(1) data producers are poorly integrated", CAL, BASE, "producer_integration", "<", 0.2, 0.9),
    RunShare("P1b", "(1) few enterprises share", CAL, BASE, "adoption_enterprise", "<", 0.2, 0.9),
    RunShare("P2a", "(2) no half adoption of holders", CAL, BASE, "half_adoption_reached", "==", 0, 0.9),
    RunShare("P2b", "(2) holders stay below half adoption", CAL, BASE, "adoption_holders", "<", 0.5, 0.9),
    RunShare("P2c", "(2) requests mostly fail", CAL, BASE, "fulfilment_overall", "<", 0.2, 0.9),
    RunShare("P2d", "(2) requests wait beyond the 10-day window", CAL, BASE, "wait_mean_days", ">", 10, 0.5),
    RunShare("P2e", "(2) most decided requests answered late", CAL, BASE, "beyond_window_share", ">", 0.5, 0.5),
    RunShare("P3a", "(3) no lasting integration", CAL, BASE, "integrated", "==", 0, 1.0),
    RunShare("P3b", "(3) the largest component stays small", CAL, BASE, "largest_component_share", "<", 0.5, 0.5),
    RunShare("P3c", "(3) most holders are islands, even counting deliveries either way", CAL, BASE,
             "islands_either_way", ">", HOLDERS_HALF, 0.5),
    RunShare("P3d", "(3) most holders are islands of two-way exchange", CAL, BASE, "islands", ">",
             HOLDERS_HALF, 0.5),
    RunShare("P4", "(4) remediation is a large cost of providing data", CAL, BASE, "remediation_cost_share", ">",
             0.25, 0.5),
    Contrast("I1a", "the grid uses the water companies' data with the government leading", KNOWN,
             ("ecosystem", "baseline"), "water_to_grid_total"),
    MeanRatio("I1b", "... and only then", HELD, ("baseline", "ecosystem"), "water_to_grid_final_year", 0.1),
    RunShare("I2", "the telecom operators' data stays outside", KNOWN, ("baseline", "ecosystem"), "telecom_total",
             "==", 0, 1.0),
    RunShare("I3a", "conditional requests wait longer than unconditional ones", KNOWN, TIERED,
             "conditional_minus_unconditional_wait", ">", 0, 0.9),
    RunShare("I3b", "some conditional requests exceed the published window", KNOWN, TIERED,
             "conditional_beyond_window_share", ">", 0, 0.9),
    RunShare("H1", "within government before across sectors (temporal ordering)", HELD, GROWING,
             "gov_month_minus_cross_month", "<=", 0, 0.8),
    RunShare("H2", "departments integrated more than enterprises (core-periphery, across networks)", HELD,
             ("baseline", "ecosystem"), "government_minus_enterprise_integration", ">", 0, 0.9),
)


def verdicts(frame: pd.DataFrame, checks: tuple[Check, ...] = CHECKS,
             families=FAMILIES) -> dict[tuple[str, str], Verdict]:
    """(check id, family) -> the check's verdict on that family's runs."""
    return {(check.id, family): check.evaluate(frame[frame["family"] == family])
            for check in checks for family in families}


def pattern_table(frame: pd.DataFrame, checks: tuple[Check, ...] = CHECKS, families=FAMILIES) -> str:
    """Markdown: per check, its criterion and, per network family, the value and holds / FAILS."""
    found = verdicts(frame, checks, families)
    lines = ["| id | pattern | status | criterion | " + " | ".join(families) + " |",
             "|---|---|---|---|" + "---|" * len(families)]
    for check in checks:
        cells = [f"{'holds' if found[check.id, f].holds else '**FAILS**'}: {found[check.id, f].value}"
                 for f in families]
        lines.append(f"| {check.id} | {check.pattern} | {check.status} | {check.criterion()} | "
                     + " | ".join(cells) + " |")
    held = {f: sum(found[c.id, f].holds for c in checks) for f in families}
    lines.append("")
    lines.append("Checks that hold: " + "; ".join(f"{f} {held[f]} of {len(checks)}" for f in families) + ".")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Runs


def plan_patterns(scenario_dir: str | Path, seeds: range, families=FAMILIES, names=SCENARIOS) -> Plan:
    """Every scenario on every family with the same seeds (order: family, scenario, seed)."""
    runs: list[RunSpec] = []
    for k, family in enumerate(families):
        for name in names:
            scenario = load_scenario(Path(scenario_dir) / f"{name}.yaml", {FAMILY_KEY: family}, "patterns")
            first = len(runs)
            runs.extend([RunSpec(first + i, scenario, seed, scenario.steps, i, k, {FAMILY_KEY: family})
                         for i, seed in enumerate(seeds)])
    given = {"scenarios": str(scenario_dir), "seeds": [seeds.start, seeds.stop], "families": list(families),
             "names": list(names)}
    return Plan("patterns", given, {**given, "seed": None}, runs)


def run_patterns(plan: Plan, out: str | Path, **options: Any) -> pd.DataFrame:
    """Execute ``plan`` (resumable, parallel, Dask) into ``out`` and return the indicators per run."""
    execute_all(plan, out, **options)
    return indicators_in(Path(out))


def indicators_in(folder: Path) -> pd.DataFrame:
    """The indicators of every finished run in ``folder``."""
    runs, timeseries, _ = read_results(folder)
    return run_indicators(runs, timeseries)


PATTERN_TABLE = GeneratedBlock("pattern-table")


def generated_block(table: str, plan: Plan, seeds: range) -> str:
    note = (f"\n_Generated by `python -m simulation patterns` over seeds {seeds.start}-{seeds.stop - 1} on "
            f"{', '.join(plan.given['families'])} (plan {plan.digest()}: every run's configuration, seed and "
            "horizon)._\n\n")
    return note + table


def documented_block(doc: Path) -> str:
    return PATTERN_TABLE.read(doc)


@dataclass(frozen=True)
class PatternsInput:
    scenarios: str | Path  # the folder of the scenario files
    seeds: range


@dataclass
class PatternsResult:
    table: str
    plan: Plan
    seeds: range
    written: list[Path]

    def describe(self) -> str:
        return self.table.removesuffix("\n")

    def block(self) -> str:
        return generated_block(self.table, self.plan, self.seeds)


class Patterns:
    """The pattern table over seeds and network families (a planned study)."""

    name = "patterns"
    help = "pattern-oriented validation: the pattern table over seeds and three network families"
    inputs = (Input("scenarios", "folder with the scenario files", default="scenarios"),
              Input("seeds", type=int, default=30, at_least_one=True),
              Input("first_seed", type=int, default=0))
    spec_key = None
    block = PATTERN_TABLE
    doc_example = "docs/validation.md"
    doc_replaces_output = True
    keeps_runs = True

    def load(self, scenarios: str | Path = "scenarios", seeds: int = 30, first_seed: int = 0) -> PatternsInput:
        if seeds < 1:
            raise ArgumentError("seeds", f"{seeds} is not allowed: at least 1 seed per scenario")
        return PatternsInput(scenarios, range(first_seed, first_seed + seeds))

    def folder(self, spec: PatternsInput) -> Path:
        return Path("results") / "patterns"

    def size(self, spec: PatternsInput) -> PlanSize:
        cells = len(FAMILIES) * len(SCENARIOS)
        counts = f"{len(FAMILIES)} network families x {len(SCENARIOS)} scenarios x {len(spec.seeds):,} seeds"
        return PlanSize(cells, cells * len(spec.seeds), f"{self.name}: {counts}")

    def plan(self, spec: PatternsInput) -> Plan:
        return plan_patterns(spec.scenarios, spec.seeds)

    def analyse(self, folder: Path, spec: PatternsInput, execution: Execution) -> PatternsResult:
        return PatternsResult(pattern_table(indicators_in(folder)), execution.plan, spec.seeds, [])


STUDY = Patterns()
