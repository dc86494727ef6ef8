"""Government departments: the decision rule (active or passive) and the Mesa agent view."""

from __future__ import annotations

import numpy as np

from agents.base import HolderAgent
from agents.incentives import Levers, Neighbourhood, hoarding_pressure
from agents.roles import Role
from simulation.config import Parameters


def payoffs(p: Parameters, lv: Levers, near: Neighbourhood, perception) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if active, payoff if passive) per department: an active department creates public
    value and earns approval, collects penalties from hoarding enterprises and bears part of what
    is paid to sharing ones, and pays for supervision; a passive one loses accountability."""
    penalties = hoarding_pressure(p, lv, 1.0 - near.enterprise, near.public)
    paid = (lv.enterprise_subsidy + lv.evaluation_reward) * near.enterprise
    active = (
        perception * (p.public_value * near.holders + p.public_approval * near.public)
        + p.department_budget_share * (penalties - paid)
        - p.supervision_cost * (1.0 - 0.5 * lv.coordination)
    )
    passive = -p.accountability_loss * near.public
    return active, passive


class GovernmentAgent(HolderAgent):
    """A government department; strategy 1 = active (shares, leads, supervises, pays incentives)."""

    role = Role.GOVERNMENT

    @property
    def is_coordinator(self) -> bool:
        return self.kind == "coordinator"
