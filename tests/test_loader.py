"""Scenario and study files (simulation/config/loader.py): every bad input gets one clear line
naming the file and field, exit status 2, no traceback, and nothing written; YAML that would expand
or nest without end is refused before it does; ``extends`` and ``--set`` resolve as documented."""


import networkx as nx
import pytest

from simulation import ConfigError, load_scenario
from simulation.config import read_yaml
from simulation.config.loader import MAX_DEPTH, MAX_VALUES
from helpers import command, one_line

CASES = {
    "syntax": ("name: x\nsteps: [1, 2\n", ["line 3", "YAML syntax error"]),
    "unknown_top": ("name: x\npopulaton: {government: 3}\n", ["populaton", "did you mean 'population'"]),
    "unknown_block": ("countermeasures:\n  security:\n    tierng: 0.5\n",
                      ["countermeasures.security.tierng", "did you mean 'countermeasures.security.tiering'"]),
    "unknown_param": ("parameters: {trust_treshold: 0.5}\n",
                      ["parameters.trust_treshold", "parameters.trust_threshold"]),
    "wrong_type": ("steps: many\n", ["steps", "'many'", "int in [1, 100000]"]),
    "quoted_number": ("parameters: {trust_gain: '0.5'}\n", ["parameters.trust_gain", "'0.5'", "valid number"]),
    "out_of_range": ("parameters: {trust_threshold: 1.5}\n",
                     ["parameters.trust_threshold", "1.5", "out of range", "[0, 1]"]),
    "lever_out_of_range": ("countermeasures:\n  security: {enabled: true, tiering: 2}\n",
                           ["countermeasures.security.tiering", "[0, 1]"]),
    "nan": ("parameters: {trust_gain: .nan}\n", ["parameters.trust_gain", "NaN and infinite"]),
    "inf": ("countermeasures:\n  ecosystem: {link_rate: .inf}\n",
            ["countermeasures.ecosystem.link_rate", "NaN and infinite"]),
    "python_tag": ("name: !!python/object/apply:os.system ['echo owned > owned.txt']\n",
                   ["line 1", "!!python/object/apply:os.system", "not allowed"]),
    "missing_parent": ("extends: nowhere.yaml\n", ["extends", "file not found", "nowhere.yaml"]),
    "not_a_mapping": ("- a\n- b\n", ["expected a mapping"]),
    "population_mix": ("population: {enterprise: 10}\n", ["population", "enterprise = 10"]),
}


def assert_clean_error(proc, needles):
    """Exit status 2 and one line ``error: ...`` holding every needle (so no traceback either)."""
    one_line(proc, 2, *needles)


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_reports_bad_files(tmp_path, capsys, case):
    text, needles = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    proc = command(capsys, "validate", str(path), cwd=tmp_path)
    assert_clean_error(proc, [str(path), *needles])
    assert not (tmp_path / "owned.txt").exists()


@pytest.mark.parametrize("case", ["out_of_range", "unknown_block", "python_tag"])
def test_run_validates_first_and_writes_nothing(tmp_path, capsys, case):
    text, needles = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    assert_clean_error(command(capsys, "run", str(path), "--out", str(out), cwd=tmp_path), needles)
    assert not out.exists()


def test_missing_file(tmp_path, capsys):
    assert_clean_error(command(capsys, "validate", str(tmp_path / "none.yaml")), ["none.yaml", "file not found"])


def test_extends_cycle(tmp_path, capsys):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    assert_clean_error(command(capsys, "validate", str(tmp_path / "a.yaml")),
                       ["extends: cycle", "a.yaml -> ", "b.yaml"])


@pytest.mark.parametrize("override, needles", [
    ("parameters.trust_treshold=0.4",
     ["unknown key 'parameters.trust_treshold'", "did you mean 'parameters.trust_threshold'"]),
    ("countermeasures.cognition.budget=1", ["unknown key 'countermeasures.cognition.budget'"]),
    ("population.public=-5", ["population.public", "-5", "out of range"]),
    ("parameters.trust_gain=nan", ["parameters.trust_gain", "NaN and infinite"]),
    ("steps=abc", ["steps", "'abc'"]),
    ("noequals", ["expected dotted.key=value"]),
])
def test_bad_set_overrides(root, capsys, override, needles):
    assert_clean_error(command(capsys, "validate", "scenarios/baseline.yaml", "--set", override, cwd=root), needles)


def test_shipped_scenarios_validate(root, capsys):
    proc = command(capsys, "validate", *sorted(str(p) for p in (root / "scenarios").glob("*.yaml")))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": ok") == 6


def test_extends_resolves_relative_to_the_file_and_overrides_are_typed(root, tmp_path):
    sub = tmp_path / "nested"
    sub.mkdir()
    (sub / "mine.yaml").write_text(f"extends: {root / 'scenarios' / 'mechanism.yaml'}\nname: mine\n")
    (tmp_path / "top.yaml").write_text("extends: nested/mine.yaml\nname: top\nsteps: 12\n")
    scenario = load_scenario(tmp_path / "top.yaml", overrides={"countermeasures.cognition.enabled": True})
    assert scenario.name == "top" and scenario.steps == 12
    assert scenario.countermeasures.mechanism.enabled and scenario.countermeasures.cognition.enabled
    with pytest.raises(ConfigError, match="out of range"):
        load_scenario(tmp_path / "top.yaml", overrides={"countermeasures.cognition.start": -1})


def test_scenarios_change_only_their_own_block(root):
    base = load_scenario(root / "scenarios" / "baseline.yaml").model_dump()
    for name in ("ecosystem", "mechanism", "cognition", "security"):
        other = load_scenario(root / "scenarios" / f"{name}.yaml").model_dump()
        changed = {key for key in base if base[key] != other[key]} - {"name", "description"}
        assert changed == {"countermeasures"}
        blocks = {b for b in base["countermeasures"] if base["countermeasures"][b] != other["countermeasures"][b]}
        assert blocks == {name}


def test_phased_package_in_one_file(root, tmp_path):
    from simulation.core.countermeasures import Package

    (tmp_path / "phased.yaml").write_text(
        f"extends: {root / 'scenarios' / 'baseline.yaml'}\nname: phased\ncountermeasures:\n"
        "  mechanism: {enabled: true, start: 0, ramp: 4}\n  cognition: {enabled: true, start: 12, ramp: 0}\n")
    scenario = load_scenario(tmp_path / "phased.yaml")
    package = Package.of(scenario)
    mechanism, cognition = (next(c for c in package if c.name == name) for name in ("mechanism", "cognition"))
    assert mechanism.strength(1) == pytest.approx(0.5)
    assert cognition.strength(11) == 0 and cognition.strength(12) == 1
    assert package.budget_at(12, 120, 300) > package.budget_at(11, 120, 300) > 0


def test_every_shipped_yaml_file_validates_as_its_kind(root, capsys):
    files = sorted(str(p.relative_to(root)) for p in (root / "scenarios").rglob("*.yaml"))
    proc = command(capsys, "validate", *files, cwd=root)
    assert proc.returncode == 0, proc.stderr
    for kind in ("(scenario)", "(experiment)", "(game)", "(sensitivity spec)", "(frontier spec)", "(robustness spec)"):
        assert kind in proc.stdout


def test_validate_names_the_problem_in_an_experiment_file(root, tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: x\nscenarios: [{root / 'scenarios' / 'baseline.yaml'}]\nreplications: 0\nseed: 1\n")
    assert_clean_error(command(capsys, "validate", str(path)), ["replications", "out of range"])


# --- YAML that would expand or nest without end -------------------------------------------------


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def billion_laughs() -> str:
    """Under 500 bytes; nine aliases per level, nine levels: 9^9 (387 million) values once expanded."""
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    return "\n".join(levels) + "\nname: bomb\n"


def test_the_bomb_is_small():
    assert len(billion_laughs()) < 500


@pytest.mark.timeout(60)
def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    bomb = write(tmp_path / "bomb.yaml", billion_laughs())
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        read_yaml(bomb)


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot contain itself"):
        read_yaml(write(tmp_path / "loop.yaml", "a: &a [1, *a]\n"))


def test_ordinary_aliases_still_work(tmp_path):
    path = write(tmp_path / "shared.yaml", "shared: &levers {enabled: true, start: 3}\nother: *levers\n")
    assert read_yaml(path)["other"] == {"enabled": True, "start": 3}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 3000])
def test_deeply_nested_yaml_is_one_line(tmp_path, capsys, depth):
    path = write(tmp_path / "deep.yaml", "name: " + "[" * depth + "]" * depth + "\n")
    assert_clean_error(command(capsys, "validate", str(path)), [str(path), "nested"])


# --- a parent's relative network.path -------------------------------------------------------------


def test_a_parents_network_path_is_relative_to_the_parent(tmp_path, write_scenario):
    from test_network import example_graph

    parent_dir, child_dir = tmp_path / "parent", tmp_path / "child"
    parent_dir.mkdir()
    child_dir.mkdir()
    nx.write_graphml(example_graph(), parent_dir / "net.graphml")
    parent = write_scenario(parent_dir, "parent", network={"kind": "file", "path": "net.graphml"})
    child = write(child_dir / "child.yaml", f"extends: ../parent/{parent.name}\nname: child\n")
    assert load_scenario(child).network.path == str((parent_dir / "net.graphml").resolve())
    # a child's own relative path stays relative to the child
    nx.write_graphml(example_graph(), child_dir / "own.graphml")
    write(child, f"extends: ../parent/{parent.name}\nname: child\nnetwork: {{path: own.graphml}}\n")
    assert load_scenario(child).network.path == str((child_dir / "own.graphml").resolve())


# --- two surprises --------------------------------------------------------------------------------


def test_exponent_notation_is_a_number(root, tmp_path, capsys):
    path = write(tmp_path / "small.yaml", f"extends: {root / 'scenarios' / 'baseline.yaml'}\n"
                                          "parameters: {trust_gain: 1e-3, trust_loss: 2.5E-2}\n")
    scenario = load_scenario(path)
    assert scenario.parameters.trust_gain == pytest.approx(0.001)
    assert scenario.parameters.trust_loss == pytest.approx(0.025)
    proc = command(capsys, "validate", "scenarios/baseline.yaml", "--set", "parameters.trust_gain=2.5e-2", cwd=root)
    assert proc.returncode == 0, proc.stderr


def test_set_with_a_mapping_merges_into_the_block(tmp_path, write_scenario, capsys):
    path = write_scenario(tmp_path, "s", countermeasures={"security": {"tiering": 0.25}})
    scenario = load_scenario(path, {"countermeasures.security": {"enabled": True}})
    assert scenario.countermeasures.security.enabled and scenario.countermeasures.security.tiering == 0.25
    proc = command(capsys, "validate", str(path), "--set", "countermeasures.security={enabled: true, tierng: 1}")
    assert_clean_error(proc, ["countermeasures.security.tierng", "did you mean"])
