"""The fast model and the plain-Mesa reference (benchmarks/reference.py) agree in distribution.

Their random draws differ, so runs are compared as samples over seeds: for each key output averaged
over the run, a Mann-Whitney U test and a Kolmogorov-Smirnov test, Bonferroni-corrected to a 1 %
family-wise error per scenario.  Seeds are fixed, so the outcome is reproducible, and deliberately
altered models must be rejected, which shows the comparison has the power to fail.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, mannwhitneyu

from benchmarks.phases import DATA_COLLECTION, PHASES, instrument
from benchmarks.reference import ReferenceModel
from simulation import load_scenario, run
from simulation.core.metrics import METRICS
from simulation.core.model import DataSharingModel
from simulation.core.runner import timeseries_of

KEYS = ("sharing_volume", "requests_filed", "demand_discouraged", "fulfilment_rate", "fulfilment_catalogued",
        "fulfilment_cross_sector", "wait_mean_days", "grants_forced", "cases_decided", "adoption_government",
        "adoption_enterprise", "adoption_public", "islands", "islands_either_way", "producer_integration",
        "mean_trust", "mean_quality", "countermeasure_cost", "net_countermeasure_cost")
SCENARIOS = ("baseline", "ecosystem", "all_countermeasures")
SEEDS = range(20)
STEPS = 24
ALPHA = 0.01 / (2 * len(KEYS))


def run_means(timeseries: pd.DataFrame) -> pd.Series:
    """Each key output averaged over the steps of a run (less noisy than its final value)."""
    return timeseries.loc[timeseries["step"] > 0, list(KEYS)].mean()


def fast_sample(scenario) -> pd.DataFrame:
    return pd.DataFrame([run_means(run(scenario, seed=seed, steps=STEPS).timeseries) for seed in SEEDS])


def reference_run(scenario, seed: int, steps: int) -> pd.DataFrame:
    model = ReferenceModel(scenario, seed=seed)
    for _ in range(steps):
        model.step()
    return timeseries_of(model)


def reference_sample(scenario) -> pd.DataFrame:
    # Other seeds than the fast runs: independent samples.
    return pd.DataFrame([run_means(reference_run(scenario, 10_000 + seed, STEPS)) for seed in SEEDS])


def disagreements(fast: pd.DataFrame, reference: pd.DataFrame) -> dict[str, float]:
    """Outputs whose two samples differ significantly, with the smaller p-value of the two tests."""
    found = {}
    for key in KEYS:
        a, b = fast[key].to_numpy(), reference[key].to_numpy()
        if len(np.unique(np.concatenate([a, b]))) == 1:
            continue  # one value in both samples: they agree, and the tests are undefined
        p = min(mannwhitneyu(a, b).pvalue, ks_2samp(a, b).pvalue)
        if p < ALPHA:
            found[key] = float(p)
    return found


@pytest.fixture(scope="module")
def scenarios(root):
    return {name: load_scenario(root / "scenarios" / f"{name}.yaml") for name in SCENARIOS}


@pytest.fixture(scope="module")
def reference_samples(scenarios):
    return {name: reference_sample(scenario) for name, scenario in scenarios.items()}


def test_same_seed_same_network(scenarios):
    scenario = scenarios["all_countermeasures"]
    fast, reference = DataSharingModel(scenario, seed=3), ReferenceModel(scenario, seed=3)
    fast_links = sorted(zip(fast.links.u.tolist(), fast.links.v.tolist()))
    reference_links = sorted(tuple(end.index for end in link.ends) for link in reference.links)
    assert fast_links == reference_links
    assert sum(len(agent.neighbours) for agent in reference.people) == 2 * (len(fast.links) + len(fast.public_ties.u))


def test_reference_collects_every_metric(scenarios):
    timeseries = reference_run(scenarios["all_countermeasures"], seed=5, steps=3)
    assert list(timeseries.columns) == list(METRICS)
    assert list(timeseries["step"]) == [0, 1, 2, 3]
    assert timeseries.notna().all().all()
    assert (timeseries["requests_filed"].iloc[1:] > 0).all()


def test_phase_timers_leave_the_run_unchanged(scenarios):
    scenario = scenarios["all_countermeasures"]
    plain, timed = DataSharingModel(scenario, seed=4), DataSharingModel(scenario, seed=4)
    clock = instrument(timed)
    for _ in range(5):
        plain.step()
        timed.step()
    pd.testing.assert_frame_equal(timeseries_of(plain), timeseries_of(timed))
    assert set(clock.wall) == {*PHASES, DATA_COLLECTION}
    assert all(seconds > 0 for seconds in clock.wall.values())  # every phase was called and timed


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_fast_model_agrees_with_reference_in_distribution(scenarios, reference_samples, name):
    assert disagreements(fast_sample(scenarios[name]), reference_samples[name]) == {}


@pytest.mark.slow
@pytest.mark.parametrize("name, change, rejected", [
    ("all_countermeasures", {"trust_loss": 0.0}, {"mean_trust"}),  # refusals cost no trust (a plausible slip)
    # providers ignore whether the requester shares: fewer grants, so fewer links carry data (under the
    # default grant rule "mix" reciprocity weighs half, so it shows in fewer outputs than in Model 2)
    ("baseline", {"reciprocity": 0.0}, {"fulfilment_rate", "islands", "producer_integration"}),
    # demand does not respond: requesters go on asking where they expect refusals
    ("baseline", {"demand_discouragement": 0.0}, {"requests_filed", "demand_discouraged"}),
    # requesters take every refusal the authority could overturn to it, whether or not it is worth their effort
    ("all_countermeasures", {"escalation_effort": 0.0}, {"grants_forced", "cases_decided"}),
])
def test_comparison_rejects_an_altered_model(scenarios, reference_samples, name, change, rejected):
    """A fast model with one rule changed must be told apart from the reference."""
    altered = scenarios[name].model_copy(deep=True)
    for key, value in change.items():
        setattr(altered.parameters, key, value)
    assert rejected & set(disagreements(fast_sample(altered), reference_samples[name]))
