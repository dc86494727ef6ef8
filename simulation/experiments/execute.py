"""Executing a plan: runs travel in chunks to local processes (:mod:`simulation.experiments.pool`) or
a Dask cluster (:mod:`simulation.experiments.cluster`), and every finished chunk lands in the
results folder (:mod:`simulation.experiments.results`), so a batch resumes where it stopped.  Both
executors are ``concurrent.futures`` executors; what runs where never changes a result, since each
run carries its own seed.  Here: what a worker runs on a chunk, the driver that keeps chunks in
flight, their size, the progress bar, and the server's shared pool of run processes.

What goes wrong is handled here: Ctrl-C or SIGTERM stops the workers and keeps what finished;
workers exit by themselves when the main process dies (even by kill -9); a worker that dies takes
only its runs with it, which are tried again one at a time and recorded as failed after
``MAX_ATTEMPTS`` deaths (local results come back through files, so a worker killed while it sends
one is a death like any other); a full disk ends the batch with one line and a folder that resumes.
On Dask, a scheduler without workers, a scheduler lost mid-batch and a worker running other model
code each end the batch with one line, the last before any run is sent."""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.core.metrics import METRICS
from simulation.core.provenance import SOURCE_PACKAGES, code_version
from simulation.core.runner import run
from simulation.errors import (ConfigError, Interrupted, ResultsUnreadable, SchedulerLost, WorkersMissingProject,
                               WorkersRunOtherCode)
from simulation.experiments.cluster import dask_workers, other_code
from simulation.experiments.folder import claim, locked, writing
from simulation.experiments.plan import Plan, RunSpec
from simulation.experiments.pool import Workers, local_processes
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
CHECK_SECONDS = 0.5  # while runs are awaited: how long a Ctrl-C, or a worker dead unnoticed, can wait


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


def run_checked_chunk(chunk: Sequence[RunSpec], code: str) -> tuple[pd.DataFrame, pd.DataFrame | None, float]:
    """:func:`run_chunk` on a Dask worker, refused there if it runs other model code than ``code``
    (the workers are checked before the batch; this catches one that joined later)."""
    found = code_version()
    if found != code:
        from distributed import get_worker

        try:
            worker = get_worker().address
        except ValueError:  # called outside a worker
            worker = f"process {os.getpid()}"
        raise WorkersRunOtherCode(other_code(worker, found, code))
    return run_chunk(chunk)


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
                with _STOP_REQUESTS.deferred():  # a second Ctrl-C must not break the clean-up
                    pool.stop_now()  # nothing more will be written: do not wait for the runs in flight
                    _STOP_REQUESTS.pending = None
                raise
    except _Stop as stop:
        raise Interrupted(f"{out}: interrupted; {saved()}", stop.signal_number) from None
    except SchedulerLost as lost:
        raise SchedulerLost(f"{out}: {lost}; {saved()} (or without a scheduler)") from None
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


class _StopRequests(threading.local):
    """Signals that arrived while the main thread was inside the executor.  Its calls hold locks
    that the executor's own threads need (a future's condition, the shutdown lock); an exception
    raised by the signal handler there could leave one held and hang the clean-up, so the handler
    only records the signal, and the batch stops as soon as the call returns.  Per thread: signal
    handlers run in the main thread, and other threads may drive batches of their own."""

    def __init__(self) -> None:
        self.deferring = 0
        self.pending: int | None = None

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self.deferring += 1
        try:
            yield
        finally:
            self.deferring -= 1
        if not self.deferring and self.pending is not None:
            pending, self.pending = self.pending, None
            raise _Stop(pending)

    def handle(self, signal_number: int, _frame: Any) -> None:
        if self.deferring:
            self.pending = signal_number
            return
        raise _Stop(signal_number)


_STOP_REQUESTS = _StopRequests()


@contextmanager
def _signals_stop_the_batch() -> Iterator[None]:
    """While a batch runs, Ctrl-C and SIGTERM end it through its clean-up (workers stopped, lock
    released) instead of killing the main process and leaving the workers behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _STOP_REQUESTS.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def open_executor(workers: int | None, scheduler: str | None) -> Iterator[Workers]:
    """A ``concurrent.futures`` executor, its number of parallel slots and a description of it:
    local processes, or with ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) a Dask cluster's workers."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        with dask_workers(address, functools.partial(run_checked_chunk, code=code_version())) as pool:
            yield pool
        return
    slots = workers or os.cpu_count() or 1
    if slots < 1:
        raise ConfigError(f"workers: {slots} is not allowed: at least 1 local process")

    started = multiprocessing.get_context("spawn").SimpleQueue()

    def make() -> ProcessPoolExecutor:
        return local_processes(slots, started=started)

    with tempfile.TemporaryDirectory(prefix="datasharing-results-") as spool:
        pool = Workers(make(), slots, f"local processes ({slots})", (BrokenProcessPool,), run_chunk, make,
                       spool=Path(spool), started=started)
        try:
            yield pool
        finally:
            with _STOP_REQUESTS.deferred():
                pool.executor.shutdown(wait=True, cancel_futures=True)
                started.close()


_SHARED: ProcessPoolExecutor | None = None
_SHARED_LOCK = threading.Lock()


def shared_processes() -> ProcessPoolExecutor:
    """A server's pool of run processes, one per CPU, shared by every browser session (each calls it
    from its own thread).  Started at the first call, when the first page opens, and each process
    imports the model at once, so that the first comparison does not wait for that (measured by
    ``python -m benchmarks.compare_panel``).  A pool broken by a dead worker (killed, e.g. for lack
    of memory) fails the comparison it was running, and is replaced at the next call."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is not None and _broken(_SHARED):
            _SHARED.shutdown(wait=False, cancel_futures=True)
            _SHARED = None
        if _SHARED is None:
            workers = os.cpu_count() or 1
            _SHARED = local_processes(workers, ignore_ctrl_c=False)
            for _ in range(workers):
                _SHARED.submit(ready)
        return _SHARED


def _broken(pool: ProcessPoolExecutor) -> bool:
    """Whether a dead worker broke the pool: it then refuses new work (a fresh one runs ``ready``)."""
    try:
        pool.submit(ready)
    except BrokenProcessPool:
        return True
    return False


def ready() -> bool:
    """Submitted to a fresh pool so that each process imports the model before its first run needs
    it (unpickling this function imports this module, and the runner with it)."""
    return True


@dataclass
class _InFlight:
    chunk: list[RunSpec]
    attempts: int  # deaths of a worker running these runs so far
    generation: int  # of the executor it was submitted to


def _drive(pending: list[RunSpec], pool: Workers, chunk_size: int | None, store: ChunkStore, bar: Any) -> None:
    """Keep a few chunks in flight per slot and write each one as it finishes.  When a worker dies,
    the runs it may have been running are tried again alone, one at a time, so that a further
    death is that run's own."""
    driver = _Driver(deque(pending), pool, chunk_size, store, bar)
    with bar:
        while driver.queue or driver.suspects or driver.in_flight:
            with _STOP_REQUESTS.deferred():
                driver.submit()
                finished, _ = wait(driver.in_flight, timeout=CHECK_SECONDS, return_when=FIRST_COMPLETED)
                for future in finished:
                    driver.collect(future)
                if not finished:
                    pool.check()


@dataclass
class _Driver:
    queue: deque[RunSpec]
    pool: Workers
    chunk_size: int | None
    store: ChunkStore
    bar: Any
    suspects: deque[tuple[RunSpec, int]] = field(default_factory=deque)
    in_flight: dict[Future, _InFlight] = field(default_factory=dict)
    runs_timed: int = 0
    seconds: float = 0.0
    failures: int = 0

    def submit(self) -> None:
        if self.suspects and not self.in_flight:
            spec, attempts = self.suspects.popleft()
            self._send([spec], attempts)
        while self.queue and not self.suspects and len(self.in_flight) < IN_FLIGHT_PER_WORKER * self.pool.slots:
            seconds_per_run = self.seconds / self.runs_timed if self.runs_timed else None
            size = self.chunk_size or _auto_chunk_size(seconds_per_run, len(self.queue), self.pool.slots)
            self._send([self.queue.popleft() for _ in range(min(size, len(self.queue)))], 0)

    def _send(self, chunk: list[RunSpec], attempts: int) -> None:
        future = self.pool.submit(chunk)  # may rebuild the pool: its generation is read after
        self.in_flight[future] = _InFlight(chunk, attempts, self.pool.generation)

    def collect(self, future: Future) -> None:
        sent = self.in_flight.pop(future)
        try:
            runs, timeseries, took = self.pool.result(future)
        except (*self.pool.deaths, CancelledError) as exc:
            if isinstance(exc, CancelledError) and sent.generation == self.pool.generation:
                raise self.pool.cancelled(exc) from None  # only a rebuild cancels runs in flight
            self._retry(sent, exc)
            return
        except ImportError as exc:
            raise _missing_project(exc, self.pool) from None
        self._record(runs, timeseries)
        self.runs_timed, self.seconds = self.runs_timed + len(runs), self.seconds + took

    def _retry(self, sent: _InFlight, exc: BaseException) -> None:
        if sent.generation == self.pool.generation:
            self.pool.rebuild()
        for spec in sent.chunk:
            if sent.attempts + 1 >= MAX_ATTEMPTS:
                self._record(_died(spec, sent.attempts + 1, exc), None)
            else:
                self.suspects.append((spec, sent.attempts + 1))

    def _record(self, runs: pd.DataFrame, timeseries: pd.DataFrame | None) -> None:
        self.store.write(runs, timeseries)
        self.failures += int((runs["status"] != "ok").sum())
        self.bar.set_postfix(failed=self.failures, refresh=False)
        self.bar.update(len(runs))


def _died(spec: RunSpec, attempts: int, exc: BaseException) -> pd.DataFrame:
    """The record of a run whose worker died every time it was tried."""
    reason = " ".join(str(exc).split())[:200] or type(exc).__name__
    error = (f"WorkerDied: the worker process running it died {attempts} times "
             f"(killed, e.g. for lack of memory): {type(exc).__name__}: {reason}")
    return runs_frame([{**spec.labels(), "status": "failed", "error": error}])


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
