"""Interval estimates shared by the batch report and the countermeasure evidence."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

LEVEL = 0.95


def describe(values: np.ndarray, binary: bool = False) -> dict[str, float]:
    """n, mean, sample sd and the 95% interval of the mean: Wilson's when ``binary`` (a share of runs,
    where a t interval would leave [0, 1] or collapse), Student's t otherwise."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(np.mean(values)) if n else np.nan
    sd = float(np.std(values, ddof=1)) if n > 1 else np.nan
    if n and binary:
        low, high = share_interval(int(values.sum()), n)
        return {"n": n, "mean": mean, "sd": sd, "ci_low": low, "ci_high": high}
    half = stats.t.ppf(0.5 + LEVEL / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def share_interval(successes: int, n: int) -> tuple[float, float]:
    """Wilson's 95% score interval of a share ``successes / n`` (scipy's binomial test)."""
    ci = stats.binomtest(successes, n).proportion_ci(LEVEL, method="wilson")
    return float(ci.low), float(ci.high)


def effect(values: np.ndarray, base: np.ndarray) -> dict[str, float]:
    """Difference in means over the baseline with Welch's t interval (exact when both spreads are 0)."""
    values, base = np.asarray(values, dtype=float), np.asarray(base, dtype=float)
    if len(values) < 2 or len(base) < 2:
        return {"effect": np.nan, "effect_low": np.nan, "effect_high": np.nan}
    diff = float(np.mean(values) - np.mean(base))
    if np.ptp(values) == 0 and np.ptp(base) == 0:
        return {"effect": diff, "effect_low": diff, "effect_high": diff}
    with warnings.catch_warnings():  # one nearly constant group is fine for Welch's interval
        warnings.simplefilter("ignore", RuntimeWarning)
        interval = stats.ttest_ind(values, base, equal_var=False).confidence_interval(LEVEL)
    return {"effect": diff, "effect_low": float(interval.low), "effect_high": float(interval.high)}
