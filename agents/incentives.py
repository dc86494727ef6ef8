"""The one place where incentives are computed (docs/ODD.md section 4).

Every function is vectorised over agents and returns the payoff of each strategy, so the
agent-based run (heterogeneous agents, local neighbour fractions) and the mean-field analysis
(representative agents at population shares) use the same code.  ``perception`` scales the
value of sharing itself (reciprocal value, public value, approval, responsiveness): learning uses
the agent's cognition, so low cognition under-perceives what sharing yields, while money
(prices, subsidies, rewards, penalties) is understood whatever the cognition; welfare uses 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config import Parameters


@dataclass(frozen=True)
class Levers:
    """Effective policy levels at one step, after each countermeasure's start and ramp."""

    coordination: float = 0.2
    ownership_clarity: float = 0.2
    enterprise_subsidy: float = 0.0
    public_reward: float = 0.0
    evaluation_reward: float = 0.0
    evaluation_penalty: float = 0.0
    price_markup: float = 0.0
    price_cap: float = 0.0
    pricing: float = 0.0
    participation_cost_cut: float = 0.0
    tiering: float = 0.0
    transparency: float = 0.0


@dataclass
class HolderState:
    """Per-holder arrays the payoffs need (all the same length)."""

    volume: np.ndarray  # data units per month, median holder = 1
    quality: np.ndarray
    technology: np.ndarray
    security: np.ndarray
    mean_trust: np.ndarray  # mean trust on the holder's links
    exposure: np.ndarray  # share of shared data that can leak (falls with tiering)


def remediation_unit_cost(p: Parameters, quality: np.ndarray, technology: np.ndarray) -> np.ndarray:
    """Cost of bringing one data unit up to the quality standard; falls with technology."""
    gap = np.maximum(0.0, p.quality_standard - quality)
    return p.remediation_cost * gap * (1.0 - technology)


def data_price(p: Parameters, lv: Levers, quality: np.ndarray, technology: np.ndarray) -> np.ndarray:
    """Cost-plus price per unit with a capped markup; zero unless pricing is in force."""
    unit_cost = p.handling_cost + remediation_unit_cost(p, quality, technology)
    return lv.pricing * np.minimum(lv.price_cap, unit_cost * (1.0 + lv.price_markup))


def incident_probability(p: Parameters, security: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    return p.incident_probability * (1.0 - security) * exposure


def exposure(p: Parameters, lv: Levers, conditional: np.ndarray, restricted: np.ndarray) -> np.ndarray:
    """Share of what a sharing holder sends that is sensitive: all of it untiered, the conditional tier tiered."""
    untiered = conditional + restricted
    return (1.0 - lv.tiering) * untiered + lv.tiering * conditional * 0.5


def enterprise(p: Parameters, lv: Levers, st: HolderState, g, e, pub, h, perception):
    """(payoff if sharing, payoff if hoarding) per enterprise."""
    del e  # enterprises react to holders in general (h), departments (g) and the public
    price = data_price(p, lv, st.quality, st.technology)
    value = p.reciprocal_value * st.quality * h
    payments = price * st.volume + (lv.enterprise_subsidy + lv.evaluation_reward) * g
    cost = (
        remediation_unit_cost(p, st.quality, st.technology) * st.volume
        + p.handling_cost * st.volume
        + p.coordination_cost * (1.0 - lv.coordination)
        + p.risk_premium * (1.0 - st.mean_trust) * (1.0 - lv.ownership_clarity)
        + p.incident_loss * incident_probability(p, st.security, st.exposure)
    )
    share = perception * value + payments - cost
    hoard = -lv.evaluation_penalty * g * (p.detection_base + p.detection_public * pub) - p.reputation * pub
    return share, hoard


def government(p: Parameters, lv: Levers, g, e, pub, h, perception):
    """(payoff if active, payoff if passive) per department."""
    del g
    penalties = lv.evaluation_penalty * (1.0 - e) * (p.detection_base + p.detection_public * pub)
    paid = (lv.enterprise_subsidy + lv.evaluation_reward) * e
    active = (
        perception * (p.public_value * h + p.public_approval * pub)
        + p.department_budget_share * (penalties - paid)
        - p.supervision_cost * (1.0 - 0.5 * lv.coordination)
    )
    passive = -p.accountability_loss * pub
    return active, passive


def public(p: Parameters, lv: Levers, g, privacy_concern, incident_rate, perception):
    """(payoff if participating, payoff if bystanding) per member of the public."""
    cost = p.participation_cost * (1.0 - lv.participation_cost_cut) + p.privacy_sensitivity * privacy_concern * incident_rate
    participate = perception * p.responsiveness * g + lv.public_reward - cost
    return participate, np.zeros_like(participate)
