"""Face validity over 30 seeds per scenario (docs/ODD.md sections 1 and 4): the baseline shows the
four problems, and each countermeasure improves volume and islands through its own mechanism.
Comparisons are one-sided Mann-Whitney tests at the 1% level."""

import pytest

from simulation.analyses import evidence as ev

pytestmark = pytest.mark.slow
SEEDS = range(30)
ALPHA = 0.01


@pytest.fixture(scope="module")
def runs(root):
    return ev.collect(root / "scenarios", SEEDS)


def of(runs, scenario):
    return runs[runs.scenario == scenario]


def test_baseline_low_enterprise_adoption(runs):
    assert of(runs, "baseline").adoption_enterprise.quantile(0.9) < 0.1


def test_baseline_slow_governance_adoption(runs):
    reached = of(runs, "baseline").time_to_half_adoption.notna().mean()
    assert reached <= 0.1


def test_baseline_islands_persist_to_the_horizon(runs):
    base = of(runs, "baseline")
    assert base.integrated.sum() == 0
    assert base.final_component_share.median() < 0.5


def test_baseline_remediation_is_a_large_share_of_costs(runs):
    assert of(runs, "baseline").remediation_share.median() > 0.5


@pytest.mark.parametrize("countermeasure", ev.COUNTERMEASURES)
@pytest.mark.parametrize("indicator", ["final_volume", "final_component_share"])
def test_countermeasure_improves_volume_and_islands(runs, countermeasure, indicator):
    assert ev.better(runs, countermeasure, "baseline", indicator) < ALPHA


@pytest.mark.parametrize("countermeasure", ev.COUNTERMEASURES)
def test_countermeasure_moves_its_own_mechanism(runs, countermeasure):
    assert ev.better(runs, countermeasure, "baseline", ev.MECHANISM_INDICATOR[countermeasure]) < ALPHA


@pytest.mark.parametrize("countermeasure", ev.COUNTERMEASURES)
@pytest.mark.parametrize("indicator", ["final_volume", "cumulative_volume", "final_component_share"])
def test_all_combined_at_least_as_good_as_any_one(runs, countermeasure, indicator):
    combined = of(runs, "all_countermeasures")[indicator]
    single = of(runs, countermeasure)[indicator]
    assert combined.median() >= single.median()
    assert ev.better(runs, countermeasure, "all_countermeasures", indicator) > ALPHA


def test_all_combined_dissolve_islands_in_most_runs(runs):
    assert of(runs, "all_countermeasures").integrated.mean() >= 0.8


def test_documented_effect_table_is_current(runs, root):
    """docs/countermeasures.md shows exactly what these runs measure (regenerate with
    `python -m simulation effects --doc docs/countermeasures.md`)."""
    doc = (root / "docs" / "countermeasures.md").read_text()
    assert ev.effect_table(runs) in doc
