"""Every bad input gets one clear line naming the file and field, exit status 2, no traceback,
and nothing written."""


import pytest

from simulation import ConfigError, load_scenario
import helpers

CASES = {
    "syntax": ("name: x\nsteps: [1, 2\n", ["line 3", "YAML syntax error"]),
    "unknown_top": ("name: x\npopulaton: {government: 3}\n", ["populaton", "did you mean 'population'"]),
    "unknown_block": ("countermeasures:\n  security:\n    tierng: 0.5\n",
                      ["countermeasures.security.tierng", "did you mean 'countermeasures.security.tiering'"]),
    "unknown_param": ("parameters: {trust_treshold: 0.5}\n", ["parameters.trust_treshold", "parameters.trust_threshold"]),
    "wrong_type": ("steps: many\n", ["steps", "'many'", "int in [1, 100000]"]),
    "quoted_number": ("parameters: {trust_gain: '0.5'}\n", ["parameters.trust_gain", "'0.5'", "valid number"]),
    "out_of_range": ("parameters: {trust_threshold: 1.5}\n", ["parameters.trust_threshold", "1.5", "out of range", "[0, 1]"]),
    "lever_out_of_range": ("countermeasures:\n  security: {enabled: true, tiering: 2}\n",
                           ["countermeasures.security.tiering", "[0, 1]"]),
    "nan": ("parameters: {trust_gain: .nan}\n", ["parameters.trust_gain", "NaN and infinite"]),
    "inf": ("countermeasures:\n  ecosystem: {link_rate: .inf}\n", ["countermeasures.ecosystem.link_rate", "NaN and infinite"]),
    "python_tag": ("name: !!python/object/apply:os.system ['echo owned > owned.txt']\n",
                   ["line 1", "!!python/object/apply:os.system", "not allowed"]),
    "missing_parent": ("extends: nowhere.yaml\n", ["extends", "file not found", "nowhere.yaml"]),
    "not_a_mapping": ("- a\n- b\n", ["expected a mapping"]),
    "population_mix": ("population: {enterprise: 10}\n", ["population", "enterprise = 10"]),
}


def cli(root, *args, cwd=None):
    return helpers.cli(cwd or root, *args, env={"PATH": "/usr/bin:/bin"})


def assert_clean_error(proc, needles):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


@pytest.mark.parametrize("case", sorted(CASES))
def test_validate_reports_bad_files(root, tmp_path, case):
    text, needles = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text)
    proc = cli(root, "validate", str(path), cwd=tmp_path)
    assert_clean_error(proc, [str(path), *needles])
    assert not (tmp_path / "owned.txt").exists()


@pytest.mark.parametrize("case", ["out_of_range", "unknown_block", "python_tag"])
def test_run_validates_first_and_writes_nothing(root, tmp_path, case):
    text, needles = CASES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    assert_clean_error(cli(root, "run", str(path), "--out", str(out), cwd=tmp_path), needles)
    assert not out.exists()


def test_missing_file(root, tmp_path):
    assert_clean_error(cli(root, "validate", str(tmp_path / "none.yaml")), ["none.yaml", "file not found"])


def test_extends_cycle(root, tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    assert_clean_error(cli(root, "validate", str(tmp_path / "a.yaml")), ["extends: cycle", "a.yaml -> ", "b.yaml"])


@pytest.mark.parametrize("override, needles", [
    ("parameters.trust_treshold=0.4", ["unknown key 'parameters.trust_treshold'", "did you mean 'parameters.trust_threshold'"]),
    ("countermeasures.cognition.budget=1", ["unknown key 'countermeasures.cognition.budget'"]),
    ("population.public=-5", ["population.public", "-5", "out of range"]),
    ("parameters.trust_gain=nan", ["parameters.trust_gain", "NaN and infinite"]),
    ("steps=abc", ["steps", "'abc'"]),
    ("noequals", ["expected dotted.key=value"]),
])
def test_bad_set_overrides(root, override, needles):
    assert_clean_error(cli(root, "validate", "scenarios/baseline.yaml", "--set", override), needles)


def test_shipped_scenarios_validate(root):
    proc = cli(root, "validate", *sorted(str(p) for p in (root / "scenarios").glob("*.yaml")))
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


def test_every_shipped_yaml_file_validates_as_its_kind(root):
    files = sorted(str(p.relative_to(root)) for p in (root / "scenarios").rglob("*.yaml"))
    proc = cli(root, "validate", *files)
    assert proc.returncode == 0, proc.stderr
    for kind in ("(scenario)", "(experiment)", "(game)", "(sensitivity spec)", "(frontier spec)", "(robustness spec)"):
        assert kind in proc.stdout


def test_validate_names_the_problem_in_an_experiment_file(root, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(f"name: x\nscenarios: [{root / 'scenarios' / 'baseline.yaml'}]\nreplications: 0\nseed: 1\n")
    assert_clean_error(cli(root, "validate", str(path)), ["replications", "out of range"])
