"""Metrics, defined once (docs/ODD.md section 7): each is named and measured in one place below.

A measure is a function of the model after its step, that step's
:class:`~simulation.core.month.Month` (each phase's result) and the previous month's metrics;
:func:`metric` registers it under the names of the values it returns, in column order.
``METRICS`` is the column order of every timeseries; ``summarise`` derives the run-level figures
from a timeseries.
"""

from __future__ import annotations

from typing import Any, Callable
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from agents.roles import Role
from simulation.core.requests import CHANNELS as REQUEST_CHANNELS
from simulation.core.requests import KINDS

Measure = Callable[[Any, Any, dict], tuple]
_MEASURES: list[tuple[tuple[str, ...], Measure]] = []


def metric(*names: str) -> Callable[[Measure], Measure]:
    """Register a measure returning one value per name, in that order."""
    def register(measure: Measure) -> Measure:
        _MEASURES.append((names, measure))
        return measure
    return register


def measure(model, month, previous: dict) -> dict[str, float]:
    """Every metric of the model after a step (``previous`` is the last month's, empty at the start)."""
    values: dict[str, float] = {}
    for names, formula in _MEASURES:
        values.update(zip(names, formula(model, month, previous), strict=True))
    return values


CHANNELS = ("volume_gov_gov", "volume_gov_ent", "volume_ent_gov", "volume_ent_ent")
_CHANNEL_ROLES = ((Role.GOVERNMENT, Role.GOVERNMENT), (Role.GOVERNMENT, Role.ENTERPRISE),
                  (Role.ENTERPRISE, Role.GOVERNMENT), (Role.ENTERPRISE, Role.ENTERPRISE))


@metric("step")
def _step(model, month, previous):
    return (int(model.steps),)


def _units_between(model, month, provider_mask: np.ndarray, requester_mask: np.ndarray) -> float:
    d = month.deliveries
    if d is None:
        return 0.0
    moved = provider_mask[d.provider] & requester_mask[d.requester]
    return float(d.size[moved].sum())


@metric("sharing_volume", "cumulative_volume", *CHANNELS)
def _volumes(model, month, previous):
    """Data units delivered this month (granted or ordered by the authority), by provider and
    requester role (the first role provides), and since the start."""
    d, channels = month.deliveries, [0.0] * len(CHANNELS)
    if d is not None:
        pair = 2 * model.population.role[d.provider].astype(np.int64) + model.population.role[d.requester]
        by_pair = np.bincount(pair, d.size, minlength=4)
        channels = [float(by_pair[2 * src + dst]) for src, dst in _CHANNEL_ROLES]
    volume = float(month.flows.sent.sum())
    return (volume, previous.get("cumulative_volume", 0.0) + volume, *channels)


@metric("volume_grid_water", "volume_water_grid", "grid_sharing")
def _grid(model, month, previous):
    """The case's central exchange: units the grid company provides to the water companies and
    receives from them this month, and whether it plays share."""
    kinds = model.holders.kind_code
    grid, water = kinds == KINDS.index("grid"), kinds == KINDS.index("water")
    sharing = float(model.population.strategy[model.layout.grid]) if grid.any() else 0.0
    return _units_between(model, month, grid, water), _units_between(model, month, water, grid), sharing


def answered_waits(month, channel: int | None = None) -> np.ndarray:
    """Working days from filing to the final answer of the requests answered this month: the
    provider's answer where no case followed, the authority's ruling for the cases it decided."""
    batch, decided = month.requests, month.rulings.decided
    final = ~batch.escalated
    if channel is not None:
        return np.concatenate([batch.wait_days[final & (batch.channel == channel)],
                               month.rulings.wait_days[decided.channel == channel]])
    return np.concatenate([batch.wait_days[final], month.rulings.wait_days])


def _wait_figures(waits: np.ndarray) -> tuple[float, float]:
    return (float(waits.mean()), float(np.percentile(waits, 90))) if len(waits) else (0.0, 0.0)


@metric("requests_filed", "requests_granted", "requests_refused", "requests_escalated", "requests_not_shareable",
        "fulfilment_rate", "wait_mean_days", "wait_p90_days", "beyond_window_share")
def _requests(model, month, previous):
    """Requests this month: filed; delivered (granted by the platform or the provider, or ordered by
    the authority on a case, which may have been filed in an earlier month); refused (filed less
    delivered, not shareable included); escalated to the authority; not shareable at all; delivered
    per request filed, at most 1; working days from filing to the final answer of the requests
    answered this month (mean and 90th percentile); and the share of the requests a provider decided
    on that it answered after the rule's reply window."""
    batch = month.requests
    if batch is None or len(batch) == 0:
        return 0, 0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0
    filed, granted = len(batch), len(month.deliveries)
    beyond = float(batch.beyond_window[batch.decided].mean()) if batch.decided.any() else 0.0
    return (filed, granted, max(0, filed - granted), int(batch.escalated.sum()), int(batch.view.not_shareable.sum()),
            min(1.0, granted / filed), *_wait_figures(answered_waits(month)), beyond)


def _channel_names(figure: str) -> tuple[str, ...]:
    return tuple(f"{figure}_{channel}" for channel in REQUEST_CHANNELS)


@metric(*_channel_names("requests"), *_channel_names("fulfilment"), *_channel_names("wait_mean_days"),
        *_channel_names("wait_p90_days"), *_channel_names("volume"))
def _by_channel(model, month, previous):
    """Per channel (catalogued between departments, cross-sector): requests filed this month, the
    share delivered (as ``fulfilment_rate``), the final waits of those answered, and the units delivered."""
    batch, d = month.requests, month.deliveries
    count = len(REQUEST_CHANNELS)
    if batch is None:
        return (0,) * count + (0.0,) * (4 * count)
    filed = np.bincount(batch.channel, minlength=count)
    delivered = np.bincount(d.channel, minlength=count)
    fulfilment = [min(1.0, delivered[c] / filed[c]) if filed[c] else 0.0 for c in range(count)]
    waits = [_wait_figures(answered_waits(month, c)) for c in range(count)]
    volume = np.bincount(d.channel, d.size, minlength=count)
    return (*[int(x) for x in filed], *fulfilment, *[w[0] for w in waits], *[w[1] for w in waits],
            *[float(x) for x in volume])


@metric("grants_voluntary", "grants_forced", "volume_voluntary", "volume_forced", "cases_decided", "cases_withdrawn",
        "authority_backlog", "demand_discouraged")
def _authority(model, month, previous):
    """Deliveries granted voluntarily and forced by the authority (count and units); cases the
    authority decided this month, withdrawn unheard, and still queued; and the requests expected at
    the requesters' full need that expected refusals discouraged this month."""
    d, rulings = month.deliveries, month.rulings
    if d is None:
        return 0, 0, 0.0, 0.0, 0, 0, 0, 0.0
    forced = d.forced
    return (int((~forced).sum()), int(forced.sum()), float(d.size[~forced].sum()), float(d.size[forced].sum()),
            len(rulings.decided), rulings.withdrawn, rulings.backlog, float(month.discouraged))


@metric("requests_unconditional", "requests_conditional", "wait_unconditional_days", "wait_conditional_days",
        "conditional_beyond_window_share")
def _tiers(model, month, previous):
    """Requests this month for catalogued data of the unconditional and of the conditional tier, the
    mean working days each waited (0 when there were none), and the share of the conditional ones
    answered after the rule's reply window (all of them are decided by the provider)."""
    batch = month.requests
    if batch is None or len(batch) == 0:
        return 0, 0, 0.0, 0.0, 0.0
    unconditional = batch.view.automatic
    conditional = batch.catalogued & ~unconditional & (batch.view.restricted == 0)
    return (int(unconditional.sum()), int(conditional.sum()), _mean(batch.wait_days[unconditional]),
            _mean(batch.wait_days[conditional]), _mean(batch.beyond_window[conditional].astype(float)))


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


@metric("adoption_government", "adoption_enterprise", "adoption_public", "adoption_holders")
def _adoption(model, month, previous):
    """Share of each role playing strategy 1 (active, sharing, participating), and of all holders."""
    by_role = [_mean(model.population.strategy[rows]) for rows in model.role_rows()]
    return (*by_role, float(model.population.strategy[:model.layout.holders].mean()))


@metric("volume_telecom")
def _telecom(model, month, previous):
    """Units the telecom operators provided this month (the case: their data was never integrated)."""
    telecom = model.holders.kind_code == KINDS.index("telecom")
    return (_units_between(model, month, telecom, np.ones(model.layout.holders, dtype=bool)),)


@metric("islands", "isolated_share", "largest_component_share")
def _islands(model, month, previous):
    """Data islands, the headline: holders joined only where data went both ways within the flow
    window (an exchange), so a holder that only receives data is not counted as integrated."""
    return _island_graphs(model, month)[1]


@metric("islands_either_way", "isolated_either_way_share", "largest_either_way_share", "producer_integration")
def _either_way(model, month, previous):
    """Islands when a delivery either way within the window joins two holders (Model 2's headline),
    and the share of holders whose own data reached another holder within the window."""
    produced = (model.steps - model.holders.last_provided) < model.params.flow_window
    return (*_island_graphs(model, month)[0], _mean(produced.astype(float)))


@metric("producer_integration_government", "producer_integration_enterprise")
def _producers_by_role(model, month, previous):
    """``producer_integration`` within each holder role: the share of departments, and of
    enterprises, whose data reached another holder within the window."""
    produced = ((model.steps - model.holders.last_provided) < model.params.flow_window).astype(float)
    government, enterprise, _ = model.role_rows()
    return _mean(produced[government]), _mean(produced[enterprise])


def once_a_month(month, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` the first time ``key`` is asked for in ``month``, then what it gave: what several
    measures (and the model's isolation spells) read is found once a month."""
    found = _FOUND.setdefault(month, {})
    if key not in found:
        found[key] = compute()
    return found[key]


_FOUND: WeakKeyDictionary = WeakKeyDictionary()  # month -> what was found in it, while the month lives


def recent_links(model, month) -> np.ndarray:
    """Which holder links carried a fulfilled request within the flow window, either way (the islands graph)."""
    return once_a_month(month, "recent", model.recent_flow_mask)


def _island_graphs(model, month) -> tuple[tuple, tuple]:
    """Island metrics of the either-way and of the two-way graph of the month, found in one pass."""
    def find():
        links, either, both = model.links, recent_links(model, month), model.recent_flow_mask(two_way=True)
        return island_metrics_pair(model.layout.holders, (links.u[either], links.v[either]),
                                   (links.u[both], links.v[both]))
    return tuple(tuple(found[key] for key in ("islands", "isolated_share", "largest_component_share"))
                 for found in once_a_month(month, "islands", find))


@metric("mean_isolation_spell")
def _isolation(model, month, previous):
    """Months an isolated holder has been without a recent fulfilled request, on average over isolated holders."""
    isolated = model.holders.isolation_spell > 0
    return (float(model.holders.isolation_spell[isolated].mean()) if isolated.any() else 0.0,)


@metric("mean_trust", "mean_cognition", "mean_quality", "mean_technology")
def _capabilities(model, month, previous):
    return (_mean(model.links.trust), float(model.population.cognition.mean()), float(model.holders.quality.mean()),
            float(model.holders.technology.mean()))


@metric("remediation_cost", "handling_cost", "negotiation_cost", "incidents", "incident_loss", "countermeasure_cost",
        "fines_collected", "net_countermeasure_cost", "authority_cost", "prices_paid")
def _money(model, month, previous):
    """Costs of the data provided this month, incidents, what the countermeasures paid out (the
    authority's cases included), the fines they collected, the net cost to the public purse (outlays
    less fines), the authority's share of the outlays, and the prices requesters paid providers."""
    settled = month.settlement
    ledger = settled.ledger
    return (settled.remediation_cost, settled.handling_cost, settled.negotiation_cost, int(settled.incidents),
            float(settled.incident_loss), float(settled.countermeasure_cost), float(ledger.fines.sum()),
            float(ledger.net_cost), float(ledger.cases), float(ledger.price_paid.sum()))


@metric("payoff_government", "payoff_enterprise", "payoff_public", "interest_balance")
def _payoffs(model, month, previous):
    """Mean payoff earned this month by each role (benefits fully perceived), and the interest
    balance: the share of the three roles whose mean payoff from the sharing system is positive."""
    by_role = tuple(_mean(model.population.payoff[rows]) for rows in model.role_rows())
    return (*by_role, float(np.mean([value > 0 for value in by_role])))


METRICS = tuple(name for names, _ in _MEASURES for name in names)
COUNTS = ("step", "islands", "islands_either_way", "incidents", "requests_filed", "requests_granted",
          "requests_refused", "requests_escalated", "requests_not_shareable", "requests_unconditional",
          "requests_conditional", *_channel_names("requests"), "grants_voluntary", "grants_forced", "cases_decided",
          "cases_withdrawn", "authority_backlog")

HALF_ADOPTION = 0.5

def components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the undirected graph on nodes 0..n-1 with edges (u, v);
    isolated nodes count as components.  Returns (count, component label per node)."""
    if n == 0:
        return 0, np.empty(0, dtype=np.int64)
    # Each edge once, as a directed adjacency in CSR form built by hand (no COO conversion and no
    # transpose): weakly connected components of it are the undirected components.
    order = np.argsort(u, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=n))])
    adjacency = csr_matrix((np.ones(len(u)), v[order], indptr), shape=(n, n))
    return connected_components(adjacency, directed=True, connection="weak")


def island_metrics(n: int, u: np.ndarray, v: np.ndarray) -> dict[str, float]:
    """Islands on the graph of holders joined by a recent flow."""
    return island_metrics_pair(n, (u, v), (u[:0], v[:0]))[0]


def island_metrics_pair(n: int, first: tuple, second: tuple) -> tuple[dict, dict]:
    """Island metrics of two graphs on the same n nodes, found in one pass over the two side by side."""
    if n == 0:
        empty = {"islands": 0, "isolated_share": 0.0, "largest_component_share": 0.0}
        return empty, dict(empty)
    _, labels = components(2 * n, np.concatenate([first[0], second[0] + n]), np.concatenate([first[1], second[1] + n]))
    found = []
    for half, (u, v) in enumerate((first, second)):
        sizes = np.bincount(labels[half * n:(half + 1) * n])
        degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
        found.append({"islands": int(np.count_nonzero(sizes)), "isolated_share": float(np.mean(degree == 0)),
                      "largest_component_share": float(sizes.max() / n)})
    return found[0], found[1]


def first_step(series: pd.Series, steps: pd.Series, threshold: float) -> int | None:
    hits = steps[series.to_numpy() >= threshold]
    return int(hits.iloc[0]) if len(hits) else None


def first_lasting_step(series: pd.Series, steps: pd.Series, threshold: float, months: int) -> int | None:
    """First step from which ``series`` stays at or above ``threshold`` for ``months`` steps in a row."""
    above = series.to_numpy() >= threshold
    run = 0
    for i, hit in enumerate(above):
        run = run + 1 if hit else 0
        if run == months:
            return int(steps.iloc[i - months + 1])
    return None


def summarise(timeseries: pd.DataFrame, persistence: int = 6,
              threshold: float = 0.9) -> dict[str, float | int | None]:
    """Run-level figures: time to lasting integration (the largest two-way component holds
    ``threshold`` of holders for ``persistence`` months in a row), time to half adoption, the
    remediation share of all costs of providing data, the countermeasure cost gross and net of
    fines, incidents per unit, the fulfilment rate over the horizon overall and by channel, the
    share of the volume the authority forced, the interest balance over the horizon, and the final
    value of every metric."""
    steps = timeseries["step"]
    final = timeseries.iloc[-1]
    total = {name: float(timeseries[name].sum()) for name in
             ("remediation_cost", "handling_cost", "negotiation_cost", "incident_loss", "countermeasure_cost",
              "net_countermeasure_cost", "incidents", "requests_filed", "requests_granted", "volume_forced",
              "sharing_volume", *_channel_names("requests"), *_channel_names("volume"))}
    costs = total["remediation_cost"] + total["handling_cost"] + total["negotiation_cost"] + total["incident_loss"]
    summary: dict[str, float | int | None] = {
        "time_to_lasting_integration": first_lasting_step(timeseries["largest_component_share"], steps,
                                                          threshold, persistence),
        "time_to_half_adoption": first_step(timeseries["adoption_holders"], steps, HALF_ADOPTION),
        "remediation_cost_share": total["remediation_cost"] / costs if costs > 0 else 0.0,
        "total_countermeasure_cost": total["countermeasure_cost"],
        "total_net_countermeasure_cost": total["net_countermeasure_cost"],
        "incidents_per_volume": total["incidents"] / max(float(final["cumulative_volume"]), 1e-12),
        "fulfilment_overall": _ratio(total["requests_granted"], total["requests_filed"]),
        **{f"fulfilment_overall_{channel}": _channel_fulfilment(timeseries, channel) for channel in REQUEST_CHANNELS},
        "forced_volume_share": _ratio(total["volume_forced"], total["sharing_volume"]),
        "interest_balance_overall": _interest_balance(timeseries),
    }
    for name in METRICS:
        if name != "step":
            value = final[name]
            summary[name] = int(value) if name in COUNTS else float(value)
    return summary


def _ratio(part: float, whole: float) -> float:
    return min(1.0, part / whole) if whole else 0.0


def _channel_fulfilment(timeseries: pd.DataFrame, channel: str) -> float:
    """Delivered per request filed on one channel over the horizon."""
    filed = timeseries[f"requests_{channel}"]
    return _ratio(float((timeseries[f"fulfilment_{channel}"] * filed).sum()), float(filed.sum()))


def _interest_balance(timeseries: pd.DataFrame) -> float:
    """Share of the three roles whose payoff from the sharing system, summed over the horizon, is positive."""
    return float(np.mean([timeseries[f"payoff_{role}"].sum() > 0 for role in ("government", "enterprise", "public")]))


SUMMARY_EXTRAS = ("time_to_lasting_integration", "time_to_half_adoption", "remediation_cost_share",
                  "total_countermeasure_cost", "total_net_countermeasure_cost", "incidents_per_volume",
                  "fulfilment_overall", *(f"fulfilment_overall_{channel}" for channel in REQUEST_CHANNELS),
                  "forced_volume_share", "interest_balance_overall")
