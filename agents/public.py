"""The public: the decision rule (participate or stand by) and the Mesa agent view."""

from __future__ import annotations

import numpy as np

from agents.base import ArrayAgent
from agents.incentives import Levers
from agents.roles import Role
from agents.state import Public
from simulation.config import Parameters


def payoffs(p: Parameters, lv: Levers, served, privacy_concern, incident_rate,
            perception) -> tuple[np.ndarray, np.ndarray]:
    """(payoff if participating, if standing by) per member of the public: services from the
    departments around it, as good as the share of their requests fulfilled this month (``served``),
    and the reward, against effort and the privacy cost of recent incidents."""
    cost = (p.participation_cost * (1.0 - lv.participation_cost_cut)
            + p.privacy_sensitivity * privacy_concern * incident_rate)
    participate = perception * p.responsiveness * served + lv.public_reward - cost
    return participate, np.zeros_like(participate)


class PublicAgent(ArrayAgent):
    """A member of the public; strategy 1 = participate (uses services, gives feedback, supervises)."""

    role = Role.PUBLIC
    privacy_concern = Public.privacy_concern.view()
