"""The coordinating authority as a process (docs/ODD.md section 3, step 4d).

A requester may take a refusal to the authority (``simulation/core/requests.py`` decides whether
it does).  The case joins a queue, first in, first out.  Each month the authority decides as many
cases as its capacity allows; a case waits for its turn in working days that add to the request's,
and a requester withdraws a case still queued after ``case_patience`` months.  The authority
decides by the legal tier (:func:`agents.incentives.ruling_probability`): it orders an
unconditional item shared, a conditional one with ``arbitration``, a not-shareable one never.
Every decided case costs ``case_cost``, paid by the countermeasure budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import incentives
from agents.incentives import Levers
from agents.state import Array, StateArrays
from simulation.config import Parameters
from simulation.core.requests import RequestBatch

WORKING_DAYS_PER_MONTH = 21


def monthly_capacity(lv: Levers, holders: int) -> float:
    """Cases the authority can decide in a month (``authority_capacity`` per 100 holders)."""
    return lv.authority_capacity * holders / 100.0


def service_chance(decided: float, waiting: float, capacity: float, patience: int) -> float:
    """The chance a new case is decided within its requester's patience at the pace of a month that
    decided ``decided`` of the ``waiting`` cases (with none waiting: 1 if the authority sits at all)."""
    if waiting == 0:
        return 1.0 if capacity > 0 else 0.0
    return 1.0 - (1.0 - decided / waiting) ** patience


class Cases(StateArrays):
    """Escalated refusals, one row per case, in the order they were filed."""

    link = Array(np.int64, "the link the request travelled")
    requester = Array(np.int64, "holder that asked")
    provider = Array(np.int64, "holder that refused")
    provider_is_u = Array(bool, "the data would go u -> v over the link")
    channel = Array(np.int8, "CATALOGUED or CROSS_SECTOR")
    size = Array(np.float64, "data units asked for")
    quality = Array(np.float64, "of the provider's data when asked")
    technology = Array(np.float64, "the provider's, when asked")
    security = Array(np.float64, "the provider's, when asked")
    exposure = Array(np.float64, "sensitive share of the data asked for")
    conditional = Array(np.float64, "1 if the item is in the conditional tier")
    restricted = Array(np.float64, "1 if the item may not be shared")
    filed = Array(np.int64, "month the request was filed")
    wait_days = Array(np.float64, "working days waited by the refusal")

    @classmethod
    def escalated_in(cls, batch: RequestBatch, month: int) -> "Cases":
        rows, req = batch.escalated, batch.view
        return cls(link=batch.link[rows], requester=batch.requester[rows], provider=batch.provider[rows],
                   provider_is_u=batch.provider_is_u[rows], channel=batch.channel[rows], size=req.size[rows],
                   quality=req.quality[rows], technology=req.technology[rows], security=req.security[rows],
                   exposure=req.exposure[rows], conditional=req.conditional[rows], restricted=req.restricted[rows],
                   filed=np.full(int(rows.sum()), month), wait_days=batch.wait_days[rows])


@dataclass(frozen=True)
class Rulings:
    """The authority's month: the cases it decided, which it ordered shared, the working days each
    waited from filing to ruling, the cases withdrawn unheard, those still queued, and the cost."""

    decided: Cases
    granted: np.ndarray
    wait_days: np.ndarray
    withdrawn: int = 0
    backlog: int = 0
    cost: float = 0.0


class Authority:
    """The queue of cases and how fast it moves.  ``service`` is the chance a case is decided before
    its requester withdraws it, as last month's throughput shows (what providers and requesters
    expect of escalation)."""

    def __init__(self) -> None:
        self.queue = Cases.empty()
        self.service = 1.0
        self._lost_links = 0

    def take_up(self, batch: RequestBatch, month: int) -> None:
        self.queue.extend(Cases.escalated_in(batch, month))

    def relink(self, kept: np.ndarray) -> None:
        """The holder links were cut to ``kept``: cases on a link that is gone are withdrawn."""
        on_kept = kept[self.queue.link]
        self._lost_links += int((~on_kept).sum())
        self.queue.keep(on_kept)
        self.queue.link = (np.cumsum(kept) - 1)[self.queue.link]

    def rule(self, rng: np.random.Generator, p: Parameters, lv: Levers, holders: int, month: int) -> Rulings:
        """Withdraw the cases that waited too long, decide the oldest as capacity allows, and cost them."""
        waited = month - self.queue.filed
        patient = waited < p.case_patience
        withdrawn = int((~patient).sum()) + self._lost_links
        self._lost_links = 0
        self.queue.keep(patient)
        capacity = monthly_capacity(lv, holders)
        slots = int(capacity) + int(rng.random() < capacity - int(capacity))
        waiting = len(self.queue)
        taken = np.arange(waiting) < slots
        decided = self.queue.rows(taken)
        self.queue.keep(~taken)
        self.service = service_chance(len(decided), waiting, capacity, p.case_patience)
        chance = incentives.ruling_probability(lv, decided)
        granted = rng.random(len(decided)) < chance
        queued_days = (month - decided.filed) * WORKING_DAYS_PER_MONTH
        wait = decided.wait_days + queued_days + p.arbitration_days
        return Rulings(decided, granted, wait, withdrawn, len(self.queue), lv.case_cost * len(decided))
