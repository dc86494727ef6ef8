"""What one month of the step produces (docs/ODD.md section 3): each phase's frozen result, and the
:class:`Month` that carries them from phase to phase and to the metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import incentives
from simulation.core import requests
from simulation.core.authority import Rulings
from simulation.core.links import Flows


@dataclass(frozen=True)
class Ledger:
    """Money moved this month.  Prices go from requesters to providers; rewards, subsidies and public
    rewards come out of the countermeasure budget; fines go into it."""

    price_paid: np.ndarray  # per holder, as requester
    price_received: np.ndarray  # per holder, as provider
    rewards: np.ndarray  # per holder: evaluation rewards and subsidies for timely grants
    fines: np.ndarray  # per holder: for detected refusals
    public_rewards: np.ndarray  # per member of the public
    budgets: float = 0.0  # running budgets of the countermeasures
    brokering: float = 0.0  # cost of the links brokered
    cases: float = 0.0  # the authority's cost of the cases it decided

    @classmethod
    def empty(cls, holders: int, public: int) -> "Ledger":
        return cls(np.zeros(holders), np.zeros(holders), np.zeros(holders), np.zeros(holders), np.zeros(public))

    @property
    def outlays(self) -> float:
        """Everything the countermeasures paid out this month (fines collected are not netted)."""
        return (self.budgets + self.brokering + self.cases + float(self.rewards.sum())
                + float(self.public_rewards.sum()))

    @property
    def net_cost(self) -> float:
        """What the countermeasures cost the public purse this month: outlays less the fines collected."""
        return self.outlays - float(self.fines.sum())


@dataclass(frozen=True)
class LinkChanges:
    """The links phase's result: links the coordinators brokered this month and what that cost."""

    brokered: int = 0
    brokering_cost: float = 0.0


@dataclass(frozen=True)
class Deliveries:
    """Data delivered this month, one row per delivery: the requests granted voluntarily, then the
    cases the authority ordered shared (``forced``).  What settlement, welfare and flows act on."""

    link: np.ndarray
    requester: np.ndarray
    provider: np.ndarray
    provider_is_u: np.ndarray
    channel: np.ndarray
    size: np.ndarray
    quality: np.ndarray
    technology: np.ndarray
    security: np.ndarray
    exposure: np.ndarray
    trust: np.ndarray  # on the link when delivered
    forced: np.ndarray

    @classmethod
    def of(cls, batch: requests.RequestBatch, rulings: Rulings, trust: np.ndarray) -> "Deliveries":
        given, req = batch.fulfilled, batch.view
        cases = rulings.decided.rows(rulings.granted)

        def both(voluntary, ordered):
            return np.concatenate([voluntary[given], ordered])
        return cls(both(batch.link, cases.link), both(batch.requester, cases.requester),
                   both(batch.provider, cases.provider), both(batch.provider_is_u, cases.provider_is_u),
                   both(batch.channel, cases.channel), both(req.size, cases.size), both(req.quality, cases.quality),
                   both(req.technology, cases.technology), both(req.security, cases.security),
                   both(req.exposure, cases.exposure), both(req.trust, trust[cases.link]),
                   np.concatenate([np.zeros(int(given.sum()), bool), np.ones(len(cases), bool)]))

    def __len__(self) -> int:
        return len(self.link)


@dataclass(frozen=True)
class Settlement:
    """The settlement phase's result: the month's money, the costs of the data provided and the
    incidents, per delivery (``remediation``, ``loss``) and in total."""

    ledger: Ledger
    remediation: np.ndarray  # per delivery: cost of bringing the data up to standard
    loss: np.ndarray  # per delivery: incident loss
    incident_holders: np.ndarray  # per holder: suffered an incident
    caught: np.ndarray  # per request: a refusal here would be found (escalated, or the evaluation's draw)
    remediation_cost: float = 0.0
    handling_cost: float = 0.0
    negotiation_cost: float = 0.0
    incidents: int = 0
    incident_loss: float = 0.0

    @classmethod
    def empty(cls, holders: int, public: int) -> "Settlement":
        return cls(Ledger.empty(holders, public), np.zeros(0), np.zeros(0), np.zeros(holders, dtype=bool),
                   np.zeros(0, dtype=bool))

    @property
    def countermeasure_cost(self) -> float:
        return self.ledger.outlays


@dataclass(frozen=True)
class Welfare:
    """The welfare phase's result (the payoffs themselves are agent state)."""

    served: np.ndarray  # per member of the public: share of nearby departments' requests fulfilled


@dataclass(frozen=True, eq=False)
class Month:
    """What one month produced: each field is the frozen result of one phase of :data:`PHASES`, and is
    None until that phase has run (before the first step there are no requests and no welfare)."""

    step: int
    levers: incentives.Levers | None = None
    links: LinkChanges | None = None
    requests: requests.RequestBatch | None = None
    discouraged: float = 0.0  # requests expected at the full-need rate less those expected at the rate asked
    rulings: Rulings | None = None
    deliveries: Deliveries | None = None
    flows: Flows | None = None
    settlement: Settlement | None = None
    welfare: Welfare | None = None
