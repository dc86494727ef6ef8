"""Payoff terms the roles share (docs/ODD.md section 6); each role's own decision rule is in
``agents/government.py``, ``agents/enterprise.py`` and ``agents/public.py``.

Payoffs come from requests for data (docs/ODD.md section 3).  Every term is per request and scales
with the data the request involves, so the largest holder has the most at stake on both sides.  A
rule returns, for each request, the payoff its provider (or requester) expects under each stance,
share or hoard, on *that* request: the model sums them over the month's actual requests, the
mean-field game over the expected ones, and the plain-Mesa reference one request at a time, all
with this code.  Cognition acts on both sides of a request, where the decisions are made: the
requester's ``perception`` scales the value it sees in data, and the provider's
``provider_perception`` sets how far it over-perceives the cost and risk of providing
(``risk_misperception``); money (prices, subsidies, rewards, fines) is understood whatever the
cognition.  Welfare uses 1 for both: what really happened.

Model 3 (docs/ODD.md section 6): a provider gains from a grant what its role gives it (a
department's public mission, an enterprise's own use), ``value_asymmetry`` times less than its
requester; a department answers to its obligations on the catalogued channel; how it decides
follows the scenario's ``grant_rule``; and a refusal may be taken to an authority that decides
cases by their legal tier, as many a month as it can.
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
    escalation: float = 0.0  # chance that a requester may take a refusal to a coordinating authority
    arbitration: float = 0.0  # chance the authority orders a conditional item shared once it decides
    authority_capacity: float = 0.0  # cases the authority decides a month per 100 holders
    case_cost: float = 0.0  # the authority's cost per case decided
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
    conditional: np.ndarray  # 1 if the data is in the conditional tier, catalogued or not
    obliged: np.ndarray  # 1 on the catalogued channel (a department asks a department): obligations bind
    requester_shares: np.ndarray  # 1 if the requester plays share (active), else 0
    provider_shares: np.ndarray  # 1 if the provider plays share (active), else 0
    watched: np.ndarray  # share of the provider's public neighbours who participate
    perception: np.ndarray  # requester's (cognition for learning, 1 for welfare)
    provider_perception: np.ndarray | float = 1.0  # provider's cognition (learning) or 1 (what really happens)
    provider_value: np.ndarray | float = 0.0  # value per unit to the provider's own role (mission, own use)
    requester_value: np.ndarray | float | None = None  # value per unit to the requester's role (None: unknown)
    restricted: np.ndarray | float = 0.0  # 1 if the data is in the not-shareable tier, catalogued or not
    service: float = 0.0  # chance an escalated case is decided before its requester withdraws it
    _agreement: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def rows(self, mask: np.ndarray) -> "Requests":
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        return Requests(**{name: value[mask] if np.ndim(value) else value for name, value in values.items()})

    def agreement(self, p: Parameters) -> np.ndarray:
        """:func:`agreement_probability` of every request, kept: the rules ask for it several times a month."""
        key = (p.trust_threshold, p.trust_softness, p.grant_rule, p.conditions_met)
        if self._agreement is None or self._agreement[0] != key:
            self._agreement = (key, agreement_probability(p, self))
        return self._agreement[1]


GRANT_RULES = ("trust_gated", "obligation", "mix")


def misperception(p: Parameters, perception) -> np.ndarray | float:
    """Factor on the cost and risk a provider sees: 1 with full cognition (or for what really happens)."""
    return 1.0 + p.risk_misperception * (1.0 - perception)


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


def agreement_probability(p: Parameters, req: Requests) -> np.ndarray:
    """Chance a willing provider agrees to a request it decides on, under the scenario's grant rule:
    ``trust_gated`` by the trust on the link (Model 2); ``obligation``, by the legal tier alone (an
    unconditional item always, a conditional one if the requester meets its conditions, an item of
    the not-shareable tier never); ``mix``, the mean of the two."""
    gated = grant_probability(p, req.trust)
    obliged = (1.0 - req.restricted) * (1.0 - req.conditional * (1.0 - p.conditions_met))
    weight = {"trust_gated": 1.0, "obligation": 0.0, "mix": 0.5}[p.grant_rule]
    return weight * gated + (1.0 - weight) * obliged


def discretionary_grant(p: Parameters, req: Requests, provider_shares, requester_shares) -> np.ndarray:
    """Chance a provider grants a request it decides on: a hoarder rarely does, and under a rule with a
    trust gate every provider favours requesters who share themselves (reciprocity)."""
    willing = np.where(provider_shares > 0, 1.0, p.hoarder_grant)
    reciprocal = 0.0 if p.grant_rule == "obligation" else p.reciprocity * (0.5 if p.grant_rule == "mix" else 1.0)
    return willing * req.agreement(p) * (1.0 - reciprocal * (1.0 - requester_shares))


def negotiation_unit_cost(p: Parameters, lv: Levers) -> float:
    """Cost per data unit of agreeing the terms of a grant; coordination lowers it."""
    return p.coordination_cost * (1.0 - lv.coordination)


def risk_premium(p: Parameters, lv: Levers, trust: np.ndarray) -> np.ndarray:
    """Perceived legal risk per data unit handed to a partner, under unclear ownership."""
    return p.risk_premium * (1.0 - trust) * (1.0 - lv.ownership_clarity)


def cost_per_unit(p: Parameters, lv: Levers, req: Requests) -> np.ndarray:
    """What one granted data unit costs its provider, as it perceives it: handling, remediation,
    negotiation, the legal risk premium toward a partner it does not trust, and the expected
    incident loss; remediation, risk and incidents loom larger the lower its cognition."""
    seen = misperception(p, req.provider_perception)
    return (
        p.handling_cost
        + negotiation_unit_cost(p, lv)
        + seen * (remediation_unit_cost(p, req.quality, req.technology) + risk_premium(p, lv, req.trust)
                  + p.incident_loss * incident_probability(p, req.security, req.exposure))
    )


def own_benefit_per_unit(p: Parameters, req: Requests) -> np.ndarray:
    """What the provider's own role gains per unit it provides (a department's public mission, an
    enterprise's own use of what its partners build): its role's value of data, ``value_asymmetry``
    times less than what the data is worth to whoever uses it."""
    return req.provider_value * req.quality / p.value_asymmetry


def grant_payoff(p: Parameters, lv: Levers, req: Requests) -> np.ndarray:
    """A grant's payoff to its provider before rewards: the price and its own benefit less the cost."""
    return (unit_price(lv, req.quality) + own_benefit_per_unit(p, req) - cost_per_unit(p, lv, req)) * req.size


def detection(p: Parameters, req: Requests) -> np.ndarray:
    """Chance the evaluation finds a refusal that was not escalated; participating public helps."""
    return p.detection_base + p.detection_public * req.watched


def ruling_probability(lv: Levers, req: Requests) -> np.ndarray:
    """Chance the authority orders the data of a case shared once it decides it, by the legal tier:
    an unconditional item always, a conditional one with ``arbitration``, a not-shareable one never."""
    return (1.0 - req.restricted) * np.where(req.conditional > 0, lv.arbitration, 1.0)


def escalation_worth(p: Parameters, lv: Levers, req: Requests, value_per_unit) -> np.ndarray:
    """Whether the requester of a refused request finds a case worth its effort: the value it sees in
    the data, times the chance the authority decides in time and orders it shared, against its effort."""
    gain = req.perception * value_per_unit * req.quality * req.size * req.service * ruling_probability(lv, req)
    return gain > p.escalation_effort


def forced_grant_probability(lv: Levers, req: Requests, worth: np.ndarray | bool = True) -> np.ndarray:
    """Chance a refusal is escalated (where the case is ``worth`` it), decided in time and ruled for
    sharing."""
    return lv.escalation * worth * req.service * ruling_probability(lv, req)


def worth_as_the_provider_sees_it(p: Parameters, lv: Levers, req: Requests) -> np.ndarray | bool:
    """Whether a provider expects the case of its refusal to be worth its requester's effort: it sees
    what the data is worth to the requester's role; where that is not given, every case is."""
    return True if req.requester_value is None else escalation_worth(p, lv, req, req.requester_value)


def expected_escalation(p: Parameters, lv: Levers, req: Requests) -> np.ndarray | float:
    """Chance a provider expects its refusal to be taken to the authority: the lever, where the case
    is worth its requester's effort."""
    return lv.escalation * worth_as_the_provider_sees_it(p, lv, req)


def obligation_per_unit(p: Parameters, req: Requests, is_department) -> np.ndarray:
    """What a department loses in its assessment per unit it refuses on the catalogued channel."""
    return p.obligation_weight * req.obliged * is_department * (1.0 - req.restricted)


def refusal_payoff(p: Parameters, lv: Levers, req: Requests, shame_per_unit: float,
                   grant: np.ndarray | None = None, obligation_per_unit=0.0) -> np.ndarray:
    """Expected payoff to a provider of refusing: the fine if detected (always when escalated; never
    for data the law forbids it to share), the public's disapproval, its obligations, and the forced
    grant (``grant``: its payoff, if already known) when the authority rules for sharing."""
    worth = worth_as_the_provider_sees_it(p, lv, req)
    escalated = lv.escalation * worth
    found = (escalated + (1.0 - escalated) * detection(p, req)) * (1.0 - req.restricted)
    grant = grant_payoff(p, lv, req) if grant is None else grant
    forced = forced_grant_probability(lv, req, worth) * grant
    blame = (lv.evaluation_penalty * found + shame_per_unit * req.watched + obligation_per_unit) * req.size
    return forced - blame


def provider_payoffs(p: Parameters, lv: Levers, req: Requests, bonus_per_unit, shame_per_unit: float,
                     obligation_per_unit=0.0):
    """(expected payoff if sharing, if hoarding) to the provider of each request.  A sharer's platform
    grants unconditional data and it answers the rest in time, earning ``bonus_per_unit``; a hoarder
    has published nothing, so it decides on every request, rarely grants, and answers late."""
    grant = grant_payoff(p, lv, req)
    refuse = refusal_payoff(p, lv, req, shame_per_unit, grant, obligation_per_unit)
    bonus = bonus_per_unit * req.size
    willing = discretionary_grant(p, req, 1.0, req.requester_shares)
    unwilling = discretionary_grant(p, req, 0.0, req.requester_shares)
    share = np.where(req.automatic, grant + bonus, willing * (grant + bonus) + (1.0 - willing) * refuse)
    hoard = unwilling * grant + (1.0 - unwilling) * refuse
    return np.where(req.not_shareable, 0.0, share), np.where(req.not_shareable, 0.0, hoard)


def refusal_probability(p: Parameters, req: Requests, requester_shares) -> np.ndarray:
    """Chance the provider refuses a request it may share (what the requester could escalate)."""
    decided = discretionary_grant(p, req, req.provider_shares, requester_shares)
    automatic = req.automatic & (req.provider_shares > 0)
    return np.where(req.not_shareable | automatic, 0.0, 1.0 - decided)


def fulfilment_probability(p: Parameters, lv: Levers, req: Requests, requester_shares,
                           worth: np.ndarray | bool = True) -> np.ndarray:
    """Chance a request is fulfilled, given its provider's stance and the requester's (reciprocity),
    the authority's forced grants included where the requester finds a case ``worth`` it."""
    refused = refusal_probability(p, req, requester_shares)
    granted = np.where(req.not_shareable, 0.0, 1.0 - refused)
    return granted + refused * forced_grant_probability(lv, req, worth)


def requester_payoffs(p: Parameters, lv: Levers, req: Requests, value_per_unit: float):
    """(expected payoff if sharing, if hoarding) to the requester of each request: the perceived
    value of the data less its price, times the chance it arrives under each of its own stances,
    less the effort of the cases it would take to the authority."""
    worth = escalation_worth(p, lv, req, value_per_unit)
    net = (req.perception * value_per_unit * req.quality - unit_price(lv, req.quality)) * req.size
    effort = lv.escalation * worth * p.escalation_effort

    def expected(stance: float) -> np.ndarray:
        return fulfilment_probability(p, lv, req, stance, worth) * net - refusal_probability(p, req, stance) * effort
    return expected(1.0), expected(0.0)
