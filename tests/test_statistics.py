import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulation.experiments.statistics import describe, effect, half_width, replications_for


def test_t_interval_for_continuous_values():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    d = describe(values)
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((low, high))


def test_wilson_interval_for_shares_of_runs_stays_in_the_unit_interval():
    none = describe(np.zeros(30), binary=True)
    assert none["ci_low"] == 0 and 0.1 < none["ci_high"] < 0.12  # Wilson: 0/30 -> [0, 0.114]
    some = describe(np.array([1.0] * 3 + [0.0] * 27), binary=True)
    assert 0 < some["ci_low"] < 0.1 < some["ci_high"] < 0.3


def test_welch_effect():
    a, b = np.array([3.0, 4.0, 5.0, 6.0]), np.array([1.0, 2.0, 2.5, 3.0])
    d = effect(a, b)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert d["effect"] == pytest.approx(a.mean() - b.mean())
    assert (d["effect_low"], d["effect_high"]) == pytest.approx((ci.low, ci.high))


def _half_width(sd, n):
    return stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)


@pytest.mark.parametrize("sd, target", [(1.0, 0.5), (3.2, 0.1), (0.07, 0.01), (40.0, 25.0), (1.0, 0.001)])
def test_replications_are_the_fewest_that_meet_the_target(sd, target):
    n = replications_for(sd, target)
    assert _half_width(sd, n) <= target
    assert n == 2 or _half_width(sd, n - 1) > target


def test_replications_for_a_known_case_and_edge_cases():
    # sd 1, target 0.5: the normal rule gives (1.96 / 0.5)^2 = 15.4 -> 16, t needs more: 18 gives 0.497
    assert replications_for(1.0, 0.5) == 18
    assert replications_for(0.0, 0.5) == 2  # runs that do not vary
    assert replications_for(1.0, 0.0) is None and replications_for(np.nan, 1.0) is None


def test_half_width_of_describe_matches_t_times_standard_error():
    values = np.array([2.0, 3.0, 5.0, 9.0, 4.0])
    d = describe(values)
    assert half_width(d["ci_low"], d["ci_high"]) == pytest.approx(_half_width(values.std(ddof=1), len(values)))


def test_paired_effect_is_the_interval_of_the_differences_and_uses_the_pairing():
    from simulation.experiments.statistics import describe, effect, paired_effect

    rng = np.random.default_rng(3)
    common = rng.normal(0, 5, 40)  # what the shared seed does to both arms
    base = common + rng.normal(0, 0.5, 40)
    values = common + 1 + rng.normal(0, 0.5, 40)
    paired = paired_effect(values, base)
    of_differences = describe(values - base)
    assert (paired["effect"], paired["effect_low"], paired["effect_high"]) == (
        of_differences["mean"], of_differences["ci_low"], of_differences["ci_high"])
    welch = effect(values, base)
    assert paired["effect"] == pytest.approx(welch["effect"])
    assert paired["effect_high"] - paired["effect_low"] < (welch["effect_high"] - welch["effect_low"]) / 3
    assert paired["effect_low"] < 1 < paired["effect_high"]


def test_mean_bands_are_describe_per_group():
    from simulation.experiments.statistics import mean_bands

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"group": rng.integers(0, 3, 120), "step": rng.integers(0, 4, 120), "x": rng.normal(size=120)})
    frame.loc[len(frame)] = {"group": 9, "step": 0, "x": 1.5}  # a group of one run: no interval
    bands = mean_bands(frame, ["group", "step"], "x")
    for row in bands.itertuples():
        d = describe(frame.loc[(frame["group"] == row.group) & (frame["step"] == row.step), "x"].to_numpy())
        assert row.n == d["n"] and row.mean == pytest.approx(d["mean"])
        if d["n"] < 2:
            assert np.isnan(row.ci_low) and np.isnan(row.ci_high)
        else:
            assert (row.ci_low, row.ci_high) == pytest.approx((d["ci_low"], d["ci_high"]))
