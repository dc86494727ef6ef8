"""Executing a plan: runs travel in chunks to local processes or a Dask cluster, and every finished
chunk lands in the results folder (:mod:`simulation.experiments.results`), so a batch resumes
where it stopped.  Both executors are ``concurrent.futures`` executors; what runs where never
changes a result, since each run carries its own seed."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from simulation.core.metrics import METRICS
from simulation.core.runner import run
from simulation.errors import ConfigError, SchedulerUnreachable
from simulation.experiments.plan import Plan, RunSpec
from simulation.experiments.results import (CHUNKS, MANIFEST, RUNS, SUMMARY_COLUMNS, ChunkStore, begin, consolidate,
                                            locked, now, runs_frame)
from simulation.experiments.store import write_json

# Dask costs several milliseconds per task: a task of a few seconds makes that negligible, and a
# few tasks in flight per worker keep every worker busy while finished chunks are written.
TARGET_TASK_SECONDS = 5.0
IN_FLIGHT_PER_WORKER = 2


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
    # The executor first, so that an unreachable scheduler fails before a restart discards anything
    # (local processes start only when the first chunk is submitted).
    with locked(out), open_executor(workers, scheduler) as (executor, slots, description):
        manifest, resuming = begin(out, plan, restart, replace_stale)
        store = ChunkStore(out / CHUNKS)
        done = store.completed()
        pending = [spec for spec in plan.runs if spec.run_id not in done]
        if not pending and manifest.get("finished") and (out / RUNS).exists():
            failed = int((pd.read_parquet(out / RUNS, columns=["status"])["status"] != "ok").sum())
            return BatchOutcome(out, len(plan.runs), failed, len(done))
        if resuming:
            manifest["resumed"].append(now())
        manifest["finished"] = None
        write_json(out / MANIFEST, manifest)
        if pending:
            manifest["executors"] = [*manifest.get("executors", []), description]
            write_json(out / MANIFEST, manifest)
            _drive(pending, executor, slots, chunk_size, store, _progress_bar(plan, len(done), progress))
        runs = consolidate(out, store)
        failed = int((runs["status"] != "ok").sum())
        manifest.update(finished=now(), failed_runs=failed)
        write_json(out / MANIFEST, manifest)
    return BatchOutcome(out, len(plan.runs), failed, len(done))


@contextmanager
def open_executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, int, str]]:
    """A ``concurrent.futures`` executor, its number of parallel slots and a description of it.
    Connecting to a scheduler waits for Dask's ``distributed.comm.timeouts.connect``."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        from distributed import Client

        try:
            client = Client(address)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        try:
            slots = max(1, sum(client.nthreads().values()))
            yield client.get_executor(), slots, f"dask {address} ({slots} threads)"
        finally:
            client.close()
        return
    slots = workers or os.cpu_count() or 1
    if slots < 1:
        raise ConfigError(f"workers: {slots} is not allowed: at least 1 local process")
    pool = ProcessPoolExecutor(slots, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool, slots, f"local processes ({slots})"
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _drive(pending: list[RunSpec], executor: Executor, slots: int, chunk_size: int | None,
           store: ChunkStore, bar: Any) -> None:
    """Keep a few chunks in flight per slot and write each one as it finishes."""
    queue = deque(pending)
    in_flight: set = set()
    runs_timed, seconds = 0, 0.0
    failures = 0
    with bar:
        while queue or in_flight:
            while queue and len(in_flight) < IN_FLIGHT_PER_WORKER * slots:
                size = chunk_size or _auto_chunk_size(seconds / runs_timed if runs_timed else None, len(queue), slots)
                chunk = [queue.popleft() for _ in range(min(size, len(queue)))]
                in_flight.add(executor.submit(run_chunk, chunk))
            finished, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                runs, timeseries, took = future.result()
                store.write(runs, timeseries)
                runs_timed, seconds = runs_timed + len(runs), seconds + took
                failures += int((runs["status"] != "ok").sum())
                bar.set_postfix(failed=failures, refresh=False)
                bar.update(len(runs))


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
