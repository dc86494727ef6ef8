"""Government departments: the decision rule (active or passive) and the Mesa agent view."""

from __future__ import annotations

import numpy as np

from agents import incentives
from agents.base import HolderAgent
from agents.incentives import Levers, Requests
from agents.roles import Role
from simulation.config import Parameters


def value_per_unit(p: Parameters) -> float:
    """Public value a department creates from one unit of full-quality data it receives."""
    return p.value_government


def bonus_per_unit(lv: Levers) -> float:
    """What a department earns per unit it provides in time: the evaluation's reward."""
    return lv.evaluation_reward


def shame_per_unit(p: Parameters) -> float:
    """Accountability a department loses per unit it refuses, every public neighbour watching."""
    return p.accountability_loss


def provider_payoffs(p: Parameters, lv: Levers, req: Requests) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if active, if passive) of the department asked for each request: an active department
    answers in time and is rated for it; it serves its public mission by what it provides; a refusal
    costs it accountability before a watching public and, on the catalogued channel, its assessment
    (a refusal must state a reason)."""
    return incentives.provider_payoffs(p, lv, req, bonus_per_unit(lv), shame_per_unit(p),
                                       incentives.obligation_per_unit(p, req, 1.0))


def requester_payoffs(p: Parameters, lv: Levers, req: Requests) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if active, if passive) of the department asking: the public value it creates from the
    data, which partners grant more readily to a department that shares itself."""
    return incentives.requester_payoffs(p, lv, req, value_per_unit(p))


class GovernmentAgent(HolderAgent):
    """A government department; strategy 1 = active (answers requests in time, publishes its catalogue)."""

    role = Role.GOVERNMENT

    @property
    def is_coordinator(self) -> bool:
        return self.kind == "coordinator"
