"""Thin Mesa agents: every attribute reads and writes the model's NumPy arrays at ``index``."""

from __future__ import annotations

import mesa

from agents.roles import Role


def array_view(array_name: str, doc: str, offset_attr: str = "index") -> property:
    """A property backed by ``model.<array_name>[self.<offset_attr>]``."""

    def getter(self):
        return getattr(self.model, array_name)[getattr(self, offset_attr)].item()

    def setter(self, value):
        getattr(self.model, array_name)[getattr(self, offset_attr)] = value

    return property(getter, setter, doc=doc)


class ArrayAgent(mesa.Agent):
    """An agent whose state lives in the model's arrays; ``index`` is its row (and graph node)."""

    role: Role

    def __init__(self, model: mesa.Model, index: int) -> None:
        super().__init__(model)
        self.index = index

    strategy = array_view("strategy", "0 = passive / hoard / bystander, 1 = active / share / participate")
    cognition = array_view("cognition", "understanding of what sharing yields, in [0, 1]")
    payoff = array_view("payoff", "payoff earned this step (benefits fully perceived)")

    @property
    def kind(self) -> str:
        return self.model.kinds[self.index]

    def step(self) -> None:
        """Agents act through the model's vectorised step; nothing to do one by one."""


class HolderAgent(ArrayAgent):
    """A data holder (department or enterprise): holder arrays share its index."""

    volume = array_view("volume", "data units produced per month (median holder = 1)")
    quality = array_view("quality", "data quality in [0, 1]")
    technology = array_view("technology", "technology capacity in [0, 1]")
    security = array_view("security", "security capacity in [0, 1]")

    @property
    def mean_trust(self) -> float:
        return float(self.model.holder_mean_trust()[self.index])
