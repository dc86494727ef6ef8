"""The code version (simulation/core/provenance.py) that tells a batch folder's runs of another
model from its own."""

import os
import shutil
import subprocess
import sys

import pytest


@pytest.mark.e2e  # the model's source edited: a process that imports that copy
def test_the_code_version_covers_the_model_and_not_the_report(tmp_path, root):
    """Editing the model (a role's rule, a parameter, the step) changes the code version; editing the
    report, the command line or an analysis does not, so finished runs stay usable."""
    source = tmp_path / "src"
    for package in ("simulation", "agents"):
        shutil.copytree(root / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(source)}
    probe = [sys.executable, "-c", "from simulation.core.provenance import code_version; print(code_version())"]

    def version() -> str:
        return subprocess.run(probe, cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()

    def edit(relative: str) -> None:
        file = source / relative
        file.write_text(file.read_text(encoding="utf-8") + "\n# an edit\n", encoding="utf-8")

    before = version()
    for harmless in ("simulation/experiments/report.py", "simulation/cli.py", "simulation/analyses/game.py"):
        edit(harmless)
    assert version() == before
    seen = {before}
    for decisive in ("agents/enterprise.py", "simulation/config/schema.py", "simulation/core/model.py"):
        edit(decisive)
        seen.add(version())
    assert len(seen) == 4
