"""The command line (simulation/cli.py) as users call it: what the verbs write and print, and
whatever a hostile or careless user types answered with one line `error: ...` naming the file, field
or flag and what is allowed, exit status 2, nothing written, never a hang.  Run in this process
(helpers.command); the few things only a real process shows are the e2e tests at the end."""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from simulation.core.metrics import METRICS
from helpers import cli, command, one_line
from test_loader import billion_laughs


def assert_one_line(proc, *needles):
    return one_line(proc, 2, *needles)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# --- what the verbs write and print -------------------------------------------------------------


def test_run_writes_timeseries_and_summary(root, tmp_path, capsys):
    out = tmp_path / "run"
    proc = command(capsys, "run", "scenarios/baseline.yaml", "--seed", "4", "--steps", "10",
                   "--set", "population.public=50", "--out", str(out), cwd=root)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert tuple(frame.columns) == METRICS and len(frame) == 11
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["steps"] == 10 and summary["scenario"] == "baseline"
    assert "largest_component_share" in proc.stdout


def test_params_table_matches_docs(root, capsys):
    proc = command(capsys, "params")
    assert proc.returncode == 0
    assert proc.stdout in (root / "docs" / "ODD.md").read_text()


# --- refusals -----------------------------------------------------------------------------------


def test_bad_override_is_one_clear_line_and_writes_nothing(root, tmp_path, capsys):
    out = tmp_path / "never"
    proc = command(capsys, "run", "scenarios/baseline.yaml", "--set", "parameters.trust_treshold=0.4",
                   "--out", str(out), cwd=root)
    assert_one_line(proc, "did you mean 'parameters.trust_threshold'")
    assert not out.exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("verb", ["validate", "run", "batch"])
def test_an_alias_bomb_does_not_hang_the_command_line(tmp_path, capsys, verb):
    bomb = write(tmp_path / "bomb.yaml", billion_laughs())
    out = tmp_path / "out"
    extra = [] if verb == "validate" else ["--out", str(out)]
    assert_one_line(command(capsys, verb, str(bomb), *extra), str(bomb), "aliases", "values")
    assert not out.exists()


def test_effects_needs_at_least_one_seed(capsys):
    assert_one_line(command(capsys, "effects", "--seeds", "0"), "--seeds: 0 is not allowed")


def test_effects_checks_its_doc_before_any_run(tmp_path, capsys):
    # No scenario folder either: were the doc checked after the runs, the error would name that.
    missing = tmp_path / "missing.md"
    proc = command(capsys, "effects", "--seeds", "1", "--scenarios", str(tmp_path / "none"), "--doc", str(missing))
    assert_one_line(proc, str(missing), "file not found")
    no_block = write(tmp_path / "plain.md", "# no generated block here\n")
    proc = command(capsys, "effects", "--seeds", "1", "--scenarios", str(tmp_path / "none"), "--doc", str(no_block))
    assert_one_line(proc, str(no_block), "effect-table:begin")


def test_game_plot_extension_is_checked_up_front(root, tmp_path, capsys):
    proc = command(capsys, "game", "scenarios/games/coordination.yaml", "--plot", str(tmp_path / "x.xyz"), cwd=root)
    assert_one_line(proc, "x.xyz", ".png", ".pdf", ".svg")
    assert proc.stdout == "" and not (tmp_path / "x.xyz").exists()  # nothing analysed or written


@pytest.mark.parametrize("args, needle", [
    (["--abm-agents", "10000000000"], "--abm-agents: 10000000000 is not allowed"),
    (["--abm-agents", "-1"], "--abm-agents: -1 is not allowed"),
    (["--seed", "-1"], "--seed: -1 is not allowed"),
])
def test_game_options_out_of_range(root, capsys, args, needle):
    assert_one_line(command(capsys, "game", "scenarios/games/coordination.yaml", *args, cwd=root), needle)


def test_run_seed_out_of_range(root, tmp_path, capsys):
    out = tmp_path / "out"
    proc = command(capsys, "run", "scenarios/baseline.yaml", "--seed", "-1", "--out", str(out), cwd=root)
    assert_one_line(proc, "--seed: -1 is not allowed", "[0, 9223372036854775807]")
    assert not out.exists()


def test_the_one_place_turns_input_failures_into_one_line(monkeypatch, capsys):
    import simulation.cli as cli_module

    def nested(args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(cli_module, "cmd_params", nested)
    assert cli_module.main(["params"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["error: the input is nested too deeply to process"]


def test_a_malformed_command_line_is_one_line(root, capsys):
    assert_one_line(command(capsys, "run", "scenarios/baseline.yaml", "--steps", "abc", cwd=root), "--steps", "'abc'")


def test_validate_and_batch_refuse_a_bad_network_file(tmp_path, write_scenario, write_experiment, capsys):
    write(tmp_path / "broken.csv", "not,a,graph\n1,2,3\n")
    scenario = write_scenario(tmp_path, "broken", network={"kind": "file", "path": "broken.csv"})
    assert_one_line(command(capsys, "validate", str(scenario)), "broken.csv", "cannot read the network")
    experiment = write_experiment(tmp_path, scenarios=[str(scenario)])
    out = tmp_path / "out"
    assert_one_line(command(capsys, "batch", str(experiment), "--out", str(out), "--quiet"), "broken.csv")
    assert not out.exists()


@pytest.mark.parametrize("steps", ["0", "-5", "1000000000"])
def test_steps_outside_the_file_limit_are_refused(root, tmp_path, capsys, steps):
    from simulation.config import Scenario, field_bounds

    low, high = field_bounds(Scenario.model_fields["steps"])  # the file's limit is the flag's
    out = tmp_path / "out"
    proc = command(capsys, "run", "scenarios/baseline.yaml", "--steps", steps, "--out", str(out), cwd=root)
    assert_one_line(proc, f"--steps: {steps} is not allowed", f"[{low}, {high}]")
    assert not out.exists()


def test_a_seed_above_the_schema_range_is_refused(root, tmp_path, capsys):
    too_big = str(2**64 + 1)
    out = tmp_path / "out"
    assert_one_line(command(capsys, "run", "scenarios/baseline.yaml", "--seed", too_big, "--out", str(out), cwd=root),
                    f"--seed: {too_big} is not allowed")
    assert not out.exists()


def test_a_negative_target_integration_is_refused(root, capsys):
    proc = command(capsys, "frontier", "scenarios/sensitivity/frontier.yaml", "--target-integration", "-5", cwd=root)
    assert_one_line(proc, "--target-integration: -5 is not allowed")


# --- e2e: what only a real process shows ----------------------------------------------------------


@pytest.mark.e2e
def test_python_m_simulation_exits_with_mains_status_and_one_line(root, tmp_path):
    out = tmp_path / "never"
    proc = cli(root, "run", "scenarios/baseline.yaml", "--set", "parameters.trust_treshold=0.4", "--out", str(out))
    assert_one_line(proc, "did you mean 'parameters.trust_threshold'")
    assert "Traceback" not in proc.stderr and not out.exists()
    malformed = cli(root, "run", "scenarios/baseline.yaml", "--steps", "abc")
    assert_one_line(malformed, "error: python -m simulation run: argument --steps")


@pytest.mark.e2e
def test_the_console_script_is_the_same_command_line(root):
    import subprocess

    script = shutil.which("datasharing", path=str(Path(sys.executable).parent))
    assert script, "the datasharing console script is installed by make setup (pip install -e .)"
    done = subprocess.run([script, "params"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout in (root / "docs" / "ODD.md").read_text()
    refused = subprocess.run([script, "run", "scenarios/baseline.yaml", "--steps", "abc"], cwd=root,
                             capture_output=True, text=True, timeout=120)
    assert_one_line(refused, "error: datasharing run: argument --steps", "'abc'")
