"""How every table, brief, report and page shows a number: one rule, so one figure never reads
differently in two places."""

from __future__ import annotations

import math
from numbers import Integral, Real

MISSING = "n/a"  # a value that was not measured (no runs, a failed partner run, a 0/0 share)


def number(x: Real | None) -> str:
    """Whole numbers as they are, with thousands separators; other values from 100 up rounded to
    whole units (volumes and costs), below 100 to three significant digits; a missing value
    (None, NaN, infinite) as ``n/a``."""
    if isinstance(x, Integral) and not isinstance(x, bool):
        return f"{int(x):,}"
    if x is None or not math.isfinite(float(x)):
        return MISSING
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def interval(low: Real | None, high: Real | None) -> str:
    """A confidence interval as ``[low, high]``."""
    return f"[{number(low)}, {number(high)}]"
