"""Executing a plan: runs travel in chunks to local processes or a Dask cluster, and every finished
chunk lands in the results folder (:mod:`simulation.experiments.results`), so a batch resumes
where it stopped.  Both executors are ``concurrent.futures`` executors; what runs where never
changes a result, since each run carries its own seed.

What goes wrong is handled here: Ctrl-C or SIGTERM stops the workers and keeps what finished;
workers exit by themselves when the main process dies (even by kill -9); a worker that dies takes
only its runs with it, which are tried again one at a time and recorded as failed after
``MAX_ATTEMPTS`` deaths; a full disk ends the batch with one line and a folder that resumes."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.core.metrics import METRICS
from simulation.core.provenance import SOURCE_PACKAGES
from simulation.core.runner import run
from simulation.errors import ConfigError, Interrupted, ResultsUnreadable, SchedulerUnreachable, WorkersMissingProject
from simulation.experiments.folder import claim, locked, writing
from simulation.experiments.plan import Plan, RunSpec
from simulation.experiments.results import (CHUNKS, MANIFEST, RUNS, SUMMARY_COLUMNS, ChunkStore, begin, consolidate,
                                            now, read_parquet, runs_frame)
from simulation.experiments.store import write_json

# Dask costs several milliseconds per task: a task of a few seconds makes that negligible, and a
# few tasks in flight per worker keep every worker busy while finished chunks are written.
TARGET_TASK_SECONDS = 5.0
IN_FLIGHT_PER_WORKER = 2
# A run whose worker process dies this often (the first time possibly with other runs, then alone)
# is recorded as failed, so a run killed every time (out of memory) never blocks a batch.
MAX_ATTEMPTS = 3
PARENT_CHECK_SECONDS = 1.0  # how often a local worker checks that the main process still lives


def run_chunk(chunk: Sequence[RunSpec]) -> tuple[pd.DataFrame, pd.DataFrame | None, float]:
    """Run a chunk (what workers execute); a run that raises is recorded as failed with its error,
    never fatal to the batch.  Returns the runs rows, the timeseries of the runs that finished, and
    the seconds it took."""
    started = time.perf_counter()
    rows, series = [], []
    for spec in chunk:
        try:
            result = run(spec.scenario, seed=spec.seed, steps=spec.steps)
        except Exception as exc:  # noqa: BLE001 - any failure of one run is data about that run
            rows.append({**spec.labels(), "status": "failed", "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({**spec.labels(), "status": "ok", "error": None, **{k: result.summary[k] for k in SUMMARY_COLUMNS}})
        series.append(result.timeseries.assign(run_id=spec.run_id)[["run_id", *METRICS]])
    timeseries = pd.concat(series, ignore_index=True) if series else None
    return runs_frame(rows), timeseries, time.perf_counter() - started


@dataclass
class BatchOutcome:
    out: Path
    total: int
    failed: int
    skipped: int  # runs already finished in the folder before this call


def execute(plan: Plan, out: str | Path, *, workers: int | None = None, scheduler: str | None = None,
            chunk_size: int | None = None, restart: bool = False, replace_stale: bool = False,
            progress: bool = True) -> BatchOutcome:
    """Run every run of ``plan`` not yet finished in ``out`` and consolidate the results.

    Local processes (spawn) by default, ``workers`` of them (default: the number of CPUs); with
    ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) an existing Dask cluster.  ``chunk_size`` fixes the
    runs per task (default: sized from measured run times so a task lasts seconds).  A folder holding
    another plan's or another code version's results is refused unless ``restart`` discards them
    (``replace_stale``: discard them only then, and resume the folder's own unfinished batch)."""
    out = Path(out)
    claim(out)
    store: ChunkStore | None = None

    def saved() -> str:
        count = len(store.completed()) if store else 0
        return f"{count} of {len(plan.runs)} runs saved, resume with the same command"

    # The executor first, so that an unreachable scheduler fails before a restart discards anything
    # (local processes start only when the first chunk is submitted).
    try:
        with _signals_stop_the_batch(), locked(out), open_executor(workers, scheduler) as pool:
            try:
                with writing(out, saved):
                    manifest, resuming = begin(out, plan, restart, replace_stale)
                    store = ChunkStore(out / CHUNKS)
                    done = store.completed()
                    pending = [spec for spec in plan.runs if spec.run_id not in done]
                    if not pending and manifest.get("finished") and (out / RUNS).exists():
                        failed = _finished_failures(out)
                        if failed is not None:
                            return BatchOutcome(out, len(plan.runs), failed, len(done))
                    if resuming:
                        manifest["resumed"].append(now())
                    manifest["finished"] = None
                    write_json(out / MANIFEST, manifest)
                    if pending:
                        manifest["executors"] = [*manifest.get("executors", []), pool.description]
                        write_json(out / MANIFEST, manifest)
                        _drive(pending, pool, chunk_size, store, _progress_bar(plan, len(done), progress))
                    runs = consolidate(out, store)
                    failed = int((runs["status"] != "ok").sum())
                    manifest.update(finished=now(), failed_runs=failed)
                    write_json(out / MANIFEST, manifest)
            except BaseException:
                pool.stop_now()  # nothing more will be written: do not wait for the runs in flight
                raise
    except _Stop as stop:
        raise Interrupted(f"{out}: interrupted; {saved()}", stop.signal_number) from None
    return BatchOutcome(out, len(plan.runs), failed, len(done))


def _finished_failures(out: Path) -> int | None:
    """The failed runs of a finished folder, or None if its runs.parquet is damaged (rebuilt then)."""
    try:
        return int((read_parquet(out / RUNS, columns=["status"])["status"] != "ok").sum())
    except ResultsUnreadable:
        return None


class _Stop(BaseException):
    """Raised in the main thread by SIGINT or SIGTERM; a BaseException, so no handler of
    ordinary errors swallows it."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


@contextmanager
def _signals_stop_the_batch() -> Iterator[None]:
    """While a batch runs, Ctrl-C and SIGTERM end it through its clean-up (workers stopped, lock
    released) instead of killing the main process and leaving the workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signal_number: int, _frame: Any) -> None:
        raise _Stop(signal_number)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _start_worker(parent: int) -> None:
    """Initializer of every local worker: Ctrl-C, which the terminal sends to every process of the
    batch, is left to the main process; and the worker exits when the main process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()


def _exit_with_parent(parent: int) -> None:
    # A dead parent's children are adopted by another process, so the parent id changes.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


@dataclass
class Workers:
    """Where chunks run: a ``concurrent.futures`` executor, its parallel slots, a description, and
    what a dead worker looks like there.  Local processes are rebuilt after a worker died."""

    executor: Executor
    slots: int
    description: str
    deaths: tuple[type[BaseException], ...]
    make: Any = None  # builds a new local executor; None on Dask, which replaces workers itself
    generation: int = field(default=0)
    task: Any = run_chunk  # what a worker runs on a chunk (tests replace it with one that dies)

    def submit(self, chunk: list[RunSpec]) -> Future:
        try:
            return self.executor.submit(self.task, chunk)
        except self.deaths:
            # A worker died since the last result came in, so the pool refuses new work before
            # any run in flight has reported the death.
            self.rebuild()
            return self.executor.submit(self.task, chunk)

    def rebuild(self) -> None:
        if self.make is not None:
            self.stop_now()
            self.executor = self.make()
        self.generation += 1

    def stop_now(self) -> None:
        """Stop the runs in flight and the worker processes, without waiting for them."""
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        # Python 3.12's ProcessPoolExecutor has no terminate_workers() (3.14): its processes are
        # killed directly, then the executor is shut down.
        for process in processes:
            process.kill()
        for process in processes:
            process.join(timeout=10)
        self.executor.shutdown(wait=bool(processes), cancel_futures=True)


@contextmanager
def open_executor(workers: int | None, scheduler: str | None) -> Iterator[Workers]:
    """A ``concurrent.futures`` executor, its number of parallel slots and a description of it.
    Connecting to a scheduler waits for Dask's ``distributed.comm.timeouts.connect``."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        from distributed import Client
        from distributed.scheduler import KilledWorker

        try:
            client = Client(address)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            _check_workers_import_the_project(client, address)
            slots = max(1, sum(client.nthreads().values()))
            yield Workers(client.get_executor(), slots, f"dask {address} ({slots} threads)", (KilledWorker,))
        finally:
            client.close()
        return
    slots = workers or os.cpu_count() or 1
    if slots < 1:
        raise ConfigError(f"workers: {slots} is not allowed: at least 1 local process")

    def make() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(slots, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(os.getpid(),))

    pool = Workers(make(), slots, f"local processes ({slots})", (BrokenProcessPool,), make)
    try:
        yield pool
    finally:
        pool.executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class _InFlight:
    chunk: list[RunSpec]
    attempts: int  # deaths of a worker running these runs so far
    generation: int  # of the executor it was submitted to


def _drive(pending: list[RunSpec], pool: Workers, chunk_size: int | None, store: ChunkStore, bar: Any) -> None:
    """Keep a few chunks in flight per slot and write each one as it finishes.  When a worker dies,
    the runs it may have been running are tried again alone, one at a time, so that a further
    death is that run's own."""
    queue = deque(pending)
    suspects: deque[tuple[RunSpec, int]] = deque()
    in_flight: dict[Future, _InFlight] = {}
    runs_timed, seconds = 0, 0.0
    failures = 0

    def record(runs: pd.DataFrame, timeseries: pd.DataFrame | None) -> None:
        nonlocal failures
        store.write(runs, timeseries)
        failures += int((runs["status"] != "ok").sum())
        bar.set_postfix(failed=failures, refresh=False)
        bar.update(len(runs))

    with bar:
        while queue or suspects or in_flight:
            if suspects and not in_flight:
                spec, attempts = suspects.popleft()
                future = pool.submit([spec])
                in_flight[future] = _InFlight([spec], attempts, pool.generation)
            while queue and not suspects and len(in_flight) < IN_FLIGHT_PER_WORKER * pool.slots:
                size = chunk_size or _auto_chunk_size(seconds / runs_timed if runs_timed else None, len(queue), pool.slots)
                chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
                future = pool.submit(chunk)
                in_flight[future] = _InFlight(chunk, 0, pool.generation)
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                sent = in_flight.pop(future)
                try:
                    runs, timeseries, took = future.result()
                except (*pool.deaths, CancelledError) as exc:
                    if isinstance(exc, CancelledError) and sent.generation == pool.generation:
                        raise  # only a rebuild cancels runs in flight
                    if sent.generation == pool.generation:
                        pool.rebuild()
                    for spec in sent.chunk:
                        if sent.attempts + 1 >= MAX_ATTEMPTS:
                            record(_died(spec, sent.attempts + 1, exc), None)
                        else:
                            suspects.append((spec, sent.attempts + 1))
                    continue
                except ImportError as exc:
                    raise _missing_project(exc, pool) from None
                record(runs, timeseries)
                runs_timed, seconds = runs_timed + len(runs), seconds + took


def _died(spec: RunSpec, attempts: int, exc: BaseException) -> pd.DataFrame:
    """The record of a run whose worker died every time it was tried."""
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    error = (f"WorkerDied: the worker process running it died {attempts} times "
             f"(killed, e.g. for lack of memory): {type(exc).__name__}: {reason}")
    return runs_frame([{**spec.labels(), "status": "failed", "error": error}])


def _check_workers_import_the_project(client: Any, address: str) -> None:
    """Dask workers that cannot import the project would fail (or die) on the first task; ask each
    one before any task is sent."""
    def probe() -> str | None:  # nested, so that Dask sends it by value, not as a project import
        import importlib

        try:
            importlib.import_module("simulation.experiments.execute")
        except ImportError as exc:
            return str(exc)
        return None

    missing = {worker: problem for worker, problem in client.run(probe).items() if problem}
    if missing:
        worker, problem = next(iter(missing.items()))
        raise WorkersMissingProject(f"{len(missing)} Dask worker(s) of {address} (e.g. {worker}) cannot import the "
                                    f"project ({problem}); install it on every worker with pip (see the README, Batches)")


def _missing_project(exc: ImportError, pool: Workers) -> Exception:
    """A worker that cannot import the model: the project is not installed there."""
    module = (exc.name or "").split(".")[0]
    if module not in SOURCE_PACKAGES and not any(f"'{p}" in str(exc) for p in SOURCE_PACKAGES):
        return exc
    return WorkersMissingProject(f"the workers of {pool.description} cannot import the project ({exc}); "
                                 "install it on every worker with pip (see the README, Batches)")


def _auto_chunk_size(seconds_per_run: float | None, remaining: int, slots: int) -> int:
    """One run per chunk until run times are known; then chunks of about TARGET_TASK_SECONDS,
    smaller near the end so that the last runs still spread over every slot."""
    if seconds_per_run is None:
        return 1
    by_time = max(1, int(TARGET_TASK_SECONDS / max(seconds_per_run, 1e-6)))
    balanced = max(1, math.ceil(remaining / (IN_FLIGHT_PER_WORKER * slots)))
    return min(by_time, balanced)


def _progress_bar(plan: Plan, done: int, enabled: bool) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=len(plan.runs), initial=done, unit="run", desc=plan.name, disable=not enabled, dynamic_ncols=True)
    bar.set_postfix(failed=0, refresh=False)
    return bar
