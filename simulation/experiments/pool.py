"""Local run processes: the project's one way to start them (:func:`local_processes`), and the
batch's executor on them (:class:`Workers`), whose results come back through files (:func:`spooled`),
so that a worker killed while it sends one is a death like any other, and nothing here reads the
process pool's private attributes."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.experiments.plan import RunSpec

PARENT_CHECK_SECONDS = 1.0  # how often a local worker checks that the main process still lives


def local_processes(workers: int, *, ignore_ctrl_c: bool = True, started: Any = None) -> ProcessPoolExecutor:
    """The project's one way to start local run processes (the batch's, the browser app's and the
    benchmarks'): spawned, so each starts from a clean interpreter as a cluster's worker does, and
    each exits by itself when the process that started it is gone.  ``ignore_ctrl_c``: Ctrl-C, which
    the terminal sends to every process, is left to the main process, which stops the workers itself
    (the batch does); without it, Ctrl-C ends the workers at once, for a main process that does not
    stop them (a server, whose pool would otherwise finish every queued run before it could exit).
    ``started``: a queue (of the spawn context) on which each process puts its id before any task."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(), ignore_ctrl_c, started))


def _start_worker(parent: int, ignore_ctrl_c: bool, started: Any) -> None:
    if ignore_ctrl_c:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="exit-with-parent").start()
    if started is not None:
        started.put(os.getpid())


def _exit_with_parent(parent: int) -> None:
    # A dead parent's children are adopted by another process, so the parent id changes.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def spooled(task: Any, chunk: Sequence[RunSpec], spool: str) -> str:
    """Run ``task`` on ``chunk`` in a local process, write what it returns (or raises) to a file of
    ``spool`` and return the file's name.  What the pool then sends back is a few hundred bytes, which
    a pipe takes whole (below ``select.PIPE_BUF``): a worker killed while it writes its result leaves a
    half-written file that nobody reads, never half a message on the pool's result pipe, where
    Python's pool (and loky) would wait for the rest for ever without noticing the death."""
    try:
        outcome = (True, task(chunk))
    except Exception as exc:  # noqa: BLE001 - raised again in the main process, as the pool would
        outcome = (False, exc)
    name = f"{os.getpid()}-{uuid.uuid4().hex}.pickle"
    with open(os.path.join(spool, name), "wb") as file:
        pickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
    return name


def unspooled(spool: Path, name: str) -> Any:
    """What :func:`spooled` wrote to ``spool/name`` (raised again if the task raised); the file is
    removed."""
    path = spool / name
    with path.open("rb") as file:
        returned, value = pickle.load(file)
    path.unlink()
    if not returned:
        raise value
    return value


@dataclass
class Workers:
    """Where chunks run: a ``concurrent.futures`` executor, its parallel slots, a description, and
    what a dead worker looks like there.  Here local processes, rebuilt after a worker died; their
    results come back through files of ``spool`` (see :func:`spooled`)."""

    executor: Executor
    slots: int
    description: str
    deaths: tuple[type[BaseException], ...]
    task: Any  # what a worker runs on a chunk (tests replace it with one that dies)
    make: Any = None  # builds a new executor; None on Dask, which replaces workers itself
    generation: int = field(default=0)
    spool: Path | None = None
    started: Any = None  # the queue on which the local processes put their ids
    pids: set[int] = field(default_factory=set)

    def submit(self, chunk: list[RunSpec]) -> Future:
        try:
            return self._submit(chunk)
        except self.deaths:
            # A worker died since the last result came in, so the pool refuses new work before
            # any run in flight has reported the death.
            self.rebuild()
            return self._submit(chunk)

    def _submit(self, chunk: list[RunSpec]) -> Future:
        return self.executor.submit(spooled, self.task, chunk, str(self.spool))

    def result(self, future: Future) -> Any:
        """What the chunk's task returned (or raises what it raised)."""
        return unspooled(self.spool, future.result())

    def rebuild(self) -> None:
        if self.make is not None:
            self.stop_now()
            self.executor = self.make()
        self.generation += 1

    def cancelled(self, exc: CancelledError) -> BaseException:
        """What a run cancelled by no rebuild means: here, only the batch's own stop cancels runs."""
        return exc

    def check(self) -> None:
        """Called while no result comes in.  Every death of a local worker reaches the pool (its
        results are too small to be cut in half), so there is nothing to check here."""

    def stop_now(self) -> None:
        """Stop the runs in flight and the worker processes, without waiting for the runs: the
        workers are killed, which breaks the pool, so its shutdown returns at once."""
        while not self.started.empty():
            self.pids.add(self.started.get())
        # Only this process's own live children: an id of a worker already gone may have been reused.
        for child in multiprocessing.active_children():
            if child.pid in self.pids:
                child.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)
