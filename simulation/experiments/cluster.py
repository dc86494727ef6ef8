"""A Dask cluster's workers as the batch's executor: reached, waited for, and checked to run this
checkout's model code before any run is sent.  A scheduler without workers, a scheduler lost
mid-batch and a worker running other model code each end the batch with one line.  ``distributed``
is imported only when a cluster is used."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from simulation.core.provenance import code_version
from simulation.errors import (NoDaskWorkers, SchedulerLost, SchedulerUnreachable, WorkersMissingProject,
                               WorkersRunOtherCode)
from simulation.experiments.plan import RunSpec
from simulation.experiments.pool import Workers

# How long a batch waits for a scheduler's first worker, and for a scheduler it lost to answer
# again, before it stops with one line; and how long closing the connection may take then.
WORKERS_WAIT_SECONDS = 20.0
SCHEDULER_LOST_SECONDS = 10.0
CLIENT_CLOSE_SECONDS = 5.0


@dataclass
class DaskWorkers(Workers):
    """A Dask cluster's workers: Dask replaces a dead worker itself; what ends a batch here is a
    scheduler that stops answering, which cancels every run in flight."""

    client: Any = None
    address: str = ""
    silent_since: float | None = None

    def _submit(self, chunk: list[RunSpec]) -> Future:
        return self.executor.submit(self.task, chunk)  # Dask sends results whole or not at all

    def result(self, future: Future) -> Any:
        return future.result()

    def cancelled(self, exc: CancelledError) -> BaseException:
        return self.lost()

    def stop_now(self) -> None:
        # Cancelling asks the scheduler: a lost one would be waited for, and has dropped the runs anyway.
        if self.client.status == "running":
            self.executor.shutdown(wait=False)

    def check(self) -> None:
        """A scheduler that stops answering ends the batch within SCHEDULER_LOST_SECONDS."""
        if self.client.status == "running":
            self.silent_since = None
            return
        self.silent_since = self.silent_since or time.monotonic()
        if time.monotonic() - self.silent_since >= SCHEDULER_LOST_SECONDS:
            raise self.lost()

    def lost(self) -> SchedulerLost:
        return SchedulerLost(f"lost the Dask scheduler at {self.address}, which stopped answering")


@contextmanager
def dask_workers(address: str, task: Any) -> Iterator[DaskWorkers]:
    """The workers of the Dask scheduler at ``address``, running ``task`` on each chunk, once at least
    one has joined and every one runs this checkout's model code.  Connecting waits for Dask's
    ``distributed.comm.timeouts.connect``."""
    from distributed import Client

    with _dask_logs_silenced():
        try:
            client = Client(address)
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerUnreachable(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        with _closing(client):
            yield _checked_workers(client, address, task)


@contextmanager
def _dask_logs_silenced() -> Iterator[None]:
    """The client's own log of a lost scheduler (a traceback, then "Failed to reconnect") would
    surround the batch's one line; every failure it logs reaches the user through that line."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] == "distributed"]
    handlers = {handler for logger in loggers for handler in logger.handlers}
    for handler in handlers:
        handler.addFilter(_drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(_drop)


def _drop(_record: logging.LogRecord) -> bool:
    return False


@contextmanager
def _closing(client: Any) -> Iterator[None]:
    try:
        yield
    finally:
        try:
            client.close(timeout=CLIENT_CLOSE_SECONDS)
        except (OSError, TimeoutError):
            pass  # a lost scheduler: nothing is left to close there


def _checked_workers(client: Any, address: str, task: Any) -> DaskWorkers:
    """The scheduler's workers, once at least one has joined and every one runs this checkout's code."""
    from distributed.scheduler import KilledWorker

    try:
        client.wait_for_workers(1, timeout=WORKERS_WAIT_SECONDS)
    except TimeoutError:
        raise NoDaskWorkers(f"the Dask scheduler at {address} has no worker (none joined within "
                            f"{WORKERS_WAIT_SECONDS:.0f} s); start one with `dask worker {address}`") from None
    _check_workers_run_this_code(client, address)
    slots = max(1, sum(client.nthreads().values()))
    return DaskWorkers(client.get_executor(), slots, f"dask {address} ({slots} threads)", (KilledWorker,), task,
                       client=client, address=address)


def _check_workers_run_this_code(client: Any, address: str) -> None:
    """Dask workers that cannot import the project would fail (or die) on the first task, and workers
    running other model code would return results recorded under this checkout's code version: ask
    each one before any task is sent."""
    def probe() -> tuple[str, str]:  # nested, so that Dask sends it by value, not as a project import
        import importlib

        try:
            importlib.import_module("simulation.experiments.execute")
            provenance = importlib.import_module("simulation.core.provenance")
        except ImportError as exc:
            return "missing", str(exc)
        return "code", provenance.code_version()

    answers = client.run(probe)
    missing = {worker: problem for worker, (kind, problem) in answers.items() if kind == "missing"}
    if missing:
        worker, problem = next(iter(missing.items()))
        raise WorkersMissingProject(f"{len(missing)} Dask worker(s) of {address} (e.g. {worker}) cannot import the "
                                    f"project ({problem}); install it on every worker with pip"
                                    " (see the README, Batches)")
    ours = code_version()
    other = {worker: found for worker, (_, found) in answers.items() if found != ours}
    if other:
        worker, found = next(iter(other.items()))
        more = f" (and {len(other) - 1} other worker(s))" if len(other) > 1 else ""
        raise WorkersRunOtherCode(other_code(f"{worker}{more} of {address}", found, ours))


def other_code(worker: str, found: str, ours: str) -> str:
    """The refusal of a Dask worker that runs model code ``found`` instead of this checkout's ``ours``."""
    return (f"Dask worker {worker} runs model code {found}, not this checkout's {ours}: its results would be "
            "recorded under the wrong code version; install this checkout on every worker with pip (see the "
            "README, Batches)")
