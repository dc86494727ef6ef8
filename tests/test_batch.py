"""The batch runner: experiment files, seeds, sweeps, identical results with 1 and 2 workers and on
a Dask cluster, resume after kill -9, failure isolation, the manifest, refusal to mix plans, export."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation.config import ConfigError
from simulation.core.provenance import code_version
from simulation.experiments.execute import execute
from simulation.experiments.plan import Sweep, child_seeds, load_experiment, plan_experiment
from simulation.experiments.results import read_manifest, versions
from helpers import assert_same_results, cli, command, free_port, results, stop


@pytest.fixture(scope="session")
def batch_experiment(write_scenario, write_experiment):
    """``batch_experiment(folder, **fields)``: the tiny baseline and all countermeasures, each with
    two sizes of public, three replications of six months; ``fields`` replace the file's."""

    def write(folder, **fields):
        scenarios = [str(write_scenario(folder, name, extends=name)) for name in ("baseline", "all_countermeasures")]
        return write_experiment(folder, **{"seed": 11, "replications": 3, "steps": 6, "scenarios": scenarios,
                                           "sweep": {"method": "list", "parameters": {"population.public": [40, 60]}},
                                           **fields})

    return write


@pytest.fixture(scope="module")
def reference(tmp_path_factory, batch_experiment):
    """The tiny experiment run once with one worker: what every other way of running it must equal."""
    folder = tmp_path_factory.mktemp("reference")
    experiment = batch_experiment(folder)
    outcome = execute(plan_experiment(experiment), folder / "out", workers=1, progress=False)
    assert outcome.failed == 0
    return experiment, folder / "out"


# --- plans, seeds and sweeps ------------------------------------------------------------------


def test_a_runs_seed_depends_only_on_root_seed_and_position(reference):
    experiment, _ = reference
    plan = plan_experiment(experiment)
    assert len(plan.runs) == 2 * 2 * 3  # scenarios x sweep points x replications
    assert [r.seed for r in plan.runs] == child_seeds(11, 12)
    assert child_seeds(11, 4) == child_seeds(11, 12)[:4]
    assert child_seeds(12, 4) != child_seeds(11, 4)
    first, last = plan.runs[0], plan.runs[-1]
    assert (first.scenario.name, first.point, first.replication) == ("baseline", 0, 0)
    assert (last.scenario.name, last.point, last.replication) == ("all_countermeasures", 1, 2)
    assert last.scenario.population.public == 60 and dict(last.values) == {"population.public": 60}


def test_common_random_numbers_give_replication_r_one_seed_everywhere(tmp_path, batch_experiment):
    plan = plan_experiment(batch_experiment(tmp_path, common_random_numbers=True))
    assert len(plan.runs) == 2 * 2 * 3
    assert [r.seed for r in plan.runs] == child_seeds(11, 3) * 4  # per scenario and sweep point
    assert all(r.seed == child_seeds(11, 3)[r.replication] for r in plan.runs)
    assert plan.resolved["common_random_numbers"] is True
    independent = plan_experiment(batch_experiment(tmp_path / "independent"))
    assert len({r.seed for r in independent.runs}) == 12


def test_grid_list_and_latin_hypercube_points():
    grid = Sweep(method="grid", parameters={"a.x": [1, 2], "a.y": [0.1, 0.2, 0.3]}).points(0)
    assert len(grid) == 6 and {"a.x": 2, "a.y": 0.3} in grid
    assert Sweep(method="list", parameters={"a.x": [1, 2], "a.y": [5, 6]}).points(0) == [{"a.x": 1, "a.y": 5},
                                                                                          {"a.x": 2, "a.y": 6}]
    lhs = Sweep(method="lhs", samples=10, parameters={"a.x": [0.0, 1.0], "a.n": [1, 5]})
    points = lhs.points(3)
    assert points == lhs.points(3) and points != lhs.points(4)
    xs = np.array([p["a.x"] for p in points])
    assert sorted(np.floor(xs * 10).astype(int)) == list(range(10))  # one point per stratum
    assert all(isinstance(p["a.n"], int) and 1 <= p["a.n"] <= 5 for p in points)


@pytest.mark.parametrize("change, message", [
    ({"replications": 0}, "replications: 0 is not allowed"),
    ({"colour": "red"}, "colour: unknown key"),
    ({"scenarios": ["nowhere.yaml"]}, "scenarios: file not found"),
    ({"sweep": {"method": "lhs", "parameters": {"parameters.trust_threshold": [0.1, 0.9]}}}, "lhs needs samples"),
    ({"sweep": {"method": "list", "parameters": {"parameters.trust_threshold": [0.1],
                                                 "parameters.trust_gain": [0.1, 0.2]}}},
     "equal length"),
    ({"sweep": {"method": "grid", "parameters": {"parameters.trust_treshold": [0.4]}}},
     "did you mean 'parameters.trust_threshold'"),
    ({"sweep": {"method": "grid", "parameters": {"parameters.trust_threshold": [0.4, 1.5]}}},
     "sweep point 1 {'parameters.trust_threshold': 1.5}"),
    ({"baseline": "nobody"}, "baseline: 'nobody' is not one of the scenarios"),
    ({"sweep": {"method": "grid", "parameters": {"seed": [1, 2]}}}, "'seed' cannot be swept"),
])
def test_bad_experiments_are_refused_before_any_run(tmp_path, batch_experiment, change, message):
    path = batch_experiment(tmp_path, **change)
    with pytest.raises(ConfigError) as caught:
        plan_experiment(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_bad_experiment_on_the_command_line_exits_2_with_one_line(tmp_path, batch_experiment, capsys):
    path = batch_experiment(tmp_path, replications=-1)
    proc = command(capsys, "batch", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "replications" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_shipped_experiment_plans_every_scenario_400_times(root):
    given, experiment = load_experiment(root / "scenarios" / "experiments" / "countermeasures.yaml")
    plan = plan_experiment(root / "scenarios" / "experiments" / "countermeasures.yaml")
    names = {r.scenario.name for r in plan.runs}
    assert names == {"baseline", "ecosystem", "mechanism", "cognition", "security", "all_countermeasures"}
    assert len(plan.runs) == 6 * 400 and experiment.replications == 400 and given["replications"] == 400
    assert {r.steps for r in plan.runs} == {60}
    assert experiment.common_random_numbers  # effects paired by seed (the report says so)


# The stated precision of the shipped experiment (scenarios/experiments/countermeasures.yaml): a 95%
# half-width of at most 10% of the mean for every key metric of the report.
RELATIVE_TARGET = 0.10


def test_shipped_experiment_has_enough_runs_for_its_stated_precision(root):
    """The pilot's runs-needed figures follow from its sd and mean (n = (t·sd/h)² iterated), and the
    experiment runs at least as many as the most any targeted metric and scenario needs."""
    import pandas as pd

    from simulation.experiments.report import KEY_OUTCOMES
    from simulation.experiments.statistics import replications_for

    pilot = pd.read_csv(root / "scenarios" / "experiments" / "countermeasures.pilot.csv")
    assert set(pilot["metric"]) == set(KEY_OUTCOMES) and (pilot["n"] == 210).all()
    targeted = pilot[pilot["mean"] != 0]
    needed = [replications_for(sd, RELATIVE_TARGET * abs(mean)) for sd, mean in zip(targeted["sd"], targeted["mean"])]
    assert needed == targeted["runs_for_relative_target"].astype(int).tolist()
    _, experiment = load_experiment(root / "scenarios" / "experiments" / "countermeasures.yaml")
    assert experiment.replications >= max(needed) == 334


# --- execution ------------------------------------------------------------------------------


def test_two_workers_and_other_chunks_give_identical_results(tmp_path, reference, capsys):
    experiment, expected = reference
    proc = command(capsys, "batch", str(experiment), "--out", str(tmp_path / "out"), "--workers", "2",
                   "--chunk-size", "1", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert len(list((tmp_path / "out" / "chunks").glob("runs-*.parquet"))) == 12
    assert_same_results(expected, tmp_path / "out")
    again = command(capsys, "batch", str(experiment), "--out", str(tmp_path / "out"), "--quiet")
    assert again.returncode == 0 and "(12 finished before)" in again.stdout
    assert read_manifest(tmp_path / "out")["resumed"] == []  # nothing was run again


@pytest.mark.slow
@pytest.mark.e2e
def test_a_dask_cluster_gives_identical_results(tmp_path, root, reference):
    from distributed import Client

    experiment, expected = reference
    address = f"tcp://127.0.0.1:{free_port()}"
    env = dict(os.environ)  # workers import the project installed in the venv (make setup), from any folder
    started = []
    try:
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        started.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host", "127.0.0.1", "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard", "--memory-limit", "2GB"],
            env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        proc = cli(root, "batch", str(experiment), "--out", str(tmp_path / "out"), "--scheduler", address, "--quiet",
                   env=env)
        assert proc.returncode == 0, proc.stderr
    finally:
        for process in reversed(started):
            stop(process)
    assert read_manifest(tmp_path / "out")["executors"] == [f"dask {address} (2 threads)"]
    assert_same_results(expected, tmp_path / "out")


@pytest.mark.slow
@pytest.mark.e2e
def test_a_batch_killed_mid_way_resumes_without_losing_or_repeating_runs(tmp_path, batch_experiment, root):
    # The shipped sizes: runs long enough to be killed mid-way.
    shipped = [str(root / "scenarios" / f"{name}.yaml") for name in ("baseline", "all_countermeasures")]
    experiment = batch_experiment(tmp_path, replications=20, steps=20, sweep=None, scenarios=shipped)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "simulation", "batch", str(experiment), "--out", str(out),
               "--workers", "1", "--chunk-size", "2", "--quiet"]
    victim = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 300
    while (len(list((out / "chunks").glob("runs-*.parquet"))) < 3 and victim.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.02)
    os.killpg(victim.pid, signal.SIGKILL)  # the batch and its worker, as a power cut would
    victim.wait(timeout=30)
    assert not (out / "runs.parquet").exists(), "the batch finished before it could be killed"
    finished_before = len(list((out / "chunks").glob("runs-*.parquet")))
    assert finished_before >= 3

    proc = cli(root, *command[3:])
    assert proc.returncode == 0, proc.stderr
    skipped = int(proc.stdout.split("(")[1].split()[0])
    assert skipped >= 2 * finished_before
    runs, timeseries = results(out)
    assert sorted(runs["run_id"]) == list(range(40)) and (runs["status"] == "ok").all()
    assert not timeseries.duplicated(["run_id", "step"]).any() and len(timeseries) == 40 * 21
    assert len(read_manifest(out)["resumed"]) == 1
    assert read_manifest(out)["executors"] == ["local processes (1)"] * 2

    uninterrupted = tmp_path / "uninterrupted"
    execute(plan_experiment(experiment), uninterrupted, workers=2, progress=False)
    assert_same_results(uninterrupted, out)


def test_a_failing_run_is_recorded_and_the_batch_goes_on(tmp_path, batch_experiment, write_scenario):
    """A run that fails in a worker is a row with its error, not the end of the batch.  Here its
    network file breaks after the plan checked it (a file broken before is refused up front:
    tests/test_cli.py)."""
    network = tmp_path / "net.csv"
    network.write_text("source,target,source_role,target_role\nd1,d2,government,government\n"
                       "d2,e1,government,enterprise\n", encoding="utf-8")
    broken = write_scenario(tmp_path, "broken", network={"kind": "file", "path": "net.csv"})
    experiment = batch_experiment(tmp_path, sweep=None, replications=2,
                                  scenarios=[str(write_scenario(tmp_path)), str(broken)])
    plan = plan_experiment(experiment)
    network.write_text("not,a,graph\n1,2,3\n", encoding="utf-8")
    out = tmp_path / "out"
    outcome = execute(plan, out, workers=1, progress=False)
    assert (outcome.total, outcome.failed) == (4, 2)
    runs, timeseries = results(out)
    assert list(runs["status"]) == ["ok", "ok", "failed", "failed"]
    assert runs.loc[2, "error"].startswith("ConfigError: ") and "cannot read the network" in runs.loc[2, "error"]
    assert runs.loc[runs["status"] == "failed", "cumulative_volume"].isna().all()
    assert set(timeseries["run_id"]) == {0, 1}
    assert read_manifest(out)["failed_runs"] == 2


# --- the output folder --------------------------------------------------------------------------


def test_manifest_records_what_was_run(reference):
    experiment, out = reference
    manifest = read_manifest(out)
    plan = plan_experiment(experiment)
    assert manifest["given"] == yaml.safe_load(experiment.read_text())
    assert manifest["hash"] == plan.digest() and manifest["seed"] == 11 and manifest["runs"] == 12
    assert manifest["resolved"]["baseline"] == "baseline"
    assert manifest["resolved"]["points"] == [{"population.public": 40}, {"population.public": 60}]
    assert manifest["code_version"] == code_version()
    assert manifest["packages"] == versions() and "mesa" in manifest["packages"] and "dask" in manifest["packages"]
    assert datetime.fromisoformat(manifest["started"]) <= datetime.fromisoformat(manifest["finished"])
    assert manifest["value_columns"] == ["population.public"]
    runs, _ = results(out)
    assert list(runs["population.public"]) == [40] * 3 + [60] * 3 + [40] * 3 + [60] * 3
    assert list(runs["seed"]) == child_seeds(11, 12)
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "runs.parquet").stat().st_mode & 0o777 == 0o666 & ~umask  # shareable, not private temp files


@pytest.mark.slow
def test_a_changed_experiment_is_refused_unless_restarted(tmp_path, batch_experiment, capsys):
    experiment = batch_experiment(tmp_path, sweep=None, replications=1, steps=3)
    out = tmp_path / "out"
    assert command(capsys, "batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet").returncode == 0
    batch_experiment(tmp_path, sweep=None, replications=2, steps=3)
    refused = command(capsys, "batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet")
    assert refused.returncode == 2 and "the plan changed" in refused.stderr and "--restart" in refused.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == 2
    unreachable = command(capsys, "batch", str(experiment), "--out", str(out), "--scheduler", "nowhere", "--restart",
                          "--quiet")
    assert unreachable.returncode == 2 and "cannot reach the Dask scheduler" in unreachable.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == 2  # nothing discarded before the executor was there
    again = command(capsys, "batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet", "--restart")
    assert again.returncode == 0, again.stderr
    assert len(pd.read_parquet(out / "runs.parquet")) == 4 and read_manifest(out)["resumed"] == []


@pytest.mark.slow
def test_replace_stale_resumes_its_own_batch_and_replaces_another(tmp_path, batch_experiment, capsys):
    experiment = batch_experiment(tmp_path, sweep=None, replications=1, steps=3)
    out = tmp_path / "out"
    args = ["batch", str(experiment), "--out", str(out), "--workers", "1", "--quiet", "--replace-stale"]
    assert command(capsys, *args).returncode == 0
    same = command(capsys, *args)
    assert same.returncode == 0 and "(2 finished before)" in same.stdout
    batch_experiment(tmp_path, sweep=None, replications=2, steps=3)
    changed = command(capsys, *args)
    assert changed.returncode == 0, changed.stderr
    assert "the plan changed" in changed.stderr and "starting over" in changed.stderr
    assert "(0 finished before)" in changed.stdout and len(pd.read_parquet(out / "runs.parquet")) == 4


def test_export_writes_the_same_tables_as_csv(reference, capsys):
    _, out = reference
    proc = command(capsys, "export", str(out), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    for name in ("runs", "timeseries"):
        parquet = pd.read_parquet(out / f"{name}.parquet")
        csv = pd.read_csv(out / f"{name}.csv")
        assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)
        numeric = parquet.select_dtypes("number").columns
        np.testing.assert_allclose(csv[numeric].to_numpy(float), parquet[numeric].to_numpy(float), rtol=1e-12)
    assert json.loads((out / "_manifest.json").read_text())["name"] == "tiny"
