"""What several test modules need: running the command line (in this process, or as a user's shell
does), reading a batch's results, a free port, and the per-role strategy shares of a model."""

import contextlib
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pandas as pd

from agents import Role

# The baseline's population shrunk so that a run takes a fraction of a second (the baseline has 420
# agents): what tests/conftest.py's tiny scenario and its files use.
TINY_POPULATION = {"government": 8, "enterprise": 20, "public": 40, "water_companies": 5, "telecom_operators": 1}

CLI_LIMIT = 600  # seconds: far above any command the tests run; a hang fails instead of blocking


def command(capsys, *args, cwd=None) -> subprocess.CompletedProcess:
    """``python -m simulation ARGS`` run in this process (``simulation.cli.main``, in ``cwd`` if
    given): its exit status and what it printed, shaped like a finished subprocess.  A fraction of a
    second instead of a new interpreter's imports, so every refusal can be checked this way."""
    from simulation.cli import main

    capsys.readouterr()  # only what this command prints
    with contextlib.chdir(cwd) if cwd else contextlib.nullcontext():
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse's refusal of a malformed command line
            status = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["simulation", *args], status, out, err)


def cli(cwd, *args, env=None, timeout=CLI_LIMIT):
    """``python -m simulation ARGS`` in a new process in ``cwd``, its output captured: for what only
    a real process shows (exit codes, signals, environment variables, the console script)."""
    return subprocess.run([sys.executable, "-m", "simulation", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_line(proc, status, *needles):
    """The command failed with ``status`` and said so in one line ``error: …`` holding every needle."""
    assert proc.returncode == status, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def results(out):
    return pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "timeseries.parquet")


def assert_same_results(a, b):
    for left, right in zip(results(a), results(b)):
        pd.testing.assert_frame_equal(left, right)


def tree(folder):
    """Every file under ``folder`` with its content."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def role_shares(model) -> np.ndarray:
    """Share of each role's agents playing the sharing strategy."""
    return np.array([model.population.strategy[model.population.role == r].mean() for r in Role])


def stop(process):
    """Stop a process we started, and the children it started (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
