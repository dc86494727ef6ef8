"""Run-level outcomes as analyses read them from ``runs.parquet``, with one rule for censored times.

``time_to_integration`` and ``time_to_half_adoption`` are right-censored: a run that never gets
there within its horizon has no value.  Wherever such times are averaged, a run that never gets
there counts as its horizon (``steps``), so a mean is the restricted mean time over the horizon;
whether runs get there at all is reported beside it (:func:`integrated`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

CENSORED = ("time_to_integration", "time_to_half_adoption")


def horizon_filled(runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The runs' ``columns`` as floats, a censored time never reached counted as the run's horizon."""
    values = runs[list(columns)].astype("Float64")
    for column in (c for c in columns if c in CENSORED):
        values[column] = values[column].fillna(runs["steps"].astype("Float64"))
    return values.astype(float)


def integrated(runs: pd.DataFrame) -> pd.Series:
    """1.0 for a run whose largest component reached 90% of holders within its horizon, else 0.0."""
    return runs["time_to_integration"].notna().astype(float)
