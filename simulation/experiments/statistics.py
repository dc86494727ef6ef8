"""Interval estimates shared by the batch report and the countermeasure evidence."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
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


def mean_bands(frame: pd.DataFrame, by: list[str], metric: str) -> pd.DataFrame:
    """Per group of ``by`` (e.g. a scenario and a month): n, mean and sample sd of ``metric`` over the
    runs, and the t-based 95% interval of the mean (NaN where n < 2), as :func:`describe` gives it."""
    grouped = frame.groupby(by, sort=False)[metric].agg(["count", "mean", "std"]).reset_index()
    half = stats.t.ppf(0.5 + LEVEL / 2, grouped["count"] - 1) * grouped["std"] / np.sqrt(grouped["count"])
    return grouped.rename(columns={"count": "n", "std": "sd"}).assign(ci_low=grouped["mean"] - half,
                                                                     ci_high=grouped["mean"] + half)


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


def paired_effect(values: np.ndarray, base: np.ndarray) -> dict[str, float]:
    """Mean of the per-pair differences ``values - base`` (runs paired by seed: common random
    numbers) with the paired t interval, narrower than Welch's when the pairs are correlated."""
    difference = np.asarray(values, dtype=float) - np.asarray(base, dtype=float)
    described = describe(difference)
    return {"effect": described["mean"], "effect_low": described["ci_low"], "effect_high": described["ci_high"]}


def paired_by_seed(values: pd.Series | pd.DataFrame, base: pd.Series | pd.DataFrame):
    """``values`` and ``base``, both indexed by seed, cut to the seeds both have and in one order:
    runs paired by common random numbers (a run whose partner failed is left out)."""
    seeds = values.index.intersection(base.index)
    return values.loc[seeds], base.loc[seeds]


def half_width(ci_low: float, ci_high: float) -> float:
    """Half the width of an interval (for a t interval, the ± around the mean)."""
    return (ci_high - ci_low) / 2


def replications_for(sd: float, target: float, minimum: int = 2, maximum: int = 10_000_000) -> int | None:
    """The fewest replications whose t-based 95% half-width t(n-1)·sd/√n is at most ``target``, for
    the standard deviation ``sd`` of pilot runs: n = (t·sd/target)², t at n - 1 degrees of freedom,
    iterated from the normal quantile (a lower bound) until n meets the target.  None when it
    cannot be said (no finite positive target, no finite sd); ``minimum`` when the pilot runs do
    not vary."""
    if not (np.isfinite(sd) and np.isfinite(target) and target > 0):
        return None
    if sd == 0:
        return minimum
    quantile = 0.5 + LEVEL / 2

    def meets(n: int) -> bool:
        return stats.t.ppf(quantile, n - 1) * sd / np.sqrt(n) <= target

    n = max(minimum, int(np.ceil((stats.norm.ppf(quantile) * sd / target) ** 2)))
    while n < maximum and not meets(n):
        n = max(n + 1, int(np.ceil((stats.t.ppf(quantile, n - 1) * sd / target) ** 2)))
    # The half-width falls as n grows, so the fewest runs that meet the target are found by stepping back.
    while n > minimum and meets(n - 1):
        n -= 1
    return min(n, maximum)
