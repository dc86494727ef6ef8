"""Determinism, invariants, API, agents as views, and no Mesa deprecation warnings."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from agents import EnterpriseAgent, GovernmentAgent, PublicAgent
from simulation import DataSharingModel, load_scenario, run
from simulation.core.metrics import CHANNELS, METRICS

@pytest.fixture(scope="module")
def small(root, tiny):
    return load_scenario(root / "scenarios" / "baseline.yaml", overrides=tiny)


def test_same_seed_same_dataframe_different_seed_differs(small):
    a = run(small, seed=5, steps=30).timeseries
    b = run(small, seed=5, steps=30).timeseries
    c = run(small, seed=6, steps=30).timeseries
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_all_countermeasures_deterministic(root, tiny):
    scenario = load_scenario(root / "scenarios" / "all_countermeasures.yaml", overrides=tiny)
    pd.testing.assert_frame_equal(run(scenario, seed=2, steps=20).timeseries,
                                  run(scenario, seed=2, steps=20).timeseries)


def test_timeseries_columns_and_summary(small):
    result = run(small, seed=1, steps=12)
    assert tuple(result.timeseries.columns) == METRICS
    assert list(result.timeseries["step"]) == list(range(13))
    for key in ("scenario", "seed", "steps", "time_to_lasting_integration", "time_to_half_adoption", "config_hash",
                "packages", "sharing_volume", "largest_component_share", "fulfilment_rate", "producer_integration"):
        assert key in result.summary
    assert result.summary["steps"] == 12
    assert isinstance(result.model, DataSharingModel)


def test_overrides_reach_the_model(root):
    scenario = load_scenario(root / "scenarios" / "baseline.yaml", overrides={"population.enterprise": 400})
    model = DataSharingModel(scenario, seed=1)
    assert len(model.agents_by_type[EnterpriseAgent]) == 400


def test_default_population_mirrors_the_case(baseline):
    model = DataSharingModel(baseline, seed=1)
    kinds = model.kinds
    assert kinds.count("coordinator") == 1 and kinds.count("grid") == 1
    assert kinds.count("water") == 37 and kinds.count("telecom") == 3
    assert 15 <= len(model.agents_by_type[GovernmentAgent]) <= 25
    assert len(model.agents_by_type[PublicAgent]) >= 200
    grid = model.layout.grid
    assert model.holders.volume[grid] >= 10 * np.median(model.holders.volume)
    assert all(model.graph.nodes[i]["role"] for i in model.graph.nodes)


def test_graph_is_seeded_from_the_model(baseline):
    a, b = DataSharingModel(baseline, seed=9), DataSharingModel(baseline, seed=9)
    assert sorted(a.graph.edges()) == sorted(b.graph.edges())


def test_agents_are_views_over_the_arrays(baseline):
    model = DataSharingModel(baseline, seed=1)
    agent = next(iter(model.agents_by_type[EnterpriseAgent]))
    agent.quality = 0.123
    assert model.holders.quality[agent.index] == pytest.approx(0.123)
    agent.strategy = 1
    assert model.population.strategy[agent.index] == 1
    citizen = next(iter(model.agents_by_type[PublicAgent]))
    citizen.privacy_concern = 0.9
    assert model.public.privacy_concern[citizen.index - model.layout.holders] == pytest.approx(0.9)
    assert model.agents.agg("cognition", np.mean) == pytest.approx(model.population.cognition.mean())


@pytest.mark.parametrize("name", ["baseline", "all_countermeasures"])
def test_no_mesa_deprecation_or_future_warnings(root, tiny, name):
    scenario = load_scenario(root / "scenarios" / f"{name}.yaml", overrides=tiny)
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("error", category)
        run(scenario, seed=1, steps=5)


def _check_invariants(frame: pd.DataFrame, model: DataSharingModel) -> None:
    for col in ("adoption_government", "adoption_enterprise", "adoption_public", "adoption_holders",
                "isolated_share", "largest_component_share", "largest_either_way_share", "producer_integration",
                "fulfilment_rate", "beyond_window_share", "grid_sharing", "mean_trust", "mean_cognition",
                "mean_quality", "mean_technology"):
        assert frame[col].between(0, 1).all(), col
    for col in ("sharing_volume", "cumulative_volume", *CHANNELS, "volume_grid_water", "volume_water_grid",
                "remediation_cost", "handling_cost", "negotiation_cost", "incidents", "incident_loss",
                "countermeasure_cost", "fines_collected", "prices_paid", "mean_isolation_spell", "wait_mean_days"):
        assert (frame[col] >= 0).all(), col
    assert np.allclose(frame[list(CHANNELS)].sum(axis=1), frame["sharing_volume"])
    assert (frame["requests_granted"] + frame["requests_refused"] == frame["requests_filed"]).all()
    assert (frame["requests_escalated"] <= frame["requests_refused"] + frame["requests_granted"]).all()
    assert (frame["wait_p90_days"] >= 0).all() and (frame["islands_either_way"] <= frame["islands"]).all()
    assert np.allclose(frame["sharing_volume"].cumsum(), frame["cumulative_volume"])
    for arr in (model.links.trust, model.population.cognition, model.holders.quality, model.holders.technology,
                model.holders.security, model.public.privacy_concern):
        assert np.all((arr >= 0) & (arr <= 1))


unit = st.floats(0, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    trust_initial=unit, trust_gain=unit, trust_loss=unit, incident_probability=unit, quality_decay=st.floats(0, 0.5),
    tiering=unit, cognition=st.booleans(), ecosystem=st.booleans(), mechanism=st.booleans(), security=st.booleans(),
    rule=st.sampled_from(["imitation", "logit"]),
    kind=st.sampled_from(["sectoral", "small_world", "scale_free", "erdos_renyi"]),
)
def test_invariants_hold_for_random_parameters(small, seed, trust_initial, trust_gain, trust_loss, incident_probability,
                                               quality_decay, tiering, cognition, ecosystem, mechanism, security,
                                               rule, kind):
    scenario = small.model_copy(deep=True)
    p = scenario.parameters
    p.trust_initial, p.trust_gain, p.trust_loss = trust_initial, trust_gain, trust_loss
    p.incident_probability, p.quality_decay, p.learning_rule = incident_probability, quality_decay, rule
    cm = scenario.countermeasures
    (cm.cognition.enabled, cm.ecosystem.enabled, cm.mechanism.enabled,
     cm.security.enabled) = cognition, ecosystem, mechanism, security
    cm.security.tiering = tiering
    scenario.network.kind = kind
    result = run(scenario, seed=seed, steps=15)
    _check_invariants(result.timeseries, result.model)
