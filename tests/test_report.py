"""The report of a batch: files exist, and their numbers match a direct computation from the Parquet files."""

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.cli import main
from simulation.errors import ResultsMissing
from simulation.experiments.execute import execute
from simulation.experiments.numbers import interval, number
from simulation.experiments.plan import plan_experiment
from simulation.experiments.report import _effect, survival, write_report
from helpers import command

FIGURES = ("timeseries", "requests", "final_state", "island_persistence")


def reported_batch(folder, write_scenario, write_experiment, **fields):
    scenarios = [str(write_scenario(folder, name, extends=name)) for name in ("baseline", "all_countermeasures")]
    experiment = write_experiment(folder, **{"name": "report-test", "seed": 5, "replications": 6, "steps": 30,
                                             "scenarios": scenarios, **fields})
    out = folder / "out"
    execute(plan_experiment(experiment), out, workers=2, progress=False)
    assert main(["report", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def batch(tmp_path_factory, write_scenario, write_experiment):
    return reported_batch(tmp_path_factory.mktemp("report"), write_scenario, write_experiment)


@pytest.fixture(scope="module")
def paired_batch(tmp_path_factory, write_scenario, write_experiment):
    return reported_batch(tmp_path_factory.mktemp("paired"), write_scenario, write_experiment,
                          common_random_numbers=True)


def test_every_table_and_figure_is_written(batch):
    report = batch / "report"
    for name in ("summary.csv", "summary.md", "summary.tex",
                 *(f"{f}.{ext}" for f in FIGURES for ext in ("pdf", "png"))):
        assert (report / name).stat().st_size > 0, name
    tex = (report / "summary.tex").read_text()
    assert "\\begin{longtable}" in tex and "all\\_countermeasures" in tex
    assert "never gets there as the horizon" in (report / "summary.md").read_text()


def test_pdfs_are_vector_with_embedded_truetype_fonts(batch):
    for name in FIGURES:
        pdf = (batch / "report" / f"{name}.pdf").read_bytes()
        assert b"/FontFile2" in pdf and b"/Type3" not in pdf, name  # fonttype 42: editable, embedded
        assert b"/Subtype /Image" not in pdf, name  # no raster inside


def direct(runs, scenario, metric):
    """Mean, sd, t interval straight from runs.parquet; never-integrated runs count as the horizon."""
    rows = runs[(runs["scenario"] == scenario) & (runs["status"] == "ok")]
    values = rows[metric].astype("Float64").fillna(rows["steps"].astype("Float64")).to_numpy(float)
    return values


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy, on a nearly constant group
@pytest.mark.parametrize("metric", ["cumulative_volume", "largest_component_share", "time_to_lasting_integration",
                                    "islands"])
def test_summary_numbers_match_a_direct_computation(batch, metric):
    runs = pd.read_parquet(batch / "runs.parquet")
    summary = pd.read_csv(batch / "report" / "summary.csv")
    base = direct(runs, "baseline", metric)
    for scenario in ("baseline", "all_countermeasures"):
        values = direct(runs, scenario, metric)
        row = summary[(summary["scenario"] == scenario) & (summary["metric"] == metric)].iloc[0]
        assert row["n"] == len(values) == 6
        assert row["mean"] == pytest.approx(values.mean())
        assert row["sd"] == pytest.approx(values.std(ddof=1))
        if values.std() > 0:
            low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
            assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
        else:
            assert row["ci_low"] == row["ci_high"] == pytest.approx(values.mean())
        if scenario == "baseline":
            assert np.isnan(row["effect"])
            continue
        assert row["effect"] == pytest.approx(values.mean() - base.mean())
        if values.std() > 0 or base.std() > 0:
            welch = stats.ttest_ind(values, base, equal_var=False).confidence_interval(0.95)
            assert (row["effect_low"], row["effect_high"]) == pytest.approx((welch.low, welch.high))


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["cumulative_volume", "largest_component_share", "islands"])
def test_with_common_random_numbers_effects_are_paired_by_seed(paired_batch, metric):
    runs = pd.read_parquet(paired_batch / "runs.parquet")
    summary = pd.read_csv(paired_batch / "report" / "summary.csv")
    by_seed = runs.pivot(index="seed", columns="scenario", values=metric)
    assert by_seed.notna().all().all() and len(by_seed) == 6  # every seed ran in both scenarios
    values, base = by_seed["all_countermeasures"], by_seed["baseline"]
    row = summary[(summary["scenario"] == "all_countermeasures") & (summary["metric"] == metric)].iloc[0]
    assert row["effect"] == pytest.approx((values - base).mean())
    paired = stats.ttest_rel(values, base).confidence_interval(0.95)
    assert (row["effect_low"], row["effect_high"]) == pytest.approx((paired.low, paired.high))
    assert "paired by seed" in (paired_batch / "report" / "summary.md").read_text(encoding="utf-8")


def test_a_paired_effect_leaves_out_a_run_whose_partner_failed():
    seeds = pd.Series([10, 11, 12, 10, 11], index=[0, 1, 2, 3, 4])  # run 5 (seed 12, baseline) failed
    values, base = pd.Series([5.0, 7.0, 100.0], index=[0, 1, 2]), pd.Series([4.0, 5.0], index=[3, 4])
    assert _effect(values, base, seeds, paired=True)["effect"] == pytest.approx(1.5)
    assert _effect(values, base, seeds, paired=False)["effect"] == pytest.approx(values.mean() - base.mean())


def test_integrated_share_and_survival_curve_match_the_runs(batch):
    runs = pd.read_parquet(batch / "runs.parquet")
    summary = pd.read_csv(batch / "report" / "summary.csv")
    for scenario in ("baseline", "all_countermeasures"):
        times = runs.loc[runs["scenario"] == scenario, "time_to_lasting_integration"]
        row = summary[(summary["scenario"] == scenario) & (summary["metric"] == "integrated_share")].iloc[0]
        assert row["mean"] == pytest.approx(times.notna().mean())
        curve = survival(runs.assign(group=runs["scenario"]), scenario)
        assert len(curve) == 31 and (np.diff(curve["not_integrated"]) <= 0).all()
        for t in (0, 10, 20, 30):
            expected = ((times > t) | times.isna()).mean()
            assert curve.loc[t, "not_integrated"] == pytest.approx(expected)


def test_final_year_outcomes_match_the_timeseries(batch):
    """final_year_volume: a run's mean sharing volume over its last 12 months; the waiting time:
    the mean over the months of the final year with requests."""
    runs = pd.read_parquet(batch / "runs.parquet")
    timeseries = pd.read_parquet(batch / "timeseries.parquet")
    summary = pd.read_csv(batch / "report" / "summary.csv")
    last = timeseries[timeseries["step"] > timeseries["step"].max() - 12]
    for scenario in ("baseline", "all_countermeasures"):
        ids = runs.loc[runs["scenario"] == scenario, "run_id"]
        mine = last[last["run_id"].isin(ids)]
        volume = mine.groupby("run_id")["sharing_volume"].mean()
        wait = mine[mine["requests_filed"] > 0].groupby("run_id")["wait_mean_days"].mean().reindex(ids).fillna(0.0)
        for metric, values in (("final_year_volume", volume), ("final_year_wait_mean_days", wait)):
            row = summary[(summary["scenario"] == scenario) & (summary["metric"] == metric)].iloc[0]
            assert row["mean"] == pytest.approx(values.mean()), metric


def test_markdown_table_shows_the_csv_numbers(batch):
    summary = pd.read_csv(batch / "report" / "summary.csv")
    markdown = (batch / "report" / "summary.md").read_text()
    row = summary[(summary["scenario"] == "all_countermeasures") & (summary["metric"] == "adoption_holders")].iloc[0]
    line = next(text for text in markdown.splitlines()
                if re.match(r"\|\s*adoption_holders\s*\|\s*all_countermeasures", text))
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert number(row["mean"]) in cells and interval(row["ci_low"], row["ci_high"]) in cells
    assert number(row["effect"]) in cells


def test_a_folder_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(ResultsMissing, match="not a finished batch folder"):
        write_report(tmp_path)


def test_replications_table_states_half_widths_and_runs_needed(batch):
    """Per key metric and scenario: the t half-width at the batch's runs, relative to the mean, and
    the runs a half-width of 10% of the mean needs, from the batch's sd."""
    from simulation.experiments.statistics import replications_for

    runs = pd.read_parquet(batch / "runs.parquet")
    table = pd.read_csv(batch / "report" / "replications.csv")
    for scenario in ("baseline", "all_countermeasures"):
        values = direct(runs, scenario, "cumulative_volume")
        row = table[(table["group"] == scenario) & (table["metric"] == "cumulative_volume")].iloc[0]
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
        assert row["n"] == 6 and row["half_width"] == pytest.approx(half)
        assert row["relative_half_width"] == pytest.approx(half / values.mean())
        assert row["runs_for_relative_target"] == replications_for(values.std(ddof=1), 0.1 * values.mean())
    markdown = (batch / "report" / "replications.md").read_text()
    assert "runs for ±10%" in markdown and "cumulative_volume" in markdown


def test_report_prints_the_runs_a_target_half_width_needs(batch, capsys):
    from simulation.experiments.statistics import replications_for

    proc = command(capsys, "report", str(batch), "--target-half-width", "cumulative_volume=5")
    assert proc.returncode == 0, proc.stderr
    runs = pd.read_parquet(batch / "runs.parquet")
    needed = max(replications_for(direct(runs, s, "cumulative_volume").std(ddof=1), 5.0)
                 for s in ("baseline", "all_countermeasures"))
    target_part = proc.stdout.split("target half-widths given")[1]
    assert re.search(rf"cumulative_volume\s+{needed:,}\s", target_part), proc.stdout


@pytest.mark.parametrize("flag, needle", [("--target-half-width=volume=5", "unknown key metric 'volume'"),
                                          ("--target-half-width=cumulative_volume=-1", "must be a positive number"),
                                          ("--relative-half-width=0", "must be a positive number")])
def test_bad_targets_are_one_line_errors(batch, capsys, flag, needle):
    proc = command(capsys, "report", str(batch), flag)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr, proc.stderr
