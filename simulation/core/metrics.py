"""Metrics, defined once (docs/ODD.md section 5).  ``METRICS`` is the column order of every
timeseries; ``SUMMARY_EXTRAS`` are the run-level figures derived from a timeseries."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

METRICS = (
    "step", "sharing_volume", "cumulative_volume",
    "volume_gov_gov", "volume_gov_ent", "volume_ent_gov", "volume_ent_ent",
    "adoption_government", "adoption_enterprise", "adoption_public", "adoption_holders",
    "islands", "isolated_share", "largest_component_share", "mean_isolation_spell",
    "mean_trust", "mean_cognition", "mean_quality", "mean_technology",
    "remediation_cost", "incidents", "incident_loss", "countermeasure_cost",
    "payoff_government", "payoff_enterprise", "payoff_public",
)

CHANNELS = ("volume_gov_gov", "volume_gov_ent", "volume_ent_gov", "volume_ent_ent")

INTEGRATION_THRESHOLD = 0.9
HALF_ADOPTION = 0.5


def components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the undirected graph on nodes 0..n-1 with edges (u, v);
    isolated nodes count as components.  Returns (count, component label per node)."""
    if n == 0:
        return 0, np.empty(0, dtype=np.int64)
    ones = np.ones(len(u), dtype=np.int8)
    adjacency = coo_matrix((ones, (u, v)), shape=(n, n)).tocsr()
    return connected_components(adjacency, directed=False)


def island_metrics(n: int, u: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """Islands on the graph of holders joined by a recent flow."""
    count, labels = components(n, u, v)
    if n == 0:
        return {"islands": 0, "isolated_share": 0.0, "largest_component_share": 0.0}
    degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    sizes = np.bincount(labels)
    return {
        "islands": int(count),
        "isolated_share": float(np.mean(degree == 0)),
        "largest_component_share": float(sizes.max() / n),
    }


def first_step(series: pd.Series, steps: pd.Series, threshold: float) -> int | None:
    hits = steps[series.to_numpy() >= threshold]
    return int(hits.iloc[0]) if len(hits) else None


def summarise(timeseries: pd.DataFrame) -> dict[str, float | int | None]:
    """Run-level figures: time to integration, time to half adoption, remediation share of costs,
    and the final value of every metric."""
    steps = timeseries["step"]
    final = timeseries.iloc[-1]
    remediation = float(timeseries["remediation_cost"].sum())
    costs = remediation + float(timeseries["incident_loss"].sum()) + float(timeseries["countermeasure_cost"].sum())
    summary: dict[str, float | int | None] = {
        "time_to_integration": first_step(timeseries["largest_component_share"], steps, INTEGRATION_THRESHOLD),
        "time_to_half_adoption": first_step(timeseries["adoption_holders"], steps, HALF_ADOPTION),
        "remediation_share": remediation / costs if costs > 0 else 0.0,
        "total_countermeasure_cost": float(timeseries["countermeasure_cost"].sum()),
        "incidents_per_volume": float(timeseries["incidents"].sum()) / max(float(final["cumulative_volume"]), 1e-12),
    }
    for name in METRICS:
        if name != "step":
            value = final[name]
            summary[name] = int(value) if name in ("islands", "incidents") else float(value)
    return summary


SUMMARY_EXTRAS = ("time_to_integration", "time_to_half_adoption", "remediation_share",
                  "total_countermeasure_cost", "incidents_per_volume")
