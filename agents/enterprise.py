"""Enterprises (the grid company, water companies, telecom operators and others): the decision rule
(share or hoard) and the Mesa agent view."""

from __future__ import annotations

import numpy as np

from agents import incentives
from agents.base import HolderAgent
from agents.incentives import Levers, Requests
from agents.roles import Role
from simulation.config import Parameters


def value_per_unit(p: Parameters) -> float:
    """Value to an enterprise of one unit of full-quality data it receives."""
    return p.value_enterprise


def bonus_per_unit(lv: Levers) -> float:
    """What an enterprise earns per unit it provides in time: the subsidy and the evaluation's reward."""
    return lv.enterprise_subsidy + lv.evaluation_reward


def shame_per_unit(p: Parameters) -> float:
    """Reputation an enterprise loses per unit it refuses, every public neighbour watching."""
    return p.reputation


def provider_payoffs(p: Parameters, lv: Levers, req: Requests) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if sharing, if hoarding) of the enterprise asked for each request: a sharing enterprise
    answers in time and earns the subsidy and the evaluation reward; a refusal costs it reputation."""
    return incentives.provider_payoffs(p, lv, req, bonus_per_unit(lv), shame_per_unit(p))


def requester_payoffs(p: Parameters, lv: Levers, req: Requests) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if sharing, if hoarding) of the enterprise asking: the value of the data to its
    business, which partners grant more readily to an enterprise that shares itself."""
    return incentives.requester_payoffs(p, lv, req, value_per_unit(p))


class EnterpriseAgent(HolderAgent):
    """An enterprise; strategy 1 = share.  ``kind`` is grid, water, telecom or enterprise."""

    role = Role.ENTERPRISE
