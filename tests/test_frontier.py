"""Policy frontier: non-domination, seeded packages, the target question, a tiny spec end to end."""

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulation.analyses.frontier import FrontierSpec, cheapest_within, non_dominated, packages, switch_key
from simulation.analyses.study import validate_spec
from simulation.cli import main
from simulation.config import ConfigError

from test_sensitivity import tiny_scenario


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 25), st.just(3)), elements=st.integers(0, 4).map(float)))
def test_the_frontier_is_non_dominated_and_covers_every_package(objectives):
    mask = non_dominated(objectives)
    front = objectives[mask]

    def dominates(a, b):
        return bool(np.all(a <= b) and np.any(a < b))

    assert mask.any()
    assert not any(dominates(other, row) for row in front for other in objectives)
    for row in objectives[~mask]:  # every package left out is beaten by, or equal to, a frontier package
        assert any(dominates(f, row) or np.array_equal(f, row) for f in front)


def test_non_dominated_on_a_known_set():
    objectives = np.array([[1, 5, 0], [2, 2, 0], [3, 3, 0], [5, 1, 0], [2, 2, 0]], dtype=float)
    assert non_dominated(objectives).tolist() == [True, True, False, True, False]


def spec(root, folder, **changes):
    data = {"name": "tiny_frontier", "scenario": str(tiny_scenario(folder, root)), "packages": 6,
            "replications": 2, "steps": 5, "seed": 4, "switches": ["ecosystem", "security"],
            "parameters": {"countermeasures.ecosystem.start": [0, 4], "countermeasures.ecosystem.link_rate": [0.0, 0.1],
                           "countermeasures.security.tiering": [0.0, 1.0]}}
    data.update(changes)
    path = folder / "frontier.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_packages_follow_the_seed(tmp_path, root):
    _, first = validate_spec(FrontierSpec, spec(root, tmp_path, packages=40))
    drawn = packages(first)
    assert drawn == packages(first)
    assert drawn != packages(first.model_copy(update={"seed": 5}))
    on = [p[switch_key("ecosystem")] for p in drawn]
    assert sum(on) == 20  # the Latin hypercube balances each switch
    assert all(isinstance(p["countermeasures.ecosystem.start"], int) for p in drawn)


def test_a_bad_frontier_spec_is_refused(tmp_path, root):
    with pytest.raises(ConfigError, match="switches.0: 'ecosytem' is not allowed"):
        validate_spec(FrontierSpec, spec(root, tmp_path, switches=["ecosytem"]))


def test_the_cheapest_package_meeting_the_target():
    runs = pd.DataFrame({"point": [0, 0, 1, 1, 2, 2],
                         "time_to_lasting_integration": pd.array([None, None, 10, 30, 12, 20], dtype="Int64")})
    table = pd.DataFrame({"package": [0, 1, 2], "cost": [0.0, 5.0, 9.0]})
    assert cheapest_within(runs, table, 20)["package"] == 2  # package 1 integrates in time in half its runs
    assert cheapest_within(runs, table, 30)["package"] == 1
    assert cheapest_within(runs, table, 11) is None


@pytest.mark.slow
def test_a_tiny_frontier_end_to_end_is_reproducible(tmp_path, root, capsys):
    path = spec(root, tmp_path)
    outs = [tmp_path / "a", tmp_path / "b"]
    texts = []
    for out, workers in zip(outs, ("1", "2")):
        assert main(["frontier", str(path), "--out", str(out), "--target-integration", "3", "--workers", workers,
                     "--quiet"]) == 0
        texts.append(capsys.readouterr().out.split("wrote")[0])
    assert texts[0] == texts[1] and "TARGET:" in texts[0]
    frames = [pd.read_csv(out / "frontier.csv") for out in outs]
    pd.testing.assert_frame_equal(*frames)
    table = pd.read_csv(outs[0] / "packages.csv")
    assert len(table) == 6 and table["on_frontier"].any()
    assert len(pd.read_parquet(outs[0] / "runs.parquet")) == 6 * 2
    objectives = table[["cost", "persistence", "volume"]].to_numpy() * [1, 1, -1]
    assert non_dominated(objectives).tolist() == table["on_frontier"].tolist()
    off = table[~table[switch_key("ecosystem")]]
    assert off["countermeasures.ecosystem.link_rate"].isna().all()  # levers of a switched-off countermeasure are blank
    assert (outs[0] / "frontier.pdf").exists() and (outs[0] / "frontier.png").exists()


@pytest.mark.slow
def test_a_restart_removes_the_frontier_files_it_made(tmp_path, root, capsys):
    """The tables and figures are recorded in the manifest as made from the runs, so a restart takes
    them away with the runs; a user's file beside them stays."""
    from simulation.experiments.results import read_manifest

    path, out = spec(root, tmp_path), tmp_path / "out"
    assert main(["frontier", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    derived = set(read_manifest(out)["derived"])
    assert {"packages.csv", "frontier.csv", "frontier.pdf", "frontier.png"} <= derived
    (out / "notes.md").write_text("mine", encoding="utf-8")
    path.write_text(path.read_text(encoding="utf-8").replace("seed: 4", "seed: 5"), encoding="utf-8")
    assert main(["frontier", str(path), "--out", str(out), "--workers", "1", "--quiet", "--restart"]) == 0
    capsys.readouterr()
    assert (out / "notes.md").read_text(encoding="utf-8") == "mine"
    assert {"packages.csv", "frontier.csv"} <= set(read_manifest(out)["derived"])
