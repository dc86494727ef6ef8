"""Output folders (simulation/experiments/folder.py): names never become paths, and a command
without --out writes only under results/ of the folder it runs in."""

from pathlib import Path

import pytest

from simulation.experiments.folder import MAX_NAME, named_folder, safe_name
from helpers import command, tree


def test_safe_names_are_one_short_component_and_distinct():
    names = ["tiny", "/tmp/x", "../..", "..", ".", "", "a/b", "a_b", "x" * 300, "x" * 301, ".hidden", "a\0b"]
    safe = [safe_name(n) for n in names]
    assert safe[0] == "tiny" and safe_name("Wasser-Ökonomie_2") == "Wasser-Ökonomie_2"
    assert len(set(safe)) == len(names)
    for name in safe:
        assert name and "/" not in name and "\0" not in name and not name.startswith(".") and len(name) <= MAX_NAME
        assert named_folder("results", name).parent == Path("results")


@pytest.mark.parametrize("name", ["..", "../..", "/ABS/escape", "n" * 300])
def test_an_experiment_name_never_writes_outside_results_or_deletes(tmp_path, write_experiment, capsys, name):
    work = tmp_path / "work"
    (work / "report").mkdir(parents=True)
    (work / "report" / "keep.md").write_text("keep\n", encoding="utf-8")
    name = name.replace("/ABS", str(tmp_path))
    experiment = write_experiment(tmp_path / "spec", name=name)
    before = tree(tmp_path)
    proc = command(capsys, "batch", str(experiment), "--workers", "1", "--quiet", cwd=work)
    assert proc.returncode == 0, proc.stderr
    folders = list((work / "results").iterdir())
    assert len(folders) == 1 and folders[0].name == safe_name(name) and (folders[0] / "runs.parquet").is_file()
    after = tree(tmp_path)
    new = {k for k in after if k not in before}
    assert all(k.startswith("work/results/") for k in new), new
    assert {k: after[k] for k in before} == before  # nothing changed or deleted


def test_a_scenario_name_never_becomes_a_path(tmp_path, write_scenario, capsys):
    work = tmp_path / "work"
    work.mkdir()
    scenario = write_scenario(tmp_path, name="../../escape")
    proc = command(capsys, "run", str(scenario), "--steps", "2", cwd=work)
    assert proc.returncode == 0, proc.stderr
    written = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(written) == sorted([scenario.relative_to(tmp_path).as_posix(),
                                      f"work/results/runs/{safe_name('../../escape-seed1')}/timeseries.parquet",
                                      f"work/results/runs/{safe_name('../../escape-seed1')}/summary.json",
                                      *(f"work/results/runs/{safe_name('../../escape-seed1')}/{name}"
                                        for name in ("_manifest.json", "_lock"))])  # what it wrote, its lock
