"""Requests for data and how the published sharing rules route them (docs/ODD.md section 3, step 4).

Each month every holder may ask each partner it is linked to for data, with the monthly rate the
scenario's ``demand`` block declares for the pair of kinds when its requests there are answered:
a requester asks less where it expects refusals, and a department more when the public around it
participates.  Requests travel on two channels: the *catalogued* one, between departments on the
provincial platform, where every item is in the graded catalogue; and the *cross-sector* one,
where an item is catalogued only as far as graded catalogues reach (the security countermeasure).
The catalogue decides the path: data in the unconditional tier is granted after the platform's
review when its provider shares (a hoarder has not published it); data that may not be shared is
refused; everything else waits for the provider's decision within its reply window, and a refusal
may be taken to the authority (``simulation/core/authority.py``).  Time is kept in working days
inside the monthly step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import incentives
from agents.incentives import Levers, Requests
from agents.state import Holders
from simulation.config import Parameters, Scenario
from simulation.core.links import Links

KINDS = ("coordinator", "department", "grid", "water", "telecom", "enterprise")
CHANNELS = ("catalogued", "cross_sector")
CATALOGUED, CROSS_SECTOR = 0, 1
_ROLE_KINDS = {"government": ("coordinator", "department"), "enterprise": ("grid", "water", "telecom", "enterprise")}


def demand_matrix(scenario: Scenario) -> np.ndarray:
    """Monthly request rate per link from a requester kind (row) to a provider kind (column): the
    role-level rates, overridden where the scenario names a kind (``grid_from_water``)."""
    rates = np.zeros((len(KINDS), len(KINDS)))
    for name, rate in _by_specificity(scenario.demand.model_dump()):
        requester, provider = name.split("_from_")
        for a in _ROLE_KINDS.get(requester, (requester,)):
            for b in _ROLE_KINDS.get(provider, (provider,)):
                rates[KINDS.index(a), KINDS.index(b)] = rate
    return rates


def _by_specificity(rates: dict[str, float]) -> list[tuple[str, float]]:
    """Role-level rules first, so a rule naming a kind overrides them."""
    def named_kinds(name: str) -> int:
        return sum(side not in _ROLE_KINDS for side in name.split("_from_"))
    return sorted(rates.items(), key=lambda item: named_kinds(item[0]))


@dataclass(frozen=True)
class Requested:
    """This month's requests, one row each, as routed: who asks whom for what."""

    link: np.ndarray  # index into the model's links
    requester: np.ndarray  # holder index
    provider: np.ndarray  # holder index
    provider_is_u: np.ndarray  # the data goes u -> v over the link
    channel: np.ndarray  # CATALOGUED (department to department) or CROSS_SECTOR
    catalogued: np.ndarray  # the requested data is in a graded catalogue
    view: Requests  # what the decision rules read

    def __len__(self) -> int:
        return len(self.link)


@dataclass(frozen=True)
class RequestBatch(Requested):
    """This month's requests and what became of them (the requests phase's result)."""

    decided: np.ndarray  # left to the provider's decision (not granted by the platform, not unshareable)
    granted: np.ndarray  # by the platform or the provider, voluntarily
    refused: np.ndarray  # by the provider (escalated or not), not-shareable excluded
    escalated: np.ndarray  # taken to the authority (its ruling comes with the authority's queue)
    timely: np.ndarray  # granted within the rule's window by a sharing provider
    beyond_window: np.ndarray  # the provider answered after its reply window
    wait_days: np.ndarray  # working days to the provider's answer (an escalated case waits on in the queue)

    @property
    def fulfilled(self) -> np.ndarray:
        """Granted voluntarily this month (grants the authority forces are the month's rulings)."""
        return self.granted


@dataclass(frozen=True)
class Demand:
    """Which links carry a request this month, and how much demand expected refusals discouraged."""

    link: np.ndarray  # link index of each request
    u_asks: np.ndarray  # True where u asks v rather than v asks u
    discouraged: float  # requests expected at the full-need rate, less those expected at the rate used


def public_pull(p: Parameters, watched, is_department):
    """Factor on a holder's request rates from the public around it: a department asks more as more
    of its public neighbours participate."""
    return 1.0 + p.public_demand * watched * is_department


def readiness(p: Parameters, expects):
    """Share of its full-need rate a requester asks at on a link where it expects ``expects`` of its
    requests to be fulfilled."""
    return 1.0 - p.demand_discouragement * (1.0 - expects)


def draw_requests(rng: np.random.Generator, p: Parameters, rates: np.ndarray, kind_code: np.ndarray, links: Links,
                  public_pull: np.ndarray) -> Demand:
    """Each direction of each link asks with its kinds' rate, times the requester's readiness to ask
    there (``demand_discouragement`` of it lost as its expected fulfilment falls to 0) and the pull
    of its participating public (``public_pull`` per holder, 1 where none)."""
    u, v = links.u, links.v
    ku, kv = kind_code[u], kind_code[v]
    full_u, full_v = np.minimum(1.0, rates[ku, kv] * public_pull[u]), np.minimum(1.0, rates[kv, ku] * public_pull[v])
    rate_u = full_u * readiness(p, links.u_expects)
    rate_v = full_v * readiness(p, links.v_expects)
    u_asks = np.flatnonzero(rng.random(len(u)) < rate_u)
    v_asks = np.flatnonzero(rng.random(len(u)) < rate_v)
    discouraged = float(full_u.sum() + full_v.sum() - rate_u.sum() - rate_v.sum())
    return Demand(np.concatenate([u_asks, v_asks]),
                  np.concatenate([np.ones(len(u_asks), bool), np.zeros(len(v_asks), bool)]), discouraged)


@dataclass(frozen=True)
class Agents:
    """What routing reads of the agents, one entry per node (a holder's row is its node): strategy,
    cognition and the value of data to each one's role; and per holder, the share of its public
    neighbours who participate."""

    strategy: np.ndarray
    cognition: np.ndarray
    role_value: np.ndarray
    watched: np.ndarray


def route(rng: np.random.Generator, p: Parameters, lv: Levers, holders: Holders, agents: Agents, links: Links,
          demand: Demand, service: float, government: int) -> Requested:
    """Describe each request as the rules see it: its channel, its size, its provider's data and the
    path its tier sets.  Nodes below ``government`` are departments; ``service`` is the chance the
    authority decides an escalated case in time, as its queue last showed."""
    link, u_asks = demand.link, demand.u_asks
    requester = np.where(u_asks, links.u[link], links.v[link])
    provider = np.where(u_asks, links.v[link], links.u[link])
    n = len(link)
    between_departments = (requester < government) & (provider < government)
    catalogued = between_departments | (rng.random(n) < lv.tiering)
    draw = rng.random(n)
    is_open = draw < holders.open[provider]
    is_restricted = draw >= holders.open[provider] + holders.conditional[provider]
    not_shareable = np.where(catalogued, is_restricted, holders.restricted[provider] > p.restricted_tolerance)
    sensitive = holders.conditional[provider] + holders.restricted[provider]
    exposure = np.where(catalogued, np.where(is_open, 0.0, p.tiered_exposure), sensitive)
    need = np.minimum(holders.volume[requester], holders.volume[provider])
    view = Requests(
        size=p.request_share * need, quality=holders.quality[provider],
        technology=holders.technology[provider], security=holders.security[provider], trust=links.trust[link],
        exposure=exposure, automatic=catalogued & is_open, not_shareable=not_shareable,
        conditional=(~is_open & ~is_restricted).astype(float), obliged=between_departments.astype(float),
        requester_shares=agents.strategy[requester].astype(float),
        provider_shares=agents.strategy[provider].astype(float),
        watched=agents.watched[provider], perception=agents.cognition[requester],
        provider_perception=agents.cognition[provider], provider_value=agents.role_value[provider],
        requester_value=agents.role_value[requester],
        restricted=is_restricted.astype(float), service=service)
    channel = np.where(between_departments, CATALOGUED, CROSS_SECTOR).astype(np.int8)
    return Requested(link, requester, provider, ~u_asks, channel, catalogued, view)


def decide(rng: np.random.Generator, p: Parameters, lv: Levers, requested: Requested) -> RequestBatch:
    """Platform grants, providers' decisions, the requesters' escalations (where a case is worth its
    effort) and the working days it all takes."""
    req, n = requested.view, len(requested)
    sharer = req.provider_shares > 0
    by_platform = req.automatic & sharer
    decided = ~req.not_shareable & ~by_platform
    chance = incentives.discretionary_grant(p, req, req.provider_shares, req.requester_shares)
    granted = by_platform | (decided & (rng.random(n) < chance))
    refused = decided & ~granted
    worth = incentives.escalation_worth(p, lv, req, req.requester_value)
    escalated = refused & (rng.random(n) < lv.escalation) & worth
    # A sharer has published its catalogue, so its data is on the platform; anything else must be
    # published first, which the rules allow more days for.  A hoarder answers late.
    window = np.where(by_platform, 0, np.where(requested.catalogued & sharer, p.reply_days_published,
                                               p.reply_days_unpublished))
    in_time = np.ceil(rng.random(n) * window)
    late = window + np.ceil(rng.random(n) * p.late_days_max)
    reply = np.where(decided & ~sharer, late, in_time)
    beyond_window = decided & (reply > window)
    reply = np.where(req.not_shareable & requested.catalogued, 0, reply)  # the platform's review refuses it
    return RequestBatch(**vars(requested), decided=decided, granted=granted, refused=refused, escalated=escalated,
                        timely=granted & sharer, beyond_window=beyond_window, wait_days=p.review_days + reply)
