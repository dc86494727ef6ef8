"""Countermeasures as interventions, in the manner of Starsim's (docs/ODD.md section 1; their
schedule and scale: section 3, step 1).

Each countermeasure is one small object that owns its schedule (start and ramp, from its scenario
block) and everything it does in a month: the payoff levers it moves (among them the rewards,
subsidies and fines the model pays and collects on the month's requests), the capability rates it
drives, the links it brokers, and its running budget.  Everything is a function of the month alone, so the model,
the mean-field game and the plain-Mesa reference read the same objects, and a new countermeasure is
a new subclass: nothing else needs to know about it.

A :class:`Package` is the countermeasures in force in one scenario; it folds them into one value per
month for the model to act on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from agents.incentives import Levers
from simulation.config import Parameters, Scenario


@dataclass(frozen=True)
class CapabilityRates:
    """Share of each capability's gap to 1 closed this month."""

    training: float = 0.0  # cognition of departments and enterprises
    publicity: float = 0.0  # cognition of the public
    technology: float = 0.0
    security: float = 0.0

    def __add__(self, other: "CapabilityRates") -> "CapabilityRates":
        return CapabilityRates(self.training + other.training, self.publicity + other.publicity,
                               self.technology + other.technology, self.security + other.security)


@dataclass(frozen=True)
class Brokering:
    """Department-enterprise links a coordinator proposes this month; the model draws them."""

    links_per_holder: float  # expected new links per holder this month
    trust: float  # trust a brokered link starts with (the coordinator vouches)
    cost_per_link: float


class Countermeasure:
    """An intervention with a schedule.  Subclasses override what they act on; the defaults do nothing.

    Args:
        settings: the scenario block (``enabled``, ``start``, ``ramp`` and the countermeasure's own fields).
        params: the scenario's parameters (for base levels a lever moves away from).
    """

    name = "countermeasure"

    def __init__(self, settings, params: Parameters) -> None:
        self.settings = settings
        self.params = params

    @property
    def enabled(self) -> bool:
        return bool(self.settings.enabled)

    @property
    def full_strength_step(self) -> int:
        return self.settings.start + self.settings.ramp

    @property
    def scale(self) -> float:
        return self.settings.scale

    def strength(self, step: int) -> float:
        """Share of full strength at ``step``: 0 before start, linear over the ramp, then 1."""
        return self.settings.strength(step)

    def intensity(self, step: int) -> float:
        """The schedule's strength times the countermeasure's ``scale``: what every lever, rate and
        brokering it moves is multiplied by (shares and rates stop at 1, :func:`share`)."""
        return self.strength(step) * self.settings.scale

    def paid(self, step: int) -> float:
        """Share of the running budgets paid: the ``scale`` from the start month on, even while the
        effect ramps up, so a scaled countermeasure's running costs scale with what it moves."""
        return self.settings.scale if self.enabled and step >= self.settings.start else 0.0

    def levers(self, levers: Levers, step: int) -> Levers:
        return levers

    def capability_rates(self, step: int) -> CapabilityRates:
        return CapabilityRates()

    def brokering(self, step: int) -> Brokering | None:
        return None

    def budget(self, step: int, holders: int, public: int) -> float:
        """Running costs this month (payments that follow the month's requests are the model's)."""
        return 0.0


def share(x: float) -> float:
    """A share, chance or monthly rate a scaled countermeasure moves: it saturates at 1 (a scale
    above 1 buys more than the lever can take; its budget still grows with the scale)."""
    return min(1.0, x)


def _toward(base: float, target: float, strength: float) -> float:
    """A level raised from ``base`` toward ``target`` (never lowered) by ``strength``, at most 1."""
    return share(base + (max(base, target) - base) * strength)


class Ecosystem(Countermeasure):
    """The data administration leads: it coordinates, takes up refused requests as an authority with
    a capacity and a queue (``simulation/core/authority.py``), vouches for the links it brokers and
    arbitrates, subsidises enterprises that provide data in time and rewards the participating public."""

    name = "ecosystem"

    def levers(self, levers: Levers, step: int) -> Levers:
        cm, s = self.settings, self.intensity(step)
        return replace(levers, coordination=_toward(levers.coordination, cm.coordinator_strength, s),
                       enterprise_subsidy=levers.enterprise_subsidy + cm.enterprise_subsidy * s,
                       public_reward=levers.public_reward + cm.public_reward * s,
                       escalation=max(levers.escalation, share(cm.escalation * s)),
                       arbitration=max(levers.arbitration, cm.arbitration),
                       authority_capacity=levers.authority_capacity + cm.authority_capacity * s,
                       case_cost=max(levers.case_cost, cm.case_cost),
                       vouched_trust=max(levers.vouched_trust, cm.vouched_trust * (s > 0)))

    def brokering(self, step: int) -> Brokering | None:
        cm = self.settings
        return Brokering(cm.link_rate * self.intensity(step), cm.vouched_trust, cm.link_cost)

    def budget(self, step: int, holders: int, public: int) -> float:
        cm = self.settings
        return self.paid(step) * cm.coordinator_budget * cm.coordinator_strength


class Mechanism(Countermeasure):
    """Sharing-ability evaluation (rewards for data provided in time, fines for detected refusals),
    ownership that favours the public interest, and data priced by quality."""

    name = "mechanism"

    def levers(self, levers: Levers, step: int) -> Levers:
        cm, s = self.settings, self.intensity(step)
        return replace(levers, ownership_clarity=_toward(levers.ownership_clarity, cm.ownership_clarity, s),
                       evaluation_reward=levers.evaluation_reward + cm.evaluation_reward * s,
                       evaluation_penalty=levers.evaluation_penalty + cm.evaluation_penalty * s,
                       price_per_quality=cm.price_per_quality, price_cap=cm.price_cap,
                       pricing=share(levers.pricing + s))

    def budget(self, step: int, holders: int, public: int) -> float:
        return self.paid(step) * self.settings.evaluation_budget


class Cognition(Countermeasure):
    """Training for holders and publicity for the public; publicity also lowers the cost of taking part."""

    name = "cognition"

    def levers(self, levers: Levers, step: int) -> Levers:
        cut = self.settings.participation_cost_cut * self.intensity(step)
        return replace(levers, participation_cost_cut=share(levers.participation_cost_cut + cut))

    def capability_rates(self, step: int) -> CapabilityRates:
        s = self.intensity(step)
        return CapabilityRates(training=share(self.settings.training_rate * s),
                               publicity=share(self.settings.publicity_rate * s))

    def budget(self, step: int, holders: int, public: int) -> float:
        cm = self.settings
        running = (cm.training_cost * cm.training_rate * holders
                   + cm.publicity_cost * (cm.publicity_rate + cm.participation_cost_cut) * public)
        return self.paid(step) * running


class Security(Countermeasure):
    """Graded catalogues (unconditional, conditional, not shared), transparent use of shared data,
    and investment in technology and security."""

    name = "security"

    def levers(self, levers: Levers, step: int) -> Levers:
        cm, s = self.settings, self.intensity(step)
        return replace(levers, tiering=share(levers.tiering + cm.tiering * s),
                       transparency=levers.transparency + cm.transparency * s)

    def capability_rates(self, step: int) -> CapabilityRates:
        cm = self.settings
        invest = cm.investment_efficiency * self.intensity(step)
        return CapabilityRates(technology=share(invest * cm.technology_investment),
                               security=share(invest * cm.security_investment))

    def budget(self, step: int, holders: int, public: int) -> float:
        cm = self.settings
        per_holder = cm.technology_investment + cm.security_investment + cm.tiering_cost * cm.tiering
        return self.paid(step) * per_holder * holders


SHIPPED = (Ecosystem, Mechanism, Cognition, Security)  # the four of the case, in the scenario's block order


class Package:
    """The countermeasures in force in one scenario, folded into one value per month."""

    def __init__(self, countermeasures: Iterable[Countermeasure], params: Parameters) -> None:
        self.countermeasures = tuple(countermeasures)
        self.params = params

    @classmethod
    def of(cls, scenario: Scenario, extra: Iterable[Countermeasure] = ()) -> "Package":
        """The scenario's four countermeasures (switched on or off by their blocks), plus ``extra``."""
        p, blocks = scenario.parameters, scenario.countermeasures
        shipped = [kind(getattr(blocks, kind.name), p) for kind in SHIPPED]
        return cls([*shipped, *extra], p)

    def __iter__(self):
        return iter(self.countermeasures)

    @property
    def full_strength_step(self) -> int:
        """A month by which every countermeasure in force has ramped up fully."""
        return max((c.full_strength_step for c in self.countermeasures if c.enabled), default=0)

    def levers_at(self, step: int) -> Levers:
        levers = Levers(coordination=self.params.base_coordination,
                        ownership_clarity=self.params.base_ownership_clarity)
        for countermeasure in self.countermeasures:
            levers = countermeasure.levers(levers, step)
        return levers

    def capability_rates_at(self, step: int) -> CapabilityRates:
        return sum((c.capability_rates(step) for c in self.countermeasures), CapabilityRates())

    def brokering_at(self, step: int) -> list[Brokering]:
        return [b for c in self.countermeasures if (b := c.brokering(step)) is not None]

    def budget_at(self, step: int, holders: int, public: int) -> float:
        return sum(c.budget(step, holders, public) for c in self.countermeasures)
