"""Sensitivity analysis: the shared design-evaluate-analyse path recovers known rankings on analytic
functions; spec validation; typing and averaging of model outputs; a tiny spec end to end."""

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation.analyses.sensitivity import INDEX_COLUMNS, indices, load_sensitivity
from simulation.analyses.study import point_means, typed
from simulation.cli import main
from simulation.config import ConfigError
from simulation.experiments.results import read_manifest
from helpers import TINY_POPULATION

PI = float(np.pi)


def linear(points):
    """y = 10 a + 5 b + c, and d has no effect: the ranking is a > b > c > d."""
    return pd.DataFrame({"y": [10 * p["a"] + 5 * p["b"] + p["c"] + 0 * p["d"] for p in points]})


def ishigami(points):
    x = np.array([[p["x1"], p["x2"], p["x3"]] for p in points])
    return pd.DataFrame({"y": np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])})


UNIT = {k: [0.0, 1.0] for k in "abcd"}
ISHIGAMI = {k: [-PI, PI] for k in ("x1", "x2", "x3")}


def test_morris_recovers_the_linear_ranking():
    table = indices("morris", UNIT, 10, 4, 1, linear)
    assert list(table.columns) == ["output", "parameter", *INDEX_COLUMNS["morris"]]
    mu_star = table.set_index("parameter")["mu_star"]
    assert mu_star.to_dict() == pytest.approx({"a": 10.0, "b": 5.0, "c": 1.0, "d": 0.0}, abs=1e-9)


def test_sobol_recovers_the_ishigami_indices():
    table = indices("sobol", ISHIGAMI, 1024, 4, 1, ishigami).set_index("parameter")
    assert list(table.columns) == ["output", *INDEX_COLUMNS["sobol"]]
    # Analytic values for a = 7, b = 0.1 (Ishigami and Homma 1990).
    assert table["S1"].to_dict() == pytest.approx({"x1": 0.314, "x2": 0.442, "x3": 0.0}, abs=0.05)
    assert table["ST"].to_dict() == pytest.approx({"x1": 0.558, "x2": 0.442, "x3": 0.244}, abs=0.05)
    assert (table["S1_conf"] > 0).all() and (table["ST_conf"] > 0).all()


def test_designs_follow_the_seed():
    first, again = (indices("morris", ISHIGAMI, 6, 4, 5, ishigami) for _ in range(2))
    other = indices("morris", ISHIGAMI, 6, 4, 6, ishigami)
    pd.testing.assert_frame_equal(first, again)
    assert not first["mu_star"].equals(other["mu_star"])


def test_a_constant_output_has_undefined_indices():
    table = indices("sobol", ISHIGAMI, 8, 4, 1, lambda points: pd.DataFrame({"y": np.ones(len(points))}))
    assert table[list(INDEX_COLUMNS["sobol"])].isna().all().all()


def test_integer_fields_are_rounded_and_floats_kept():
    assert typed("countermeasures.ecosystem.start", 3.6) == 4
    assert isinstance(typed("countermeasures.ecosystem.start", 3.4), int)
    assert typed("countermeasures.ecosystem.link_rate", 0.25) == 0.25
    assert typed("countermeasures.ecosystem.enabled", True) is True


def test_outputs_are_averaged_over_replications_with_never_as_the_horizon(tmp_path):
    runs = pd.DataFrame({"point": [0, 0, 1, 1], "steps": [60] * 4,
                         "time_to_lasting_integration": pd.array([10, None, 20, 30], dtype="Int64"),
                         "cumulative_volume": [1.0, 3.0, 5.0, 7.0]})
    runs.to_parquet(tmp_path / "runs.parquet")
    means = point_means(tmp_path, ["time_to_lasting_integration", "cumulative_volume"])
    assert means.to_dict("list") == {"time_to_lasting_integration": [35.0, 25.0], "cumulative_volume": [2.0, 6.0]}


# --- spec validation ----------------------------------------------------------------------------


def write_spec(folder, root, **changes):
    data = {"name": "tiny_sensitivity", "scenario": str(tiny_scenario(folder, root)), "method": "morris",
            "samples": 2, "steps": 4, "replications": 2, "seed": 3,
            "outputs": ["cumulative_volume", "time_to_lasting_integration"],
            "parameters": {"countermeasures.ecosystem.start": [0, 3],
                           "countermeasures.security.tiering": [0.0, 1.0]}}
    data.update(changes)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def tiny_scenario(folder, root):
    path = folder / "tiny_scenario.yaml"
    path.write_text(yaml.safe_dump({
        "extends": str(root / "scenarios" / "all_countermeasures.yaml"), "name": "tiny",
        "population": {**TINY_POPULATION, "government": 6, "enterprise": 10, "public": 20, "water_companies": 3},
        "network": {"grid_departments": 3}}), encoding="utf-8")
    return path


@pytest.mark.parametrize("changes, message", [
    ({"parameters": {"countermeasures.ecosystem.link_rat": [0, 1]}},
     "did you mean 'countermeasures.ecosystem.link_rate'"),
    ({"parameters": {"countermeasures.ecosystem.link_rate": [0, 11]}}, "outside the declared range [0, 10]"),
    ({"parameters": {"countermeasures.ecosystem.link_rate": [0.5, 0.5]}}, "low < high"),
    ({"parameters": {"network.kind": [0, 1]}}, "not a numeric parameter"),
    ({"outputs": ["cumulative_volum"]}, "did you mean 'cumulative_volume'"),
    ({"method": "sobol", "samples": 6}, "power of 2"),
    ({"replications": 0}, "replications: 0 is not allowed"),
    ({"scenario": "missing.yaml"}, "scenario: file not found"),
])
def test_bad_specs_are_refused_with_a_clear_message(tmp_path, root, changes, message):
    path = write_spec(tmp_path, root, **changes)
    with pytest.raises(ConfigError) as caught:
        load_sensitivity(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_the_cli_exits_2_on_a_bad_spec(tmp_path, root, capsys):
    path = write_spec(tmp_path, root, outputs=["nonsense"])
    assert main(["sensitivity", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "unknown output 'nonsense'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_the_shipped_specs_validate(root):
    for name in ("levers_morris", "levers_sobol"):
        _, spec = load_sensitivity(root / "scenarios" / "sensitivity" / f"{name}.yaml")
        assert {k.split(".")[1] for k in spec.parameters} == {"ecosystem", "mechanism", "cognition", "security"}


# --- end to end through the batch runner --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("method, samples, points", [("morris", 2, 2 * 3), ("sobol", 4, 4 * (2 + 2))])
def test_a_tiny_spec_end_to_end(tmp_path, root, capsys, method, samples, points):
    path = write_spec(tmp_path, root, method=method, samples=samples)
    out = tmp_path / "out"
    command = ["sensitivity", str(path), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(command) == 0
    assert "ranked by" in capsys.readouterr().out
    table = pd.read_csv(out / "indices.csv")
    assert list(table.columns) == ["output", "parameter", *INDEX_COLUMNS[method]]
    assert len(table) == 2 * 2
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == points * 2 and (runs["status"] == "ok").all()
    assert runs["countermeasures.ecosystem.start"].isin(range(4)).all()
    assert read_manifest(out)["resolved"]["method"] == method
    stem = "morris" if method == "morris" else "sobol"
    assert (out / f"{stem}.pdf").stat().st_size > 0 and (out / f"{stem}.png").stat().st_size > 0
    assert main(command) == 0  # resumes: every run is found finished
    pd.testing.assert_frame_equal(pd.read_csv(out / "indices.csv"), table)
