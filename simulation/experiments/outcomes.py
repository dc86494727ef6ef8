"""Run-level outcomes as analyses read them from ``runs.parquet``, with one rule for censored times.

``time_to_lasting_integration`` (the first month from which the largest two-way component holds
``integration_threshold`` of holders for ``integration_persistence`` months in a row) and ``time_to_half_adoption`` are
right-censored: a run that never gets there within its horizon has no value.  Wherever such times
are averaged, a run that never gets there counts as its horizon (``steps``), so a mean is the
restricted mean time over the horizon; whether runs get there at all is reported beside it
(:func:`integrated`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

INTEGRATION_TIME = "time_to_lasting_integration"
CENSORED = (INTEGRATION_TIME, "time_to_half_adoption")


def horizon_filled(runs: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The runs' ``columns`` as floats, a censored time never reached counted as the run's horizon."""
    values = runs[list(columns)].astype("Float64")
    for column in (c for c in columns if c in CENSORED):
        values[column] = values[column].fillna(runs["steps"].astype("Float64"))
    return values.astype(float)


def integrated(runs: pd.DataFrame) -> pd.Series:
    """1.0 for a run whose integration lasted (largest two-way component >= the integration threshold
    of holders for the persistence window) within its horizon, else 0.0."""
    return runs[INTEGRATION_TIME].notna().astype(float)


# Outcomes of the final year of a run, read from its timeseries: one month is noisy, and a metric of
# requests is only defined in a month with requests.
FINAL_YEAR = 12
FINAL_YEAR_OUTCOMES = {  # run-level outcome: the monthly metric averaged over the final year
    "final_year_volume": "sharing_volume",
    "final_year_fulfilment": "fulfilment_rate",
    "final_year_wait_mean_days": "wait_mean_days",
    "final_year_wait_p90_days": "wait_p90_days",
    "final_year_beyond_window_share": "beyond_window_share",
}
PER_REQUEST = {"fulfilment_rate", "wait_mean_days", "wait_p90_days", "beyond_window_share"}


def final_year(timeseries: pd.DataFrame, by: str | None = None, months: int = FINAL_YEAR) -> pd.DataFrame:
    """Per run (grouped by ``by``, or the one run of ``timeseries``), the mean of each monthly metric
    of ``FINAL_YEAR_OUTCOMES`` over its last ``months`` steps; a metric of requests is averaged over
    the months with requests only (0 when there were none)."""
    ordered = timeseries.sort_values([by, "step"] if by else "step", kind="stable")
    tail = ordered.groupby(by, sort=False).tail(months) if by else ordered.tail(months)
    asked = tail["requests_filed"] > 0
    columns = {name: tail[metric].where(asked) if metric in PER_REQUEST else tail[metric]
               for name, metric in FINAL_YEAR_OUTCOMES.items()}
    frame = pd.DataFrame(columns).astype(float)
    means = frame.groupby(tail[by], sort=False).mean() if by else frame.mean().to_frame().T
    return means.fillna(0.0)
