"""The analyst's tutorial: docs/tutorial.ipynb is its source docs/tutorial.py rendered without outputs,
and it runs from top to bottom at small sizes on a kernel of this venv, so it cannot rot."""

import json
import sys

import jupytext
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

KERNEL = "datasharing-tutorial-test"


@pytest.fixture(scope="module")
def paths(root):
    return root / "docs" / "tutorial.py", root / "docs" / "tutorial.ipynb"


def test_the_notebook_is_its_script_rendered(paths):
    script, notebook = (jupytext.read(p) for p in paths)
    assert [(c.cell_type, c.source) for c in notebook.cells] == [(c.cell_type, c.source) for c in script.cells], \
        "docs/tutorial.ipynb differs from docs/tutorial.py: run make tutorial"


def test_the_notebook_carries_no_outputs(paths):
    notebook = nbformat.read(paths[1], as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code), \
        "docs/tutorial.ipynb holds outputs: make tutorial renders it without them"


@pytest.fixture
def venv_kernel(tmp_path, monkeypatch):
    """A kernel spec running this interpreter, found first, so that no kernel installed elsewhere on
    the machine (another Python without the project) executes the notebook."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tutorial test", "language": "python"}), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # connection files, not in ~
    return KERNEL


@pytest.mark.slow
def test_the_tutorial_runs_at_small_sizes(paths, venv_kernel, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("TUTORIAL_SMALL", "1")
    monkeypatch.setenv("TUTORIAL_OUT", str(out))
    notebook = nbformat.read(paths[1], as_version=4)
    # Any cell that raises fails the test (CellExecutionError names the cell and the traceback).
    NotebookClient(notebook, kernel_name=venv_kernel, timeout=300,
                   resources={"metadata": {"path": str(paths[1].parent)}}).execute()

    figure = [o for c in notebook.cells if c.cell_type == "code" and "time_series_figure" in c.source
              for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in figure), "the report figure is not shown"
    latex = (out / "penalty_sweep.tex").read_text(encoding="utf-8")
    assert r"\begin{tabular}" in latex and r"\label{tab:penalty-sweep}" in latex
    for column in ("penalty 0", "penalty 0.5", "penalty 1"):
        assert column in latex
    assert (out / "countermeasures-small" / "runs.csv").is_file()


@pytest.mark.slow
def test_a_copy_runs_outside_the_checkout_beside_other_results(paths, venv_kernel, tmp_path, monkeypatch, root):
    """Issue 23: a copy of the notebook in a folder outside the checkout, whose OUT already holds a
    finished batch of another plan, runs through; the caption names the code that made the sweep."""
    import yaml

    from simulation.core.provenance import code_version
    from simulation.experiments.execute import execute
    from simulation.experiments.plan import plan_experiment

    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"name": "other", "seed": 1, "replications": 1, "steps": 1,
                                     "scenarios": [str(root / "scenarios" / "baseline.yaml")]}))
    execute(plan_experiment(other), out / "countermeasures-small", workers=1, progress=False)
    copy = elsewhere / "my-analysis.ipynb"
    copy.write_bytes(paths[1].read_bytes())
    monkeypatch.setenv("TUTORIAL_SMALL", "1")
    monkeypatch.setenv("TUTORIAL_OUT", str(out))
    monkeypatch.chdir(elsewhere)
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, kernel_name=venv_kernel, timeout=300,
                   resources={"metadata": {"path": str(elsewhere)}}).execute()

    runs = pd.read_parquet(out / "countermeasures-small" / "runs.parquet")
    assert len(runs) == 6 * 3 and set(runs["status"]) == {"ok"}  # the tutorial's batch, not the other one
    latex = (out / "penalty_sweep.tex").read_text(encoding="utf-8")
    assert f"code {code_version()}" in latex
