"""Thin Mesa agents: every attribute reads and writes the model's state arrays (``agents/state.py``)
at the agent's row."""

from __future__ import annotations

import mesa

from agents.roles import Role
from agents.state import Holders, Population


class ArrayAgent(mesa.Agent):
    """An agent whose state lives in the model's arrays; ``index`` is its node in the network."""

    role: Role

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    strategy = Population.strategy.view()
    cognition = Population.cognition.view()
    payoff = Population.payoff.view()

    @property
    def kind(self) -> str:
        return self.model.kinds[self.index]

    def step(self) -> None:
        """Agents act through the model's vectorised step; nothing to do one by one."""


class HolderAgent(ArrayAgent):
    """A data holder (department or enterprise): its row in the holder arrays is its node."""

    volume = Holders.volume.view()
    quality = Holders.quality.view()
    technology = Holders.technology.view()
    security = Holders.security.view()

    @property
    def mean_trust(self) -> float:
        return float(self.model.holder_mean_trust()[self.index])
