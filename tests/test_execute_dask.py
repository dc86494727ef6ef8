"""The Dask path against a real ``dask scheduler`` and ``dask worker``, each started as its own process
on 127.0.0.1 (issue 23): a batch equals the local one; a scheduler without workers, a scheduler killed
mid-batch and a worker running other model code each give one line; Ctrl-C stops the batch cleanly."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simulation.core.provenance import code_version
from simulation.errors import WorkersRunOtherCode
from simulation.experiments.cluster import SCHEDULER_LOST_SECONDS, WORKERS_WAIT_SECONDS
from simulation.experiments.execute import execute, run_checked_chunk
from simulation.experiments.plan import plan_experiment
from simulation.experiments.results import read_manifest
from helpers import assert_same_results, cli, free_port, one_line, stop

DASK = Path(sys.executable).with_name("dask")
STARTUP_SECONDS = 120  # a process's start on a busy machine: far above what it takes, so that a hang fails
# How late a one-line refusal may come past its bound: the command's own start (imports) on a busy machine.
SLACK_SECONDS = 45


class Cluster:
    """A scheduler and workers started with the ``dask`` command, each in its own session, so that
    :meth:`stop` ends them and every process they started."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.processes: dict[str, subprocess.Popen] = {}

    def _start(self, name: str, args: list[str], env=None) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen([str(DASK), *args], cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def scheduler(self) -> subprocess.Popen:
        port = self.address.rsplit(":", 1)[1]
        process = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"])
        deadline = time.monotonic() + STARTUP_SECONDS
        while "Scheduler at:" not in (self.folder / "scheduler.log").read_text(errors="replace"):
            assert process.poll() is None and time.monotonic() < deadline, (self.folder / "scheduler.log").read_text()
            time.sleep(0.2)
        return process

    def worker(self, name: str = "worker", env=None) -> str:
        """Start a worker and return its address once it has joined."""
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            before = set(client.scheduler_info()["workers"])
            self._start(name, ["worker", self.address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
                               "--no-dashboard", "--memory-limit", "2GB"], env=env)
            client.wait_for_workers(len(before) + 1, timeout=STARTUP_SECONDS)
            return next(iter(set(client.scheduler_info()["workers"]) - before))

    def kill(self, name: str) -> None:
        os.killpg(self.processes[name].pid, signal.SIGKILL)
        self.processes[name].wait(timeout=30)

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            stop(process)


@pytest.fixture
def cluster(tmp_path):
    started = Cluster(tmp_path / "cluster")
    started.folder.mkdir()
    yield started
    started.stop()


def start_batch(root, experiment, out, *args):
    """``python -m simulation batch`` in the background, one run per chunk so that chunks land steadily."""
    return subprocess.Popen([sys.executable, "-m", "simulation", "batch", str(experiment), "--out", str(out),
                             "--chunk-size", "1", "--quiet", *args],
                            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def batch_under_way(tmp_path, root, cluster, write_experiment):
    """A batch of 40 runs on a cluster of one worker, started in the background, with 2 chunks landed."""
    experiment = write_experiment(tmp_path, name="dask", seed=5, replications=40, steps=10)
    out = tmp_path / "out"
    cluster.scheduler()
    cluster.worker()
    batch = start_batch(root, experiment, out, "--scheduler", cluster.address)
    wait_for_chunks(out, 2, batch)
    return experiment, out, batch


def wait_for_chunks(out, count, batch):
    deadline = time.monotonic() + 600
    while len(list((out / "chunks").glob("runs-*.parquet"))) < count:
        assert batch.poll() is None, batch.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_a_worker_that_joined_with_other_code_refuses_its_runs(tmp_path, root, write_experiment):
    # The check before the batch asks the workers there then; one that joins later checks each task.
    plan = plan_experiment(write_experiment(tmp_path, name="dask", seed=5, replications=1, steps=2))
    with pytest.raises(WorkersRunOtherCode) as refused:
        run_checked_chunk(plan.runs, code="src-0000000000000000")
    assert f"runs model code {code_version()}, not this checkout's src-0000000000000000" in str(refused.value)
    runs, _, _ = run_checked_chunk(plan.runs, code=code_version())
    assert list(runs["status"]) == ["ok"]


@pytest.mark.slow
@pytest.mark.e2e
def test_a_batch_on_dask_equals_the_local_one(tmp_path, root, cluster, write_experiment):
    experiment = write_experiment(tmp_path, name="dask", seed=5, replications=4, steps=3)
    execute(plan_experiment(experiment), tmp_path / "local", workers=1, progress=False)
    cluster.scheduler()
    cluster.worker()
    proc = cli(root, "batch", str(experiment), "--out", str(tmp_path / "dask"), "--scheduler", cluster.address,
               "--quiet")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert read_manifest(tmp_path / "dask")["executors"] == [f"dask {cluster.address} (1 threads)"]
    assert_same_results(tmp_path / "local", tmp_path / "dask")


@pytest.mark.slow
@pytest.mark.e2e
def test_a_scheduler_without_workers_is_one_line_within_the_bound(tmp_path, root, cluster, write_experiment):
    experiment = write_experiment(tmp_path, name="dask", seed=5, replications=2, steps=2)
    cluster.scheduler()
    started = time.monotonic()
    proc = cli(root, "batch", str(experiment), "--out", str(tmp_path / "out"), "--scheduler", cluster.address,
               "--quiet")
    took = time.monotonic() - started
    one_line(proc, 2, f"the Dask scheduler at {cluster.address} has no worker", f"dask worker {cluster.address}")
    assert WORKERS_WAIT_SECONDS <= took < WORKERS_WAIT_SECONDS + SLACK_SECONDS, took


@pytest.mark.slow
@pytest.mark.e2e
def test_a_scheduler_killed_mid_batch_is_one_line_and_the_folder_resumes_locally(tmp_path, root, cluster,
                                                                               write_experiment):
    experiment, out, batch = batch_under_way(tmp_path, root, cluster, write_experiment)
    try:
        cluster.kill("scheduler")
        killed = time.monotonic()
        _, stderr = batch.communicate(timeout=SCHEDULER_LOST_SECONDS + SLACK_SECONDS)
        took = time.monotonic() - killed
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
    one_line(subprocess.CompletedProcess(batch.args, batch.returncode, "", stderr), 2,
             f"{out}: lost the Dask scheduler at {cluster.address}", "runs saved, resume with the same command")
    assert took < SCHEDULER_LOST_SECONDS + SLACK_SECONDS, took
    saved = int(stderr.split("; ")[1].split()[0])
    assert saved >= 2
    cluster.stop()
    resumed = cli(root, "batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet")
    assert resumed.returncode == 0 and f"({saved} finished before)" in resumed.stdout, resumed.stderr
    execute(plan_experiment(experiment), tmp_path / "local", workers=1, progress=False)
    assert_same_results(tmp_path / "local", out)


def project_copy(folder, root):
    """The model's packages copied with one comment added: the same model, another code version."""
    for package in ("agents", "simulation"):
        shutil.copytree(root / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    with (folder / "agents" / "__init__.py").open("a", encoding="utf-8") as source:
        source.write("# another version\n")
    version = subprocess.run([sys.executable, "-c", "from simulation.core.provenance import code_version; "
                              "print(code_version())"], cwd=folder, env={**os.environ, "PYTHONPATH": str(folder)},
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("src-") and version != code_version()
    return version


@pytest.mark.slow
@pytest.mark.e2e
def test_a_worker_running_other_code_is_refused_before_any_run(tmp_path, root, cluster, write_experiment):
    experiment = write_experiment(tmp_path, name="dask", seed=5, replications=2, steps=2)
    other = tmp_path / "other"
    theirs = project_copy(other, root)
    cluster.scheduler()
    cluster.worker("ours")
    foreign = cluster.worker("foreign", env={**os.environ, "PYTHONPATH": str(other)})
    out = tmp_path / "out"
    proc = cli(root, "batch", str(experiment), "--out", str(out), "--scheduler", cluster.address, "--quiet")
    one_line(proc, 2, f"Dask worker {foreign} of {cluster.address} runs model code {theirs}, "
                      f"not this checkout's {code_version()}", "install this checkout on every worker")
    assert not (out / "manifest.json").exists() and not list(out.rglob("*.parquet"))  # no run was sent


@pytest.mark.slow
@pytest.mark.e2e
def test_ctrl_c_stops_a_batch_on_dask_cleanly(tmp_path, root, cluster, write_experiment):
    experiment, out, batch = batch_under_way(tmp_path, root, cluster, write_experiment)
    try:
        batch.send_signal(signal.SIGINT)
        _, stderr = batch.communicate(timeout=SLACK_SECONDS)
    finally:
        if batch.poll() is None:
            batch.kill()
            batch.wait()
    line = one_line(subprocess.CompletedProcess(batch.args, batch.returncode, "", stderr), 130,
                    f"{out}: interrupted; ", "runs saved, resume with the same command")
    assert "Traceback" not in stderr
    saved = int(line.split("interrupted; ")[1].split()[0])
    resumed = cli(root, "batch", str(experiment), "--out", str(out), "--scheduler", cluster.address, "--quiet")
    assert resumed.returncode == 0 and f"({saved} finished before)" in resumed.stdout, resumed.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 40 and (runs["status"] == "ok").all()
