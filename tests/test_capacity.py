"""Sizes inside the declared ranges that no machine of today holds (simulation/core/capacity.py):
refused from an estimate, before anything is built, with one line naming the file."""

import pytest

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
    experiment = write_experiment(tmp_path, sweep={"method": "grid", "parameters": {f"parameters.{k}": values for k in keys}})
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
