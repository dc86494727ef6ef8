"""The measurements of the benchmark.  Each model measurement runs in a fresh process (see
:func:`in_fresh_process`), so its peak resident memory is its own and no run warms another's caches.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

from benchmarks.phases import PHASES, DATA_COLLECTION, instrument
from simulation import load_scenario
from simulation.config import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "all_countermeasures.yaml"
SEED = 1


def population(total: int) -> dict[str, int]:
    """Overrides for about ``total`` agents.  Departments and enterprises grow like the square root
    of the population (a province has tens of departments, thousands of enterprises, millions of
    citizens), so with the scenario's fixed tie densities the links grow about linearly with it."""
    government = max(20, round(math.sqrt(total) / 4))
    enterprise = max(100, round(5 * math.sqrt(total)))
    return {"population.government": government, "population.enterprise": enterprise,
            "population.public": total - government - enterprise}


def scenario_at(total: int) -> Scenario:
    return load_scenario(SCENARIO, overrides=population(total))


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


class Stopwatch:
    """Wall-clock and CPU seconds since it was started."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _sizes(scenario: Scenario) -> dict[str, int]:
    pop = scenario.population
    return {"agents": pop.government + pop.enterprise + pop.public, "government": pop.government,
            "enterprise": pop.enterprise, "public": pop.public}


def measure_fast(total: int, steps: int) -> dict[str, Any]:
    """Build the fast model at ``total`` agents and time ``steps`` steps, phase by phase."""
    from simulation.core.model import DataSharingModel

    scenario = scenario_at(total)
    rss_before = peak_rss_bytes()
    watch = Stopwatch()
    model = DataSharingModel(scenario, seed=SEED)
    build_wall, build_cpu = watch.read()
    clock = instrument(model)
    step_wall, step_cpu, links = [], [], []
    for _ in range(steps):
        watch = Stopwatch()
        model.step()
        wall, cpu = watch.read()
        step_wall.append(wall)
        step_cpu.append(cpu)
        links.append(len(model.links) + len(model.public_ties.u))
    return {
        **_sizes(scenario), "steps": steps, "links": sum(links) / len(links), "holder_links": len(model.links),
        "build_seconds": build_wall, "build_cpu_seconds": build_cpu,
        "step_seconds": step_wall, "step_cpu_seconds": step_cpu,
        "phase_seconds": {phase: clock.wall[phase] / steps for phase in (*PHASES, DATA_COLLECTION)},
        "phase_cpu_seconds": {phase: clock.cpu[phase] / steps for phase in (*PHASES, DATA_COLLECTION)},
        "peak_rss_bytes": peak_rss_bytes(), "rss_before_build_bytes": rss_before,
    }


def measure_reference(total: int, steps: int) -> dict[str, Any]:
    """Build the plain-Mesa reference at ``total`` agents and time ``steps`` steps."""
    from benchmarks.reference import ReferenceModel

    scenario = scenario_at(total)
    watch = Stopwatch()
    model = ReferenceModel(scenario, seed=SEED)
    build_wall, build_cpu = watch.read()
    watch = Stopwatch()
    for _ in range(steps):
        model.step()
    wall, cpu = watch.read()
    return {**_sizes(scenario), "steps": steps, "links": sum(len(a.neighbours) for a in model.people) // 2,
            "build_seconds": build_wall, "build_cpu_seconds": build_cpu,
            "seconds": wall, "cpu_seconds": cpu, "peak_rss_bytes": peak_rss_bytes()}


def batch_throughput(workers: int, runs: int, steps: int) -> dict[str, Any]:
    """Runs per minute of the batch runner on ``workers`` local processes (all_countermeasures as
    written, ``runs`` seeds); process start-up is part of the time, as it is for users."""
    from simulation.experiments.execute import execute
    from simulation.experiments.plan import Plan, RunSpec

    scenario = load_scenario(SCENARIO)
    plan = Plan("benchmark", {"scenario": str(SCENARIO)}, {"runs": runs, "steps": steps},
                [RunSpec(run_id=i, scenario=scenario, seed=SEED + i, steps=steps) for i in range(runs)])
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        before, watch = os.times(), Stopwatch()
        outcome = execute(plan, out, workers=workers, progress=False)
        wall, parent_cpu = watch.read()
        after = os.times()
    workers_cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"workers": workers, "runs": runs, "steps": steps, "agents": _sizes(scenario)["agents"],
            "seconds": wall, "runs_per_minute": 60 * runs / wall, "failed": outcome.failed,
            "workers_cpu_seconds": workers_cpu, "parent_cpu_seconds": parent_cpu, "load_average_before": load}


def in_fresh_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    # A bare interpreter, not simulation.experiments.pool.local_processes: its workers import the
    # project's modules as they start, which would already count in the memory a measurement starts from.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()
