"""What a run costs, and countermeasures compared at equal cost.

A run's cost is what its countermeasures cost the public purse over the horizon, in 10,000 yuan
(docs/money.md): the month's :class:`~simulation.core.month.Ledger` outlays (running budgets,
brokered links, the authority's cases, rewards, subsidies and public rewards) less the fines
collected, summed over the months (``total_net_countermeasure_cost``; the gross outlays are
``total_countermeasure_cost``).  :func:`run_cost` is the one place that says so; the policy
frontier, the equal-cost study and its table in the report all read costs through it.

The equal-cost table (:func:`equal_cost_table`) compares countermeasure scenarios whose runs share
their seeds with the baseline's (common random numbers): each effect is the mean of the per-seed
differences from the baseline with its paired t interval, and the effect per unit of cost is the
ratio of the mean difference to the mean extra cost, with a percentile bootstrap interval that
resamples seeds (pairs kept together).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simulation.experiments.numbers import interval, number
from simulation.experiments.results import RUNS, read_manifest
from simulation.experiments.statistics import LEVEL, describe, paired_by_seed, paired_effect
from simulation.experiments.store import atomic_path, write_text

COST = "total_net_countermeasure_cost"
# The outcomes the equal-cost table compares (docs/ODD.md section 7): sharing, islands, requests, producers.
EQUAL_COST_OUTCOMES = ("cumulative_volume", "islands", "fulfilment_overall", "producer_integration")
BOOTSTRAP_RESAMPLES = 4999
BOOTSTRAP_SEED = 0  # fixed: the same runs give the same table
EQUAL_COST_FILES = ("equal_cost.csv", "equal_cost.md")
# The equal-cost study's batch of the baseline and the scaled countermeasures, inside its folder; the
# report of a batch folder DIR includes the study written to DIR/equal_cost (``make run`` does so).
COMPARISON = "comparison"
EQUAL_COST_FOLDER = "equal_cost"


def run_cost(runs: pd.DataFrame) -> pd.Series:
    """Each run's cost: its countermeasures' outlays less the fines collected, summed over the horizon
    (Ledger.net_cost)."""
    return runs[COST].astype(float)


def mean_cost(runs: pd.DataFrame, by: str) -> pd.Series:
    """Mean cost of each group of runs (a package, a scenario at a scale), sorted by group."""
    return run_cost(runs).groupby(runs[by]).mean().sort_index()


def ratio_interval(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float, float]:
    """mean(numerator) / mean(denominator) over paired samples, with its 95% percentile bootstrap
    interval (pairs resampled together); NaN where the mean denominator is 0."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    if len(numerator) < 2 or np.mean(denominator) == 0:
        return np.nan, np.nan, np.nan

    def ratio(a, b, axis=-1):
        return np.mean(a, axis=axis) / np.mean(b, axis=axis)

    estimate = float(ratio(numerator, denominator))
    if np.ptp(numerator) == 0 and np.ptp(denominator) == 0:
        return estimate, estimate, estimate
    with warnings.catch_warnings():  # a resample whose denominator is 0 gives inf and is kept as such
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.bootstrap((numerator, denominator), ratio, paired=True, vectorized=True,
                                 n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=LEVEL, method="percentile",
                                 rng=np.random.default_rng(BOOTSTRAP_SEED))
    return estimate, float(result.confidence_interval.low), float(result.confidence_interval.high)


def equal_cost_table(runs: pd.DataFrame, baseline: str, outcomes=EQUAL_COST_OUTCOMES) -> pd.DataFrame:
    """One row per countermeasure scenario and outcome: its scale, its cost (mean and 95% t
    interval), the paired effect over ``baseline`` and the effect per unit of extra cost, each with
    its 95% interval.  Runs are paired with the baseline's by seed; failed runs and their pairs are
    left out."""
    ok = runs[runs["status"] == "ok"].assign(cost=lambda r: run_cost(r))
    base = ok[ok["scenario"] == baseline].set_index("seed")
    rows = []
    for scenario, members in ok[ok["scenario"] != baseline].groupby("scenario", sort=False):
        mine, paired = paired_by_seed(members.set_index("seed"), base)
        extra_cost = mine["cost"].to_numpy() - paired["cost"].to_numpy()
        cost = describe(mine["cost"].to_numpy())
        for outcome in outcomes:
            values, base_values = mine[outcome].to_numpy(dtype=float), paired[outcome].to_numpy(dtype=float)
            difference = values - base_values
            effect = paired_effect(values, base_values)
            per_cost, per_low, per_high = ratio_interval(difference, extra_cost)
            rows.append({"scenario": scenario, "scale": float(mine["scale"].iloc[0]), "n": len(mine),
                         "cost": cost["mean"], "cost_low": cost["ci_low"], "cost_high": cost["ci_high"],
                         "metric": outcome, "baseline": float(paired[outcome].mean()),
                         "mean": float(mine[outcome].mean()), **effect,
                         "effect_per_cost": per_cost, "effect_per_cost_low": per_low,
                         "effect_per_cost_high": per_high})
    return pd.DataFrame(rows)


def equal_cost_markdown(table: pd.DataFrame, info: dict[str, Any]) -> str:
    """The table for papers, with a note on the budget, the search and the intervals."""
    return equal_cost_table_markdown(table) + "\n\n" + equal_cost_notes(table, info) + "\n"


def equal_cost_table_markdown(table: pd.DataFrame) -> str:
    """The table alone, one row per countermeasure and metric."""
    pretty = pd.DataFrame({
        "countermeasure": table["scenario"], "scale": table["scale"].map(lambda x: f"{x:.4g}"),
        "cost [95% CI]": [_value(m, lo, hi) for m, lo, hi in zip(table["cost"], table["cost_low"], table["cost_high"])],
        "metric": table["metric"],
        "baseline": table["baseline"].map(number), "at equal cost": table["mean"].map(number),
        "effect [95% CI]": [_value(m, lo, hi)
                            for m, lo, hi in zip(table["effect"], table["effect_low"], table["effect_high"])],
        "effect per 10 million yuan (1,000 units of 10k yuan) of net cost [95% CI]": [
            _value(1000 * m, 1000 * lo, 1000 * hi)
            for m, lo, hi in zip(table["effect_per_cost"], table["effect_per_cost_low"],
                                 table["effect_per_cost_high"])],
    })
    return pretty.to_markdown(index=False, disable_numparse=True,
                              colalign=("left", "right", "right", "left") + ("right",) * 4)


def equal_cost_notes(table: pd.DataFrame, info: dict[str, Any]) -> str:
    n = int(table["n"].min()) if len(table) else 0
    budget = info.get("budget", "?")
    target = info.get("target")
    searched = info.get("search_replications")
    return (f"Each countermeasure's levers, rates, brokering and running budgets scaled by one factor (`scale`)"
            f" found by a bracketed search until its mean cost over the {searched} search seeds was within"
            f" {info.get('tolerance', float('nan')):.1%} of the budget: {budget}"
            + (f" = {target:,.1f} × 10k yuan of net cost over the horizon" if target is not None else "") +
            f". Costs are the countermeasures' outlays over the horizon (budgets, brokered links, the authority's"
            f" cases, rewards, subsidies) less the fines collected, in 10k yuan. n = {n} seeds, each run for the"
            f" baseline and every countermeasure (common random numbers); cost: mean and t {LEVEL:.0%} interval"
            f" over them; effect: mean of the per-seed differences from the baseline with the paired t"
            f" {LEVEL:.0%} interval; per 10 million yuan (1,000 units of 10k yuan) of net cost: the mean effect over"
            f" the mean extra cost, with a {LEVEL:.0%} percentile bootstrap interval over seeds"
            f" ({BOOTSTRAP_RESAMPLES} resamples). cumulative_volume and fulfilment_overall are over the horizon,"
            f" islands and producer_integration at its end.")


def write_equal_cost(table: pd.DataFrame, info: dict[str, Any], folder: Path) -> list[Path]:
    """``equal_cost.csv`` (every number) and ``equal_cost.md`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    csv, markdown = (folder / name for name in EQUAL_COST_FILES)
    with atomic_path(csv) as tmp:
        table.to_csv(tmp, index=False)
    write_text(markdown, equal_cost_markdown(table, info))
    return [csv, markdown]


def equal_cost_report(out: Path, folder: Path) -> list[Path]:
    """The equal-cost tables of the study in ``out/equal_cost`` into ``folder``, if it finished."""
    comparison = out / EQUAL_COST_FOLDER / COMPARISON
    manifest = read_manifest(comparison)
    if not manifest or not manifest.get("finished") or not (comparison / RUNS).exists():
        return []
    info = manifest["resolved"]
    table = equal_cost_table(pd.read_parquet(comparison / RUNS), info["baseline_name"])
    return write_equal_cost(table, info, folder)


def _value(mean: float, low: float, high: float) -> str:
    return f"{number(mean)} {interval(low, high)}"
