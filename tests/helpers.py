"""What several test modules need: running the command line, reading a batch's results, a free
port, and the per-role strategy shares of a model."""

import socket
import subprocess
import sys

import numpy as np
import pandas as pd

from agents import Role

CLI_LIMIT = 600  # seconds: far above any command the tests run; a hang fails instead of blocking


def cli(cwd, *args, env=None, timeout=CLI_LIMIT):
    """``python -m simulation ARGS`` in ``cwd``, its output captured."""
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def role_shares(model) -> np.ndarray:
    """Share of each role's agents playing the sharing strategy."""
    return np.array([model.population.strategy[model.population.role == r].mean() for r in Role])
