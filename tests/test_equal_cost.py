"""Countermeasures at equal cost: what a countermeasure's ``scale`` does, the search for the scale
at a budget, and the one cost function the frontier, the study and the report share."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation import load_scenario, run
from simulation.analyses import equal_cost, frontier
from simulation.analyses.protocol import perform
from simulation.analyses.study import point_means
from simulation.cli import main
from simulation.config import ConfigError, Scenario
from simulation.core.countermeasures import SHIPPED, Package
from simulation.experiments.costs import COMPARISON, EQUAL_COST_FOLDER, equal_cost_table, ratio_interval, run_cost
from simulation.experiments.execute import execute
from simulation.experiments.plan import plan_experiment
from simulation.experiments.report import write_report
from simulation.experiments.results import RUNS, TIMESERIES
from helpers import TINY_POPULATION

NAMES = [kind.name for kind in SHIPPED]
# The tiny population with more enterprises and water companies, as the study's search needs.
POPULATION = {**TINY_POPULATION, "enterprise": 24, "water_companies": 6}
SMALL = {**{f"population.{role}": size for role, size in POPULATION.items()}, "network.grid_departments": 4}


def scenario(root, name, scale=None, **overrides):
    if scale is not None:
        overrides[f"countermeasures.{name}.scale"] = scale
    return load_scenario(root / "scenarios" / f"{name}.yaml", {**SMALL, **overrides})


def digest(result):
    return hashlib.sha256(result.timeseries.to_numpy(dtype="float64").tobytes()).hexdigest()


@pytest.mark.parametrize("name", NAMES)
def test_scale_one_is_the_countermeasure_as_designed(root, name):
    assert (digest(run(scenario(root, name, 1.0), seed=3, steps=14))
            == digest(run(scenario(root, name), seed=3, steps=14)))


@pytest.mark.parametrize("name", NAMES)
def test_scale_zero_is_the_countermeasure_switched_off(root, name):
    """Everything a countermeasure moves and pays is proportional to its scale: at 0 the run is the
    baseline's, bit for bit, and costs nothing."""
    scaled = run(scenario(root, name, 0.0), seed=5, steps=14)
    baseline = run(load_scenario(root / "scenarios" / "baseline.yaml", SMALL), seed=5, steps=14)
    assert scaled.summary["total_countermeasure_cost"] == 0.0
    assert digest(scaled) == digest(baseline)


@pytest.mark.parametrize("name", NAMES)
def test_running_budgets_and_lever_changes_are_proportional_to_the_scale(root, name):
    base = Package.of(scenario(root, name, 1.0))
    designed = base.levers_at(0)  # month 0: 1/12 of the ramp, so no share is near its cap
    before = Package.of(load_scenario(root / "scenarios" / "baseline.yaml", SMALL)).levers_at(0)
    for k in (0.25, 0.5, 2.0):
        package = Package.of(scenario(root, name, k))
        assert package.budget_at(30, 32, 40) == pytest.approx(k * base.budget_at(30, 32, 40))
        levers = package.levers_at(0)
        for lever in ("coordination", "enterprise_subsidy", "public_reward", "evaluation_reward",
                      "evaluation_penalty", "participation_cost_cut", "tiering", "transparency", "escalation",
                      "pricing", "ownership_clarity"):
            moved = getattr(designed, lever) - getattr(before, lever)
            assert getattr(levers, lever) - getattr(before, lever) == pytest.approx(k * moved), lever
        rates, designed_rates = package.capability_rates_at(0), base.capability_rates_at(0)
        assert rates.training == pytest.approx(k * designed_rates.training)
        assert rates.technology == pytest.approx(k * designed_rates.technology)


def test_shares_and_rates_stop_at_one(root):
    package = Package.of(load_scenario(root / "scenarios" / "all_countermeasures.yaml",
                                       {f"countermeasures.{name}.scale": 10.0 for name in NAMES}))
    levers, rates = package.levers_at(60), package.capability_rates_at(60)
    for share in (levers.coordination, levers.ownership_clarity, levers.escalation, levers.pricing, levers.tiering,
                  levers.participation_cost_cut, rates.training, rates.publicity):
        assert 0 < share <= 1.0
    assert levers.enterprise_subsidy == pytest.approx(10 * 0.2)  # an amount has no cap


@pytest.mark.parametrize("name", NAMES)
def test_cost_rises_with_the_scale(root, name):
    """Mean cost over common seeds, small case: each step up in scale buys more of every outlay."""
    costs = [np.mean([run(scenario(root, name, k), seed=seed, steps=24).summary["total_countermeasure_cost"]
                      for seed in (1, 2, 3)]) for k in (0.0, 0.5, 1.0, 2.0)]
    assert costs[0] == 0.0
    assert all(b > a for a, b in zip(costs, costs[1:])), costs


def test_ratio_interval_keeps_pairs_together():
    denominator = np.array([1.0, 2.0, 4.0, 8.0, 3.0, 5.0])
    assert ratio_interval(2 * denominator, denominator) == pytest.approx((2.0, 2.0, 2.0))
    estimate, low, high = ratio_interval(np.array([1.0, 3.0, 2.0, 5.0]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert estimate == pytest.approx(2.75) and low < estimate < high
    assert np.isnan(ratio_interval(np.ones(4), np.zeros(4))[0])


# ---------------------------------------------------------------------------------------------
# The study end to end, on a small case


def small_spec(root, folder, **changes):
    files = []
    for name in ("baseline", *NAMES):
        path = folder / f"small_{name}.yaml"
        path.write_text(yaml.safe_dump({"extends": str(root / "scenarios" / f"{name}.yaml"),
                                        "population": POPULATION,
                                        "network": {"grid_departments": 4}}), encoding="utf-8")
        files.append(path.name)
    data = {"name": "small_equal_cost", "baseline": files[0], "countermeasures": files[1:], "budget": "cheapest",
            "replications": 4, "search_replications": 3, "tolerance": 0.02, "steps": 18, "seed": 11}
    data.update(changes)
    path = folder / "equal_cost.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("equal_cost")
    spec = small_spec(root, folder)
    batch = folder / "batch"
    experiment = folder / "experiment.yaml"
    experiment.write_text(yaml.safe_dump({"name": "small", "seed": 2, "replications": 2, "steps": 6,
                                          "scenarios": ["small_baseline.yaml", "small_mechanism.yaml"]}),
                          encoding="utf-8")
    execute(plan_experiment(experiment), batch, workers=2, progress=False)
    result = perform(equal_cost.STUDY, equal_cost.STUDY.load(spec), batch / EQUAL_COST_FOLDER, workers=2,
                     progress=False)
    return spec, batch, result


@pytest.mark.slow
def test_the_search_meets_the_budget_within_its_tolerance(study):
    _, _, result = study
    costs_at_one = {c.name: c.path[0][1] for c in result.candidates}
    assert result.target == pytest.approx(min(costs_at_one.values()))  # budget: the cheapest at scale 1
    for candidate in result.candidates:
        assert abs(candidate.cost - result.target) <= result.spec.tolerance * result.target
        assert candidate.path[-1] == (candidate.scale, candidate.cost)
        # The cheapest stays as designed; every other one is scaled down to the budget.
        assert (candidate.scale == 1.0) == (costs_at_one[candidate.name] == result.target)
        assert 0 < candidate.scale <= 1.0


@pytest.mark.slow
def test_the_search_cost_is_the_mean_cost_of_its_runs(study):
    _, _, result = study
    last = max(int(p.name[5:]) for p in (result.out / "search").glob("step-*"))
    runs = pd.read_parquet(result.out / "search" / f"step-{last:02d}" / RUNS)
    found = {c.name: c for c in result.candidates}
    for scenario, members in runs.groupby("scenario"):
        assert run_cost(members).mean() == pytest.approx(found[scenario].path[-1][1])
        assert members["scale"].iloc[0] == found[scenario].path[-1][0]


@pytest.mark.slow
def test_the_comparison_pairs_every_scenario_with_the_baseline_seeds(study):
    _, _, result = study
    runs = pd.read_parquet(result.out / COMPARISON / RUNS)
    seeds = runs.groupby("scenario")["seed"].apply(lambda s: sorted(s.tolist()))
    assert all(s == seeds.iloc[0] for s in seeds) and len(seeds) == 5
    table = result.table
    assert set(table["scenario"]) == set(NAMES) and (table["n"] == 4).all()
    assert ((table["effect_low"] <= table["effect"]) & (table["effect"] <= table["effect_high"])).all()
    for name, c in ((c.name, c) for c in result.candidates):
        assert (table.loc[table["scenario"] == name, "scale"] == c.scale).all()


@pytest.mark.slow
def test_the_frontier_the_study_and_the_report_count_the_same_cost(study):
    """One cost function: on the same runs the frontier's package cost, the equal-cost table's cost
    and the monthly Ledger outlays summed over each run agree."""
    _, _, result = study
    out = result.out / COMPARISON
    runs = pd.read_parquet(out / RUNS)
    timeseries = pd.read_parquet(out / TIMESERIES)
    outlays = timeseries.groupby("run_id")["net_countermeasure_cost"].sum()
    assert run_cost(runs).to_numpy() == pytest.approx(outlays.loc[runs["run_id"]].to_numpy())
    points = runs.groupby("point")["scenario"].first()
    packages = frontier.package_table(point_means(out, frontier.MEASURES), runs, [{} for _ in points])
    table = equal_cost_table(runs, "baseline").drop_duplicates("scenario").set_index("scenario")
    for point, name in points.items():
        frontier_cost = packages.loc[point, "cost"]
        assert frontier_cost == pytest.approx(runs.loc[runs["point"] == point, "total_net_countermeasure_cost"].mean())
        if name != "baseline":
            assert table.loc[name, "cost"] == pytest.approx(frontier_cost)


@pytest.mark.slow
def test_the_report_of_the_batch_includes_the_equal_cost_table(study):
    _, batch, result = study
    written = write_report(batch)
    assert batch / "report" / "equal_cost.md" in written
    in_report = pd.read_csv(batch / "report" / "equal_cost.csv")
    from_study = pd.read_csv(result.out / "report" / "equal_cost.csv")
    pd.testing.assert_frame_equal(in_report, from_study)
    text = (batch / "report" / "equal_cost.md").read_text()
    assert "effect per 10 million yuan (1,000 units of 10k yuan) of net cost" in text and "cheapest" in text


@pytest.mark.slow
def test_a_rerun_resumes_without_running_again(study, capsys):
    spec, batch, result = study
    assert main(["equal-cost", str(spec), "--out", str(result.out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    for candidate in result.candidates:
        assert f"scale {candidate.scale:.4g}" in printed


@pytest.mark.parametrize("changes, message", [
    ({"search_replications": 5}, "search_replications = 5 exceeds replications = 4"),
    ({"budget": "cheap"}, "budget"),
    ({"tolerance": 0.0}, "tolerance"),
])
def test_a_bad_spec_is_refused_in_one_line(tmp_path, root, changes, message, capsys):
    path = small_spec(root, tmp_path, **changes)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_scenario_without_a_countermeasure_cannot_be_scaled(tmp_path, root):
    path = small_spec(root, tmp_path)
    data = yaml.safe_load(path.read_text())
    data["countermeasures"] = [data["baseline"]]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="no countermeasure enabled: nothing to scale"):
        equal_cost.load_equal_cost(path)


def test_a_budget_above_the_largest_scale_fails_the_search():
    candidate = equal_cost.Candidate(None, Scenario(name="stub"))
    candidate.begin(10.0, 1000.0, 0.01)
    with pytest.raises(equal_cost.SearchFailed, match="below the budget"):
        while True:
            scale = candidate.next_scale()
            candidate.update(scale, 10.0 * scale, 1000.0, 0.01)


def test_a_missing_doc_is_refused_before_any_run(tmp_path, root, capsys):
    out = tmp_path / "out"
    status = main(["equal-cost", str(root / "scenarios" / "experiments" / "equal_cost.yaml"), "--out", str(out),
                   "--doc", str(tmp_path / "missing.md"), "--quiet"])
    assert status == 2 and "missing.md: file not found" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_the_documented_equal_cost_table_is_current(tmp_path, root):
    """docs/countermeasures.md shows exactly the table the shipped study gives (regenerate with
    `python -m simulation equal-cost scenarios/experiments/equal_cost.yaml --doc docs/countermeasures.md`)."""
    spec = equal_cost.STUDY.load(root / "scenarios" / "experiments" / "equal_cost.yaml")
    result = perform(equal_cost.STUDY, spec, tmp_path / "study", workers=2, progress=False)
    assert equal_cost.EQUAL_COST_TABLE.read(root / "docs" / "countermeasures.md") == result.block()
