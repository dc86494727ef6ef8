"""The robustness study: it samples exactly the assumption rows of the parameter table, its Latin
hypercube follows the seed, Wilson intervals match published values, PRIM finds a known failing
box, and a tiny study runs end to end and resumes after losing chunks."""

import json
from typing import get_args

import numpy as np
import pandas as pd
import pytest
import yaml

from simulation.analyses.robustness import (CONCLUSIONS, SCENARIOS, design, failure_box, load_robustness,
                                            sampled_value)
from simulation.cli import main
from simulation.config import ConfigError, Scenario, assumptions, field_bounds, parameter_table
from simulation.config.keys import leaf_fields
from simulation.config.schema import ASSUMED, SOURCES, field_plausible, source_kind
from simulation.experiments.results import CHUNKS, RUNS, TIMESERIES
from simulation.experiments.statistics import share_interval


# --- where the numbers come from ----------------------------------------------------------------


def test_every_parameter_has_one_of_the_declared_sources():
    kinds = {row["key"]: row["source"].split(" (")[0] for row in parameter_table()}
    assert set(kinds.values()) <= set(SOURCES), {k: v for k, v in kinds.items() if v not in SOURCES}
    assert kinds["parameters.reply_days_published"] == kinds["parameters.reply_days_unpublished"] == "published rule"
    assert kinds["parameters.review_days"] == kinds["parameters.late_days_max"] == "published rule"
    assert kinds["countermeasures.security.tiering"] == "published rule"


def test_the_sampled_set_is_exactly_the_assumption_rows():
    rows = {row["key"] for row in parameter_table() if row["source"].split(" (")[0] == ASSUMED}
    assert set(design(3, 0)[0]) == rows == set(assumptions())
    assert {"network.kind", "parameters.learning_rule", "parameters.trust_threshold", "parameters.flow_window",
            "parameters.restricted_tolerance", "network.department_density"} <= rows


def test_only_assumptions_declare_a_plausible_range_inside_the_allowed_one_around_the_default():
    for key, field in leaf_fields(Scenario):
        plausible = field_plausible(field)
        assert (plausible is not None) == (source_kind(field) == ASSUMED), key
        if plausible is None:
            continue
        default = field.get_default(call_default_factory=True)
        if all(isinstance(v, str) for v in plausible):
            assert default in plausible and set(plausible) <= set(get_args(field.annotation)), key
            continue
        low, high = field_bounds(field)
        assert low <= plausible[0] <= default <= plausible[1] <= high and plausible[0] < plausible[1], key
        assert all(type(v) is field.annotation for v in plausible), key  # ints stay ints


# --- the design ----------------------------------------------------------------------------------


def test_the_latin_hypercube_follows_the_seed_and_fills_every_stratum():
    assert design(8, 5) == design(8, 5)
    assert design(8, 5) != design(8, 6)
    points = pd.DataFrame(design(40, 5))
    low, high = assumptions()["parameters.trust_threshold"]
    strata = np.floor((points["parameters.trust_threshold"] - low) / (high - low) * 40).astype(int)
    assert sorted(strata) == list(range(40))
    kinds = points["network.kind"].value_counts()
    assert set(kinds.index) == {"sectoral", "small_world", "scale_free"} and kinds.max() - kinds.min() <= 1
    assert points["parameters.flow_window"].map(type).eq(int).all()


def test_a_unit_draw_maps_onto_choices_and_ranges():
    assert [sampled_value(["a", "b"], u) for u in (0.0, 0.49, 0.5, 0.999)] == ["a", "a", "b", "b"]
    assert sampled_value([0.2, 0.4], 0.5) == pytest.approx(0.3)


# --- statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("holds, n, low, high", [  # Newcombe (1998), Statistics in Medicine 17, table I
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_interval_matches_published_values(holds, n, low, high):
    assert share_interval(holds, n) == pytest.approx((low, high), abs=5e-5)


# --- scenario discovery --------------------------------------------------------------------------


@pytest.mark.slow
def test_prim_finds_the_box_where_a_conclusion_fails():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"a": rng.random(400), "b": rng.random(400), "c": rng.random(400), "d": rng.random(400),
                      "days": rng.integers(1, 10, 400), "kind": pd.Categorical(rng.choice(["p", "q", "r"], 400))})
    fails = ((x["a"] > 0.7) & (x["b"] < 0.3)).to_numpy()
    box = failure_box(x, fails)
    significant = box.limits[box.limits["quasi_p"] < 0.05].set_index("parameter")
    assert set(significant.index) == {"a", "b"}
    assert 0.65 <= significant.at["a", "low"] <= 0.72  # the known box a > 0.7, b < 0.3, slightly widened
    assert 0.28 <= significant.at["b", "high"] <= 0.4  # by PRIM's pasting for coverage
    assert box.density >= 0.8 and box.coverage >= 0.8
    assert failure_box(x, np.zeros(400, dtype=bool)) is None


# --- the study end to end ------------------------------------------------------------------------


def write_spec(tmp_path, root, **changes):
    spec = {"name": "tiny", "scenarios": [str(root / "scenarios" / f"{name}.yaml") for name in SCENARIOS],
            "structures": 3, "replications": 1, "steps": 6, "seed": 4, **changes}
    path = tmp_path / "robustness.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_the_shipped_spec_validates(root):
    _, spec, files = load_robustness(root / "scenarios" / "studies" / "robustness.yaml")
    assert len(files) == len(SCENARIOS) and spec.structures >= 100


def test_a_spec_without_a_compared_scenario_is_refused(tmp_path, root, capsys):
    path = write_spec(tmp_path, root, scenarios=[str(root / "scenarios" / f"{n}.yaml") for n in SCENARIOS[:-1]])
    with pytest.raises(ConfigError, match="scenarios"):
        load_robustness(path)
    assert main(["validate", str(path)]) == 2
    assert "all_countermeasures missing" in capsys.readouterr().err


@pytest.mark.slow
def test_a_tiny_study_end_to_end_resumes_after_losing_chunks(tmp_path, root, capsys):
    path = write_spec(tmp_path, root)
    out = tmp_path / "out"
    command = ["robustness", str(path), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(command) == 0
    assert "structures x 6 scenarios" in capsys.readouterr().out
    table = pd.read_csv(out / "report" / "robustness.csv")
    assert list(table["conclusion"]) == [c.name for c in CONCLUSIONS]
    assert (table["structures"] == 3).all() and table["share"].between(0, 1).all()
    assert (table["ci_low"] <= table["share"]).all() and (table["share"] <= table["ci_high"]).all()
    assert "| conclusion | holds in |" in (out / "report" / "robustness.md").read_text()
    for stem in ("shares",):
        assert ((out / "report" / f"{stem}.pdf").stat().st_size > 0
                and (out / "report" / f"{stem}.png").stat().st_size > 0)
    assert json.loads((out / "report" / "timing.json").read_text())["runs_executed"] == 3 * len(SCENARIOS)
    runs = pd.read_parquet(out / RUNS)
    assert len(runs) == 3 * len(SCENARIOS) and (runs["status"] == "ok").all()
    # common random numbers: one seed per structure, shared by its scenarios
    assert (runs.groupby("point")["seed"].nunique() == 1).all() and runs["seed"].nunique() == 3
    assert (runs.groupby("point")["parameters.trust_threshold"].nunique() == 1).all()

    chunks = sorted((out / CHUNKS).glob("runs-*.parquet"))
    chunks[-1].unlink()  # a kill loses the chunk in flight and the consolidated files
    (out / RUNS).unlink()
    (out / TIMESERIES).unlink()
    doc = tmp_path / "doc.md"
    doc.write_text("before\n<!-- robustness-table:begin -->\nSTALE TABLE\n<!-- robustness-table:end -->\nafter\n",
                   encoding="utf-8")
    assert main([*command, "--doc", str(doc)]) == 0
    assert len(pd.read_parquet(out / RUNS)) == 3 * len(SCENARIOS)
    assert 0 < json.loads((out / "report" / "timing.json").read_text())["runs_executed"] < 3 * len(SCENARIOS)
    pd.testing.assert_frame_equal(pd.read_csv(out / "report" / "robustness.csv"), table)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("after\n") and "STALE TABLE" not in text
    assert (out / "report" / "robustness.md").read_text(encoding="utf-8") in text
