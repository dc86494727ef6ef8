"""A package against the baseline over many seeds, as the browser app's comparison shows it.

Both arms run the same seeds (common random numbers), each run through the batch's own
:func:`simulation.experiments.execute.run_chunk`, one run per task on any ``concurrent.futures``
executor.  The bands are the 95% interval of the mean month by month and the effects are the
differences in final-year means, both from :mod:`simulation.experiments.statistics`; final-year
outcomes come from :func:`simulation.experiments.outcomes.final_year`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, Future, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulation.config import Scenario
from simulation.experiments.execute import run_chunk
from simulation.experiments.outcomes import final_year
from simulation.experiments.plan import RunSpec, child_seeds
from simulation.experiments.pool import spooled, unspooled
from simulation.experiments.statistics import mean_bands, paired_by_seed, paired_effect

PACKAGE, BASELINE = "package", "baseline"
ARMS = (PACKAGE, BASELINE)
BANDS = {  # monthly metric: what the page calls it
    "sharing_volume": "Sharing volume per month",
    "producer_integration": "Producers integrated (share)",
    "islands": "Data islands (two-way exchange)",
    "fulfilment_rate": "Requests fulfilled (share)",
    "net_countermeasure_cost": "Net countermeasure cost per month (10k yuan)",
}
EFFECTS = {  # run-level outcome: (what the table calls it, where it is read)
    "final_year_volume": ("Sharing volume per month, final year", "final year"),
    "final_year_fulfilment": ("Requests fulfilled, final year", "final year"),
    "final_year_wait_mean_days": ("Mean wait (working days), final year", "final year"),
    "producer_integration": ("Producers integrated, last month", "last month"),
    "islands": ("Data islands (two-way exchange), last month", "last month"),
    "forced_volume_share": ("Share of the volume the authority forced", "whole horizon"),
    "interest_balance_overall": ("Roles that gain from the system (share)", "whole horizon"),
    "total_net_countermeasure_cost": ("Net countermeasure cost (10k yuan), whole horizon", "whole horizon"),
}
DEFAULT_RUNS = 10


def baseline_of(package: Scenario, baseline: Scenario) -> Scenario:
    """The package's world without its countermeasures: the package's population, network, demand
    and parameters with the baseline's countermeasures, so that the difference is the package's."""
    return package.model_copy(update={"name": BASELINE, "countermeasures": baseline.countermeasures.model_copy()})


def plan_comparison(package: Scenario, baseline: Scenario, runs: int = DEFAULT_RUNS, steps: int | None = None,
                    root_seed: int | None = None) -> list[RunSpec]:
    """Runs 0..runs-1 of the package and runs..2*runs-1 of the baseline, run i and runs+i on the same
    seed (child i of the root seed, the package's own seed by default)."""
    steps = steps or package.steps
    seeds = child_seeds(package.seed if root_seed is None else root_seed, runs)
    arms = ((PACKAGE, package.model_copy(update={"name": PACKAGE})), (BASELINE, baseline_of(package, baseline)))
    return [RunSpec(a * runs + i, scenario, seed, steps, replication=i, point=a)
            for a, (_, scenario) in enumerate(arms) for i, seed in enumerate(seeds)]


@dataclass
class Comparison:
    """Finished runs of both arms: ``runs`` one row per run, ``timeseries`` one row per run and month,
    both with an ``arm`` column."""

    specs: list[RunSpec]
    runs: pd.DataFrame
    timeseries: pd.DataFrame

    @property
    def seeds(self) -> list[int]:
        return sorted({spec.seed for spec in self.specs}, key=[s.seed for s in self.specs].index)

    @property
    def steps(self) -> int:
        return self.specs[0].steps

    @property
    def package(self) -> Scenario:
        return self.specs[0].scenario


RETRIES_AFTER_DEATH = 1  # a run whose process died is sent once more, to the replaced pool


def run_comparison(specs: list[RunSpec], executor: Executor | Callable[[], Executor],
                   on_progress: Callable[[int, int], None] = lambda d, t: None,
                   cancelled: Callable[[], bool] = lambda: False, in_flight: int | None = None) -> Comparison | None:
    """Every run of ``specs``, one per task; None when ``cancelled()`` turns true (tasks not started
    are cancelled).  ``on_progress(done, total)`` follows each finished run.

    ``executor`` is an executor, or a function returning the current one (the server's
    :func:`~simulation.experiments.execute.shared_processes`, which replaces a pool broken by a dead
    process): with a function, a run whose process died is sent once more to the pool it returns
    then.  ``in_flight`` caps the tasks submitted and not finished, so that a large comparison
    queues no further ahead on a shared pool than that (None: every run at once)."""
    with tempfile.TemporaryDirectory(prefix="datasharing-compare-") as spool:
        return _run_all(specs, executor, Path(spool), on_progress, cancelled, in_flight)


def _run_all(specs: list[RunSpec], executor: Executor | Callable[[], Executor], spool: Path,
             on_progress: Callable[[int, int], None], cancelled: Callable[[], bool],
             in_flight: int | None) -> Comparison | None:
    # Results come back through files of ``spool`` (pool.spooled), so that a run process killed while
    # it sends its result can never leave the shared pool waiting for the rest of a message.
    current = executor if callable(executor) else lambda: executor
    cap = len(specs) if in_flight is None else max(1, in_flight)
    waiting = list(reversed(specs))  # popped from the end: run order
    deaths: dict[int, int] = {}
    running: dict[Future, RunSpec] = {}
    rows, series = [], []
    try:
        while waiting or running:
            while waiting and len(running) < cap:
                spec = waiting.pop()
                running[_submit(current, spec, callable(executor), spool)] = spec
            finished, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancelled():
                return None
            for future in finished:
                spec = running.pop(future)
                try:
                    runs, timeseries, _ = unspooled(spool, future.result())
                except (BrokenExecutor, CancelledError):  # cancelled: by the pool's replacement, not by us
                    deaths[spec.run_id] = deaths.get(spec.run_id, 0) + 1
                    if not callable(executor) or deaths[spec.run_id] > RETRIES_AFTER_DEATH:
                        raise
                    waiting.append(spec)
                    continue
                rows.append(runs)
                if timeseries is not None:
                    series.append(timeseries)
            if finished:
                on_progress(sum(len(r) for r in rows), len(specs))
    finally:
        for future in running:
            future.cancel()
    return collect(specs, pd.concat(rows, ignore_index=True), pd.concat(series, ignore_index=True) if series else None)


def _submit(current: Callable[[], Executor], spec: RunSpec, replaceable: bool, spool: Path) -> Future:
    try:
        return current().submit(spooled, run_chunk, [spec], str(spool))
    except BrokenExecutor:  # a process died since the last result came in: the pool refuses work
        if not replaceable:
            raise
        return current().submit(spooled, run_chunk, [spec], str(spool))


def collect(specs: list[RunSpec], runs: pd.DataFrame, timeseries: pd.DataFrame | None) -> Comparison:
    """Runs and timeseries labelled with their arm, in run order."""
    arm = pd.Series({spec.run_id: ARMS[spec.point] for spec in specs})
    runs = runs.sort_values("run_id", ignore_index=True).assign(arm=lambda f: f["run_id"].map(arm))
    if timeseries is None:
        timeseries = pd.DataFrame(columns=["run_id", "step", *BANDS])
    timeseries = (timeseries.sort_values(["run_id", "step"], ignore_index=True)
                  .assign(arm=lambda f: f["run_id"].map(arm)))
    return Comparison(specs, runs, timeseries)


def bands(comparison: Comparison, metric: str) -> pd.DataFrame:
    """Per arm and month: the mean of ``metric`` over the runs and its 95% interval."""
    ordered = comparison.timeseries.sort_values(["arm", "step"], kind="stable")
    return mean_bands(ordered, ["arm", "step"], metric)[["arm", "step", "n", "mean", "sd", "ci_low", "ci_high"]]


def run_outcomes(comparison: Comparison) -> pd.DataFrame:
    """One row per finished run: its arm and every outcome of ``EFFECTS``."""
    ok = comparison.runs[comparison.runs["status"] == "ok"].set_index("run_id")
    year = final_year(comparison.timeseries, by="run_id")
    columns = [name for name in EFFECTS if name not in year.columns]
    return ok[["arm", "seed", *columns]].join(year, how="inner").astype({c: float for c in columns})


def effects(comparison: Comparison) -> pd.DataFrame:
    """One row per outcome: both arms' means and the package's effect with its paired 95% interval
    (both arms run the same seeds; a seed whose run failed in either arm is left out of both)."""
    outcomes = run_outcomes(comparison)
    package, baseline = paired_by_seed(*(outcomes[outcomes["arm"] == arm].set_index("seed") for arm in ARMS))
    rows = []
    for name, (label, _) in EFFECTS.items():
        values, base = package[name].to_numpy(), baseline[name].to_numpy()
        rows.append({"outcome": name, "label": label, "n": len(values),
                     "package": float(np.mean(values)) if len(values) else np.nan,
                     "baseline": float(np.mean(base)) if len(base) else np.nan, **paired_effect(values, base)})
    return pd.DataFrame(rows)
