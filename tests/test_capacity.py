"""Sizes inside the declared ranges that no machine of today holds (simulation/core/capacity.py):
refused from an estimate, before anything is built, with one line naming the file.  The estimate
checks every study spec in ``validate`` and before any study runs, reads the control group's memory
limit, and counts the runs that run at once on the workers."""

import os

import pytest
import yaml

from simulation import cli
from simulation.config import ConfigError, load_scenario
from simulation.core import capacity
from simulation.core.network import layout_of
from simulation.experiments.plan import plan_experiment
from helpers import command, one_line


def test_200000_departments_are_refused_from_a_memory_estimate(root, tmp_path, capsys):
    out = tmp_path / "out"
    for verb in (["validate"], ["run", "--out", str(out)]):
        proc = command(capsys, *verb, "scenarios/baseline.yaml", "--set", "population.government=200000", cwd=root)
        one_line(proc, 2, "scenarios/baseline.yaml", "200,400 agents", "GiB of memory", "this machine has")
    assert not out.exists()


def test_a_hundred_million_point_grid_is_refused_before_it_is_built(tmp_path, write_experiment, capsys):
    values = [round(0.1 * i, 1) for i in range(1, 11)]
    keys = ["trust_gain", "trust_loss", "trust_decay", "trust_initial", "exploration", "revision_rate",
            "reciprocity", "hoarder_grant"]
    experiment = write_experiment(tmp_path, sweep={"method": "grid",
                                                   "parameters": {f"parameters.{k}": values for k in keys}})
    out = tmp_path / "out"
    for verb in (["validate", str(experiment)], ["batch", str(experiment), "--out", str(out), "--quiet"]):
        one_line(command(capsys, *verb), 2, str(experiment), "100,000,000 runs", "this machine has")
    assert not out.exists()


def test_a_million_replications_are_refused_where_they_do_not_fit(tmp_path, write_experiment, monkeypatch):
    experiment = write_experiment(tmp_path, replications=1_000_000)
    needed = capacity.plan_bytes(1, 1_000_000)
    monkeypatch.setattr(capacity, "machine_memory", lambda: int(needed / 2))
    with pytest.raises(ConfigError, match="1,000,000 runs.*this machine has"):
        plan_experiment(experiment)
    monkeypatch.setattr(capacity, "machine_memory", lambda: int(needed * 2))
    write_experiment(tmp_path, replications=3)
    assert len(plan_experiment(experiment).runs) == 3  # the check passes what fits


def test_the_estimate_follows_the_network_parameters(root):
    """Links come from the generator's parameters: denser departments, more memory."""
    sparse = load_scenario(root / "scenarios" / "baseline.yaml", {"network.department_density": 0.1})
    dense = load_scenario(root / "scenarios" / "baseline.yaml", {"network.department_density": 0.9})
    layout = layout_of(sparse.population)
    assert capacity.expected_links(layout, dense.network) > capacity.expected_links(layout, sparse.network)
    assert capacity.run_bytes(layout, dense.network, 60) > capacity.run_bytes(layout, sparse.network, 60)


def test_the_estimate_is_close_to_a_real_run(root):
    """The baseline's expected links are within 10% of the links a run draws."""
    from simulation.core.model import DataSharingModel

    scenario = load_scenario(root / "scenarios" / "baseline.yaml")
    drawn = len(DataSharingModel(scenario, seed=1).network.edges)
    expected = capacity.expected_links(layout_of(scenario.population), scenario.network)
    assert abs(expected - drawn) / drawn < 0.1, (expected, drawn)


GIB = 2**30


def refusal(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def spec_file(root, folder, source, **fields):
    """A copy of a spec of the project in ``folder`` with ``fields`` changed, its scenarios absolute."""
    data = yaml.safe_load((root / source).read_text())
    base = (root / source).parent
    if "scenarios" in data:
        data["scenarios"] = [str((base / name).resolve()) for name in data["scenarios"]]
    if "scenario" in data:
        data["scenario"] = str((base / data["scenario"]).resolve())
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump({**data, **fields}))
    return path


@pytest.fixture
def roomy(monkeypatch):
    """A machine whose memory holds any plan, so that the run count is what refuses."""
    monkeypatch.setattr(capacity, "machine_memory", lambda: 2**50)


# --- run counts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["validate", "robustness"])
def test_a_600_million_run_robustness_spec_is_refused(root, tmp_path, capsys, roomy, verb):
    spec = spec_file(root, tmp_path, "scenarios/studies/robustness.yaml", structures=100_000, replications=1000)
    out = ["--out", tmp_path / "out", "--quiet"] if verb == "robustness" else []
    line = refusal(capsys, verb, spec, *out)
    assert str(spec) in line and "600,000,000 runs" in line and f"at most {capacity.MAX_RUNS:,}" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("verb", ["validate", "sensitivity"])
def test_a_52_billion_run_sobol_spec_is_refused_before_it_is_drawn(root, tmp_path, capsys, verb):
    spec = spec_file(root, tmp_path, "scenarios/sensitivity/levers_sobol.yaml", samples=2**19, replications=10_000)
    out = ["--out", tmp_path / "out", "--quiet"] if verb == "sensitivity" else []
    line = refusal(capsys, verb, spec, *out)  # by memory or by count, whichever this machine hits first
    assert str(spec) in line and "52,428,800,000 runs" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("verb", ["validate", "batch"])
def test_a_million_replications_are_refused_by_their_count(root, tmp_path, capsys, roomy, verb):
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(yaml.safe_dump({"name": "exp", "seed": 1, "replications": 1_000_000, "steps": 2,
                                          "scenarios": [str(root / "scenarios" / "baseline.yaml")]}))
    out = ["--out", tmp_path / "out", "--quiet"] if verb == "batch" else []
    line = refusal(capsys, verb, experiment, *out)
    assert str(experiment) in line and "1,000,000 runs" in line and f"at most {capacity.MAX_RUNS:,}" in line


def test_seeds_of_effects_and_patterns_are_counted(root, capsys, roomy):
    line = refusal(capsys, "patterns", "--seeds", 100_000, "--scenarios", root / "scenarios")
    assert "patterns:" in line and "100,000 seeds" in line and "runs are more than" in line
    line = refusal(capsys, "effects", "--seeds", 100_000, "--scenarios", root / "scenarios")
    assert "effects:" in line and "600,000 runs" in line


def test_an_ordinary_study_spec_still_validates(root, capsys):
    assert cli.main(["validate", str(root / "scenarios" / "studies" / "robustness.yaml"),
                     str(root / "scenarios" / "sensitivity" / "levers_sobol.yaml")]) == 0, capsys.readouterr().err


# --- the control group's limit ----------------------------------------------------------------------


def cgroup(tmp_path, files: dict[str, str], own: str = "0::/\n"):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(own)
    return tmp_path, proc


def test_a_cgroup_v2_limit_is_read(tmp_path):
    assert capacity.cgroup_limits(*cgroup(tmp_path, {"memory.max": "751619276\n"})) == [751619276]
    assert capacity.cgroup_limits(*cgroup(tmp_path, {"memory.max": "max\n"})) == []


def test_a_cgroup_v1_limit_of_the_process_own_group_is_read(tmp_path):
    root, proc = cgroup(tmp_path, {"memory/memory.limit_in_bytes": "9223372036854771712\n",
                                   "memory/job/7/memory.limit_in_bytes": "751619276\n"}, own="4:memory:/job/7\n")
    assert sorted(capacity.cgroup_limits(root, proc)) == [751619276, 9223372036854771712]


def test_a_run_bigger_than_the_cgroup_limit_is_refused(root, tmp_path, monkeypatch, capsys):
    """A run of about 1.3 GiB under a 0.7 GiB limit: refused, instead of killed by the OOM killer."""
    root_dir, proc = cgroup(tmp_path, {"memory.max": str(int(0.7 * GIB))})
    monkeypatch.setattr(capacity, "CGROUP_ROOT", root_dir)
    monkeypatch.setattr(capacity, "PROC_CGROUP", proc)
    assert capacity.machine_memory() == int(0.7 * GIB)
    line = refusal(capsys, "validate", root / "scenarios" / "baseline.yaml", "--set", "population.public=2000000")
    assert "this machine has 0.7 GiB" in line


# --- runs at once -------------------------------------------------------------------------------------


def test_runs_at_once_are_the_workers_but_no_more_than_the_runs(monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert capacity.runs_at_once(100) == 8
    assert capacity.runs_at_once(3) == 3
    assert capacity.runs_at_once(100, workers=2) == 2
    assert capacity.runs_at_once(100, workers=2, scheduler="tcp://127.0.0.1:8786") == 1  # the cluster's memory


def test_two_runs_that_fit_one_at_a_time_are_refused_on_two_workers(root, tmp_path, monkeypatch, capsys):
    """The issue's case: 2 runs of 12.9 GiB each on 2 workers of a 24 GiB machine."""
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    big = {"population.public": 20_000_000}
    scenario = load_scenario(root / "scenarios" / "baseline.yaml", big)
    one_run = capacity.run_bytes(layout_of(scenario.population), scenario.network, 2)
    assert 12 * GIB < one_run < 14 * GIB
    monkeypatch.setattr(capacity, "machine_memory", lambda: 24 * GIB)
    (tmp_path / "big.yaml").write_text(yaml.safe_dump({"extends": str(root / "scenarios" / "baseline.yaml"),
                                                       "name": "big", "population": {"public": 20_000_000}}))
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(yaml.safe_dump({"name": "exp", "seed": 1, "replications": 2, "steps": 2,
                                          "scenarios": ["big.yaml"]}))
    assert len(plan_experiment(experiment, workers=1).runs) == 2
    with pytest.raises(ConfigError, match=r"2 runs at once \(one per worker.*this machine has 24.0 GiB"):
        plan_experiment(experiment, workers=2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)  # validate assumes the batch runner's default workers
    assert "2 runs at once" in refusal(capsys, "validate", experiment)
    assert "2 runs at once" in refusal(capsys, "batch", experiment, "--workers", 2, "--out", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_study_whose_runs_fit_one_at_a_time_is_refused_on_two_workers(root, tmp_path, monkeypatch, capsys):
    """The same estimate before a study's runs: its largest run, once per worker that runs at once."""
    from simulation.analyses import protocol
    from simulation.analyses.registry import STUDIES

    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    spec = spec_file(root, tmp_path, "scenarios/sensitivity/frontier.yaml", packages=2, replications=1, steps=2)
    study = STUDIES["frontier"]
    loaded = study.load(spec=spec)
    plan = study.plan(loaded)
    largest = max(capacity.run_bytes(layout_of(r.scenario.population), r.scenario.network, r.steps) for r in plan.runs)
    monkeypatch.setattr(capacity, "machine_memory", lambda: int(1.5 * largest))
    monkeypatch.setattr(protocol, "execute_all", lambda *a, **k: pytest.fail("ran runs that do not fit"))
    with pytest.raises(ConfigError, match=rf"{spec}: 2 runs at once"):
        protocol.perform(study, loaded, tmp_path / "out", workers=2, progress=False)
