"""Countermeasures as interventions: each has a start, a ramp and levers (docs/ODD.md sections 1 and 7).

``levers_at`` turns a scenario and a step into the effective :class:`Levers` the payoffs and the
model read; ``budget_at`` gives the fixed running budgets paid from the start step.  Payments that
depend on who shares (subsidies, rewards) are computed by the model from the same levers.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.config import Scenario
from agents.incentives import Levers


@dataclass(frozen=True)
class Strengths:
    ecosystem: float
    mechanism: float
    cognition: float
    security: float


def strengths_at(scenario: Scenario, step: int) -> Strengths:
    cm = scenario.countermeasures
    return Strengths(
        ecosystem=cm.ecosystem.strength(step),
        mechanism=cm.mechanism.strength(step),
        cognition=cm.cognition.strength(step),
        security=cm.security.strength(step),
    )


def _toward(base: float, target: float, strength: float) -> float:
    return base + (max(base, target) - base) * strength


def levers_at(scenario: Scenario, step: int) -> Levers:
    cm, p = scenario.countermeasures, scenario.parameters
    s = strengths_at(scenario, step)
    return Levers(
        coordination=_toward(p.base_coordination, cm.ecosystem.coordinator_strength, s.ecosystem),
        ownership_clarity=_toward(p.base_ownership_clarity, cm.mechanism.ownership_clarity, s.mechanism),
        enterprise_subsidy=cm.ecosystem.enterprise_subsidy * s.ecosystem,
        public_reward=cm.ecosystem.public_reward * s.ecosystem,
        evaluation_reward=cm.mechanism.evaluation_reward * s.mechanism,
        evaluation_penalty=cm.mechanism.evaluation_penalty * s.mechanism,
        price_markup=cm.mechanism.price_markup,
        price_cap=cm.mechanism.price_cap,
        pricing=s.mechanism,
        participation_cost_cut=cm.cognition.participation_cost_cut * s.cognition,
        tiering=cm.security.tiering * s.security,
        transparency=cm.security.transparency * s.security,
    )


def _paid_from_start(block, step: int) -> float:
    """Running budgets are paid in full from the start step on, even while the effect ramps up."""
    return 1.0 if block.enabled and step >= block.start else 0.0


def budget_at(scenario: Scenario, step: int, holders: int, public: int) -> float:
    """Running cost this step: coordination office, evaluation, training, publicity, investment and
    graded catalogues, each growing with its lever (brokered links, subsidies and rewards are paid
    by the model as they happen)."""
    cm = scenario.countermeasures
    eco, mech, cog, sec = cm.ecosystem, cm.mechanism, cm.cognition, cm.security
    return (
        _paid_from_start(eco, step) * eco.coordinator_budget * eco.coordinator_strength
        + _paid_from_start(mech, step) * mech.evaluation_budget
        + _paid_from_start(cog, step) * (
            cog.training_cost * cog.training_rate * holders
            + cog.publicity_cost * (cog.publicity_rate + cog.participation_cost_cut) * public)
        + _paid_from_start(sec, step)
        * (sec.technology_investment + sec.security_investment + sec.tiering_cost * sec.tiering) * holders
    )
