"""Evidence that each countermeasure works through its mechanism: per-run indicators over seeds,
one-sided Mann-Whitney tests, and the effect table of ``docs/countermeasures.md``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from scipy import stats

from simulation.config import load_scenario
from simulation.core.runner import run
from simulation.experiments.statistics import describe, effect

SCENARIOS = ("baseline", "ecosystem", "mechanism", "cognition", "security", "all_countermeasures")
COUNTERMEASURES = SCENARIOS[1:-1]
FINAL_YEAR = 12  # months averaged for the end-state island indicators, so one noisy month does not decide


@dataclass(frozen=True)
class Indicator:
    name: str
    meaning: str
    higher_is_better: bool


INDICATORS = {
    "cumulative_volume": Indicator("cumulative_volume", "data units shared over the horizon", True),
    "final_volume": Indicator("final_volume", "data units shared per month, mean of the final year", True),
    "final_component_share": Indicator("final_component_share", "largest component share, mean of the final year", True),
    "volume_gov_ent": Indicator("volume_gov_ent", "government-to-enterprise volume over the horizon", True),
    "adoption_enterprise": Indicator("adoption_enterprise", "share of enterprises sharing at the horizon", True),
    "mean_cognition": Indicator("mean_cognition", "mean cognition at the horizon", True),
    "incidents_per_volume": Indicator("incidents_per_volume", "incidents per data unit shared", False),
    "adoption_holders": Indicator("adoption_holders", "share of holders sharing at the horizon", True),
    "remediation_share": Indicator("remediation_share", "remediation share of all costs", False),
    "integrated": Indicator("integrated", "run reached a 90% largest component within the horizon", True),
    "total_countermeasure_cost": Indicator("total_countermeasure_cost", "countermeasure cost over the horizon", False),
}

# The indicator of the mechanism each countermeasure targets (docs/ODD.md section 1).
MECHANISM_INDICATOR = {
    "ecosystem": "volume_gov_ent",
    "mechanism": "adoption_enterprise",
    "cognition": "mean_cognition",
    "security": "incidents_per_volume",
}


def indicators_of(result) -> dict[str, float]:
    ts, summary = result.timeseries, result.summary
    return {
        "cumulative_volume": summary["cumulative_volume"],
        "final_volume": float(ts["sharing_volume"].iloc[-FINAL_YEAR:].mean()),
        "final_component_share": float(ts["largest_component_share"].iloc[-FINAL_YEAR:].mean()),
        "volume_gov_ent": float(ts["volume_gov_ent"].sum()),
        "adoption_enterprise": summary["adoption_enterprise"],
        "mean_cognition": summary["mean_cognition"],
        "incidents_per_volume": summary["incidents_per_volume"],
        "adoption_holders": summary["adoption_holders"],
        "remediation_share": summary["remediation_share"],
        "integrated": float(summary["time_to_integration"] is not None),
        "time_to_integration": summary["time_to_integration"],
        "time_to_half_adoption": summary["time_to_half_adoption"],
        "total_countermeasure_cost": summary["total_countermeasure_cost"],
    }


def collect(scenario_dir: str | Path, seeds: range, names=SCENARIOS, overrides: dict | None = None) -> pd.DataFrame:
    """One row per (scenario, seed) with every indicator."""
    rows = []
    for name in names:
        scenario = load_scenario(Path(scenario_dir) / f"{name}.yaml", overrides)
        for seed in seeds:
            rows.append({"scenario": name, "seed": seed, **indicators_of(run(scenario, seed=seed))})
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


def _fmt(value: float) -> str:
    return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def effect_table(frame: pd.DataFrame) -> str:
    """Markdown: per countermeasure, its own indicator, volume and islands, as mean [95% CI] and the
    effect over the baseline [95% CI] with the one-sided Mann-Whitney p-value."""
    lines = ["| scenario | indicator | baseline mean [95% CI] | scenario mean [95% CI] | effect over baseline [95% CI] | one-sided MW p |",
             "|---|---|---|---|---|---|"]
    for name in (*COUNTERMEASURES, "all_countermeasures"):
        own = MECHANISM_INDICATOR.get(name)
        for indicator in [i for i in (own, "final_volume", "cumulative_volume", "final_component_share", "integrated") if i]:
            binary = indicator == "integrated"
            base = mean_interval(frame.loc[frame.scenario == "baseline", indicator], binary)
            treated = mean_interval(frame.loc[frame.scenario == name, indicator], binary)
            effect = effect_interval(frame, name, indicator)
            label = f"**{indicator}**" if indicator == own else indicator
            lines.append(
                f"| {name} | {label} | {_fmt(base[0])} [{_fmt(base[1])}, {_fmt(base[2])}] "
                f"| {_fmt(treated[0])} [{_fmt(treated[1])}, {_fmt(treated[2])}] "
                f"| {_fmt(effect[0])} [{_fmt(effect[1])}, {_fmt(effect[2])}] | {better(frame, name, 'baseline', indicator):.2g} |"
            )
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- effect-table:begin -->", "<!-- effect-table:end -->"


def update_docs(doc: Path, table: str, seeds: range) -> None:
    """Replace the generated block of ``doc`` with ``table``."""
    from simulation.experiments.store import write_text

    text = doc.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    note = f"\n_Generated by `python -m simulation effects` over seeds {seeds.start}-{seeds.stop - 1} (n = {len(seeds)} per scenario)._\n\n"
    write_text(doc, head + BEGIN + note + table + END + tail)
