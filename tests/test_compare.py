"""The browser app's library side: a package against the baseline over many seeds
(simulation/experiments/compare.py) on the server's shared pool of processes (execute.py), its one-page brief
(brief.py) and packages as scenario files (simulation/config/package.py), all without a browser."""

import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest
import yaml

from simulation.config import ConfigError, load_scenario
from simulation.config.package import changed_values, package_yaml, read_package
from simulation.experiments.brief import brief_figure, brief_pdf
from simulation.experiments.compare import (BANDS, EFFECTS, baseline_of, bands, effects, plan_comparison,
                                            run_comparison)
from simulation.experiments.execute import ready, shared_processes

from helpers import command

RUNS, STEPS = 3, 14


@pytest.fixture(scope="module")
def scenarios(root):
    return root / "scenarios"


@pytest.fixture(scope="module")
def ecosystem(scenarios):
    return load_scenario(scenarios / "ecosystem.yaml", {"population.public": 150})


@pytest.fixture(scope="module")
def comparison(ecosystem, baseline):
    with ThreadPoolExecutor(2) as executor:
        return run_comparison(plan_comparison(ecosystem, baseline, RUNS, STEPS), executor)


# ------------------------------------------------------------------ the comparison


def test_both_arms_share_their_seeds_and_differ_only_in_countermeasures(ecosystem, baseline):
    specs = plan_comparison(ecosystem, baseline, RUNS, STEPS)
    package, base = specs[:RUNS], specs[RUNS:]
    assert [s.seed for s in package] == [s.seed for s in base] and len({s.seed for s in package}) == RUNS
    assert all(s.steps == STEPS for s in specs)
    world = baseline_of(ecosystem, baseline)
    assert world.population.public == 150 and world.countermeasures == baseline.countermeasures
    differences = changed_values(world, ecosystem)
    assert differences and all(key.startswith("countermeasures.") for key in differences)


def test_a_package_equal_to_the_baseline_has_no_effect_run_for_run(baseline):
    """Common random numbers: the same seeds give the same runs, so every effect is exactly 0 (its
    interval, unpaired, spans the spread between seeds)."""
    with ThreadPoolExecutor(2) as executor:
        same = run_comparison(plan_comparison(baseline, baseline, 3, 8), executor)
    series = same.timeseries.drop(columns=["run_id", "arm"])
    assert np.array_equal(series[same.timeseries["arm"] == "package"].to_numpy(),
                          series[same.timeseries["arm"] == "baseline"].to_numpy())
    table = effects(same)
    assert (table["effect"] == 0).all() and np.allclose(table["effect_low"], -table["effect_high"])


def test_bands_and_effects_cover_every_run_and_month(comparison):
    for metric in BANDS:
        frame = bands(comparison, metric)
        assert len(frame) == 2 * (STEPS + 1) and (frame["n"] == RUNS).all()
        assert (frame["ci_low"] <= frame["mean"] + 1e-12).all() and (frame["mean"] <= frame["ci_high"] + 1e-12).all()
    table = effects(comparison).set_index("outcome")
    assert list(table.index) == list(EFFECTS) and (table["n"] == RUNS).all()
    cost = table.loc["total_net_countermeasure_cost"]
    assert cost["baseline"] == 0 and cost["package"] > 0  # the baseline pays for no countermeasure
    runs = comparison.runs
    assert (runs["status"] == "ok").all() and sorted(runs["arm"].value_counts().tolist()) == [RUNS, RUNS]


def test_progress_is_reported_and_a_cancelled_comparison_returns_nothing(ecosystem, baseline):
    seen = []
    with ThreadPoolExecutor(1) as executor:
        specs = plan_comparison(ecosystem, baseline, 2, 4)
        assert run_comparison(specs, executor, lambda done, total: seen.append((done, total))) is not None
        assert seen[-1] == (4, 4) and [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert run_comparison(specs, executor, cancelled=lambda: True) is None


def test_sessions_share_one_pool_of_processes_which_a_dead_worker_does_not_break_for_good():
    with ThreadPoolExecutor(4) as sessions:
        pools = set(sessions.map(lambda _: shared_processes(), range(8)))
    assert len(pools) == 1
    pool = pools.pop()
    assert pool.submit(ready).result(timeout=120)
    victim = next(iter(pool._processes.values()))
    victim.kill()
    victim.join()
    deadline = time.monotonic() + 60
    while not pool._broken and time.monotonic() < deadline:  # the pool's own thread notices the death
        time.sleep(0.05)
    with pytest.raises(BrokenProcessPool):
        pool.submit(ready)
    replacement = shared_processes()
    assert replacement is not pool and replacement.submit(ready).result(timeout=120)
    assert shared_processes() is replacement


# ------------------------------------------------------------------ the brief


def test_the_brief_is_one_pdf_page_with_the_package_cost_effects_version_and_seeds(comparison, ecosystem, baseline):
    changes = changed_values(ecosystem, baseline)
    pdf = brief_pdf(comparison, "Ecosystem package", changes, version="v-test")
    assert pdf.startswith(b"%PDF") and (pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ")
                                        + pdf.count(b"/Type /Page>")) == 1
    figure = brief_figure(comparison, "Ecosystem package", changes, version="v-test")
    text = " ".join(t.get_text() for t in figure.texts)
    assert "Ecosystem package" in text and "countermeasures.ecosystem.enabled = True" in text
    assert "Its cost" in text and "95% CI" in text and "Model version v-test" in text
    assert str(comparison.seeds[0]) in text
    assert len(figure.axes) == 2


# ------------------------------------------------------------------ packages as scenario files


def test_an_unchanged_preset_is_a_package_of_two_lines(scenarios):
    ecosystem = load_scenario(scenarios / "ecosystem.yaml")
    assert yaml.safe_load(package_yaml(ecosystem, "ecosystem", ecosystem)) == {"extends": "ecosystem.yaml",
                                                                              "name": "ecosystem_package"}


def test_a_package_holds_only_what_changed_and_the_cli_accepts_it(scenarios, tmp_path, capsys):
    base = load_scenario(scenarios / "mechanism.yaml")
    changed = load_scenario(scenarios / "mechanism.yaml", {"countermeasures.mechanism.price_cap": 0.4,
                                                          "parameters.trust_gain": base.parameters.trust_gain / 2})
    text = package_yaml(changed, "mechanism", base)
    data = yaml.safe_load(text)
    assert data["countermeasures"] == {"mechanism": {"price_cap": 0.4}} and set(data) == {
        "extends", "name", "countermeasures", "parameters"}
    for preset in ("mechanism.yaml", "baseline.yaml"):  # the package and the files it extends, side by side
        shutil.copy(scenarios / preset, tmp_path / preset)
    (tmp_path / "package.yaml").write_text(text)
    done = command(capsys, "validate", str(tmp_path / "package.yaml"))
    assert done.returncode == 0, done.stdout + done.stderr
    package = read_package(text, "package.yaml", scenarios)
    assert package.preset == "mechanism" and changed_values(package.scenario, changed) == {}
    assert np.isclose(package.changes["parameters.trust_gain"], base.parameters.trust_gain / 2)


def test_an_upload_that_fails_validation_says_so_in_one_line(scenarios):
    with pytest.raises(ConfigError) as caught:
        read_package("extends: baseline.yaml\npopulation: {public: -1}\n", "mine.yaml", scenarios)
    assert str(caught.value).startswith("mine.yaml: population.public: -1 is not allowed")
    with pytest.raises(ConfigError, match="mine.yaml: line 2: YAML syntax error"):
        read_package("extends: [unclosed\n", "mine.yaml", scenarios)
