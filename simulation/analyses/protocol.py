"""The study protocol: what every study is, so that one command path runs them all.

A study is a question asked of many runs.  Like SALib's ``ProblemSpec`` it starts from a validated
spec, and like the EMA Workbench's ``perform_experiments`` it hands its runs to one runner (here the
batch runner: parallel, resumable, on a Dask cluster) and analyses what comes back:

- ``load(**inputs) -> spec``: the study's inputs (a spec file and the options of its command)
  checked before any run; a study whose spec is a file names the file's identifying key
  (``spec_key``), by which ``validate`` recognises it;
- then either ``plan(spec) -> Plan`` and ``analyse(folder, spec, execution) -> Result`` (a
  :class:`PlannedStudy`: every run is known before the first starts), or ``run(spec, folder,
  **options) -> Result`` (an :class:`IterativeStudy`: each plan depends on the results of the one
  before, as in the equal-cost study's search);
- the :class:`Result` says what it found (``describe()``, what the command line prints) and which
  files it wrote; a study with a generated document block (``block``) also gives the block's
  content (``Result.block()``).

:func:`perform` runs either kind.  Studies register in :data:`simulation.analyses.registry.STUDIES`,
from which the command line builds one subcommand per study.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from simulation.core import capacity
from simulation.errors import UserError
from simulation.experiments.execute import BatchOutcome, execute
from simulation.experiments.folder import BATCH, owned
from simulation.experiments.plan import Plan
from simulation.experiments.results import RUNS
from simulation.experiments.store import GeneratedBlock


@dataclass(frozen=True)
class Input:
    """One input of a study besides the runner's options, as its ``load`` takes it by ``name``.  The
    command line shows it as an argument: positional, or the option ``--name-with-hyphens``.  An
    ``overrides`` input takes ``KEY=VALUE`` pairs of dotted scenario keys: ``load`` receives them as
    a mapping, and ``<name>_source``, how the caller names them in messages."""

    name: str
    help: str | None = None
    type: type = str
    default: Any = None
    metavar: str | None = None
    positional: bool = False
    at_least_one: bool = False
    overrides: bool = False


@dataclass(frozen=True)
class Execution:
    """How the runs of a planned study were made: its plan, the batch's outcome, the wall time and
    the load of the machine around it, and the runner's options."""

    plan: Plan
    outcome: BatchOutcome
    seconds: float
    load_before: list[float]
    load_after: list[float]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlanSize:
    """The scenario cells and runs of a study's largest plan, counted from its spec before anything
    is drawn or built, and what names the spec in messages (its file, or the options that size it)."""

    cells: int
    runs: int
    source: str


@runtime_checkable
class Result(Protocol):
    written: list[Path]

    def describe(self) -> str:
        """What the study found, for the terminal."""


@runtime_checkable
class DocumentedResult(Result, Protocol):
    def block(self) -> str:
        """The study's table as its document's generated block shows it."""


@runtime_checkable
class Study(Protocol):
    name: str                        # the command: python -m simulation NAME
    help: str
    inputs: tuple[Input, ...]
    spec_key: str | None             # the top-level key that marks the study's spec file; None: no spec file
    block: GeneratedBlock | None     # the document block its table goes into, if any
    doc_example: str | None          # a document holding that block
    doc_replaces_output: bool        # with a document, the table is written there instead of printed
    keeps_runs: bool                 # runs land in a results folder (resumable); else in a temporary one

    def load(self, **inputs: Any) -> Any:
        """The validated spec: every problem a ConfigError before any run starts."""

    def folder(self, spec: Any) -> Path | None:
        """The default results folder (None: a temporary one, the study's table being its product)."""

    def size(self, spec: Any) -> PlanSize:
        """The size of the study's largest plan, counted without building it (:func:`check_size`)."""


@runtime_checkable
class PlannedStudy(Study, Protocol):
    def plan(self, spec: Any) -> Plan:
        """Every run of the study."""

    def analyse(self, folder: Path, spec: Any, execution: Execution) -> Result:
        """The study's answer from the finished runs in ``folder``; writes its tables and figures."""


@runtime_checkable
class IterativeStudy(Study, Protocol):
    def run(self, spec: Any, folder: Path, **options: Any) -> Result:
        """Make the study's plans one after the other, each through the batch runner, and analyse."""


def perform(study: Study, spec: Any, folder: str | Path | None = None, **options: Any) -> Result:
    """Run ``study`` on its loaded ``spec`` into ``folder`` (default: the study's own) with the batch
    runner's ``options`` (workers, scheduler, restart, progress)."""
    check_size(study, spec)
    folder = Path(folder) if folder else study.folder(spec)
    if folder is None:
        with tempfile.TemporaryDirectory(prefix=f"{study.name}-") as temporary:
            return perform(study, spec, Path(temporary) / "runs", **options)
    if isinstance(study, IterativeStudy):
        with owned(folder, study.name):  # see _planned
            return study.run(spec, folder, **options)
    return _planned(study, spec, folder, options)


def check_size(study: Study, spec: Any) -> None:
    """A ConfigError naming the spec when the study's plan would not fit in memory or holds more
    runs than a batch may (:func:`simulation.core.capacity.check_plan_fits`): a 52-billion-run
    Sobol design is refused before SALib draws it."""
    size = study.size(spec)
    capacity.check_plan_fits(size.cells, size.runs, size.source)


def _planned(study: PlannedStudy, spec: Any, folder: Path, options: dict[str, Any]) -> Result:
    plan = study.plan(spec)  # every run's scenario validated before the folder is touched
    at_once = capacity.runs_at_once(len(plan.runs), options.get("workers"), options.get("scheduler"))
    capacity.check_largest_run(plan.runs, at_once, study.size(spec).source)
    # Held from the first run to the last table: a second study into the folder is refused, and
    # nothing of the user's in it is overwritten (simulation/experiments/folder.py).
    with owned(folder, BATCH):
        started, before = time.perf_counter(), load_average()
        outcome = execute_all(plan, folder, **options)
        seconds = time.perf_counter() - started
        return study.analyse(folder, spec, Execution(plan, outcome, seconds, before, load_average(), options))


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


class RunsFailed(UserError):
    """Some runs failed: there are no results until a re-run of the same study retries them."""

    exit_status = 1  # as for a batch with failed runs

    def __init__(self, outcome: BatchOutcome):
        super().__init__(f"{outcome.failed} of {outcome.total} runs failed; see the error column of "
                         f"{outcome.out}/{RUNS}; re-running the same command retries them")
        self.outcome = outcome


def execute_all(plan: Plan, out: Path, **options: Any) -> BatchOutcome:
    """Run ``plan`` through the batch runner into ``out``; RunsFailed unless every run finished."""
    outcome = execute(plan, out, **options)
    if outcome.failed:
        raise RunsFailed(outcome)
    return outcome
