"""Pattern-oriented validation (docs/validation.md): the checks judge what they say, the indicators
are read from the runs as documented, and the document's table is the one the command makes."""

import numpy as np
import pandas as pd
import pytest

from simulation.analyses import patterns as pt
from simulation.experiments.execute import execute
from simulation.experiments.results import read_results


def frame(values_by_scenario, indicator="x", family="sectoral"):
    rows = [{"scenario": s, "family": family, "seed": i, indicator: v}
            for s, values in values_by_scenario.items() for i, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_share_of_runs_holds_at_the_stated_share_and_an_undefined_run_does_not_count():
    check = pt.RunShare("T", "t", "held out", ("baseline",), "x", "<", 0.2, 0.9)
    assert check.evaluate(frame({"baseline": [0.1] * 9 + [0.3]})).holds  # 90%
    assert not check.evaluate(frame({"baseline": [0.1] * 8 + [0.3] * 2})).holds  # 80%
    undefined = check.evaluate(frame({"baseline": [0.1] * 8 + [np.nan] * 2}))  # NaN is not < 0.2
    assert not undefined.holds and undefined.value.startswith("baseline: 80% of 10")
    every = pt.RunShare("T", "t", "known", ("a", "b"), "x", "==", 0, 1.0)
    assert every.evaluate(frame({"a": [0, 0], "b": [0, 0]})).holds
    assert not every.evaluate(frame({"a": [0, 0], "b": [0, 1e-9]})).holds  # every scenario named must hold


def test_mean_ratio_and_contrast():
    ratio = pt.MeanRatio("T", "t", "held out", ("low", "high"), "x", 0.1)
    assert ratio.evaluate(frame({"low": [0.1, 0.1], "high": [1.0, 2.0]})).holds
    assert not ratio.evaluate(frame({"low": [0.2, 0.2], "high": [1.0, 2.0]})).holds
    assert not ratio.evaluate(frame({"low": [0.0], "high": [0.0]})).holds  # nothing to compare with
    contrast = pt.Contrast("T", "t", "known", ("treated", "control"), "x")
    assert contrast.evaluate(frame({"treated": range(10, 20), "control": range(10)})).holds
    assert not contrast.evaluate(frame({"treated": range(10), "control": range(10)})).holds


def test_a_failing_check_stays_in_the_table_marked_as_failing():
    checks = (pt.RunShare("OK", "passes", "calibration", ("baseline",), "x", ">", 0, 0.5),
              pt.RunShare("NO", "fails", "held out", ("baseline",), "x", "<", 0, 0.5))
    table = pt.pattern_table(frame({"baseline": [1.0, 2.0]}), checks, families=("sectoral",))
    lines = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    assert "holds:" in lines["OK"] and "**FAILS**" in lines["NO"]
    assert "sectoral 1 of 2" in table


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, root):
    """The security and all-countermeasures scenarios once each on the sectoral network (seed 3)."""
    plan = pt.plan_patterns(root / "scenarios", range(3, 4), families=("sectoral",),
                            names=("security", "all_countermeasures"))
    out = tmp_path_factory.mktemp("patterns")
    execute(plan, out, workers=2, progress=False)
    runs, timeseries, _ = read_results(out)
    return runs, timeseries, pt.run_indicators(runs, timeseries)


def test_indicators_are_read_from_the_runs_as_documented(two_runs):
    runs, timeseries, indicators = two_runs
    assert list(indicators["scenario"]) == ["security", "all_countermeasures"]
    for run_id, row in zip(runs["run_id"], indicators.itertuples()):
        ts = timeseries[timeseries["run_id"] == run_id].sort_values("step")
        weights = ts["requests_conditional"]
        assert row.wait_conditional_days == pytest.approx((ts["wait_conditional_days"] * weights).sum() / weights.sum())
        last = ts.tail(12)
        assert row.producer_integration == pytest.approx(last["producer_integration"].mean())
        gap = last["producer_integration_government"].mean() - last["producer_integration_enterprise"].mean()
        assert row.government_minus_enterprise_integration == pytest.approx(gap)
        # H1: first month whose 3-month trailing mean reaches half the final-year mean
        months = ts[ts["step"] > 0]
        def dated(volume):
            trailing = volume.rolling(3, min_periods=1).mean()
            return int(months["step"][trailing >= 0.5 * volume.tail(12).mean()].iloc[0])
        t_gov = dated(months["volume_gov_gov"])
        t_cross = dated(months["volume_gov_ent"] + months["volume_ent_gov"])
        assert row.gov_month_minus_cross_month == t_gov - t_cross


def test_documented_table_was_made_from_the_current_scenarios_and_seeds(root):
    """Fast: the plan digest in docs/validation.md (every run's configuration, seed and horizon) is the
    current one; the slow test below regenerates the whole table, since the code matters too."""
    block = pt.documented_block(root / "docs" / "validation.md")
    assert f"plan {pt.plan_patterns(root / 'scenarios', range(30)).digest()}" in block


@pytest.mark.slow
def test_documented_pattern_table_is_current(root, tmp_path):
    """docs/validation.md shows exactly the table 30 seeds on three networks give (regenerate with
    `python -m simulation patterns --doc docs/validation.md`)."""
    seeds = range(30)
    plan = pt.plan_patterns(root / "scenarios", seeds)
    table = pt.pattern_table(pt.run_patterns(plan, tmp_path / "patterns", workers=2, progress=False))
    assert pt.documented_block(root / "docs" / "validation.md") == pt.generated_block(table, plan, seeds)


def test_patterns_command_names_a_missing_scenario_in_one_line_and_writes_nothing(tmp_path, capsys):
    from helpers import command

    out = tmp_path / "out"
    proc = command(capsys, "patterns", "--scenarios", str(tmp_path / "none"), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "baseline.yaml: file not found" in proc.stderr
    assert not out.exists()
