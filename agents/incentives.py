"""Payoff terms the roles share (docs/ODD.md section 6); each role's own decision rule is in
``agents/government.py``, ``agents/enterprise.py`` and ``agents/public.py``.

Payoffs come from requests for data (docs/ODD.md section 3).  Every term is per request and scales
with the data the request involves, so the largest holder has the most at stake on both sides.  A
rule returns, for each request, the payoff its provider (or requester) expects under each stance,
share or hoard, on *that* request: the model sums them over the month's actual requests, the
mean-field game over the expected ones, and the plain-Mesa reference one request at a time, all
with this code.  ``perception`` scales the value of data itself: learning uses the agent's
cognition, so low cognition under-perceives what data yields, while money (prices, subsidies,
rewards, fines) is understood whatever the cognition; welfare uses 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from simulation.config import Parameters


@dataclass(frozen=True)
class Levers:
    """Effective policy levels at one month, as the countermeasures in force set them (a model's
    levers start from the scenario's base coordination and ownership clarity; see ``Package``)."""

    coordination: float = 0.0  # lowers the cost of negotiating each request
    ownership_clarity: float = 0.0  # lowers the legal risk premium of handing data over
    enterprise_subsidy: float = 0.0  # per data unit an enterprise provides in time
    public_reward: float = 0.0  # per participating member of the public per month
    evaluation_reward: float = 0.0  # per data unit any holder provides in time
    evaluation_penalty: float = 0.0  # per data unit of a detected refusal
    price_per_quality: float = 0.0  # data price per unit at quality 1
    price_cap: float = 0.0
    pricing: float = 0.0  # share of the way to full pricing
    participation_cost_cut: float = 0.0
    tiering: float = 0.0  # chance that requested data is in a graded catalogue
    transparency: float = 0.0  # extra speed of trust gain from answered requests
    escalation: float = 0.0  # chance that a refusal goes to a coordinating authority
    arbitration: float = 0.0  # chance that the authority rules for sharing
    vouched_trust: float = 0.0  # trust the authority lends to links it brokers or arbitrates


@dataclass
class Requests:
    """One row per request: what the decision rules read (all arrays the same length)."""

    size: np.ndarray  # data units the request involves
    quality: np.ndarray  # of the provider's data
    technology: np.ndarray  # provider's
    security: np.ndarray  # provider's
    trust: np.ndarray  # on the link between requester and provider
    exposure: np.ndarray  # share of the requested data that is sensitive
    automatic: np.ndarray  # in the unconditional tier of a graded catalogue: granted if the provider shares
    not_shareable: np.ndarray  # may not be shared at all
    requester_shares: np.ndarray  # 1 if the requester plays share (active), else 0
    provider_shares: np.ndarray  # 1 if the provider plays share (active), else 0
    watched: np.ndarray  # share of the provider's public neighbours who participate
    perception: np.ndarray  # requester's (cognition for learning, 1 for welfare)
    restricted: np.ndarray | float = 0.0  # 1 if the data is in the not-shareable tier, catalogued or not
    _agreement: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def rows(self, mask: np.ndarray) -> "Requests":
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        return Requests(**{name: value[mask] if np.ndim(value) else value for name, value in values.items()})

    def agreement(self, p: Parameters) -> np.ndarray:
        """:func:`grant_probability` of every request, kept: the rules ask for it several times a month."""
        key = (p.trust_threshold, p.trust_softness)
        if self._agreement is None or self._agreement[0] != key:
            self._agreement = (key, grant_probability(p, self.trust))
        return self._agreement[1]


def remediation_unit_cost(p: Parameters, quality: np.ndarray, technology: np.ndarray) -> np.ndarray:
    """Cost of bringing one data unit up to the quality standard; falls with technology."""
    gap = np.maximum(0.0, p.quality_standard - quality)
    return p.remediation_cost * gap * (1.0 - technology)


def unit_price(lv: Levers, quality: np.ndarray) -> np.ndarray:
    """Price per data unit: rises with quality, up to the cap; zero unless pricing is in force."""
    return lv.pricing * np.minimum(lv.price_cap, lv.price_per_quality * quality)


def incident_probability(p: Parameters, security: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Chance that one granted request leaks."""
    return p.incident_probability * (1.0 - security) * exposure


def grant_probability(p: Parameters, trust: np.ndarray) -> np.ndarray:
    """Chance that a willing provider agrees to a conditional request: smooth in trust, one half at
    the threshold and never 0 or 1, so a link of low trust can still carry data and recover."""
    return 1.0 / (1.0 + np.exp(-(trust - p.trust_threshold) / p.trust_softness))


def discretionary_grant(p: Parameters, req: Requests, provider_shares, requester_shares) -> np.ndarray:
    """Chance a provider grants a request it decides on: a hoarder rarely does, and every provider
    favours requesters who share themselves (reciprocity)."""
    willing = np.where(provider_shares > 0, 1.0, p.hoarder_grant)
    return willing * req.agreement(p) * (1.0 - p.reciprocity * (1.0 - requester_shares))


def negotiation_unit_cost(p: Parameters, lv: Levers) -> float:
    """Cost per data unit of agreeing the terms of a grant; coordination lowers it."""
    return p.coordination_cost * (1.0 - lv.coordination)


def risk_premium(p: Parameters, lv: Levers, trust: np.ndarray) -> np.ndarray:
    """Perceived legal risk per data unit handed to a partner, under unclear ownership."""
    return p.risk_premium * (1.0 - trust) * (1.0 - lv.ownership_clarity)


def cost_per_unit(p: Parameters, lv: Levers, req: Requests) -> np.ndarray:
    """What one granted data unit costs its provider: handling, remediation, negotiation, the legal
    risk premium toward a partner it does not trust, and the expected incident loss."""
    return (
        p.handling_cost
        + remediation_unit_cost(p, req.quality, req.technology)
        + negotiation_unit_cost(p, lv)
        + risk_premium(p, lv, req.trust)
        + p.incident_loss * incident_probability(p, req.security, req.exposure)
    )


def grant_payoff(p: Parameters, lv: Levers, req: Requests) -> np.ndarray:
    """A grant's payoff to its provider before rewards: the price less the cost."""
    return (unit_price(lv, req.quality) - cost_per_unit(p, lv, req)) * req.size


def detection(p: Parameters, req: Requests) -> np.ndarray:
    """Chance the evaluation finds a refusal that was not escalated; participating public helps."""
    return p.detection_base + p.detection_public * req.watched


def forced_grant_probability(lv: Levers, req: Requests) -> np.ndarray:
    """Chance a refusal is escalated and the authority rules for sharing; it never orders data of
    the not-shareable tier shared, catalogued or not."""
    return lv.escalation * lv.arbitration * (1.0 - req.restricted)


def refusal_payoff(p: Parameters, lv: Levers, req: Requests, shame_per_unit: float,
                   grant: np.ndarray | None = None) -> np.ndarray:
    """Expected payoff to a provider of refusing: the fine if detected (always when escalated), the
    public's disapproval, and the forced grant (``grant``: its payoff, if already known) when the
    authority rules for sharing."""
    found = lv.escalation + (1.0 - lv.escalation) * detection(p, req)
    grant = grant_payoff(p, lv, req) if grant is None else grant
    forced = forced_grant_probability(lv, req) * grant
    return -lv.evaluation_penalty * req.size * found - shame_per_unit * req.watched * req.size + forced


def provider_payoffs(p: Parameters, lv: Levers, req: Requests, bonus_per_unit, shame_per_unit: float):
    """(expected payoff if sharing, if hoarding) to the provider of each request.  A sharer's platform
    grants unconditional data and it answers the rest in time, earning ``bonus_per_unit``; a hoarder
    has published nothing, so it decides on every request, rarely grants, and answers late."""
    grant = grant_payoff(p, lv, req)
    refuse = refusal_payoff(p, lv, req, shame_per_unit, grant)
    bonus = bonus_per_unit * req.size
    willing = discretionary_grant(p, req, 1.0, req.requester_shares)
    unwilling = discretionary_grant(p, req, 0.0, req.requester_shares)
    share = np.where(req.automatic, grant + bonus, willing * (grant + bonus) + (1.0 - willing) * refuse)
    hoard = unwilling * grant + (1.0 - unwilling) * refuse
    return np.where(req.not_shareable, 0.0, share), np.where(req.not_shareable, 0.0, hoard)


def fulfilment_probability(p: Parameters, lv: Levers, req: Requests, requester_shares) -> np.ndarray:
    """Chance a request is fulfilled, given its provider's stance and the requester's (reciprocity),
    escalation and arbitration included."""
    decided = discretionary_grant(p, req, req.provider_shares, requester_shares)
    decided = decided + (1.0 - decided) * forced_grant_probability(lv, req)
    automatic = req.automatic & (req.provider_shares > 0)
    return np.where(req.not_shareable, 0.0, np.where(automatic, 1.0, decided))


def requester_payoffs(p: Parameters, lv: Levers, req: Requests, value_per_unit: float):
    """(expected payoff if sharing, if hoarding) to the requester of each request: the perceived
    value of the data less its price, times the chance it arrives under each of its own stances."""
    net = (req.perception * value_per_unit * req.quality - unit_price(lv, req.quality)) * req.size
    return fulfilment_probability(p, lv, req, 1.0) * net, fulfilment_probability(p, lv, req, 0.0) * net
