"""Enterprises (the grid company, water companies, telecom operators and others): the decision rule
(share or hoard) and the Mesa agent view."""

from __future__ import annotations

import numpy as np

from agents.base import HolderAgent
from agents.incentives import HolderState, Levers, Neighbourhood, data_price, hoarding_pressure, incident_probability, remediation_unit_cost
from agents.roles import Role
from simulation.config import Parameters


def payoffs(p: Parameters, lv: Levers, holder: HolderState, near: Neighbourhood, perception) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if sharing, payoff if hoarding) per enterprise.  Enterprises react to holders in
    general, to departments (who pay and evaluate) and to the public (who help detect hoarding)."""
    price = data_price(p, lv, holder.quality, holder.technology)
    value = p.reciprocal_value * holder.quality * near.holders
    payments = price * holder.volume + (lv.enterprise_subsidy + lv.evaluation_reward) * near.government
    cost = (
        remediation_unit_cost(p, holder.quality, holder.technology) * holder.volume
        + p.handling_cost * holder.volume
        + p.coordination_cost * (1.0 - lv.coordination)
        + p.risk_premium * (1.0 - holder.mean_trust) * (1.0 - lv.ownership_clarity)
        + p.incident_loss * incident_probability(p, holder.security, holder.exposure)
    )
    share = perception * value + payments - cost
    hoard = -hoarding_pressure(p, lv, near.government, near.public) - p.reputation * near.public
    return share, hoard


class EnterpriseAgent(HolderAgent):
    """An enterprise; strategy 1 = share.  ``kind`` is grid, water, telecom or enterprise."""

    role = Role.ENTERPRISE
