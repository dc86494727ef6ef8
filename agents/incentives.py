"""Payoff terms the three roles share (docs/ODD.md section 4); each role's own decision rule is in
``agents/government.py``, ``agents/enterprise.py`` and ``agents/public.py``.

Every function is vectorised over agents, so the agent-based run (heterogeneous agents, local
neighbour fractions), the mean-field game (representative agents at population shares) and the
plain-Mesa reference (one agent at a time, plain floats) use the same code.  ``perception`` scales
the value of sharing itself (reciprocal value, public value, approval, responsiveness): learning
uses the agent's cognition, so low cognition under-perceives what sharing yields, while money
(prices, subsidies, rewards, penalties) is understood whatever the cognition; welfare uses 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulation.config import Parameters


@dataclass(frozen=True)
class Levers:
    """Effective policy levels at one step, as the countermeasures in force set them."""

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


@dataclass(frozen=True)
class Neighbourhood:
    """What an agent sees around it: the share of its neighbours of each kind playing strategy 1."""

    government: np.ndarray  # active departments
    enterprise: np.ndarray  # sharing enterprises
    public: np.ndarray  # participating public
    holders: np.ndarray  # sharing holders (departments and enterprises)

    def rows(self, rows: slice) -> "Neighbourhood":
        return Neighbourhood(self.government[rows], self.enterprise[rows], self.public[rows], self.holders[rows])


@dataclass
class HolderState:
    """Per-holder arrays the enterprise rule needs (all the same length)."""

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


def hoarding_pressure(p: Parameters, lv: Levers, share_watching: np.ndarray, public: np.ndarray) -> np.ndarray:
    """Expected evaluation penalty on a hoarder: detected by evaluation, more often with public help."""
    return lv.evaluation_penalty * share_watching * (p.detection_base + p.detection_public * public)
