"""Issue 23, inputs: YAML corners, damaged manifests, names that are mathtext, folders that are
not project folders, outputs that cannot be written and games whose payoffs overflow.  Each answer
is one line ``error: …`` naming the file and the key, never a traceback."""

import io
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


# --- names drawn as text; names that are not UTF-8 ---------------------------------------------------


@pytest.mark.slow
def test_a_scenario_named_in_mathtext_does_not_break_the_report(root, tmp_path, capsys):
    named = scenario(root, tmp_path, "", name="math")
    named.write_text(named.read_text().replace("name: math", "name: 'cost$\\frac$'"))
    experiment = write(tmp_path / "experiment.yaml", yaml.safe_dump({
        "name": "mathy", "seed": 1, "replications": 2, "steps": 2,
        "scenarios": [str(root / "scenarios" / "baseline.yaml"), str(named)]}))
    out = tmp_path / "out"
    assert cli.main(["batch", str(experiment), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    assert cli.main(["report", str(out)]) == 0, capsys.readouterr().err
    assert (out / "report" / "timeseries.pdf").exists() or list((out / "report").glob("*.pdf"))


def test_figures_draw_names_as_plain_text():
    from matplotlib.figure import Figure

    from simulation.experiments.figures import paper_style

    with paper_style():
        figure = Figure()
        figure.add_subplot().set_title("cost$\\frac$")
        figure.savefig(io.BytesIO(), format="png")  # mathtext would raise a ValueError here


def test_a_game_with_mathtext_roles_plots(root, tmp_path):
    from simulation.analyses.game import load_game, plot_phase_portrait

    game = yaml.safe_load((root / "scenarios" / "games" / "coordination.yaml").read_text())
    game["roles"] = ["gov$\\frac$", "ent", "pub"]
    game["strategies"] = dict(zip(game["roles"], game["strategies"].values()))
    path = write(tmp_path / "g.yaml", yaml.safe_dump(game))
    plot_phase_portrait(load_game(path), tmp_path / "portrait.png", t_end=5, grid=2)
    assert (tmp_path / "portrait.png").stat().st_size > 0


@pytest.mark.parametrize("argv", [["run", "SCENARIO", "--steps", "1", "--out", "BAD/run"], ["report", "BAD"],
                                  ["export", "BAD"], ["batch", "EXPERIMENT", "--out", "BAD/batch", "--quiet"]])
def test_a_folder_name_that_is_not_utf8_is_one_line(root, tmp_path, capsys, argv):
    import os

    bad = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff")
    os.mkdir(bad)
    baseline = str(root / "scenarios" / "baseline.yaml")
    experiment = write(tmp_path / "e.yaml", yaml.safe_dump({"name": "e", "seed": 1, "replications": 1, "steps": 1,
                                                              "scenarios": [baseline]}))
    names = {"SCENARIO": str(root / "scenarios" / "baseline.yaml"), "EXPERIMENT": str(experiment)}
    argv = [names.get(a, a.replace("BAD", bad)) for a in argv]
    line = refusal(capsys, *argv)
    assert "bad\\xff" in line and "is not valid UTF-8" in line
    assert os.listdir(bad) == []


# --- compare outside a project folder ----------------------------------------------------------------


def test_compare_outside_a_project_folder_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = refusal(capsys, "compare")
    assert "no scenario files given" in line and str(tmp_path / "scenarios") in line


# --- run --out: a file, a folder it may not write, a full disk ---------------------------------------


def test_run_out_on_an_existing_file_is_one_line(root, tmp_path, capsys):
    target = write(tmp_path / "notes.txt", "mine\n")
    line = refusal(capsys, "run", root / "scenarios" / "baseline.yaml", "--steps", 1, "--out", target)
    assert f"{target}: is a file, not a folder" in line
    assert target.read_text() == "mine\n"


def test_run_out_in_a_folder_it_may_not_write_is_one_line_before_the_run(root, tmp_path, capsys, monkeypatch):
    import os

    from simulation.core import runner

    monkeypatch.setattr(os, "access", lambda path, mode: False)  # as for a read-only folder (tests may run as root)
    monkeypatch.setattr(runner, "run", lambda *a, **k: pytest.fail("ran before checking the folder"))
    line = refusal(capsys, "run", root / "scenarios" / "baseline.yaml", "--steps", 1, "--out", tmp_path / "ro" / "x")
    assert f"{tmp_path}: no permission to write" in line


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EACCES"])
def test_a_full_disk_or_a_refused_write_during_run_is_one_line(root, tmp_path, capsys, monkeypatch, errno_name):
    import errno

    from simulation.experiments import store

    def full(*args, **kwargs):
        raise OSError(getattr(errno, errno_name), os_strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(store, "write_parquet", full)
    line = refusal(capsys, "run", root / "scenarios" / "baseline.yaml", "--steps", 1, "--out", tmp_path / "out")
    assert str(tmp_path / "out") in line and ("disk is full" in line or "no permission" in line)


def os_strerror(code):
    import os

    return os.strerror(code)


# --- games whose payoffs overflow -----------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("payoff", [1.7e308, 1e300, 1e13])
def test_a_game_with_payoffs_near_the_float_limit_is_refused(root, tmp_path, capsys, payoff):
    from simulation.analyses.game import MAX_PAYOFF

    game = yaml.safe_load((root / "scenarios" / "games" / "coordination.yaml").read_text())
    game["payoffs"]["111"] = [payoff, 1.0, 1.0]
    path = write(tmp_path / "g.yaml", yaml.safe_dump(game))
    line = refusal(capsys, "game", path, "--abm-agents", 0)
    assert f"{path}: payoffs.111.0" in line and f"{MAX_PAYOFF:.0f}" in line


def test_a_game_at_the_payoff_bound_is_analysed(root, tmp_path, capsys):
    from simulation.analyses.game import MAX_PAYOFF

    game = yaml.safe_load((root / "scenarios" / "games" / "coordination.yaml").read_text())
    game["payoffs"]["111"] = [MAX_PAYOFF, MAX_PAYOFF, MAX_PAYOFF]
    game["payoffs"]["000"] = [-MAX_PAYOFF, 0.5, 0.5]
    path = write(tmp_path / "g.yaml", yaml.safe_dump(game))
    assert cli.main(["game", str(path), "--abm-agents", "0"]) == 0, capsys.readouterr().err


# --- a network file that is not the case ----------------------------------------------------------------


def network(tmp_path, enterprise_kinds, government_kinds=("coordinator", None)):
    import networkx as nx

    graph = nx.Graph()
    nodes = [(f"g{i}", "government", k) for i, k in enumerate(government_kinds)]
    nodes += [(f"e{i}", "enterprise", k) for i, k in enumerate(enterprise_kinds)]
    nodes += [("p0", "public", None)]
    for node, role, kind in nodes:
        graph.add_node(node, role=role, **({"kind": kind} if kind else {}))
    graph.add_edges_from(zip([n for n, _, _ in nodes], [n for n, _, _ in nodes[1:]]))
    path = tmp_path / "net.graphml"
    nx.write_graphml(graph, path)
    return path


@pytest.mark.parametrize(("enterprises", "governments", "needle"), [
    (("water", "water", "water"), ("coordinator", None), "no enterprise node is the grid (kinds found: water)"),
    (("telecom", "telecom"), ("coordinator", None), "no enterprise node is the grid (kinds found: telecom)"),
    (("grid", "water"), ("department", "department"), "no government node is the coordinator"),
])
def test_a_network_file_without_the_case_roles_is_refused(root, tmp_path, capsys, enterprises, governments, needle):
    path = network(tmp_path, enterprises, governments)
    named = scenario(root, tmp_path, "network: {kind: file, path: net.graphml}\n")
    line = refusal(capsys, "validate", named)
    assert str(path) in line and needle in line


@pytest.mark.parametrize("enterprises", [("grid", "water", "telecom"), (None, None), ("grid", None)])
def test_a_network_file_with_the_case_roles_reads(tmp_path, enterprises):
    from simulation.core.network import read_graph_file

    _, layout = read_graph_file(network(tmp_path, enterprises))
    assert layout.enterprise == len(enterprises)
