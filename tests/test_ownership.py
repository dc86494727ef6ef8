"""One ownership rule for every command that writes (issue 23): a folder holds a manifest of what the
simulator wrote there; a command refuses a folder holding anything else, never overwrites or deletes
what it did not write, never writes through a symbolic link, and opens its lock without following a
link or blocking; two studies into one folder at once: the second is refused, as for batches."""

import os
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from simulation.errors import OutputRefused
from simulation.experiments import folder
from simulation.experiments.execute import execute
from simulation.experiments.plan import plan_experiment
from helpers import TINY_POPULATION, cli, command, one_line

QUICK = 60  # seconds: a refusal comes at once; a command that ran instead of refusing takes longer


@pytest.fixture
def scenario(tmp_path, write_scenario):
    """The tiny scenario, two months long, beside the test's files."""
    return write_scenario(tmp_path, steps=2)


TWO_RUNS = {"seed": 5, "replications": 2}  # of the tiny scenario, two months each: write_experiment(folder, **TWO_RUNS)


def tree(directory):
    """Every file under ``directory`` (links not followed) with its content."""
    return {p.relative_to(directory).as_posix(): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def batch_folder(tmp_path_factory, write_experiment):
    directory = tmp_path_factory.mktemp("ownership")
    experiment = write_experiment(directory, **TWO_RUNS)
    execute(plan_experiment(experiment), directory / "batch", workers=1, progress=False)
    return directory, experiment, directory / "batch"


# --- run --out ------------------------------------------------------------------------------------


def test_run_out_refuses_a_finished_batch_folder(batch_folder, scenario, capsys):
    directory, _, batch = batch_folder
    before = tree(batch)
    proc = command(capsys, "run", str(scenario), "--out", str(batch))
    one_line(proc, 2, str(batch), "`batch`", "nothing in it was touched")
    assert tree(batch) == before


def test_run_out_refuses_a_users_folder_and_leaves_it_untouched(scenario, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "summary.json").write_text('{"mine": 1}\n', encoding="utf-8")
    (out / "timeseries.parquet").write_bytes(b"my own parquet")
    before = tree(out)
    proc = command(capsys, "run", str(scenario), "--out", str(out))
    one_line(proc, 2, str(out), "did not write")
    assert tree(out) == before


def test_run_out_on_a_file_is_refused(scenario, tmp_path, capsys):
    out = tmp_path / "a_file"
    out.write_text("mine\n", encoding="utf-8")
    proc = command(capsys, "run", str(scenario), "--out", str(out))
    one_line(proc, 2, str(out), "is a file")
    assert out.read_text(encoding="utf-8") == "mine\n"


def test_run_out_writes_its_own_folder_again_and_records_what_it_wrote(scenario, tmp_path, capsys):
    out = tmp_path / "run"
    for _ in range(2):
        proc = command(capsys, "run", str(scenario), "--out", str(out))
        assert proc.returncode == 0, proc.stderr
    manifest = folder.read_ownership(out)
    assert manifest["command"] == "run"
    assert set(manifest["written"]) == {"summary.json", "timeseries.parquet"}


def test_run_out_never_writes_through_a_link(scenario, tmp_path, capsys):
    out, outside = tmp_path / "run", tmp_path / "outside.parquet"
    assert command(capsys, "run", str(scenario), "--out", str(out)).returncode == 0
    outside.write_bytes(b"somebody else's")
    (out / "timeseries.parquet").unlink()
    (out / "timeseries.parquet").symlink_to(outside)
    proc = command(capsys, "run", str(scenario), "--out", str(out))
    one_line(proc, 2, "timeseries.parquet", "symbolic link")
    assert outside.read_bytes() == b"somebody else's"


def test_a_users_file_beside_an_owned_run_is_never_overwritten(tmp_path):
    out = tmp_path / "run"
    with folder.owned(out, "run") as owner:
        owner.admit(out / "summary.json")
    (out / "timeseries.parquet").write_bytes(b"the user's")
    with folder.owned(out, "run") as owner, pytest.raises(OutputRefused, match="not written by this simulator"):
        owner.admit(out / "timeseries.parquet")
    assert (out / "timeseries.parquet").read_bytes() == b"the user's"


# --- batch: links and the lock ----------------------------------------------------------------------


def test_a_chunks_link_is_refused_and_nothing_is_written_through_it(batch_folder, tmp_path):
    directory, experiment, batch = batch_folder
    work = tmp_path / "batch"
    work.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("_manifest.json", "runs.parquet", "timeseries.parquet"):
        (work / name).write_bytes((batch / name).read_bytes())
    (work / "chunks").symlink_to(outside)
    with pytest.raises(OutputRefused, match="symbolic link"):
        execute(plan_experiment(experiment), work, workers=1, progress=False)
    assert list(outside.iterdir()) == []


def test_a_lock_that_is_a_link_is_refused_and_its_target_untouched(tmp_path, write_experiment, capsys):
    experiment = write_experiment(tmp_path, **TWO_RUNS)
    out, target = tmp_path / "out", tmp_path / "precious.txt"
    out.mkdir()
    target.write_text("precious\n", encoding="utf-8")
    (out / "_lock").symlink_to(target)
    proc = command(capsys, "batch", str(experiment), "--out", str(out), "--quiet")
    one_line(proc, 2, "_lock", "symbolic link")
    assert target.read_text(encoding="utf-8") == "precious\n"


@pytest.mark.timeout(QUICK)  # in this process: a lock opened blocking would hang the test
def test_a_lock_that_is_a_fifo_is_refused_at_once(tmp_path, write_experiment, capsys):
    experiment = write_experiment(tmp_path, **TWO_RUNS)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "_lock")
    started = time.monotonic()
    proc = command(capsys, "batch", str(experiment), "--out", str(out), "--quiet")
    one_line(proc, 2, "_lock", "not a regular file")
    assert time.monotonic() - started < QUICK


# --- equal-cost -------------------------------------------------------------------------------------


@pytest.fixture
def equal_cost_spec(tmp_path, write_scenario):
    """A small equal-cost study: the baseline against two countermeasures, each at its shipped name."""
    sizes = {**TINY_POPULATION, "enterprise": 24, "water_companies": 6}
    files = [write_scenario(tmp_path, name=name, extends=name, population=sizes, network={"grid_departments": 4}).name
             for name in ("baseline", "mechanism", "security")]
    path = tmp_path / "equal_cost.yaml"
    path.write_text(yaml.safe_dump({"name": "small_equal_cost", "baseline": files[0], "countermeasures": files[1:],
                                    "replications": 2, "search_replications": 1, "tolerance": 0.5, "steps": 4,
                                    "seed": 11}), encoding="utf-8")
    return path


def test_equal_cost_refuses_a_folder_of_the_users_files(equal_cost_spec, tmp_path, capsys):
    out = tmp_path / "out"
    (out / "report").mkdir(parents=True)
    (out / "search" / "step-01").mkdir(parents=True)
    (out / "search.csv").write_text("mine\n", encoding="utf-8")
    (out / "report" / "equal_cost.md").write_text("my notes\n", encoding="utf-8")
    (out / "search" / "step-01" / "runs.parquet").write_bytes(b"mine")
    before = tree(out)
    proc = command(capsys, "equal-cost", str(equal_cost_spec), "--out", str(out), "--workers", "1", "--quiet")
    one_line(proc, 2, str(out), "did not write")
    assert tree(out) == before


def test_equal_cost_never_follows_a_search_link_out_of_its_folder(equal_cost_spec, tmp_path, capsys):
    out, outside = tmp_path / "out", tmp_path / "outside"
    (outside / "step-07").mkdir(parents=True)
    (outside / "step-07" / "data.csv").write_text("somebody else's\n", encoding="utf-8")
    with folder.owned(out, "equal-cost"):
        pass
    (out / "search").symlink_to(outside)
    proc = command(capsys, "equal-cost", str(equal_cost_spec), "--out", str(out), "--workers", "1", "--quiet")
    one_line(proc, 2, "search", "symbolic link")
    assert tree(outside) == {"step-07/data.csv": b"somebody else's\n"}


@pytest.mark.slow
def test_equal_cost_keeps_a_users_files_in_its_own_folder(equal_cost_spec, tmp_path, capsys):
    """A finished study's folder lists its search steps and tables; a user's step folder in it is
    refused before any run, a user's file beside the study's files survives a rerun."""
    out = tmp_path / "out"
    study = ("equal-cost", str(equal_cost_spec), "--out", str(out), "--workers", "1", "--quiet")
    assert command(capsys, *study).returncode == 0
    manifest = folder.read_ownership(out)
    assert manifest["command"] == "equal-cost"
    assert {"search.csv", "report/equal_cost.csv", "report/equal_cost.md", "search/step-00"} <= set(manifest["written"])
    (out / "search" / "step-39").mkdir()
    (out / "search" / "step-39" / "notes.txt").write_text("mine\n", encoding="utf-8")
    (out / "notes.md").write_text("mine\n", encoding="utf-8")
    # A step folder the study did not write: refused before the first run (the search might reach it).
    proc = command(capsys, *study)
    one_line(proc, 2, "step-39", "did not write")
    assert (out / "search" / "step-39" / "notes.txt").read_text(encoding="utf-8") == "mine\n"
    (out / "search" / "step-39" / "notes.txt").rename(out / "step-39-notes.txt")
    (out / "search" / "step-39").rmdir()
    assert command(capsys, *study).returncode == 0
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine\n"
    assert (out / "step-39-notes.txt").read_text(encoding="utf-8") == "mine\n"


# --- studies lock their folder ------------------------------------------------------------------------


def hold_lock(out):
    """Another process holding ``out``'s lock, as a running study or batch does."""
    code = ("import sys, time; from pathlib import Path; from simulation.experiments.folder import locked\n"
            "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


@pytest.mark.e2e  # the study's lock held by another process
def test_a_second_equal_cost_study_into_one_folder_is_refused(equal_cost_spec, root, tmp_path):
    out = tmp_path / "out"
    holder = hold_lock(out)
    try:
        proc = cli(root, "equal-cost", str(equal_cost_spec), "--out", str(out), "--workers", "1", "--quiet",
                   timeout=QUICK)
    finally:
        holder.kill()
        holder.wait()
    one_line(proc, 2, str(out), "is writing to this folder")
    assert not (out / "search").exists()


class ProbingStudy:
    """A planned study whose analysis asks another process to lock its folder."""

    name, help, inputs, spec_key, block, doc_example, doc_replaces_output, keeps_runs = (
        "probe", "", (), None, None, None, False, True)

    def __init__(self, experiment):
        self.experiment, self.probes = experiment, []

    def load(self, **inputs):
        return None

    def folder(self, spec):
        return None

    def plan(self, spec):
        return plan_experiment(self.experiment)

    def size(self, spec):
        from simulation.analyses.protocol import PlanSize

        return PlanSize(cells=1, runs=len(self.plan(spec).runs), source="probe")

    def analyse(self, out, spec, execution):
        self.probes.append(subprocess.run([sys.executable, "-c", LOCK_PROBE, str(out)], capture_output=True, text=True))
        return execution


LOCK_PROBE = ("import sys; from pathlib import Path; from simulation.experiments.folder import locked\n"
              "with locked(Path(sys.argv[1])): pass\n")


@pytest.mark.e2e  # another process probes the lock
def test_a_study_holds_its_folder_until_its_tables_are_written(tmp_path, write_experiment):
    """The lock spans the runs and the analysis, so a second study cannot mix its tables in."""
    from simulation.analyses.protocol import perform

    study = ProbingStudy(write_experiment(tmp_path, **TWO_RUNS))
    perform(study, None, tmp_path / "out", workers=1, progress=False)
    assert "OutputLocked" in study.probes[0].stderr


@pytest.mark.e2e  # another process probes the lock
def test_the_lock_is_reentrant_in_one_thread_and_exclusive_across_processes(tmp_path):
    with folder.locked(tmp_path / "out"), folder.locked(tmp_path / "out"):
        probe = subprocess.run([sys.executable, "-c", LOCK_PROBE, str(tmp_path / "out")], capture_output=True,
                               text=True)
    assert "OutputLocked" in probe.stderr
    with folder.locked(tmp_path / "out"):  # released: free again
        pass


# --- report and export --------------------------------------------------------------------------------


def test_export_never_overwrites_a_users_csv(batch_folder, tmp_path, capsys):
    directory, experiment, batch = batch_folder
    work = tmp_path / "batch"
    work.mkdir()
    for name in ("_manifest.json", "runs.parquet", "timeseries.parquet"):
        (work / name).write_bytes((batch / name).read_bytes())
    (work / "runs.csv").write_text("the user's\n", encoding="utf-8")
    proc = command(capsys, "export", str(work))
    one_line(proc, 2, "runs.csv", "not written by this simulator")
    assert (work / "runs.csv").read_text(encoding="utf-8") == "the user's\n"


def test_report_never_writes_through_a_report_link(batch_folder, tmp_path, capsys):
    directory, experiment, batch = batch_folder
    work, outside = tmp_path / "batch", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    for name in ("_manifest.json", "runs.parquet", "timeseries.parquet"):
        (work / name).write_bytes((batch / name).read_bytes())
    (work / "report").symlink_to(outside)
    proc = command(capsys, "report", str(work))
    one_line(proc, 2, "report", "symbolic link")
    assert list(outside.iterdir()) == []
    assert pd.read_parquet(work / "runs.parquet").shape[0] == 2


def test_a_shorter_search_removes_only_the_step_folders_and_files_the_study_wrote(tmp_path):
    from simulation.analyses.equal_cost import _remove_steps_after

    out = tmp_path / "out"
    with folder.owned(out, "equal-cost"):
        folder.record(out, ["search/step-05"], "equal-cost")
    for step in ("step-05", "step-06"):  # step-06: a batch folder the study's manifest does not list
        (out / "search" / step).mkdir(parents=True)
        (out / "search" / step / "_manifest.json").write_text('{"derived": []}', encoding="utf-8")
        (out / "search" / step / "runs.parquet").write_bytes(b"runs")
    (out / "search" / "step-05" / "notes.txt").write_text("mine\n", encoding="utf-8")
    _remove_steps_after(out, 2)
    assert tree(out / "search") == {"step-05/notes.txt": b"mine\n", "step-06/_manifest.json": b'{"derived": []}',
                                    "step-06/runs.parquet": b"runs"}
