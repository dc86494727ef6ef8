"""Issue 23, inputs: YAML corners, damaged manifests, names that are mathtext, folders that are
not project folders, outputs that cannot be written and games whose payoffs overflow.  Each answer
is one line ``error: …`` naming the file and the key, never a traceback."""

import time

import pytest
import yaml

from simulation import cli
from simulation.config import ConfigError, read_yaml
from simulation.config.loader import MAX_BYTES, MAX_WRITTEN_VALUES, parse_override


def refusal(capsys, *argv, status=2):
    """The command line's answer to ``argv``: exactly one line ``error: …`` and ``status``."""
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == status, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def scenario(root, folder, body, name="s"):
    return write(folder / f"{name}.yaml", f"extends: {root / 'scenarios' / 'baseline.yaml'}\nname: {name}\n{body}")


# --- duplicate keys ------------------------------------------------------------------------------


def test_a_second_block_of_the_same_name_is_refused(root, tmp_path, capsys):
    path = scenario(root, tmp_path, "countermeasures:\n  security: {enabled: true}\n"
                                    "countermeasures:\n  cognition: {enabled: true}\n")
    line = refusal(capsys, "validate", path)
    assert str(path) in line and "'countermeasures' is written twice" in line and "line 5" in line


def test_a_duplicate_key_deep_inside_is_refused(tmp_path):
    path = write(tmp_path / "deep.yaml", "a:\n  b:\n    c: 1\n    c: 2\n")
    with pytest.raises(ConfigError, match=r"deep.yaml: line 4: key 'c' is written twice"):
        read_yaml(path)


def test_a_duplicate_key_in_a_set_mapping_is_refused(root, capsys):
    line = refusal(capsys, "validate", root / "scenarios" / "baseline.yaml",
                   "--set", "countermeasures.security={enabled: true, enabled: false}")
    assert "--set countermeasures.security=" in line and "'enabled' is written twice" in line


def test_merge_keys_may_still_be_overridden(tmp_path):
    path = write(tmp_path / "merge.yaml", "base: &b {x: 1, y: 2}\nchild:\n  <<: *b\n  x: 3\n")
    assert read_yaml(path)["child"] == {"x": 3, "y": 2}


# --- values JSON cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kind"), [("2020-01-01", "a date"), ("2020-01-01 10:00:00", "a date and time"),
                                             ("!!binary aGVsbG8=", "binary data"), ("!!set {a, b}", "a set"),
                                             ("!!omap [a: 1]", "an ordered mapping")])
def test_a_value_json_cannot_hold_is_refused_naming_its_key(root, tmp_path, capsys, value, kind):
    path = scenario(root, tmp_path, f"description: {value}\n")
    line = refusal(capsys, "validate", path)
    assert f"{path}: description" in line and f": {kind}" in line and "quote it" in line


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_date_in_a_file_with_set_is_one_line(root, tmp_path, capsys, command):
    path = scenario(root, tmp_path, "description: 2020-01-01\n")
    out = ["--out", tmp_path / "out"] if command == "run" else []
    line = refusal(capsys, command, path, "--set", "steps=1", *out)
    assert "description: a date" in line
    assert not (tmp_path / "out").exists()


def test_a_date_given_with_set_is_refused(root, capsys):
    line = refusal(capsys, "validate", root / "scenarios" / "baseline.yaml", "--set", "name=2020-01-01")
    assert "--set name=2020-01-01: a date is not allowed" in line


def test_a_date_as_a_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="2020-01-01: a date is not allowed"):
        read_yaml(write(tmp_path / "k.yaml", "2020-01-01: x\n"))


def test_a_game_with_binary_payoffs_is_one_line(root, tmp_path, capsys):
    game = yaml.safe_load((root / "scenarios" / "games" / "coordination.yaml").read_text())
    path = write(tmp_path / "g.yaml", yaml.safe_dump(game) + "note: !!binary aGVsbG8=\n")
    assert "note: binary data" in refusal(capsys, "game", path)


def test_quoted_dates_are_text(root, tmp_path, capsys):
    path = scenario(root, tmp_path, "description: '2020-01-01'\n")
    assert cli.main(["validate", str(path)]) == 0, capsys.readouterr().err
    assert parse_override("description='2020-01-01'") == ("description", "2020-01-01")


# --- sizes measured on what was written ----------------------------------------------------------


@pytest.mark.timeout(30)
def test_a_huge_flat_list_is_refused_quickly_naming_its_size(tmp_path, capsys):
    path = write(tmp_path / "big.yaml", "values: [" + ", ".join(["1"] * 1_100_000) + "]\n")
    started = time.perf_counter()
    line = refusal(capsys, "validate", path)
    assert time.perf_counter() - started < 5
    assert f"{path}: 3.3 MB is too large" in line and f"{MAX_BYTES / 1e6:.0f} MB" in line and "alias" not in line


@pytest.mark.timeout(30)
def test_a_long_list_under_the_byte_limit_is_refused_by_its_count(tmp_path):
    path = write(tmp_path / "many.yaml", "values: [" + ",".join(["1"] * (MAX_WRITTEN_VALUES + 10)) + "]\n")
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=f"many.yaml: holds more than {MAX_WRITTEN_VALUES:,} values") as caught:
        read_yaml(path)
    assert "alias" not in str(caught.value)
    assert time.perf_counter() - started < 10


# --- manifests read through a schema ---------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_batch(tmp_path_factory, root):
    folder = tmp_path_factory.mktemp("batch")
    experiment = write(folder / "experiment.yaml", yaml.safe_dump({
        "name": "tiny", "seed": 1, "replications": 2, "steps": 2,
        "scenarios": [str(root / "scenarios" / "baseline.yaml")]}))
    assert cli.main(["batch", str(experiment), "--out", str(folder / "done"), "--quiet", "--workers", "1"]) == 0
    return experiment, folder / "done"


CRAFTED = {"nul": {"derived": ["report/a\u0000b.csv"]}, "derived a number": {"derived": 5},
           "derived null": {"derived": None}, "resumed null": {"resumed": None, "finished": None},
           "name with a nul": {"name": "tiny\u0000"}, "runs text": {"runs": "2"}}


@pytest.mark.parametrize("crafted", CRAFTED)
@pytest.mark.parametrize("command", ["resume", "restart", "export", "report"])
def test_a_crafted_manifest_is_one_line(finished_batch, tmp_path, capsys, crafted, command):
    import json
    import shutil

    experiment, done = finished_batch
    folder = tmp_path / "crafted"
    shutil.copytree(done, folder)
    manifest = json.loads((folder / "_manifest.json").read_text())
    (folder / "_manifest.json").write_text(json.dumps({**manifest, **CRAFTED[crafted]}))
    before = sorted(p.name for p in folder.rglob("*"))
    argv = {"resume": ["batch", experiment, "--out", folder, "--quiet", "--workers", "1"],
            "restart": ["batch", experiment, "--out", folder, "--quiet", "--workers", "1", "--restart"],
            "export": ["export", folder], "report": ["report", folder]}[command]
    line = refusal(capsys, *argv)
    assert f"{folder / '_manifest.json'}: damaged: {next(iter(CRAFTED[crafted]))}" in line
    assert "not a manifest written by this simulator" in line
    assert sorted(p.name for p in folder.rglob("*")) == before  # nothing deleted or written
