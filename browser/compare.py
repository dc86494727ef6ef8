"""The page's comparison with the baseline, without Solara: what it runs (the levers as set, and
the baseline, over shared seeds), its figure of bands and its table of final-year effects.  The
runs go through :mod:`simulation.experiments.compare` on the server's shared pool of processes
(:func:`simulation.experiments.execute.shared_processes`), which every session uses:

- a fair share: a session keeps at most ``SESSION_SHARE`` runs (one per process) submitted and not
  finished, so that the runs of the sessions take turns in the pool's queue instead of one large
  comparison queueing ahead of everyone;
- a comparison stops when it is cancelled or its session ends (its tab closed): runs not started
  are cancelled, and at most ``SESSION_SHARE`` runs already started finish;
- a run whose process died (killed, e.g. for lack of memory) is sent once more to the pool, which
  ``shared_processes`` replaces;
- sizes are estimated before anything runs, and any failure is one line for the page and the log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError, Executor
from dataclasses import dataclass
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from browser.controls import DEFAULT_PRESET, SCENARIO_DIR, Settings, problem_line
from simulation.config import ConfigError, Scenario, load_scenario
from simulation.config.package import changed_values
from simulation.core.capacity import check_fits, run_bytes
from simulation.core.network import layout_of
from simulation.experiments.brief import draw_band
from simulation.experiments.compare import BANDS, Comparison, effects, plan_comparison, run_comparison
from simulation.experiments.execute import shared_processes
from simulation.experiments.numbers import number
from simulation.experiments.plan import RunSpec

log = logging.getLogger(__name__)
SESSION_SHARE = os.cpu_count() or 1  # runs in flight per session: shared_processes starts one process per CPU


@dataclass(frozen=True)
class CompareRequest:
    """What one comparison runs, and how the brief names it."""

    specs: list[RunSpec]
    title: str
    changes: dict[str, Any]


def compare_request(settings: Settings, runs: int, months: int) -> CompareRequest:
    """The comparison of the settings as they are now (raises ConfigError when they do not validate)."""
    config, seed, problems = settings.scenario()
    if problems:
        raise ConfigError(problems[0])
    baseline = load_scenario(SCENARIO_DIR / f"{DEFAULT_PRESET}.yaml")
    package = config.model_copy(update={"seed": seed})
    specs = plan_comparison(package, baseline, runs, months)
    check_runs_at_once_fit(package, months, min(SESSION_SHARE, len(specs)))
    changes = changed_values(package, baseline)
    title = (f"The {settings.controls['preset']} scenario"
             + (f" with {len(changes)} changes to the baseline" if changes else ""))
    return CompareRequest(specs, title, changes)


def check_runs_at_once_fit(package: Scenario, months: int, at_once: int) -> None:
    """A ConfigError when ``at_once`` runs of ``package`` side by side (in the pool's processes)
    would not fit in this machine's memory (a network file's size was checked when it was loaded)."""
    if package.network.kind != "file":
        layout = layout_of(package.population)
        check_fits(at_once * run_bytes(layout, package.network, months),
                   f"{at_once} runs at once of {layout.total:,} agents and {months} months", "Compare")


@dataclass(frozen=True)
class CompareOutcome:
    """A finished comparison with its table and figure, or the one line saying why it failed."""

    request: CompareRequest
    comparison: Comparison | None = None
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    problem: str | None = None


def compare(request: CompareRequest, on_progress: Callable[[int, int], None], cancelled: Callable[[], bool],
            pool: Callable[[], Executor] = shared_processes) -> CompareOutcome | None:
    """The comparison on the server's shared pool, at most ``SESSION_SHARE`` runs in flight, with
    its table and figure; None when ``cancelled()`` turned true; never raises (a failure is one line
    on the page and one in the server's log)."""
    try:
        comparison = run_comparison(request.specs, pool, on_progress, cancelled, in_flight=SESSION_SHARE)
        if comparison is None:
            return None
        return CompareOutcome(request, comparison, effects(comparison), CompareFigure(comparison).figure)
    except (BrokenExecutor, CancelledError):
        problem = "a run process of the server died twice during one run (killed, perhaps for lack of memory)"
    except Exception as exc:  # noqa: BLE001 - the page and the log get one line, never a traceback
        problem = problem_line(exc)
    log.error("A comparison failed: %s", problem)
    return CompareOutcome(request, problem=f"The comparison failed: {problem}")


class CompareFigure:
    """The five compared indicators over time: the mean of each arm and its 95% band."""

    def __init__(self, comparison: Comparison) -> None:
        self.figure = Figure(figsize=(11.0, 2.6))
        self.figure.subplots_adjust(left=0.04, right=0.99, top=0.86, bottom=0.16, wspace=0.28)
        for ax, metric in zip(self.figure.subplots(1, len(BANDS)), BANDS):
            draw_band(ax, comparison, metric)


def effects_html(table: pd.DataFrame) -> str:
    """The final-year effects as an HTML table (Markdown would fetch a renderer from a CDN)."""
    cell = 'style="padding:2px 8px;text-align:right"'
    head = "".join(f"<th {cell}>{h}</th>" for h in ("outcome", "package", "baseline", "effect", "95% CI"))
    body = "".join(
        f"<tr><td style='padding:2px 8px'>{row.label}</td><td {cell}>{number(row.package)}</td>"
        f"<td {cell}>{number(row.baseline)}</td><td {cell}>{number(row.effect)}</td>"
        f"<td {cell}>{number(row.effect_low)} to {number(row.effect_high)}</td></tr>"
        for row in table.itertuples())
    return f'<table class="effects" style="font-size:0.9em;border-collapse:collapse"><tr>{head}</tr>{body}</table>'
