"""Tables and figures for papers from a batch folder (``python -m simulation report DIR``).

Writes ``DIR/report/``: ``summary.csv`` (every run-level metric), ``summary.md`` and ``summary.tex``
(the key metrics), and PDF and PNG figures: time series of sharing and of the request procedure
(fulfilment, waiting time, answers beyond the rule's window) with 95% bands, final-state
comparisons, and island persistence as a survival curve.  When the equal-cost study was written
to ``DIR/equal_cost`` (``make run`` does), ``equal_cost.csv`` and ``equal_cost.md`` compare the
countermeasures scaled to one budget (:mod:`simulation.experiments.costs`).

Statistics, per group (a scenario, and its sweep point when the experiment sweeps):
- mean, sample sd and the 95% confidence interval of the mean (Student's t; Wilson's for shares of
  runs such as ``integrated_share``) over the group's runs that
  finished (failed runs are left out and counted in ``failed``);
- the effect over the baseline (the baseline scenario at the same sweep point): difference in means
  with Welch's t 95% interval when runs of different scenarios have independent seeds, or, when the
  experiment uses common random numbers, the mean of the differences between runs of the same seed
  with the paired t 95% interval;
- ``time_to_lasting_integration`` and ``time_to_half_adoption`` are right-censored: a run that never
  gets there counts as the horizon (:mod:`simulation.experiments.outcomes`), so their mean is the
  restricted mean time over the horizon; the share of runs whose integration lasted at all is
  reported as ``integrated_share``;
- ``final_year_*`` outcomes are a run's monthly metric averaged over its final 12 months (metrics of
  requests over the months with requests), read from the timeseries.

How many runs: ``replications.csv`` and ``replications.md`` give, per key metric and group, the
half-width of the 95% interval at the batch's number of runs, that half-width relative to the mean,
and the runs needed for a target half-width (relative to the mean, 10% unless told otherwise, and
absolute targets per metric), from the batch's standard deviation as a pilot:
n = (t(n-1)·sd/target)², iterated (:func:`simulation.experiments.statistics.replications_for`).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulation.errors import ConfigError
from simulation.experiments.costs import equal_cost_report
from simulation.experiments.figures import group_style, paper_style, save
from simulation.experiments.folder import BATCH, owned
from simulation.experiments.numbers import interval, number
from simulation.experiments.outcomes import (CENSORED, FINAL_YEAR_OUTCOMES, INTEGRATION_TIME, final_year,
                                             horizon_filled, integrated)
from simulation.experiments.results import SUMMARY_COLUMNS, read_results, record_derived
from simulation.experiments.statistics import (LEVEL, describe, effect, half_width, mean_bands, paired_by_seed,
                                               paired_effect, replications_for)
from simulation.experiments.store import atomic_path, write_text

OUTCOMES = ("integrated_share", *CENSORED, *FINAL_YEAR_OUTCOMES, *(c for c in SUMMARY_COLUMNS if c not in CENSORED))
# The table of the paper: the four problems of the case (docs/ODD.md section 1) and what they cost.
KEY_OUTCOMES = (
    "integrated_share", INTEGRATION_TIME, "time_to_half_adoption", "adoption_holders",  # promotion
    "fulfilment_overall", "fulfilment_overall_catalogued", "fulfilment_overall_cross_sector",  # the requests
    "final_year_wait_mean_days", "final_year_wait_p90_days", "final_year_beyond_window_share",
    "forced_volume_share", "interest_balance_overall",  # who decides, and who gains
    "producer_integration", "islands", "islands_either_way", "largest_component_share",  # islands
    "cumulative_volume", "final_year_volume",  # sharing
    "remediation_cost_share", "total_countermeasure_cost", "total_net_countermeasure_cost",  # costs (10k yuan)
)
SERIES = (("sharing_volume", "sharing volume (units / month)"),
          ("largest_component_share", "largest component share"),
          ("adoption_holders", "adoption (share of holders sharing)"))
REQUEST_SERIES = (("fulfilment_rate", "requests fulfilled (share)"),
                  ("wait_mean_days", "mean waiting time (working days)"),
                  ("beyond_window_share", "answered beyond the reply window (share)"))
FINAL = (("cumulative_volume", "cumulative sharing volume"),
         ("fulfilment_overall", "requests fulfilled over the horizon"),
         ("producer_integration", "producer integration (share of holders)"),
         ("islands", "islands"), ("islands_either_way", "islands if a delivery either way joins holders"),
         ("adoption_holders", "adoption (share of holders)"))


RELATIVE_TARGET = 0.10  # the default target: a 95% half-width of 10% of the mean


def write_report(out: str | Path, relative_target: float = RELATIVE_TARGET,
                 targets: dict[str, float] | None = None) -> list[Path]:
    """Write every table and figure of the report into ``out/report``; returns the files written.
    ``relative_target`` and ``targets`` (metric: absolute half-width) set the replications table."""
    check_targets(relative_target, targets or {})
    out = Path(out)
    runs, timeseries, manifest = read_results(out)
    keys = ["scenario", *manifest.get("value_columns", [])]
    baseline = manifest.get("resolved", {}).get("baseline")
    paired = bool(manifest.get("resolved", {}).get("common_random_numbers"))
    runs = runs.assign(group=group_labels(runs, keys))
    runs = runs.join(final_year(timeseries, by="run_id"), on="run_id")
    summary = summary_table(runs, keys, baseline, paired)
    folder = out / "report"
    with owned(out, BATCH):  # no link followed, no file of the user's overwritten; one command at a time
        written = write_tables(summary, folder, baseline, paired)
        written += write_replications(replications_table(summary, relative_target, targets or {}), folder,
                                      relative_target)
        ok = runs[runs["status"] == "ok"]
        timeseries = timeseries.merge(ok[["run_id", "group"]], on="run_id")
        written += figures(ok, timeseries, folder)
        written += equal_cost_report(out, folder)
        record_derived(out, written)
    return written


def group_labels(runs: pd.DataFrame, keys: list[str]) -> pd.Series:
    """The scenario name, with its swept values when there are any."""
    if len(keys) == 1:
        return runs["scenario"].astype(str)
    values = runs[keys[1:]].astype(str)
    return runs["scenario"].astype(str) + " (" + values.apply(
        lambda row: ", ".join(f"{k}={v}" for k, v in row.items()), axis=1) + ")"


def outcomes(runs: pd.DataFrame) -> pd.DataFrame:
    """Per finished run, every reported outcome; censored times count 'never' as the horizon."""
    ok = runs[runs["status"] == "ok"]
    return (horizon_filled(ok, [*SUMMARY_COLUMNS, *FINAL_YEAR_OUTCOMES])
            .assign(integrated_share=integrated(ok))[list(OUTCOMES)])


def summary_table(runs: pd.DataFrame, keys: list[str], baseline: str | None, paired: bool = False) -> pd.DataFrame:
    """One row per group and outcome: n, failed, mean, sd, CI, and the effect over the baseline
    (``paired``: runs share seeds across scenarios, so each run is compared with the baseline run of
    its seed; a run whose partner failed is left out of the effect)."""
    table = outcomes(runs)
    ok = runs.loc[table.index]
    rows = []
    for group, members in runs.groupby("group", sort=False):
        first = members.iloc[0]
        point = {k: first[k] for k in keys[1:]}
        base_mask = ok["scenario"] == baseline
        for k, v in point.items():
            base_mask &= ok[k] == v
        mine = table.loc[table.index.intersection(members.index)]
        base = table.loc[base_mask[base_mask].index]
        failed = int((members["status"] != "ok").sum())
        for outcome in OUTCOMES:
            values = mine[outcome].to_numpy()
            row = {"group": group, **{k: first[k] for k in keys}, "metric": outcome, "failed": failed,
                   **describe(values, binary=outcome == "integrated_share")}
            row["half_width"] = half_width(row["ci_low"], row["ci_high"])
            is_base = first["scenario"] == baseline
            row.update(_effect(mine[outcome], base[outcome], ok["seed"], paired) if baseline and not is_base
                       and len(base) else {"effect": np.nan, "effect_low": np.nan, "effect_high": np.nan})
            rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Tables


def _effect(values: pd.Series, base: pd.Series, seeds: pd.Series, paired: bool) -> dict[str, float]:
    if not paired:
        return effect(values.to_numpy(), base.to_numpy())
    values, base = paired_by_seed(values.set_axis(seeds[values.index]), base.set_axis(seeds[base.index]))
    return paired_effect(values.to_numpy(), base.to_numpy())


def write_tables(summary: pd.DataFrame, folder: Path, baseline: str | None, paired: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / "summary.csv") as tmp:
        summary.drop(columns="group").to_csv(tmp, index=False)
    key = summary[summary["metric"].isin(KEY_OUTCOMES)]
    key = key.assign(order=key["metric"].map(KEY_OUTCOMES.index)).sort_values(["order"], kind="stable")
    pretty = pd.DataFrame({
        "metric": key["metric"], "scenario": key["group"], "n": key["n"],
        "mean": key["mean"].map(number), "sd": key["sd"].map(number),
        "95% CI": [interval(lo, hi) for lo, hi in zip(key["ci_low"], key["ci_high"])],
        "± (half-width)": key["half_width"].map(number),
        f"effect vs {baseline}": key["effect"].map(number),
        "95% CI of effect": [interval(lo, hi) for lo, hi in zip(key["effect_low"], key["effect_high"])],
    })
    notes = _notes(summary, baseline, paired)
    write_text(folder / "summary.md",
               pretty.to_markdown(index=False, disable_numparse=True,
                                  colalign=("left", "left") + ("right",) * (pretty.shape[1] - 2))
               + "\n\n" + notes + "\n")
    latex = pretty.to_latex(index=False, escape=True, column_format="ll" + "r" * (pretty.shape[1] - 2),
                            caption=notes.replace("%", r"\%").replace("_", r"\_"), label="tab:summary", longtable=True)
    write_text(folder / "summary.tex", latex)
    return [folder / "summary.csv", folder / "summary.md", folder / "summary.tex"]


def _notes(summary: pd.DataFrame, baseline: str | None, paired: bool = False) -> str:
    failed = int(summary.drop_duplicates("group")["failed"].sum())
    interval = (f"the paired t {LEVEL:.0%} interval over runs paired by seed (common random numbers)" if paired
                else f"Welch's t {LEVEL:.0%} interval")
    return (f"Mean, sample sd and t-based (Wilson for integrated_share) {LEVEL:.0%} confidence interval over the"
            f" replications of each scenario"
            f" (n finished runs; {failed} failed runs left out). Effect: difference in means over {baseline}"
            f" with {interval}. {INTEGRATION_TIME} and time_to_half_adoption count a run"
            " that never gets there as the horizon (restricted mean, in months); integrated_share is the share"
            " of runs whose largest component held 90% of holders for the persistence window within the horizon."
            " final_year_* are means over each run's final 12 months (waiting times in working days).")


def check_targets(relative_target: float, targets: dict[str, float]) -> None:
    if not (np.isfinite(relative_target) and relative_target > 0):
        raise ConfigError(f"relative half-width: {relative_target} is not allowed:"
                          " must be a positive number (0.1: 10% of the mean)")
    for metric, target in targets.items():
        if metric not in KEY_OUTCOMES:
            close = difflib.get_close_matches(metric, KEY_OUTCOMES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(KEY_OUTCOMES)}"
            raise ConfigError(f"target half-width: unknown key metric '{metric}'{hint}")
        if not (np.isfinite(target) and target > 0):
            raise ConfigError(f"target half-width: {metric}={target} is not allowed: must be a positive number")


def replications_table(summary: pd.DataFrame, relative_target: float = RELATIVE_TARGET,
                       targets: dict[str, float] | None = None) -> pd.DataFrame:
    """Per key metric and group: runs, mean, sd, the 95% half-width at those runs and relative to the
    mean, and the runs needed for a half-width of ``relative_target`` times the mean (none when the
    mean is 0) and for the absolute ``targets`` given per metric.  A share of runs uses the sd of its
    0/1 values (normal approximation); it does not vary, and needs no more runs, when all runs agree."""
    targets = targets or {}
    key = summary[summary["metric"].isin(KEY_OUTCOMES)]
    key = key.assign(order=key["metric"].map(KEY_OUTCOMES.index)).sort_values(["order"], kind="stable")
    relative = key["half_width"] / key["mean"].abs().where(key["mean"] != 0)
    return pd.DataFrame({
        "metric": key["metric"], "group": key["group"], "n": key["n"], "mean": key["mean"], "sd": key["sd"],
        "half_width": key["half_width"], "relative_half_width": relative,
        "runs_for_relative_target": [replications_for(sd, relative_target * abs(mean)) if mean else None
                                     for sd, mean in zip(key["sd"], key["mean"])],
        "absolute_target": [targets.get(m, np.nan) for m in key["metric"]],
        "runs_for_absolute_target": [replications_for(sd, targets[m]) if m in targets else None
                                     for sd, m in zip(key["sd"], key["metric"])],
    }).reset_index(drop=True)


def write_replications(table: pd.DataFrame, folder: Path, relative_target: float) -> list[Path]:
    with atomic_path(folder / "replications.csv") as tmp:
        table.to_csv(tmp, index=False)
    pretty = pd.DataFrame({
        "metric": table["metric"], "scenario": table["group"], "n": table["n"], "mean": table["mean"].map(number),
        "± (95% half-width)": table["half_width"].map(number),
        "relative": table["relative_half_width"].map(lambda x: "" if pd.isna(x) else f"{x:.1%}"),
        f"runs for ±{relative_target:.0%}": table["runs_for_relative_target"].map(_count),
    })
    if table["absolute_target"].notna().any():
        pretty["absolute target"] = table["absolute_target"].map(number)
        pretty["runs for it"] = table["runs_for_absolute_target"].map(_count)
    note = (f"Half-width of the {LEVEL:.0%} confidence interval of the mean at the batch's runs (n), relative to the"
            f" mean, and the runs needed for a half-width of {relative_target:.0%} of the mean, from this batch's"
            " standard deviation: n = (t(n-1)·sd/target)², iterated. Empty: the mean is 0 (no relative target).")
    write_text(folder / "replications.md",
               pretty.to_markdown(index=False, disable_numparse=True) + "\n\n" + note + "\n")
    return [folder / "replications.csv", folder / "replications.md"]


def _count(x) -> str:
    return "" if x is None or pd.isna(x) else f"{int(x):,}"


# ---------------------------------------------------------------------------------------------
# Figures


def figures(ok: pd.DataFrame, timeseries: pd.DataFrame, folder: Path) -> list[Path]:
    groups = list(dict.fromkeys(ok["group"]))
    styles = {g: group_style(i, len(groups)) for i, g in enumerate(groups)}
    written = []
    with paper_style():
        written += save(time_series_figure(timeseries, groups, styles), folder / "timeseries")
        written += save(time_series_figure(timeseries, groups, styles, REQUEST_SERIES,
                                           "Requests under the sharing rules: mean over runs with"),
                        folder / "requests")
        written += save(final_state_figure(ok, groups, styles), folder / "final_state")
        written += save(survival_figure(ok, groups, styles), folder / "island_persistence")
    return written


def band(timeseries: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per group and step: mean of ``metric`` over runs and its t-based 95% interval (a single run's
    band is its line)."""
    bands = mean_bands(timeseries, ["group", "step"], metric)
    return bands.assign(low=bands["ci_low"].fillna(bands["mean"]), high=bands["ci_high"].fillna(bands["mean"]))


def time_series_figure(timeseries: pd.DataFrame, groups: list[str], styles: dict, series=SERIES,
                       title: str = "Mean over runs with") -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), layout="constrained")
    axes = figure.subplots(1, len(series))
    for ax, (metric, label) in zip(axes, series):
        stats_ = band(timeseries, metric)
        for group in groups:
            rows = stats_[stats_["group"] == group]
            style = styles[group]
            ax.fill_between(rows["step"], rows["low"], rows["high"], color=style["color"], alpha=0.15, linewidth=0)
            ax.plot(rows["step"], rows["mean"], label=group, markevery=max(1, len(rows) // 6), **style)
        ax.set_xlabel("month")
        ax.set_title(label)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=min(len(groups), 6))
    figure.suptitle(f"{title} {LEVEL:.0%} confidence band")
    return figure


def final_state_figure(ok: pd.DataFrame, groups: list[str], styles: dict) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 6.5), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(ok))  # fixed: same results, same figure
    positions = np.arange(len(groups))
    for ax, (metric, label) in zip(axes, FINAL):
        values = ok[metric].astype(float)
        x = ok["group"].map({g: i for i, g in enumerate(groups)}).to_numpy() + jitter
        ax.scatter(x, values, s=8, facecolors="none", edgecolors="0.55", linewidths=0.6)
        for i, group in enumerate(groups):
            d = describe(values[ok["group"] == group].to_numpy())
            ax.errorbar(i, d["mean"], yerr=[[d["mean"] - d["ci_low"]], [d["ci_high"] - d["mean"]]],
                        fmt=styles[group]["marker"], color="black", capsize=4, markersize=6)
        ax.set_xticks(positions, groups, rotation=30, ha="right")
        ax.set_title(label)
    figure.suptitle(f"Final state (month {int(ok['steps'].max())}): runs, mean and {LEVEL:.0%} confidence interval")
    return figure


def survival(ok: pd.DataFrame, group: str) -> pd.DataFrame:
    """Share of the group's runs not yet integrated by step t (never counts as beyond the horizon).
    Every run is observed to the same horizon, so this equals the Kaplan-Meier estimate."""
    members = ok[ok["group"] == group]
    horizon = int(members["steps"].max())
    times = members[INTEGRATION_TIME].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
    steps = np.arange(horizon + 1)
    return pd.DataFrame({"step": steps, "not_integrated": [(times > t).mean() for t in steps]})


def survival_figure(ok: pd.DataFrame, groups: list[str], styles: dict) -> Any:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = figure.subplots()
    for group in groups:
        curve = survival(ok, group)
        ax.step(curve["step"], curve["not_integrated"], where="post", label=group,
                markevery=max(1, len(curve) // 6), **styles[group])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("month")
    ax.set_ylabel("share of runs not yet integrated")
    ax.set_title("Island persistence: no lasting largest component of 90% of holders")
    ax.legend(loc="best")
    return figure
