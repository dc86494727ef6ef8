"""The command line as users call it."""

import json

import pandas as pd

from simulation.core.metrics import METRICS
from helpers import cli


def test_run_writes_timeseries_and_summary(root, tmp_path):
    out = tmp_path / "run"
    proc = cli(root, "run", "scenarios/baseline.yaml", "--seed", "4", "--steps", "10", "--set", "population.public=50", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert tuple(frame.columns) == METRICS and len(frame) == 11
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4 and summary["steps"] == 10 and summary["scenario"] == "baseline"
    assert "largest_component_share" in proc.stdout


def test_bad_override_is_one_clear_line_and_writes_nothing(root, tmp_path):
    out = tmp_path / "never"
    proc = cli(root, "run", "scenarios/baseline.yaml", "--set", "parameters.trust_treshold=0.4", "--out", str(out))
    assert proc.returncode == 2
    assert "did you mean 'parameters.trust_threshold'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


def test_params_table_matches_docs(root):
    proc = cli(root, "params")
    assert proc.returncode == 0
    assert proc.stdout in (root / "docs" / "ODD.md").read_text()
