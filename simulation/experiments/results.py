"""The results folder ``DIR`` of a batch, and the only code that writes or reads its layout:

- ``_manifest.json``: the plan as given and resolved, its hash, root seed, code and package versions,
  executors, start and end times;
- ``chunks/runs-NNNNN.parquet`` and ``chunks/timeseries-NNNNN.parquet``: one pair per finished chunk,
  each written atomically.  They are the resumable record: a batch killed at any moment, re-run with
  the same plan, skips the runs they hold;
- ``runs.parquet`` (one row per run) and ``timeseries.parquet`` (one row per run and step), sorted by
  ``run_id``: the consolidated results, written when every run has been tried;
- ``_lock``: held by the batch writing to the folder.

Which folders a batch may write into and what it may delete is decided in
:mod:`simulation.experiments.folder`: a restart deletes these files and those that ``export`` and
``report`` recorded in the manifest (``derived``), nothing else.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from simulation.core.metrics import COUNTS, METRICS, SUMMARY_EXTRAS
from simulation.core.provenance import code_version, git_version, package_versions
from simulation.errors import ResultsMissing, ResultsUnreadable, StaleResults, UserError
from simulation.experiments.folder import (BATCH, CHUNKS, LOCK, MANIFEST, RUNS, TIMESERIES, locked, owned, record,
                                          remove_written)
from simulation.experiments.plan import Plan
from simulation.experiments.store import atomic_path, write_json, write_parquet

__all__ = ["CHUNKS", "LOCK", "MANIFEST", "RUNS", "TIMESERIES", "locked"]  # the folder's layout, re-exported for readers

CHUNK_FILE = re.compile(r"(runs|timeseries)-\d{5,}\.parquet")

CONSOLIDATION_BLOCK = 5000  # runs sorted in memory at a time when writing timeseries.parquet
EXTRA_PACKAGES = ("dask", "distributed", "tqdm", "matplotlib")

SUMMARY_COLUMNS = SUMMARY_EXTRAS + tuple(m for m in METRICS if m != "step")
# Whole numbers in metrics.summarise, possibly missing ("never", or a failed run).
COUNT_COLUMNS = ("time_to_lasting_integration", "time_to_half_adoption", *(c for c in COUNTS if c != "step"))


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
        self._discard_unreadable()
        finished = {self._number(f) for f in self.runs_files()}
        for orphan in folder.glob("timeseries-*.parquet"):  # its runs file never landed: the chunk reruns
            if self._number(orphan) not in finished:
                orphan.unlink()
        self.next = max(finished, default=-1) + 1

    @staticmethod
    def _number(path: Path) -> int:
        return int(path.stem.split("-")[1])

    def _discard_unreadable(self) -> None:
        """A chunk whose runs or timeseries file cannot be read (truncated, damaged) is deleted with
        its partner, so that its runs run again; files are written atomically, so this happens only
        when something outside the batch damaged them."""
        for file in sorted(self.folder.glob("*-*.parquet")):
            if not file.exists() or not CHUNK_FILE.fullmatch(file.name) or _readable_parquet(file):
                continue
            number = self._number(file)
            for partner in (self.folder / f"runs-{number:05d}.parquet",
                            self.folder / f"timeseries-{number:05d}.parquet"):
                partner.unlink(missing_ok=True)
            print(f"{file}: unreadable (truncated or damaged); discarded, its runs run again", file=sys.stderr)

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


def _readable_parquet(path: Path) -> bool:
    """Whether the file is a whole Parquet file whose column data can be read."""
    import pyarrow.parquet as pq

    try:
        pq.read_table(path)
    except Exception:  # noqa: BLE001 - Arrow reports damage as several exception types
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Manifest


def begin(out: Path, plan: Plan, restart: bool, replace_stale: bool = False) -> tuple[dict[str, Any], bool]:
    """The folder's manifest to continue (and True), or a new one; refuses to mix plans or code
    versions unless ``restart`` (or ``replace_stale``, for a folder of another plan or code) says to
    discard the folder's results."""
    digest, code = plan.digest(), code_version()
    previous = read_manifest(out)
    if previous is not None and not restart:
        changes = []
        if previous.get("hash") != digest:
            changes.append(f"the plan changed (hash {previous.get('hash')} -> {digest})")
        if previous.get("code_version") != code:
            changes.append(f"the code changed ({previous.get('code_version')} -> {code})")
        if not changes:
            return previous, True
        if not replace_stale:
            raise StaleResults(f"{out}: holds results of another batch: {'; '.join(changes)}")
        print(f"{out}: {'; '.join(changes)}: starting over", file=sys.stderr)
    if previous is not None:
        remove_written(out, written_files(out, previous))
    manifest = {"name": plan.name, "hash": digest, "seed": plan.resolved.get("seed"), "runs": len(plan.runs),
                "value_columns": sorted({k for r in plan.runs for k in r.values}),
                "given": plan.given, "resolved": plan.resolved, "code_version": code, "git": git_version(),
                "packages": versions(), "started": now(), "resumed": [], "finished": None, "derived": []}
    write_json(out / MANIFEST, manifest)
    return manifest, False


def written_files(out: Path, manifest: dict[str, Any]) -> list[str]:
    """What the batch in ``out`` wrote, relative to ``out``: its layout, and what ``export`` and
    ``report`` recorded in the manifest.  The manifest is deleted last, so that a restart killed
    half-way still knows the folder is ours."""
    chunks = [f"{CHUNKS}/{f.name}" for f in (out / CHUNKS).glob("*") if CHUNK_FILE.fullmatch(f.name)]
    derived = [str(p) for p in manifest.get("derived", []) if isinstance(p, str)]
    return [RUNS, TIMESERIES, *chunks, *derived, MANIFEST]


def record_derived(out: str | Path, paths: list[Path]) -> None:
    """Note files made from the results (CSV, report), so that a restart removes them with the
    results they were made from."""
    out = Path(out)
    record(out, [Path(p).relative_to(out).as_posix() for p in paths])


# Text in a manifest: a NUL byte cannot be in a file name or a version, and would end a command
# that passes it to the operating system in a ValueError.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


class Manifest(BaseModel):
    """What :func:`begin`, ``execute`` and :func:`record_derived` write, as readers rely on it; a
    manifest that says otherwise was not written by this simulator (or was damaged since).  Older
    manifests may lack fields (their defaults); fields added by newer code are kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True)

    name: Text = ""
    hash: Text | None = None
    seed: int | None = None
    runs: int = Field(0, ge=0)
    value_columns: list[Text] = []
    given: dict[Text, Any] = {}
    resolved: dict[Text, Any] = {}
    code_version: Text | None = None
    git: Any = None
    packages: dict[Text, Any] = {}
    started: Text | None = None
    resumed: list[Text] = []
    finished: Text | None = None
    derived: list[Text] = []
    executors: list[Text] = []
    failed_runs: int | None = Field(None, ge=0)


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    """The folder's manifest, read through :class:`Manifest`: a damaged one is a ResultsUnreadable
    naming the file and the field."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsUnreadable(f"{path}: unreadable ({_reason(exc)});"
                                " not a manifest written by this simulator") from None
    if not isinstance(manifest, dict):
        raise ResultsUnreadable(f"{path}: unreadable (not a JSON object); not a manifest written by this simulator")
    try:
        Manifest.model_validate(manifest)  # strict: nothing converted, so the manifest is as read
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ResultsUnreadable(f"{path}: damaged: {where}: {_short(first.get('input'))} is not allowed"
                                f" ({first['msg'].removeprefix('Value error, ')}); not a manifest written by"
                                " this simulator") from None
    return manifest


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _reason(exc: BaseException) -> str:
    """An exception as a short reason on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def versions() -> dict[str, str]:
    extra = {}
    for name in EXTRA_PACKAGES:
        try:
            extra[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            extra[name] = "not installed"
    return {**package_versions(), **extra}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# Consolidated results


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


def finished(out: str | Path, name: str) -> Path:
    """The path of a file a finished batch leaves in ``out`` (ResultsMissing if it is not there)."""
    if not Path(out).is_dir():
        raise ResultsMissing(f"{out}: no such folder")
    path = Path(out) / name
    if not path.exists():
        raise ResultsMissing(f"{out}: not a finished batch folder (no {name})")
    return path


def read_results(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The runs, the timeseries and the manifest of a finished batch."""
    finished(out, MANIFEST)
    manifest = read_manifest(out)
    return read_parquet(finished(out, RUNS)), read_parquet(finished(out, TIMESERIES)), manifest


def read_parquet(path: Path, **options: Any) -> pd.DataFrame:
    """A results file, or one ResultsUnreadable line if it is damaged."""
    try:
        return pd.read_parquet(path, **options)
    except Exception as exc:  # noqa: BLE001 - Arrow reports damage as several exception types
        raise ResultsUnreadable(f"{path}: unreadable ({_reason(exc)}); re-running the batch rebuilds it") from None


def export_csv(out: str | Path) -> list[Path]:
    """runs.csv and timeseries.csv beside the Parquet files, streamed batch by batch."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    written = []
    finished(out, MANIFEST)
    read_manifest(out)  # a damaged manifest is reported before anything is written
    with owned(out, BATCH):  # runs.csv is written only where no file of the user's stands
        for source in (finished(out, RUNS), finished(out, TIMESERIES)):
            target = source.with_suffix(".csv")
            try:
                parquet = pq.ParquetFile(source)
                with atomic_path(target) as tmp, pacsv.CSVWriter(tmp, parquet.schema_arrow) as writer:
                    for batch in parquet.iter_batches():
                        writer.write_batch(batch)
            except UserError:
                raise
            except Exception as exc:  # noqa: BLE001 - Arrow reports damage as several exception types
                if isinstance(exc, OSError) and exc.errno is not None:  # the disk, not the file
                    raise
                raise ResultsUnreadable(f"{source}: unreadable ({_reason(exc)});"
                                        " re-running the batch rebuilds it") from None
            written.append(target)
        record_derived(out, written)
    return written
