"""The mean field on the scenario's own network (docs/game.md, "The mean field on the network"):
the role-to-role mixing is measured from the networks the scenario's generator builds, and the
month-by-month mean field is docked against the model on the default sectoral network."""

import numpy as np
import pytest

from agents import Role
from simulation import DataSharingModel, load_scenario
from simulation.analyses.mean_field import Mixing, mean_field_path, measure_mixing, scenario_game
from helpers import role_shares

SCENARIOS = ("baseline", "ecosystem", "mechanism", "cognition", "security", "all_countermeasures")
SEEDS = range(1, 11)
TOLERANCE = 0.10  # absolute, on each role's share playing strategy 1 at the model's horizon
# Measured gaps (mean field minus the model's 10-seed mean), docs/game.md: largest |gap| 0.066
# (ecosystem's departments); the standard error of the model's 10-seed mean is up to 0.063.
# (scenario, role) pairs the mean field cannot match would be listed here with their gap and
# asserted to stay beyond the tolerance; at the time of writing there are none.
# Model 3's docking misses beyond TOLERANCE at month 60 (docs/game.md): under security the model's
# departments split between runs where the exchange between departments takes off and runs where it
# does not (10-seed standard error about 0.11), which one deterministic path cannot follow; with all
# four the public's participation lags the model's.  Open: issue 20 asks the docking to hold.
KNOWN_GAPS: dict[tuple[str, Role], float] = {("security", Role.GOVERNMENT): -0.255,
                                              ("all_countermeasures", Role.PUBLIC): 0.101}


def test_mixing_on_a_complete_graph_is_the_representative_one(root, tiny):
    """Measured on a complete graph of ordinary holders, the mixing has the complete graph's request
    counts: a department files (G − 1)·d_gg with departments and E·d_ge with enterprises."""
    scenario = load_scenario(root / "scenarios" / "baseline.yaml", {
        **tiny, "network.kind": "complete", "population.water_companies": 0, "population.telecom_operators": 0,
        "demand.government_from_grid": 0.3})
    measured, complete = measure_mixing(scenario), Mixing.complete(scenario)
    np.testing.assert_allclose(measured.rate, complete.rate)
    np.testing.assert_allclose(measured.requests_per_link, complete.requests_per_link)
    assert measured.served_reach == 1.0 and np.all(measured.watched_reach == 1.0)


def test_departments_on_the_sectoral_network_mostly_see_departments(root, baseline):
    """What the mean field now reads: on the sectoral network a department's requests go mostly to
    departments, whereas on the complete graph most of them would go to the hundred enterprises."""
    measured, complete = measure_mixing(baseline, range(1, 4)), Mixing.complete(baseline)

    def share(mixing):
        return mixing.rate[0, 0] / mixing.rate[0].sum()

    assert share(measured) > 0.5 > share(complete)
    assert 0 < measured.served_reach < 1  # most of the public sees no department


def test_scenario_game_uses_the_scenario_network(root, baseline):
    game = scenario_game(baseline)
    assert game.mixing.agents is not None and "on its network" in game.name


@pytest.fixture(scope="module")
def docking(root):
    table = {}
    for name in SCENARIOS:
        scenario = load_scenario(root / "scenarios" / f"{name}.yaml")
        ends = []
        for seed in SEEDS:
            model = DataSharingModel(scenario, seed=seed)
            for _ in range(scenario.steps):
                model.step()
            ends.append(role_shares(model))
        model = np.mean(ends, axis=0)
        table[name] = {"network": mean_field_path(scenario, measure_mixing(scenario, SEEDS)).end - model,
                       "complete": mean_field_path(scenario, Mixing.complete(scenario)).end - model}
    return table


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_mean_field_on_the_network_predicts_the_models_end_state(docking, name):
    """On the default sectoral network over seeds 1-10, every role's end share of the mean field is
    within TOLERANCE of the model's mean, except the KNOWN_GAPS, which must still be beyond it."""
    gap = docking[name]["network"]
    for role in Role:
        known = KNOWN_GAPS.get((name, role))
        if known is None:
            assert abs(gap[role]) <= TOLERANCE, f"{name} {role.key}: gap {gap[role]:+.3f}"
        else:
            assert abs(gap[role]) > TOLERANCE and np.sign(gap[role]) == np.sign(known), \
                f"{name} {role.key}: the known gap closed ({gap[role]:+.3f}); update docs/game.md and KNOWN_GAPS"
            assert gap[role] == pytest.approx(known, abs=0.01)


@pytest.mark.slow
def test_docking_rejects_the_population_wide_mean_field(docking):
    """The same month-by-month mean field on population-wide (complete-graph) mixing misses the model
    by more than the tolerance in some scenario: the check can fail, and the network is what matters
    (measured largest |gap| 0.71, the mechanism's enterprises: docs/game.md)."""
    worst = max(np.abs(docking[name]["complete"]).max() for name in SCENARIOS)
    assert worst > 2 * TOLERANCE
