import numpy as np
import pytest
from scipy import stats

from simulation.experiments.statistics import describe, effect


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
