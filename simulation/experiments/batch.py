"""Batches of runs: parallel on local processes or a Dask cluster, chunked, resumable.

An *experiment* file (``scenarios/experiments/*.yaml``) names scenarios, replications, a horizon, a
root seed and an optional sweep; :func:`plan_experiment` turns it into a :class:`Plan`, a list of
:class:`RunSpec`.  :func:`execute` runs any plan (other modules build their own, e.g. a sensitivity
design) and keeps its results in a folder ``DIR``:

- ``_manifest.json``: the plan as given and resolved, its hash, root seed, code and package versions,
  start and end times;
- ``chunks/runs-NNNNN.parquet`` and ``chunks/timeseries-NNNNN.parquet``: one pair per finished chunk,
  each written atomically.  They are the resumable record: a batch killed at any moment, re-run with
  the same command, skips the runs they hold;
- ``runs.parquet`` (one row per run) and ``timeseries.parquet`` (one row per run and step), sorted by
  ``run_id``: the consolidated results, written when every run has been tried.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from simulation.config import Block, ConfigError, Scenario, check_dotted_key, load_scenario, read_validated
from simulation.core.metrics import METRICS, SUMMARY_EXTRAS
from simulation.core.provenance import code_version, package_versions
from simulation.core.runner import run
from simulation.experiments.store import atomic_path, write_json, write_parquet

MANIFEST = "_manifest.json"
CHUNKS = "chunks"
RUNS = "runs.parquet"
TIMESERIES = "timeseries.parquet"
LOCK = "_lock"
OWNED = (MANIFEST, CHUNKS, RUNS, TIMESERIES, "runs.csv", "timeseries.csv", "report")

# Dask costs several milliseconds per task: a task of a few seconds makes that negligible, and a
# few tasks in flight per worker keep every worker busy while finished chunks are written.
TARGET_TASK_SECONDS = 5.0
IN_FLIGHT_PER_WORKER = 2
CONSOLIDATION_BLOCK = 5000  # runs sorted in memory at a time when writing timeseries.parquet
EXTRA_PACKAGES = ("dask", "distributed", "tqdm", "matplotlib")

SUMMARY_COLUMNS = SUMMARY_EXTRAS + tuple(m for m in METRICS if m != "step")
# Scenario keys the plan itself sets (seeds come from the root seed, the horizon from the
# experiment, the name labels results), so they cannot be swept.
PLAN_KEYS = ("name", "seed", "steps")
# Whole numbers in metrics.summarise, possibly missing ("never", or a failed run).
COUNT_COLUMNS = ("time_to_integration", "time_to_half_adoption", "islands", "incidents")


# ---------------------------------------------------------------------------------------------
# Experiment files


class Sweep(Block):
    method: Literal["grid", "list", "lhs"] = Field(
        description="grid: every combination; list: the i-th values together; lhs: Latin hypercube in [low, high]")
    parameters: dict[str, list[Any]] = Field(
        min_length=1, description="dotted scenario key: its values (grid, list) or [low, high] (lhs)")
    samples: int | None = Field(None, ge=1, le=1_000_000, description="number of Latin hypercube points (lhs only)")

    @model_validator(mode="after")
    def _shape_fits_method(self) -> "Sweep":
        if self.method == "lhs":
            if self.samples is None:
                raise ValueError("method lhs needs samples (the number of points)")
            for key, bounds in self.parameters.items():
                numbers = all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
                if len(bounds) != 2 or not numbers or not bounds[0] < bounds[1]:
                    raise ValueError(f"{key}: lhs needs [low, high] with low < high, got {bounds}")
            return self
        if self.samples is not None:
            raise ValueError(f"samples is used by method lhs only, not by {self.method}")
        empty = [key for key, values in self.parameters.items() if not values]
        if empty:
            raise ValueError(f"{empty[0]}: needs at least one value")
        lengths = {key: len(values) for key, values in self.parameters.items()}
        if self.method == "list" and len(set(lengths.values())) > 1:
            raise ValueError(f"method list needs lists of equal length, got {lengths}")
        return self

    def points(self, seed: int) -> list[dict[str, Any]]:
        """The sweep's points, each a mapping of dotted key to value."""
        keys = list(self.parameters)
        if self.method == "grid":
            return [dict(zip(keys, combo)) for combo in itertools.product(*self.parameters.values())]
        if self.method == "list":
            return [dict(zip(keys, combo)) for combo in zip(*self.parameters.values())]
        return self._latin_hypercube(keys, seed)

    def _latin_hypercube(self, keys: list[str], seed: int) -> list[dict[str, Any]]:
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(seed)).random(self.samples)
        points = []
        for row in unit:
            point = {}
            for key, u in zip(keys, row):
                low, high = self.parameters[key]
                if isinstance(low, int) and isinstance(high, int):  # integer bounds: every integer equally likely
                    point[key] = min(high, low + int(u * (high - low + 1)))
                else:
                    point[key] = float(low + u * (high - low))
            points.append(point)
        return points


class Experiment(Block):
    name: str = Field(description="experiment name")
    description: str = Field("", description="what the experiment is for")
    scenarios: list[str] = Field(min_length=1, description="scenario files, relative to the experiment file or absolute")
    baseline: str | None = Field(None, description="name of the scenario effects are measured against (default: the first)")
    replications: int = Field(ge=1, le=1_000_000, description="runs per scenario and sweep point")
    steps: int | None = Field(None, ge=1, le=100_000, description="horizon of every run in months (default: each scenario's own)")
    seed: int = Field(ge=0, le=2**63 - 1, description="root seed: run i gets child i of SeedSequence(seed)")
    sweep: Sweep | None = Field(None, description="optional parameter sweep over dotted scenario keys")


@dataclass(frozen=True)
class RunSpec:
    """One run: everything a worker needs, and the labels it carries into ``runs.parquet``."""

    run_id: int
    scenario: Scenario
    seed: int
    steps: int
    replication: int = 0
    point: int = 0
    values: Mapping[str, Any] = field(default_factory=dict)

    def labels(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "scenario": self.scenario.name, "point": self.point,
                "replication": self.replication, "seed": self.seed, "steps": self.steps,
                "config_hash": self.scenario.config_hash(), **self.values}


@dataclass
class Plan:
    """What :func:`execute` runs: the runs, and how they were asked for (kept in the manifest)."""

    name: str
    given: dict[str, Any]
    resolved: dict[str, Any]
    runs: list[RunSpec]

    def digest(self) -> str:
        """Hash of every run's full configuration, seed, horizon and labels: any change alters it."""
        text = json.dumps([{**r.labels(), "config": r.scenario.model_dump(mode="json")} for r in self.runs],
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def child_seeds(root: int, n: int) -> list[int]:
    """Seeds of runs 0..n-1: run i gets child i of ``SeedSequence(root)``, so its seed depends only on
    the root seed and i.  Shifted to 63 bits to fit a scenario seed and an int64 column."""
    return [int(child.generate_state(1, dtype=np.uint64)[0]) >> 1 for child in np.random.SeedSequence(root).spawn(n)]


def load_experiment(path: str | Path) -> tuple[dict[str, Any], Experiment]:
    """The experiment file as written and validated; sweep keys must be scenario keys."""
    path = Path(path)
    data, experiment = read_validated(path, Experiment)
    for key in experiment.sweep.parameters if experiment.sweep else ():
        check_dotted_key(Scenario, key, f"{path}: sweep.parameters")
        if key in PLAN_KEYS:
            raise ConfigError(f"{path}: sweep.parameters: '{key}' cannot be swept: the experiment sets it for every run")
    return data, experiment


def plan_experiment(path: str | Path) -> Plan:
    """Every run of the experiment, in order scenario, sweep point, replication; every swept
    scenario is validated here, before any run starts."""
    path = Path(path)
    given, experiment = load_experiment(path)
    files = [_scenario_file(path, name) for name in experiment.scenarios]
    points = experiment.sweep.points(experiment.seed) if experiment.sweep else [{}]
    bases = [load_scenario(file) for file in files]
    cells = [(k, _swept_scenario(path, file, k, point)) for file in files for k, point in enumerate(points)]
    names = [base.name for base in bases]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: scenarios: two files share the scenario name {duplicates[0]!r}; names label results")
    baseline = experiment.baseline or names[0]
    if baseline not in names:
        raise ConfigError(f"{path}: baseline: {baseline!r} is not one of the scenarios ({', '.join(names)})")
    seeds = child_seeds(experiment.seed, len(cells) * experiment.replications)
    runs = []
    for (k, scenario), replication in itertools.product(cells, range(experiment.replications)):
        values = {key: _value_at(scenario, key) for key in points[k]}
        steps = experiment.steps or scenario.steps
        runs.append(RunSpec(len(runs), scenario, seeds[len(runs)], steps, replication, k, values))
    resolved = {**experiment.model_dump(mode="json"), "scenarios": [str(f) for f in files], "baseline": baseline,
                "points": [{key: _value_at(cells[k][1], key) for key in p} for k, p in enumerate(points)],
                "configs": {base.name: base.model_dump(mode="json") for base in bases}}
    return Plan(experiment.name, given, resolved, runs)


def _scenario_file(experiment_path: Path, name: str) -> Path:
    file = (experiment_path.resolve().parent / name).resolve()
    if not file.is_file():
        raise ConfigError(f"{experiment_path}: scenarios: file not found: {file}")
    return file


def _swept_scenario(experiment_path: Path, file: Path, k: int, point: dict[str, Any]) -> Scenario:
    try:
        return load_scenario(file, point)
    except ConfigError as exc:
        if not point:
            raise
        raise ConfigError(f"{experiment_path}: sweep point {k} {point}: {exc}") from None


def _value_at(scenario: Scenario, dotted: str) -> Any:
    """The validated (typed) value of a dotted key, so swept columns have one type."""
    node: Any = scenario
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


# ---------------------------------------------------------------------------------------------
# Running chunks (this function is what workers execute)


def run_chunk(chunk: Sequence[RunSpec]) -> tuple[pd.DataFrame, pd.DataFrame | None, float]:
    """Run a chunk; a run that raises is recorded as failed with its error, never fatal to the batch.
    Returns the runs rows, the timeseries of the runs that finished, and the seconds it took."""
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


def runs_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows of runs with fixed column types, so that chunks of failed and finished runs concatenate."""
    frame = pd.DataFrame(rows)
    for column in SUMMARY_COLUMNS:
        if column not in frame:
            frame[column] = None
    types = {c: "Int64" if c in COUNT_COLUMNS else "float64" for c in SUMMARY_COLUMNS}
    types.update({"scenario": "string", "config_hash": "string", "status": "string", "error": "string"})
    return frame.astype(types)


class ChunkStore:
    """The chunk files of one output folder: finished chunks, and the next chunk's number."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".*.tmp"):  # left by a kill in the middle of a write
            stale.unlink()
        finished = {self._number(f) for f in self.runs_files()}
        for orphan in folder.glob("timeseries-*.parquet"):  # its runs file never landed: the chunk reruns
            if self._number(orphan) not in finished:
                orphan.unlink()
        self.next = max(finished, default=-1) + 1

    @staticmethod
    def _number(path: Path) -> int:
        return int(path.stem.split("-")[1])

    def runs_files(self) -> list[Path]:
        """In the order the chunks were written (a retried run's last record wins)."""
        return sorted(self.folder.glob("runs-*.parquet"), key=self._number)

    def timeseries_files(self) -> list[Path]:
        return sorted(self.folder.glob("timeseries-*.parquet"), key=self._number)

    def completed(self) -> set[int]:
        """Run ids finished with status ok; failed runs are tried again on a re-run."""
        done: set[int] = set()
        for file in self.runs_files():
            frame = pd.read_parquet(file, columns=["run_id", "status"])
            done.update(frame.loc[frame["status"] == "ok", "run_id"].tolist())
        return done

    def write(self, runs: pd.DataFrame, timeseries: pd.DataFrame | None) -> None:
        """The runs file lands last: its presence marks the chunk finished."""
        number = self.next
        self.next += 1
        if timeseries is not None:
            write_parquet(self.folder / f"timeseries-{number:05d}.parquet", timeseries)
        write_parquet(self.folder / f"runs-{number:05d}.parquet", runs)


# ---------------------------------------------------------------------------------------------
# Executing a plan


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
    # The executor first, so that an unreachable scheduler fails before --restart discards anything
    # (local processes start only when the first chunk is submitted).
    with _locked(out), open_executor(workers, scheduler) as (executor, slots, description):
        manifest, resuming = _begin(out, plan, restart, replace_stale)
        store = ChunkStore(out / CHUNKS)
        done = store.completed()
        pending = [spec for spec in plan.runs if spec.run_id not in done]
        if not pending and manifest.get("finished") and (out / RUNS).exists():
            failed = int((pd.read_parquet(out / RUNS, columns=["status"])["status"] != "ok").sum())
            return BatchOutcome(out, len(plan.runs), failed, len(done))
        if resuming:
            manifest["resumed"].append(_now())
        manifest["finished"] = None
        write_json(out / MANIFEST, manifest)
        if pending:
            manifest["executors"] = [*manifest.get("executors", []), description]
            write_json(out / MANIFEST, manifest)
            _drive(pending, executor, slots, chunk_size, store, _progress_bar(plan, len(done), progress))
        runs = consolidate(out, store)
        failed = int((runs["status"] != "ok").sum())
        manifest.update(finished=_now(), failed_runs=failed)
        write_json(out / MANIFEST, manifest)
    return BatchOutcome(out, len(plan.runs), failed, len(done))


@contextmanager
def open_executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, int, str]]:
    """A ``concurrent.futures`` executor, its number of parallel slots and a description of it."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        from distributed import Client

        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise ConfigError(f"--scheduler {address}: cannot reach the Dask scheduler: {exc}") from None
        try:
            slots = max(1, sum(client.nthreads().values()))
            yield client.get_executor(), slots, f"dask {address} ({slots} threads)"
        finally:
            client.close()
        return
    slots = workers or os.cpu_count() or 1
    if slots < 1:
        raise ConfigError(f"--workers {slots}: must be at least 1")
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


# ---------------------------------------------------------------------------------------------
# The output folder: lock, manifest, consolidation, export


@contextmanager
def _locked(out: Path) -> Iterator[None]:
    """One batch at a time per folder; the lock dies with its process, even after kill -9."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"{out}: another batch is writing to this folder") from None
        yield


def _begin(out: Path, plan: Plan, restart: bool, replace_stale: bool = False) -> tuple[dict[str, Any], bool]:
    """The folder's manifest to continue (and True), or a new one; refuses to mix plans or code versions."""
    digest, code = plan.digest(), code_version()
    previous = read_manifest(out)
    if previous and not restart:
        changes = []
        if previous.get("hash") != digest:
            changes.append(f"the plan changed (hash {previous.get('hash')} -> {digest})")
        if previous.get("code_version") != code:
            changes.append(f"the code changed ({previous.get('code_version')} -> {code})")
        if not changes:
            return previous, True
        if not replace_stale:
            raise ConfigError(f"{out}: holds results of another batch: {'; '.join(changes)}; "
                              "pass --restart to discard them, or choose another --out")
        print(f"{out}: {'; '.join(changes)}: starting over", file=sys.stderr)
    _clear(out)
    manifest = {"name": plan.name, "hash": digest, "seed": plan.resolved.get("seed"), "runs": len(plan.runs),
                "value_columns": sorted({k for r in plan.runs for k in r.values}),
                "given": plan.given, "resolved": plan.resolved, "code_version": code,
                "packages": versions(), "started": _now(), "resumed": [], "finished": None}
    write_json(out / MANIFEST, manifest)
    return manifest, False


def _clear(out: Path) -> None:
    """Remove what a batch wrote (and only that)."""
    for name in OWNED:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    path = Path(out) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def versions() -> dict[str, str]:
    extra = {}
    for name in EXTRA_PACKAGES:
        try:
            extra[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            extra[name] = "not installed"
    return {**package_versions(), **extra}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def consolidate(out: Path, store: ChunkStore) -> pd.DataFrame:
    """Write runs.parquet and timeseries.parquet from the chunks, sorted by run_id (and step).
    A run tried again after failing keeps its latest record."""
    frames = [pd.read_parquet(f) for f in store.runs_files()]
    runs = pd.concat(frames, ignore_index=True).drop_duplicates("run_id", keep="last")
    runs = runs.sort_values("run_id", ignore_index=True)
    write_parquet(out / RUNS, runs)
    _write_sorted_timeseries(out / TIMESERIES, store.timeseries_files())
    return runs


def _write_sorted_timeseries(target: Path, files: list[Path]) -> None:
    """Stream the chunks into one file, a block of run ids at a time, so memory stays bounded."""
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not files:
        write_parquet(target, pd.DataFrame(columns=["run_id", *METRICS]))
        return
    dataset = ds.dataset([str(f) for f in files], format="parquet")
    last = pd.concat(pd.read_parquet(f, columns=["run_id"]) for f in files)["run_id"].max()
    with atomic_path(target) as tmp, pq.ParquetWriter(tmp, dataset.schema) as writer:
        for low in range(0, int(last) + 1, CONSOLIDATION_BLOCK):
            block = (ds.field("run_id") >= low) & (ds.field("run_id") < low + CONSOLIDATION_BLOCK)
            table = dataset.to_table(filter=block)
            if table.num_rows:
                writer.write_table(table.sort_by([("run_id", "ascending"), ("step", "ascending")]))


def export_csv(out: str | Path) -> list[Path]:
    """runs.csv and timeseries.csv beside the Parquet files, streamed batch by batch."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    out = Path(out)
    written = []
    for name in (RUNS, TIMESERIES):
        source = out / name
        if not source.exists():
            raise ConfigError(f"{out}: no {name}; run `python -m simulation batch ... --out {out}` first")
        parquet = pq.ParquetFile(source)
        target = source.with_suffix(".csv")
        with atomic_path(target) as tmp, pacsv.CSVWriter(tmp, parquet.schema_arrow) as writer:
            for batch in parquet.iter_batches():
                writer.write_batch(batch)
        written.append(target)
    return written


def run_experiment(path: str | Path, out: str | Path, **options: Any) -> BatchOutcome:
    """Plan the experiment file and execute it into ``out`` (options as for :func:`execute`)."""
    return execute(plan_experiment(path), out, **options)
