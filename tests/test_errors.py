"""The errors (simulation/errors.py) speak the user's language: the library names fields and
folders and no command-line flag; the command line prints one line `error: ...` with the flags that
help (cli.HINTS), and exits with status 2, or the shell's status for a signal."""

import fcntl
import signal
import socket

import dask
import pytest

from simulation.config import load_scenario, parse_override
from simulation.errors import (ConfigError, Interrupted, OutputLocked, ResultsMissing, SchedulerUnreachable,
                               StaleResults, UserError)
from simulation.experiments.execute import execute, open_executor
from simulation.experiments.plan import plan_experiment
from simulation.experiments.results import LOCK, export_csv, read_results
from helpers import command, one_line

CONNECT_TIMEOUT = "2s"  # Dask's setting; the default waits 30 s for a scheduler that never answers


def assert_one_line_exit_2(proc, needle):
    one_line(proc, 2, needle)


def assert_plain(exc: UserError):
    """A library message: no command-line flag in it."""
    assert "--" not in str(exc), str(exc)


@pytest.fixture
def experiment(tmp_path, write_experiment):
    return write_experiment(tmp_path)


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_user_error_is_a_user_error():
    for kind in (ConfigError, OutputLocked, ResultsMissing, SchedulerUnreachable, StaleResults):
        assert issubclass(kind, UserError)
    assert issubclass(ConfigError, ValueError)


def test_an_interrupt_is_a_user_error_with_the_shells_status():
    assert issubclass(Interrupted, UserError)
    assert Interrupted("x", signal.SIGINT).exit_status == 130 and UserError("x").exit_status == 2


def test_a_held_lock(tmp_path, experiment, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a batch writing to the folder holds it
        with pytest.raises(OutputLocked) as caught:
            execute(plan_experiment(experiment), out, workers=1, progress=False)
        assert_plain(caught.value)
        proc = command(capsys, "batch", str(experiment), "--out", str(out), "--quiet")
    assert_one_line_exit_2(proc, "another batch is writing to this folder")
    assert "--out" in proc.stderr
    assert not (out / "_manifest.json").exists()


def test_an_unreachable_scheduler(tmp_path, experiment, capsys):
    address = f"tcp://127.0.0.1:{closed_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": CONNECT_TIMEOUT}):
        for bad in (address, "nowhere"):
            with pytest.raises(SchedulerUnreachable) as caught, open_executor(None, bad):
                pass
            assert_plain(caught.value)
        proc = command(capsys, "batch", str(experiment), "--out", str(tmp_path / "out"), "--scheduler", address,
                       "--quiet")
    assert_one_line_exit_2(proc, f"cannot reach the Dask scheduler at {address}")
    assert "--scheduler" in proc.stderr


@pytest.mark.parametrize("verb", ["report", "export"])
def test_a_missing_folder(tmp_path, capsys, verb):
    missing = tmp_path / "never_run"
    for read in (read_results, export_csv):
        with pytest.raises(ResultsMissing) as caught:
            read(missing)
        assert_plain(caught.value)
    assert_one_line_exit_2(command(capsys, verb, str(missing)), f"{missing}: no such folder")


def test_a_folder_of_another_batch(tmp_path, experiment):
    out = tmp_path / "out"
    execute(plan_experiment(experiment), out, workers=1, progress=False)
    experiment.write_text(experiment.read_text().replace("steps: 2", "steps: 3"), encoding="utf-8")
    with pytest.raises(StaleResults, match="the plan changed") as caught:
        execute(plan_experiment(experiment), out, workers=1, progress=False)
    assert_plain(caught.value)


def test_overrides_are_labelled_by_where_they_came_from(root, capsys):
    baseline = root / "scenarios" / "baseline.yaml"
    for bad in (lambda: parse_override("noequals"),
                lambda: load_scenario(baseline, {"parameters.trust_treshold": 0.4})):
        with pytest.raises(ConfigError) as caught:
            bad()
        assert_plain(caught.value)
    proc = command(capsys, "run", str(baseline), "--set", "parameters.trust_treshold=0.4")
    assert_one_line_exit_2(proc, "(--set): unknown key 'parameters.trust_treshold'")
    assert_one_line_exit_2(command(capsys, "run", str(baseline), "--set", "noequals"), "--set noequals: expected")


def test_the_browser_app_shows_no_command_line_wording():
    from browser.controls import scenario_from_controls

    _, _, problems = scenario_from_controls({"population.enterprise": 2, "seed": "x"})
    assert len(problems) == 2 and not any("--" in problem for problem in problems)


def test_the_architecture_lists_every_error(root):
    """docs/ARCHITECTURE.md names every expected failure a user can meet, so none is added unseen."""
    import inspect

    from simulation import errors

    row = next(line for line in (root / "docs" / "ARCHITECTURE.md").read_text().splitlines()
               if line.startswith("| `simulation/errors.py`"))
    kinds = [name for name, kind in inspect.getmembers(errors, inspect.isclass)
             if issubclass(kind, errors.UserError) and kind.__module__ == errors.__name__]
    assert len(kinds) >= 15
    assert [name for name in kinds if f"`{name}`" not in row] == []
