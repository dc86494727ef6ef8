"""Requests for data and how the published sharing rules route them (docs/ODD.md section 3, step 4).

Each month every holder may ask each partner it is linked to for data, with the monthly rate the
scenario's ``demand`` block declares for the pair of kinds.  The provider's catalogue decides the
path: data in the unconditional tier is granted after the platform's review when its provider
shares (a hoarder has not published it); data that may not be shared is refused; everything else
waits for the provider's decision within its reply window, and a refusal may be escalated to a
coordinating authority that arbitrates.  Time is kept in working days inside the monthly step.
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
    catalogued: np.ndarray  # the requested data is in a graded catalogue
    view: Requests  # what the decision rules read

    def __len__(self) -> int:
        return len(self.link)


@dataclass(frozen=True)
class RequestBatch(Requested):
    """This month's requests and what became of them (the requests phase's result)."""

    decided: np.ndarray  # left to the provider's decision (not granted by the platform, not unshareable)
    granted: np.ndarray  # by the platform or the provider
    refused: np.ndarray  # by the provider (escalated or not), not-shareable excluded
    escalated: np.ndarray
    arbitrated: np.ndarray  # escalated and ruled for sharing
    timely: np.ndarray  # granted within the rule's window by a sharing provider
    beyond_window: np.ndarray  # the provider answered after its reply window
    wait_days: np.ndarray

    @property
    def fulfilled(self) -> np.ndarray:
        return self.granted | self.arbitrated


def draw_requests(rng: np.random.Generator, rates: np.ndarray, kind_code: np.ndarray, u: np.ndarray,
                  v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which links carry a request this month: (link index, True where u asks v rather than v asks u)."""
    ku, kv = kind_code[u], kind_code[v]
    u_asks = np.flatnonzero(rng.random(len(u)) < rates[ku, kv])
    v_asks = np.flatnonzero(rng.random(len(u)) < rates[kv, ku])
    return np.concatenate([u_asks, v_asks]), np.concatenate([np.ones(len(u_asks), bool), np.zeros(len(v_asks), bool)])


def route(rng: np.random.Generator, p: Parameters, lv: Levers, holders: Holders, strategy: np.ndarray, links: Links,
          link: np.ndarray, u_asks: np.ndarray, watched: np.ndarray, perception: np.ndarray) -> Requested:
    """Describe each request as the rules see it: its size, its provider's data and the path its tier
    sets.  ``strategy`` is every agent's (a holder's row is its node), ``watched`` per holder and
    ``perception`` per agent."""
    requester = np.where(u_asks, links.u[link], links.v[link])
    provider = np.where(u_asks, links.v[link], links.u[link])
    n = len(link)
    catalogued = rng.random(n) < lv.tiering
    draw = rng.random(n)
    is_open = draw < holders.open[provider]
    is_restricted = draw >= holders.open[provider] + holders.conditional[provider]
    not_shareable = np.where(catalogued, is_restricted, holders.restricted[provider] > p.restricted_tolerance)
    sensitive = holders.conditional[provider] + holders.restricted[provider]
    exposure = np.where(catalogued, np.where(is_open, 0.0, p.tiered_exposure), sensitive)
    view = Requests(
        size=p.request_share * holders.volume[provider], quality=holders.quality[provider],
        technology=holders.technology[provider], security=holders.security[provider], trust=links.trust[link],
        exposure=exposure, automatic=catalogued & is_open, not_shareable=not_shareable,
        requester_shares=strategy[requester].astype(float), provider_shares=strategy[provider].astype(float),
        watched=watched[provider], perception=perception[requester], restricted=is_restricted.astype(float))
    return Requested(link, requester, provider, ~u_asks, catalogued, view)


def decide(rng: np.random.Generator, p: Parameters, lv: Levers, requested: Requested) -> RequestBatch:
    """Platform grants, providers' decisions, escalation, arbitration and the working days it all takes."""
    req, n = requested.view, len(requested)
    sharer = req.provider_shares > 0
    by_platform = req.automatic & sharer
    decided = ~req.not_shareable & ~by_platform
    chance = incentives.discretionary_grant(p, req, req.provider_shares, req.requester_shares)
    granted = by_platform | (decided & (rng.random(n) < chance))
    refused = decided & ~granted
    escalated = refused & (rng.random(n) < lv.escalation)
    arbitrated = escalated & (rng.random(n) < lv.arbitration) & (req.restricted == 0)
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
                        arbitrated=arbitrated, timely=granted & sharer, beyond_window=beyond_window,
                        wait_days=p.review_days + reply + escalated * p.arbitration_days)
