"""Countermeasures as interventions: each has a start, a ramp and levers (MODEL.md sections 1 and 7).

``levers_at`` turns a scenario and a step into the effective :class:`Levers` the payoffs and the
model read; ``budget_at`` gives the fixed running budgets paid from the start step.  Payments that
depend on who shares (subsidies, rewards) are computed by the model from the same levers.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulation.config import Scenario
from simulation.payoffs import Levers


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
    """Fixed running cost this step: coordination office, evaluation, training, publicity, investment."""
    cm = scenario.countermeasures
    return (
        _paid_from_start(cm.ecosystem, step) * cm.ecosystem.coordinator_budget
        + _paid_from_start(cm.mechanism, step) * cm.mechanism.evaluation_budget
        + _paid_from_start(cm.cognition, step) * (cm.cognition.training_cost * holders + cm.cognition.publicity_cost * public)
        + _paid_from_start(cm.security, step)
        * (cm.security.technology_investment + cm.security.security_investment) * holders
    )
