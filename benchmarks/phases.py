"""Time the phases of :meth:`DataSharingModel.step` without touching the model's code.

The step iterates the model's declared :data:`~simulation.core.model.PHASES` through
``model.run_phase``; :func:`instrument` shadows that one method (and the data collector's
``collect``) on one instance with a timing wrapper, so only benchmarked models pay the few
microseconds per step it costs, and a phase added to the model is timed without a change here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from simulation.core import model as model_module

PHASES: tuple[str, ...] = tuple(phase.name for phase in model_module.PHASES)
DATA_COLLECTION = "data collection"


@dataclass
class PhaseClock:
    """Wall-clock and CPU seconds spent in each phase since the model was instrumented."""

    wall: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*PHASES, DATA_COLLECTION), 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*PHASES, DATA_COLLECTION), 0.0))

    def add(self, phase: str, wall: float, cpu: float) -> None:
        self.wall[phase] += time.perf_counter() - wall
        self.cpu[phase] += time.process_time() - cpu


def instrument(model) -> PhaseClock:
    """Time ``model``'s phases and its data collector; returns the clock."""
    clock = PhaseClock()
    run_phase, collect = model.run_phase, model.datacollector.collect

    def timed_phase(phase, month):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return run_phase(phase, month)
        finally:
            clock.add(phase.name, wall, cpu)

    def timed_collect(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return collect(*args, **kwargs)
        finally:
            clock.add(DATA_COLLECTION, wall, cpu)

    model.run_phase, model.datacollector.collect = timed_phase, timed_collect
    return clock
