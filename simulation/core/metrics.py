"""Metrics, defined once (docs/ODD.md section 5): each is named and measured in one place below.

A measure is a function of the model after its step, that step's :class:`StepOutcome` and the
previous month's metrics; :func:`metric` registers it under the names of the values it returns, in
column order.  ``METRICS`` is the column order of every timeseries; ``summarise`` derives the
run-level figures from a timeseries.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from agents.roles import Role

Measure = Callable[[Any, Any, dict], tuple]
_MEASURES: list[tuple[tuple[str, ...], Measure]] = []


def metric(*names: str) -> Callable[[Measure], Measure]:
    """Register a measure returning one value per name, in that order."""
    def register(measure: Measure) -> Measure:
        _MEASURES.append((names, measure))
        return measure
    return register


def measure(model, outcome, previous: dict) -> dict[str, float]:
    """Every metric of the model after a step (``previous`` is the last month's, empty at the start)."""
    values: dict[str, float] = {}
    for names, formula in _MEASURES:
        values.update(zip(names, formula(model, outcome, previous), strict=True))
    return values


CHANNELS = ("volume_gov_gov", "volume_gov_ent", "volume_ent_gov", "volume_ent_ent")
_CHANNEL_ROLES = ((Role.GOVERNMENT, Role.GOVERNMENT), (Role.GOVERNMENT, Role.ENTERPRISE),
                  (Role.ENTERPRISE, Role.GOVERNMENT), (Role.ENTERPRISE, Role.ENTERPRISE))


@metric("step")
def _step(model, outcome, previous):
    return (int(model.steps),)


@metric("sharing_volume", "cumulative_volume", *CHANNELS)
def _volumes(model, outcome, previous):
    """Data sent over holder links this month, by sender and receiver role, and since the start."""
    links, flows = model.links, outcome.flows
    ru, rv = model.role[links.u], model.role[links.v]
    channels = [float(flows.forward[(ru == src) & (rv == dst)].sum() + flows.backward[(rv == src) & (ru == dst)].sum())
                for src, dst in _CHANNEL_ROLES]
    volume = float(sum(channels))
    return (volume, previous.get("cumulative_volume", 0.0) + volume, *channels)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


@metric("adoption_government", "adoption_enterprise", "adoption_public", "adoption_holders")
def _adoption(model, outcome, previous):
    """Share of each role playing strategy 1 (active, sharing, participating), and of all holders."""
    by_role = [_mean(model.strategy[rows]) for rows in model.role_rows()]
    return (*by_role, float(model.strategy[:model.layout.holders].mean()))


@metric("islands", "isolated_share", "largest_component_share")
def _islands(model, outcome, previous):
    """Islands on the graph of holders joined by a flow within the flow window."""
    links, recent = model.links, outcome.recent
    found = island_metrics(model.layout.holders, links.u[recent], links.v[recent])
    return found["islands"], found["isolated_share"], found["largest_component_share"]


@metric("mean_isolation_spell")
def _isolation(model, outcome, previous):
    """Months an isolated holder has been without a recent flow, on average over isolated holders."""
    isolated = model.isolation_spell > 0
    return (float(model.isolation_spell[isolated].mean()) if isolated.any() else 0.0,)


@metric("mean_trust", "mean_cognition", "mean_quality", "mean_technology")
def _capabilities(model, outcome, previous):
    return (_mean(model.links.trust), float(model.cognition.mean()), float(model.quality.mean()),
            float(model.technology.mean()))


@metric("remediation_cost", "incidents", "incident_loss", "countermeasure_cost")
def _costs(model, outcome, previous):
    return (outcome.remediation_cost, int(outcome.incidents), float(outcome.incident_loss), float(outcome.countermeasure_cost))


@metric("payoff_government", "payoff_enterprise", "payoff_public")
def _payoffs(model, outcome, previous):
    """Mean payoff earned this month by each role (benefits fully perceived)."""
    return tuple(_mean(model.payoff[rows]) for rows in model.role_rows())


METRICS = tuple(name for names, _ in _MEASURES for name in names)

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
