"""Face validity over 30 seeds per scenario (docs/ODD.md section 1): the baseline shows the four
problems of the case, and each countermeasure acts through its own indicator and improves sharing
and islands.  Comparisons are one-sided Mann-Whitney tests at the 1% level.

Only what the model shows is asserted.  Expectations it does not meet are listed in
docs/countermeasures.md ("What the model does not show"); security's effects on cumulative volume
and fulfilment are reported there as measured (near the 1% level, so not asserted); no scenario integrates 90% of
holders in two-way exchange lastingly within five years; remediation is below half of the costs of
providing data in the baseline.
"""

import pytest

from simulation import load_scenario
from simulation.analyses import evidence as ev

pytestmark = pytest.mark.slow
SEEDS = range(30)
ALPHA = 0.01
SHARING_AND_ISLANDS = ("final_volume", "cumulative_volume", "fulfilment", "producer_integration", "islands",
                       "final_component_share")
# What each countermeasure alone improves over the baseline.  Security's effects on the cumulative volume
# and the fulfilment rate sit near the 1% level (docs/countermeasures.md), so they are not asserted.
IMPROVES = {
    "ecosystem": SHARING_AND_ISLANDS,
    "mechanism": SHARING_AND_ISLANDS,
    "cognition": SHARING_AND_ISLANDS,
    "security": ("final_volume", "producer_integration", "islands", "final_component_share"),
}
BEATEN_BY_THE_PACKAGE = ("ecosystem", "mechanism", "cognition", "security")


@pytest.fixture(scope="module")
def runs(root):
    return ev.collect(root / "scenarios", SEEDS)


@pytest.fixture(scope="module")
def base(runs):
    return of(runs, "baseline")


@pytest.fixture(scope="module")
def scenario(root):
    return load_scenario(root / "scenarios" / "baseline.yaml")


def of(runs, scenario):
    return runs[runs.scenario == scenario]


def test_problem_1_data_producers_are_poorly_integrated(base):
    """Few holders' data reaches another holder, and few enterprises share."""
    assert base.producer_integration.quantile(0.9) < 0.2
    assert base.adoption_enterprise.quantile(0.9) < 0.2


def test_problem_2_the_governance_model_spreads_slowly(base, scenario):
    """Holders stay below half adoption for years; requests mostly fail and wait beyond the rule's window."""
    assert base.time_to_half_adoption.notna().mean() <= 0.1
    assert base.adoption_holders.quantile(0.9) < 0.5
    assert base.fulfilment.quantile(0.9) < 0.5
    assert base.wait_mean_days.median() > scenario.parameters.reply_days_unpublished
    assert base.beyond_window_share.median() > 0.5


def test_problem_3_islands_persist_to_the_horizon(base, scenario):
    holders = scenario.population.government + scenario.population.enterprise
    assert base.integrated.sum() == 0
    assert base.final_component_share.median() < 0.5
    assert base.islands.median() > holders / 2
    assert base.islands.median() > holders / 2


def test_problem_4_remediation_is_a_large_cost_of_providing_data(base):
    """More than an even share of the four costs of providing data (remediation, handling,
    negotiation, incident losses) goes to remediation."""
    assert base.remediation_cost_share.median() > 0.25


@pytest.mark.parametrize("countermeasure, indicator",
                         [(c, i) for c, indicators in ev.MECHANISM_INDICATOR.items() for i in indicators])
def test_countermeasure_moves_its_own_indicator(runs, countermeasure, indicator):
    assert ev.better(runs, countermeasure, "baseline", indicator) < ALPHA


@pytest.mark.parametrize("countermeasure, indicator",
                         [(c, i) for c, indicators in IMPROVES.items() for i in indicators])
def test_countermeasure_improves_sharing_and_islands(runs, countermeasure, indicator):
    assert ev.better(runs, countermeasure, "baseline", indicator) < ALPHA


@pytest.mark.parametrize("countermeasure", BEATEN_BY_THE_PACKAGE)
@pytest.mark.parametrize("indicator", SHARING_AND_ISLANDS)
def test_all_combined_at_least_as_good_as_any_other_one(runs, countermeasure, indicator):
    combined = of(runs, "all_countermeasures")[indicator].median()
    single = of(runs, countermeasure)[indicator].median()
    assert combined >= single if ev.INDICATORS[indicator].higher_is_better else combined <= single
    assert ev.better(runs, countermeasure, "all_countermeasures", indicator) > ALPHA


def test_documented_effect_table_is_current(runs, root):
    """docs/countermeasures.md shows exactly what these runs measure (regenerate with
    `python -m simulation effects --doc docs/countermeasures.md`)."""
    doc = (root / "docs" / "countermeasures.md").read_text()
    assert ev.effect_table(runs) in doc
