"""Time the phases of :meth:`DataSharingModel.step` without touching the model's code.

:func:`instrument` shadows the model's phase methods with timing wrappers on that one instance
(``step`` finds them as instance attributes), so only benchmarked models pay the few microseconds
per step it costs, and a renamed method fails loudly here instead of going unmeasured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Phase name -> the model methods ``step`` calls for it, in docs/ODD.md section 3 order.
PHASES: dict[str, tuple[str, ...]] = {
    "countermeasures": ("_apply_countermeasures", "_change_capabilities"),
    "links": ("_update_links",),  # decay and brokering
    "requests": ("_request_data",),  # drawn, routed and decided
    "settlement": ("_flows", "_settle"),  # flows, money, costs, incidents and welfare
    "trust": ("_update_trust",),
    "learning": ("_learn",),
    "metrics": ("_measure",),
}
DATA_COLLECTION = "data collection"


@dataclass
class PhaseClock:
    """Wall-clock and CPU seconds spent in each phase since the model was instrumented."""

    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    def timed(self, phase: str, method: Callable) -> Callable:
        self.wall.setdefault(phase, 0.0)
        self.cpu.setdefault(phase, 0.0)

        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.wall[phase] += time.perf_counter() - wall
                self.cpu[phase] += time.process_time() - cpu

        return wrapper


def instrument(model) -> PhaseClock:
    """Wrap ``model``'s phase methods and its data collector with timers; returns the clock."""
    clock = PhaseClock()
    for phase, names in PHASES.items():
        for name in names:
            setattr(model, name, clock.timed(phase, getattr(model, name)))
    collector = model.datacollector
    collector.collect = clock.timed(DATA_COLLECTION, collector.collect)
    return clock
