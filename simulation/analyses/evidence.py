"""Evidence that each countermeasure works through its mechanism: per-run indicators over seeds,
one-sided Mann-Whitney tests, and the effect table of ``docs/countermeasures.md``
(``python -m simulation effects``; ``--set network.kind=small_world`` runs it on another network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from simulation.analyses.protocol import Execution, Input, PlanSize, execute_all
from simulation.config import load_scenario
from simulation.core.runner import checked
from simulation.errors import ArgumentError
from simulation.experiments.numbers import number
from simulation.experiments.outcomes import FINAL_YEAR, INTEGRATION_TIME, final_year
from simulation.experiments.plan import Plan, RunSpec
from simulation.experiments.results import read_results
from simulation.experiments.statistics import describe, effect
from simulation.experiments.store import GeneratedBlock

SCENARIOS = ("baseline", "ecosystem", "mechanism", "cognition", "security", "all_countermeasures")
COUNTERMEASURES = SCENARIOS[1:-1]


@dataclass(frozen=True)
class Indicator:
    name: str
    meaning: str
    higher_is_better: bool


INDICATORS = {i.name: i for i in (
    # what each countermeasure acts on (docs/countermeasures.md)
    Indicator("requests_escalated", "refused requests taken to the data authority over the horizon", True),
    Indicator("volume_government_enterprise",
              "units moved between departments and enterprises (both ways) over the horizon", True),
    Indicator("adoption_enterprise", "share of enterprises sharing, mean of the final year", True),
    Indicator("mean_cognition", "mean cognition at the horizon", True),
    Indicator("incidents_per_volume", "incidents per data unit shared over the horizon", False),
    # sharing
    Indicator("final_volume", "data units shared per month, mean of the final year", True),
    Indicator("cumulative_volume", "data units shared over the horizon", True),
    # the requests, on both channels and on each
    Indicator("fulfilment", "share of requests fulfilled over the horizon", True),
    Indicator("fulfilment_catalogued", "share of requests between departments fulfilled over the horizon", True),
    Indicator("fulfilment_cross_sector", "share of cross-sector requests fulfilled over the horizon", True),
    Indicator("volume_catalogued", "data units moved between departments over the horizon", True),
    Indicator("volume_cross_sector", "data units moved on the cross-sector channel over the horizon", True),
    Indicator("forced_volume_share", "share of the volume the authority forced, over the horizon", False),
    Indicator("wait_mean_days", "mean waiting time of a request (working days), mean of the final year", False),
    Indicator("beyond_window_share",
              "share of provider-decided requests answered after the reply window, final year", False),
    # islands and producers
    Indicator("producer_integration",
              "share of holders whose data reached another holder, mean of the final year", True),
    Indicator("islands", "islands of two-way exchange (data went both ways recently), mean of the final year",
              False),
    Indicator("islands_either_way", "islands if a delivery either way joins holders, mean of the final year", False),
    Indicator("final_component_share", "largest two-way component share, mean of the final year", True),
    Indicator("integrated", "run reached lasting integration (two-way component held) within the horizon", True),
    # promotion and costs
    Indicator("adoption_holders", "share of holders sharing, mean of the final year", True),
    Indicator("adoption_government", "share of departments active, mean of the final year", True),
    Indicator("remediation_cost_share", "remediation share of all costs of providing data", False),
    Indicator("remediation_largest_cost", "remediation is the largest of the costs of providing data", False),
    Indicator("total_countermeasure_cost", "countermeasure outlays over the horizon (10k yuan)", False),
    Indicator("total_net_countermeasure_cost", "countermeasure outlays less fines over the horizon (10k yuan)", False),
    Indicator("interest_balance", "share of the three roles whose payoff over the horizon is positive", True),
)}

# The indicators of the mechanism each countermeasure acts through (docs/ODD.md sections 1 and 6).
MECHANISM_INDICATOR = {
    "ecosystem": ("requests_escalated", "volume_government_enterprise"),
    "mechanism": ("adoption_enterprise",),
    "cognition": ("mean_cognition",),
    "security": ("incidents_per_volume",),
}
# Rows of the effect table after a countermeasure's own indicators.
TABLE_INDICATORS = ("final_volume", "cumulative_volume", "fulfilment", "fulfilment_catalogued",
                    "fulfilment_cross_sector", "volume_catalogued", "volume_cross_sector", "wait_mean_days",
                    "forced_volume_share", "producer_integration", "islands", "islands_either_way", "integrated",
                    "interest_balance", "total_net_countermeasure_cost")


def _final_year(ts: pd.DataFrame, metric: str) -> float:
    return float(ts[metric].iloc[-FINAL_YEAR:].mean())


def indicators_of(ts: pd.DataFrame, summary: pd.Series) -> dict[str, float]:
    """Every indicator of one run from its monthly timeseries and its row of ``runs.parquet``."""
    last = final_year(ts).iloc[0]
    costs = {name: float(ts[name].sum())
             for name in ("remediation_cost", "handling_cost", "negotiation_cost", "incident_loss")}
    return {
        "requests_escalated": float(ts["requests_escalated"].sum()),
        "volume_government_enterprise": float(ts["volume_gov_ent"].sum() + ts["volume_ent_gov"].sum()),
        "adoption_enterprise": _final_year(ts, "adoption_enterprise"),
        "mean_cognition": float(summary["mean_cognition"]),
        "incidents_per_volume": float(summary["incidents_per_volume"]),
        "final_volume": float(last["final_year_volume"]),
        "cumulative_volume": float(summary["cumulative_volume"]),
        "fulfilment": float(summary["fulfilment_overall"]),
        "fulfilment_catalogued": float(summary["fulfilment_overall_catalogued"]),
        "fulfilment_cross_sector": float(summary["fulfilment_overall_cross_sector"]),
        "volume_catalogued": float(ts["volume_catalogued"].sum()),
        "volume_cross_sector": float(ts["volume_cross_sector"].sum()),
        "forced_volume_share": float(summary["forced_volume_share"]),
        "wait_mean_days": float(last["final_year_wait_mean_days"]),
        "beyond_window_share": float(last["final_year_beyond_window_share"]),
        "producer_integration": _final_year(ts, "producer_integration"),
        "islands": _final_year(ts, "islands"),
        "islands_either_way": _final_year(ts, "islands_either_way"),
        "final_component_share": _final_year(ts, "largest_component_share"),
        "integrated": float(pd.notna(summary[INTEGRATION_TIME])),
        INTEGRATION_TIME: summary[INTEGRATION_TIME] if pd.notna(summary[INTEGRATION_TIME]) else None,
        "time_to_half_adoption": (summary["time_to_half_adoption"] if pd.notna(summary["time_to_half_adoption"])
                                  else None),
        "adoption_holders": _final_year(ts, "adoption_holders"),
        "adoption_government": _final_year(ts, "adoption_government"),
        "remediation_cost_share": float(summary["remediation_cost_share"]),
        "remediation_largest_cost": float(costs["remediation_cost"] >= max(costs.values())),
        "total_countermeasure_cost": float(summary["total_countermeasure_cost"]),
        "total_net_countermeasure_cost": float(summary["total_net_countermeasure_cost"]),
        "interest_balance": float(summary["interest_balance_overall"]),
        **{f"total_{name}": value for name, value in costs.items()},
    }


def plan_evidence(scenario_dir: str | Path, seeds: range, names=SCENARIOS, overrides: dict | None = None,
                  overrides_source: str = "overrides") -> Plan:
    """Every scenario with the same seeds; ``overrides`` (dotted keys) apply to every scenario."""
    runs: list[RunSpec] = []
    for point, name in enumerate(names):
        scenario = load_scenario(Path(scenario_dir) / f"{name}.yaml", overrides, overrides_source)
        first = len(runs)
        runs.extend(RunSpec(first + i, scenario, seed, scenario.steps, i, point) for i, seed in enumerate(seeds))
    given = {"scenarios": str(scenario_dir), "seeds": [seeds.start, seeds.stop], "names": list(names),
             "overrides": dict(overrides or {})}
    return Plan("effects", given, {**given, "seed": None}, runs)


def collect(scenario_dir: str | Path, seeds: range, names=SCENARIOS, overrides: dict | None = None,
            overrides_source: str = "overrides", workers: int | None = None) -> pd.DataFrame:
    """One row per (scenario, seed) with every indicator, the runs made by the batch runner (in
    parallel; a temporary folder, since the table is the product)."""
    import tempfile

    plan = plan_evidence(scenario_dir, seeds, names, overrides, overrides_source)
    with tempfile.TemporaryDirectory(prefix="effects-") as folder:
        execute_all(plan, Path(folder) / "runs", workers=workers, progress=False)
        return indicator_rows(Path(folder) / "runs")


def indicator_rows(folder: Path) -> pd.DataFrame:
    """One row per (scenario, seed) of the finished runs in ``folder``, with every indicator."""
    runs, timeseries, _ = read_results(folder)
    runs = runs.set_index("run_id")
    rows = [{"scenario": runs.at[run_id, "scenario"], "seed": int(runs.at[run_id, "seed"]),
             **indicators_of(ts.sort_values("step"), runs.loc[run_id])}
            for run_id, ts in timeseries.groupby("run_id", sort=True)]
    return pd.DataFrame(rows)


def better(frame: pd.DataFrame, treated: str, control: str, indicator: str) -> float:
    """One-sided Mann-Whitney p-value that ``treated`` does better than ``control`` on ``indicator``."""
    a = frame.loc[frame.scenario == treated, indicator].astype(float)
    b = frame.loc[frame.scenario == control, indicator].astype(float)
    alternative = "greater" if INDICATORS[indicator].higher_is_better else "less"
    return float(stats.mannwhitneyu(a, b, alternative=alternative).pvalue)


def mean_interval(values: pd.Series, binary: bool = False) -> tuple[float, float, float]:
    """Mean and its 95% interval (Wilson's for a share of runs)."""
    d = describe(values.to_numpy(dtype=float), binary)
    return d["mean"], d["ci_low"], d["ci_high"]


def effect_interval(frame: pd.DataFrame, treated: str, indicator: str) -> tuple[float, float, float]:
    """Difference in means over the baseline with a 95% Welch interval."""
    of = lambda name: frame.loc[frame.scenario == name, indicator].to_numpy(dtype=float)  # noqa: E731
    d = effect(of(treated), of("baseline"))
    return d["effect"], d["effect_low"], d["effect_high"]


def effect_table(frame: pd.DataFrame) -> str:
    """Markdown: per countermeasure, its own indicators (in bold), then sharing, requests and islands,
    as mean [95% CI], the effect over the baseline [95% CI] and the one-sided Mann-Whitney p-value
    that the scenario does better than the baseline."""
    lines = ["| scenario | indicator | baseline mean [95% CI] | scenario mean [95% CI] | effect over baseline [95% CI]"
             " | p (one-sided MW, better) |",
             "|---|---|---|---|---|---|"]
    for name in (*COUNTERMEASURES, "all_countermeasures"):
        own = MECHANISM_INDICATOR.get(name, ())
        for indicator in (*own, *TABLE_INDICATORS):
            binary = indicator == "integrated"
            base = mean_interval(frame.loc[frame.scenario == "baseline", indicator], binary)
            treated = mean_interval(frame.loc[frame.scenario == name, indicator], binary)
            effect = effect_interval(frame, name, indicator)
            label = f"**{indicator}**" if indicator in own else indicator
            lines.append(
                f"| {name} | {label} | {number(base[0])} [{number(base[1])}, {number(base[2])}] "
                f"| {number(treated[0])} [{number(treated[1])}, {number(treated[2])}] "
                f"| {number(effect[0])} [{number(effect[1])}, {number(effect[2])}] "
                f"| {better(frame, name, 'baseline', indicator):.2g} |"
            )
    return "\n".join(lines) + "\n"


EFFECT_TABLE = GeneratedBlock("effect-table")


@dataclass(frozen=True)
class EffectsInput:
    scenarios: str | Path  # the folder of the scenario files
    seeds: range
    overrides: dict[str, Any]  # dotted keys applied to every scenario
    overrides_source: str


@dataclass
class EffectsResult:
    spec: EffectsInput
    runs: pd.DataFrame  # one row per (scenario, seed)
    table: str
    written: list[Path]

    def describe(self) -> str:
        return self.table.removesuffix("\n")

    def block(self) -> str:
        changed = "".join(f" --set {k}={v}" for k, v in self.spec.overrides.items())
        seeds = self.spec.seeds
        return (f"\n_Generated by `python -m simulation effects{changed}` over seeds {seeds.start}-{seeds.stop - 1}"
                f" (n = {len(seeds)} per scenario)._\n\n" + self.table)


class Effects:
    """The countermeasure effect table over seeds (a planned study whose runs are only the means to
    its table: they go to a temporary folder)."""

    name = "effects"
    help = "countermeasure effects over seeds: mean, 95% CI, Mann-Whitney p"
    inputs = (Input("scenarios", "folder with the six scenario files", default="scenarios"),
              Input("seeds", type=int, default=30),
              Input("first_seed", type=int, default=0),
              Input("overrides", "override a field of every scenario, e.g. network.kind=small_world", overrides=True))
    spec_key = None
    block = EFFECT_TABLE
    doc_example = "docs/countermeasures.md"
    doc_replaces_output = True
    keeps_runs = False

    def load(self, scenarios: str | Path = "scenarios", seeds: int = 30, first_seed: int = 0,
             overrides: dict[str, Any] | None = None, overrides_source: str = "overrides") -> EffectsInput:
        if seeds < 1:
            raise ArgumentError("seeds", f"{seeds} is not allowed: at least 1 seed per scenario")
        checked("seed", first_seed, "first_seed")
        checked("seed", first_seed + seeds - 1, "first_seed + seeds - 1")
        return EffectsInput(scenarios, range(first_seed, first_seed + seeds), dict(overrides or {}), overrides_source)

    def folder(self, spec: EffectsInput) -> None:
        return None

    def size(self, spec: EffectsInput) -> PlanSize:
        return PlanSize(len(SCENARIOS), len(SCENARIOS) * len(spec.seeds),
                        f"{self.name}: {len(SCENARIOS)} scenarios x {len(spec.seeds):,} seeds")

    def plan(self, spec: EffectsInput) -> Plan:
        return plan_evidence(spec.scenarios, spec.seeds, overrides=spec.overrides,
                             overrides_source=spec.overrides_source)

    def analyse(self, folder: Path, spec: EffectsInput, execution: Execution) -> EffectsResult:
        runs = indicator_rows(folder)
        return EffectsResult(spec, runs, effect_table(runs), [])


STUDY = Effects()
