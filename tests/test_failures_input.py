"""Issue 14, bad input: whatever a hostile or careless user types or writes, the command line
answers with one line `error: ...` naming the file, field or flag and what is allowed, exits with
status 2, writes nothing, and never hangs (the items are the issue's numbers)."""


import networkx as nx
import pytest
import yaml

from simulation.config import ConfigError, load_scenario, read_yaml
from simulation.config.loader import MAX_DEPTH, MAX_VALUES
from simulation.core import capacity
from simulation.core.network import read_graph_file
from simulation.experiments.plan import plan_experiment
import helpers

CLI_TIMEOUT = 120  # far above a refusal's fraction of a second; a hang fails instead of blocking


def cli(root, *args, cwd=None):
    return helpers.cli(cwd or root, *args, timeout=CLI_TIMEOUT)


def assert_one_line(proc, *needles):
    return helpers.one_line(proc, 2, *needles)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def scenario_file(root, folder, name="s", **blocks):
    """A scenario extending the baseline, with ``blocks`` as written."""
    data = {"extends": str(root / "scenarios" / "baseline.yaml"), "name": name, **blocks}
    return write(folder / f"{name}.yaml", yaml.safe_dump(data))


def experiment_file(root, folder, scenarios=None, **fields):
    data = {"name": "exp", "seed": 1, "replications": 1, "steps": 2,
            "scenarios": scenarios or [str(root / "scenarios" / "baseline.yaml")], **fields}
    return write(folder / "experiment.yaml", yaml.safe_dump(data))


def billion_laughs() -> str:
    """Under 500 bytes; nine aliases per level, nine levels: 9^9 (387 million) values once expanded."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(levels) + "\nname: bomb\n"


# --- 4. a YAML alias bomb -----------------------------------------------------------------------


def test_the_bomb_is_small():
    assert len(billion_laughs()) < 500


@pytest.mark.timeout(60)
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    bomb = write(tmp_path / "bomb.yaml", billion_laughs())
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        read_yaml(bomb)


@pytest.mark.timeout(4 * CLI_TIMEOUT)
@pytest.mark.parametrize("command", ["validate", "run", "batch"])
def test_an_alias_bomb_does_not_hang_the_command_line(root, tmp_path, command):
    bomb = write(tmp_path / "bomb.yaml", billion_laughs())
    out = tmp_path / "out"
    extra = [] if command == "validate" else ["--out", str(out)]
    assert_one_line(cli(root, command, str(bomb), *extra), str(bomb), "aliases", "values")
    assert not out.exists()


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot contain itself"):
        read_yaml(write(tmp_path / "loop.yaml", "a: &a [1, *a]\n"))


def test_ordinary_aliases_still_work(tmp_path):
    path = write(tmp_path / "shared.yaml", "shared: &levers {enabled: true, start: 3}\nother: *levers\n")
    assert read_yaml(path)["other"] == {"enabled": True, "start": 3}


# --- 8. tracebacks instead of one-line errors (input) --------------------------------------------


@pytest.mark.parametrize("content", ["", "this is not XML at all", "<graphml><node"])
def test_an_empty_or_non_xml_graphml_is_one_line(root, tmp_path, content):
    write(tmp_path / "net.graphml", content)
    scenario = scenario_file(root, tmp_path, network={"kind": "file", "path": "net.graphml"})
    line = assert_one_line(cli(root, "validate", str(scenario)), "net.graphml", "cannot read the network")
    assert "Traceback" not in line


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 3000])
def test_deeply_nested_yaml_is_one_line(root, tmp_path, depth):
    path = write(tmp_path / "deep.yaml", "name: " + "[" * depth + "]" * depth + "\n")
    assert_one_line(cli(root, "validate", str(path)), str(path), "nested")


def test_effects_needs_at_least_one_seed(root):
    assert_one_line(cli(root, "effects", "--seeds", "0"), "--seeds: 0 is not allowed")


def test_effects_checks_its_doc_before_any_run(root, tmp_path):
    # No scenario folder either: were the doc checked after the runs, the error would name that.
    missing = tmp_path / "missing.md"
    proc = cli(root, "effects", "--seeds", "1", "--scenarios", str(tmp_path / "none"), "--doc", str(missing))
    assert_one_line(proc, str(missing), "file not found")
    no_block = write(tmp_path / "plain.md", "# no generated block here\n")
    proc = cli(root, "effects", "--seeds", "1", "--scenarios", str(tmp_path / "none"), "--doc", str(no_block))
    assert_one_line(proc, str(no_block), "effect-table:begin")


def test_game_plot_extension_is_checked_up_front(root, tmp_path):
    proc = cli(root, "game", "scenarios/games/coordination.yaml", "--plot", str(tmp_path / "x.xyz"))
    assert_one_line(proc, "x.xyz", ".png", ".pdf", ".svg")
    assert proc.stdout == "" and not (tmp_path / "x.xyz").exists()  # nothing analysed or written


@pytest.mark.parametrize("args, needle", [
    (["--abm-agents", "10000000000"], "--abm-agents: 10000000000 is not allowed"),
    (["--abm-agents", "-1"], "--abm-agents: -1 is not allowed"),
    (["--seed", "-1"], "--seed: -1 is not allowed"),
])
def test_game_options_out_of_range(root, args, needle):
    assert_one_line(cli(root, "game", "scenarios/games/coordination.yaml", *args), needle)


def test_run_seed_out_of_range(root, tmp_path):
    out = tmp_path / "out"
    proc = cli(root, "run", "scenarios/baseline.yaml", "--seed", "-1", "--out", str(out))
    assert_one_line(proc, "--seed: -1 is not allowed", "[0, 9223372036854775807]")
    assert not out.exists()


# Sizes inside the declared ranges that no machine of today holds: refused from an estimate,
# before anything is built.


def test_200000_departments_are_refused_from_a_memory_estimate(root, tmp_path):
    out = tmp_path / "out"
    for command in (["validate"], ["run", "--out", str(out)]):
        proc = cli(root, *command, "scenarios/baseline.yaml", "--set", "population.government=200000")
        assert_one_line(proc, "scenarios/baseline.yaml", "200,400 agents", "GiB of memory", "this machine has")
    assert not out.exists()


def test_a_hundred_million_point_grid_is_refused_before_it_is_built(root, tmp_path):
    values = [round(0.1 * i, 1) for i in range(1, 11)]
    keys = ["trust_gain", "trust_loss", "trust_decay", "trust_initial", "exploration", "revision_rate",
            "reciprocity", "hoarder_grant"]
    experiment = experiment_file(root, tmp_path, sweep={"method": "grid",
                                                        "parameters": {f"parameters.{k}": values for k in keys}})
    out = tmp_path / "out"
    for command in (["validate", str(experiment)], ["batch", str(experiment), "--out", str(out), "--quiet"]):
        assert_one_line(cli(root, *command), str(experiment), "100,000,000 runs", "this machine has")
    assert not out.exists()


def test_a_million_replications_are_refused_where_they_do_not_fit(root, tmp_path, monkeypatch):
    experiment = experiment_file(root, tmp_path, replications=1_000_000)
    needed = capacity.plan_bytes(1, 1_000_000)
    monkeypatch.setattr(capacity, "machine_memory", lambda: int(needed / 2))
    with pytest.raises(ConfigError, match="1,000,000 runs.*this machine has"):
        plan_experiment(experiment)
    monkeypatch.setattr(capacity, "machine_memory", lambda: int(needed * 2))
    experiment_file(root, tmp_path, replications=3)
    assert len(plan_experiment(experiment).runs) == 3  # the check passes what fits


def test_the_estimate_follows_the_network_parameters(root):
    """Links come from the generator's parameters: denser departments, more memory."""
    sparse = load_scenario(root / "scenarios" / "baseline.yaml", {"network.department_density": 0.1})
    dense = load_scenario(root / "scenarios" / "baseline.yaml", {"network.department_density": 0.9})
    from simulation.core.network import layout_of

    layout = layout_of(sparse.population)
    assert capacity.expected_links(layout, dense.network) > capacity.expected_links(layout, sparse.network)
    assert capacity.run_bytes(layout, dense.network, 60) > capacity.run_bytes(layout, sparse.network, 60)


def test_the_estimate_is_close_to_a_real_run(root):
    """The baseline's expected links are within 10% of the links a run draws."""
    from simulation.core.model import DataSharingModel
    from simulation.core.network import layout_of

    scenario = load_scenario(root / "scenarios" / "baseline.yaml")
    drawn = len(DataSharingModel(scenario, seed=1).network.edges)
    expected = capacity.expected_links(layout_of(scenario.population), scenario.network)
    assert abs(expected - drawn) / drawn < 0.1, (expected, drawn)


def test_the_one_place_turns_input_failures_into_one_line(monkeypatch, capsys):
    import simulation.cli as cli_module

    def nested(args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(cli_module, "cmd_params", nested)
    assert cli_module.main(["params"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["error: the input is nested too deeply to process"]


def test_a_malformed_command_line_is_one_line(root):
    assert_one_line(cli(root, "run", "scenarios/baseline.yaml", "--steps", "abc"), "--steps", "'abc'")


# --- 9. inputs accepted that should be refused ---------------------------------------------------


def test_validate_and_batch_refuse_a_bad_network_file(root, tmp_path):
    write(tmp_path / "broken.csv", "not,a,graph\n1,2,3\n")
    scenario = scenario_file(root, tmp_path, "broken", network={"kind": "file", "path": "broken.csv"})
    assert_one_line(cli(root, "validate", str(scenario)), "broken.csv", "cannot read the network")
    experiment = experiment_file(root, tmp_path, scenarios=[str(scenario)])
    out = tmp_path / "out"
    assert_one_line(cli(root, "batch", str(experiment), "--out", str(out), "--quiet"), "broken.csv")
    assert not out.exists()


@pytest.mark.parametrize("steps", ["0", "-5", "1000000000"])
def test_steps_outside_the_file_limit_are_refused(root, tmp_path, steps):
    from simulation.config import Scenario, field_bounds

    low, high = field_bounds(Scenario.model_fields["steps"])  # the file's limit is the flag's
    out = tmp_path / "out"
    proc = cli(root, "run", "scenarios/baseline.yaml", "--steps", steps, "--out", str(out))
    assert_one_line(proc, f"--steps: {steps} is not allowed", f"[{low}, {high}]")
    assert not out.exists()


def test_a_seed_above_the_schema_range_is_refused(root, tmp_path):
    too_big = str(2**64 + 1)
    out = tmp_path / "out"
    assert_one_line(cli(root, "run", "scenarios/baseline.yaml", "--seed", too_big, "--out", str(out)),
                    f"--seed: {too_big} is not allowed")
    assert not out.exists()


def test_a_negative_target_integration_is_refused(root):
    proc = cli(root, "frontier", "scenarios/sensitivity/frontier.yaml", "--target-integration", "-5")
    assert_one_line(proc, "--target-integration: -5 is not allowed")


def _graph(**changes) -> nx.Graph:
    graph = nx.Graph()
    nodes = {"admin": ("government", "coordinator"), "energy": ("government", None), "grid": ("enterprise", "grid"),
             "water": ("enterprise", "water"), "alice": ("public", None)}
    nodes.update(changes)
    for node, (role, kind) in nodes.items():
        graph.add_node(node, role=role, **({"kind": kind} if kind else {}))
    graph.add_edges_from([("admin", "energy"), ("energy", "grid"), ("grid", "water"), ("alice", "grid")])
    return graph


@pytest.mark.parametrize("changes, needles", [
    ({"alice": ("public", "water")}, ["node alice", "kind 'water' does not belong to role public"]),
    ({"energy": ("government", "grid")}, ["node energy", "kind 'grid' does not belong to role government"]),
    ({"water": ("enterprise", "grid")}, ["2 nodes have kind 'grid'"]),
    ({"energy": ("government", "coordinator")}, ["2 nodes have kind 'coordinator'"]),
])
def test_a_graphml_whose_roles_do_not_add_up_is_refused(root, tmp_path, changes, needles):
    path = tmp_path / "net.graphml"
    nx.write_graphml(_graph(**changes), path)
    with pytest.raises(ConfigError):
        read_graph_file(path)
    scenario = scenario_file(root, tmp_path, network={"kind": "file", "path": "net.graphml"})
    assert_one_line(cli(root, "validate", str(scenario)), "net.graphml", *needles)


def test_a_consistent_graphml_still_reads(tmp_path):
    path = tmp_path / "net.graphml"
    nx.write_graphml(_graph(), path)
    _, layout = read_graph_file(path)
    assert (layout.government, layout.enterprise, layout.public, layout.water) == (2, 2, 1, 1)


# --- 10. a parent's relative network.path ---------------------------------------------------------


def test_a_parents_network_path_is_relative_to_the_parent(root, tmp_path):
    parent_dir, child_dir = tmp_path / "parent", tmp_path / "child"
    parent_dir.mkdir()
    child_dir.mkdir()
    nx.write_graphml(_graph(), parent_dir / "net.graphml")
    parent = scenario_file(root, parent_dir, "parent", network={"kind": "file", "path": "net.graphml"})
    child = write(child_dir / "child.yaml", f"extends: ../parent/{parent.name}\nname: child\n")
    assert load_scenario(child).network.path == str((parent_dir / "net.graphml").resolve())
    # a child's own relative path stays relative to the child
    nx.write_graphml(_graph(), child_dir / "own.graphml")
    write(child, f"extends: ../parent/{parent.name}\nname: child\nnetwork: {{path: own.graphml}}\n")
    assert load_scenario(child).network.path == str((child_dir / "own.graphml").resolve())


# --- 12. two surprises ----------------------------------------------------------------------------


def test_exponent_notation_is_a_number(root, tmp_path):
    path = write(tmp_path / "small.yaml", f"extends: {root / 'scenarios' / 'baseline.yaml'}\n"
                                          "parameters: {trust_gain: 1e-3, trust_loss: 2.5E-2}\n")
    scenario = load_scenario(path)
    assert scenario.parameters.trust_gain == pytest.approx(0.001)
    assert scenario.parameters.trust_loss == pytest.approx(0.025)
    proc = cli(root, "validate", "scenarios/baseline.yaml", "--set", "parameters.trust_gain=2.5e-2")
    assert proc.returncode == 0, proc.stderr


def test_set_with_a_mapping_merges_into_the_block(root, tmp_path):
    path = scenario_file(root, tmp_path, countermeasures={"security": {"tiering": 0.25}})
    scenario = load_scenario(path, {"countermeasures.security": {"enabled": True}})
    assert scenario.countermeasures.security.enabled and scenario.countermeasures.security.tiering == 0.25
    proc = cli(root, "validate", str(path), "--set", "countermeasures.security={enabled: true, tierng: 1}")
    assert_one_line(proc, "countermeasures.security.tierng", "did you mean")
